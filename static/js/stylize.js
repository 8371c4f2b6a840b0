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

  const gatys = panel.querySelector("[data-panel=gatys]");
  const out = document.getElementById("estimate");
  let timer = null;
  function estimate() {
    if (!gatys || !out || !gatys.dataset.estimate) return;
    const params = new URLSearchParams();
    ["quality", "size", "iterations", "optimizer"].forEach((name) => {
      const field = gatys.querySelector("[name=" + name + "]");
      if (field && field.value) params.set(name, field.value);
    });
    fetch(gatys.dataset.estimate + "&" + params.toString(), { headers: { Accept: "application/json" } })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (!ok) { out.textContent = (body.error && body.error.message) || "Cannot estimate."; return; }
        const minutes = body.seconds >= 90 ? Math.round(body.seconds / 60) + " min" : Math.round(body.seconds) + " s";
        out.textContent = "About " + minutes + " on " + body.device + " for " + body.size + " px (≈" + body.peak_mib + " MiB)."
          + (body.notice ? " " + body.notice : "");
      })
      .catch(() => { out.textContent = ""; });
  }
  if (gatys) gatys.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(estimate, 300); });
})();
