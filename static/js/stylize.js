// Stylize panel: tabs, click-to-pick preset tiles, and the Gatys time estimate before starting.
(function () {
  const panel = document.getElementById("stylize");
  if (!panel) return;
  panel.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => {
    panel.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t === tab));
    panel.querySelectorAll(".tab-panel").forEach((p) => { p.hidden = p.dataset.panel !== tab.dataset.tab; });
    if (tab.dataset.tab === "gatys") estimate();
  }));

  // Clicking a preset's picture toggles it fully on/off; the slider fine-tunes the blend.
  panel.querySelectorAll(".preset").forEach((tile) => {
    const slider = tile.querySelector("input[type=range]");
    if (!slider) return;
    const sync = () => tile.classList.toggle("selected", parseFloat(slider.value) > 0);
    tile.querySelector("img, .placeholder")?.addEventListener("click", (e) => {
      e.preventDefault();
      slider.value = parseFloat(slider.value) > 0 ? 0 : 1;
      sync();
    });
    slider.addEventListener("input", sync);
    sync();
  });

  const gatys = document.getElementById("gatys-form");
  const out = document.getElementById("estimate");
  let timer = null;
  function estimate() {
    if (!gatys || !out || !gatys.dataset.estimate) return;
    const params = new URLSearchParams();
    ["quality", "network", "size", "iterations", "optimizer", "content_layers", "style_layers", "layer_preset"].forEach((name) => {
      const field = gatys.querySelector("[name=" + name + "]");
      if (field && field.value) params.set(name, field.value);
    });
    fetch(gatys.dataset.estimate + "&" + params.toString(), { headers: { Accept: "application/json" } })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) { out.textContent = (body.error && body.error.message) || "Cannot estimate."; return; }
        const minutes = body.seconds >= 90 ? Math.round(body.seconds / 60) + " min" : Math.round(body.seconds) + " s";
        out.textContent = "About " + minutes + " on " + body.device + " for " + body.size + " px (≈" + body.peak_mib + " MiB; "
          + body.basis + ")." + (body.notice ? " " + body.notice : "");
      })
      .catch(() => { out.textContent = ""; });
  }
  if (gatys) gatys.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(estimate, 300); });

  // Each loss network has its own layer names and defaults: show them for the chosen one.
  const network = gatys && gatys.querySelector("[name=network]");
  function showNetwork() {
    if (!network) return;
    const chosen = network.selectedOptions[0];
    if (!chosen) return;
    const d = chosen.dataset;
    gatys.querySelector("[name=content_layers]").placeholder = d.contentLayers;
    gatys.querySelector("[name=style_layers]").placeholder = d.styleLayers;
    gatys.querySelector("[name=style_weight]").placeholder = d.styleWeight;
    gatys.querySelector("[name=tv_weight]").placeholder = d.tvWeight;
    const pooling = gatys.querySelector(".pooling-field");
    if (pooling) pooling.hidden = !d.pooling;
    const names = document.getElementById("layer-names");
    if (names) names.textContent = d.layers;
    gatys.querySelectorAll(".network-note").forEach((n) => { n.hidden = !!n.dataset.ok && n.dataset.network !== network.value; });
  }
  if (network) { network.addEventListener("change", showNetwork); showNetwork(); }
})();
