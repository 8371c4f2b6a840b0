// Render page: follow a queued/running render without reloading, and the before/after slider.
(function () {
  const live = document.getElementById("render-live");
  if (!live) return;
  const slider = document.getElementById("compare-slider");
  if (slider) {
    const before = document.getElementById("compare-before");
    const divider = document.getElementById("compare-divider");
    const move = () => {
      before.style.clipPath = "inset(0 " + (100 - slider.value) + "% 0 0)";
      divider.style.left = slider.value + "%";
    };
    slider.addEventListener("input", move);
    move();
  }
  if (!["queued", "running"].includes(live.dataset.status)) return;
  const bar = document.getElementById("progress-bar");
  const text = document.getElementById("progress-text");
  const preview = document.getElementById("preview");
  const badge = document.getElementById("status-badge");
  let lastPreview = null;
  function poll() {
    fetch(live.dataset.statusUrl, { headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((render) => {
        bar.style.width = Math.round(100 * render.progress) + "%";
        bar.parentElement.classList.toggle("indeterminate", render.status === "running" && render.progress === 0);
        // The words and the badge come from the server (gallery/progress.py), as on My renders.
        badge.textContent = render.status_label;
        badge.className = "badge " + render.status;
        const step = render.iteration ? " · iteration " + render.iteration : "";
        text.textContent = render.status_text + step;
        if (render.preview_url && render.iteration !== lastPreview) {
          lastPreview = render.iteration;
          preview.src = preview.dataset.src + "?i=" + render.iteration;
          preview.hidden = false;
        }
        if (["queued", "running"].includes(render.status)) setTimeout(poll, 1000);
        else window.location.reload();
      })
      .catch(() => setTimeout(poll, 3000));
  }
  poll();
})();

// Re-run form: each blend slider's share of the whole, in percent, as it moves.
(function () {
  const form = document.getElementById("rerun");
  if (!form) return;
  const sliders = Array.from(form.querySelectorAll(".blend input[type=range]"));
  const update = () => {
    const total = sliders.reduce((sum, s) => sum + parseFloat(s.value), 0);
    sliders.forEach((s) => {
      const out = form.querySelector("output[data-for='" + s.name + "']");
      if (out) out.textContent = total > 0 ? Math.round((100 * parseFloat(s.value)) / total) + "%" : "0%";
    });
  };
  sliders.forEach((s) => s.addEventListener("input", update));
})();
