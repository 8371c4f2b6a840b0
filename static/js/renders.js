// "My renders": follow every queued and running render through the API (place in line, time
// left, progress), say so on the page — and with a browser notification when allowed — when one
// finishes, and compare any two pictures of a photo with a before/after slider.
(function () {
  "use strict";
  const list = document.getElementById("job-list");
  const notices = document.getElementById("render-notices");
  const button = document.getElementById("notify-button");
  const working = document.getElementById("working");

  // --- notifications ----------------------------------------------------------------------
  const canNotify = "Notification" in window;
  if (canNotify && Notification.permission === "default" && button) {
    button.hidden = false;
    button.addEventListener("click", () => {
      Notification.requestPermission().then(() => { button.hidden = true; });
    });
  }

  function label(render) {
    const names = (render.styles || []).map((s) => s.name).filter(Boolean).join(" + ");
    return names || render.method_label;
  }

  function announce(render) {
    const ok = render.status === "succeeded";
    const text = ok ? "“" + label(render) + "” is ready." : "“" + label(render) + "”: " + render.status_label.toLowerCase() + ".";
    const box = document.createElement("div");
    box.className = "message " + (ok ? "success" : "error");
    const span = document.createElement("span");
    span.textContent = text;
    const link = document.createElement("a");
    link.href = "/renders/" + render.id + "/";
    link.textContent = ok ? "See it" : "Details";
    box.append(span, link);
    notices.prepend(box);
    if (canNotify && Notification.permission === "granted") {
      try { new Notification("nstsite: render " + (ok ? "ready" : render.status), { body: text, tag: "render-" + render.id }); }
      catch (e) { /* some browsers allow notifications only from a service worker: the page notice stays */ }
    }
    const tile = document.querySelector("figure.variant[data-render='" + render.id + "']");
    if (tile && ok && render.result_url) {
      const img = tile.querySelector("img");
      img.src = render.result_url;
      img.classList.remove("pending");
      img.alt = label(render);
      const caption = tile.querySelector("figcaption");
      caption.textContent = "";
      const pick = document.createElement("label");
      const box2 = document.createElement("input");
      box2.type = "checkbox"; box2.className = "pick"; box2.value = render.result_url; box2.dataset.label = label(render);
      pick.append(box2, " " + label(render));
      caption.append(pick);
    }
  }

  // --- the jobs list ------------------------------------------------------------------------
  function row(render) {
    let li = list.querySelector("li[data-render='" + render.id + "']");
    if (!li) {
      li = document.createElement("li");
      li.className = "job";
      li.dataset.render = render.id;
      li.dataset.detailUrl = render.status_url;
      li.innerHTML = '<a class="job-thumb"><img alt="" width="56" height="56"></a><div class="job-info"><a><strong></strong></a>'
        + '<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div></div></div><span class="job-state"></span></div>';
      li.querySelectorAll("a").forEach((a) => { a.href = "/renders/" + render.id + "/"; });
      li.querySelector("img").src = "/photos/" + render.photo + "/thumb";
      li.querySelector("strong").textContent = label(render);
      li.querySelector(".progress").setAttribute("aria-label", "Progress of " + label(render));
      list.append(li);
    }
    li.dataset.status = render.status;
    const bar = li.querySelector(".progress");
    bar.classList.toggle("indeterminate", render.status === "running" && !render.progress);
    bar.setAttribute("aria-valuenow", String(Math.round(100 * render.progress)));
    bar.firstElementChild.style.width = Math.round(100 * render.progress) + "%";
    li.querySelector(".job-state").textContent = render.status_text; // worded by the server (gallery/progress.py), as every page
  }

  let delay = 1500;
  function poll() {
    fetch(working.dataset.pollUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((body) => {
        const seen = new Set();
        (body.results || []).forEach((render) => { seen.add(String(render.id)); row(render); });
        const gone = Array.from(list.querySelectorAll("li.job")).filter((li) => !seen.has(li.dataset.render));
        return Promise.all(gone.map((li) =>
          fetch(li.dataset.detailUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
            .then((r) => (r.ok ? r.json() : null))
            .then((render) => { li.remove(); if (render) announce(render); })));
      })
      .then(() => {
        document.getElementById("none-working").hidden = list.children.length > 0;
        delay = list.children.length ? 1500 : Math.min(delay * 1.5, 15000);
        setTimeout(poll, delay);
      })
      .catch(() => setTimeout(poll, 5000));
  }
  if (working && list) setTimeout(poll, 500);

  // --- compare two pictures of a photo ------------------------------------------------------
  document.querySelectorAll("section.variants").forEach((section) => {
    const slot = section.querySelector(".compare-slot");
    let picked = [];
    section.addEventListener("change", (event) => {
      const box = event.target;
      if (!box.classList || !box.classList.contains("pick")) return;
      picked = picked.filter((b) => b !== box);
      if (box.checked) picked.push(box);
      while (picked.length > 2) { picked.shift().checked = false; }
      if (picked.length < 2) { slot.hidden = true; slot.textContent = ""; return; }
      const [a, b] = picked;
      slot.innerHTML = '<div class="compare"><img class="compare-after" alt=""><div class="compare-before"><img alt=""></div>'
        + '<span class="compare-divider"></span><input type="range" min="0" max="100" value="50">'
        + '<span class="compare-label left"></span><span class="compare-label right"></span></div>';
      const after = slot.querySelector(".compare-after");
      const before = slot.querySelector(".compare-before img");
      before.src = a.value; before.alt = a.dataset.label;
      after.src = b.value; after.alt = b.dataset.label;
      slot.querySelector(".compare-label.left").textContent = a.dataset.label;
      slot.querySelector(".compare-label.right").textContent = b.dataset.label;
      const slider = slot.querySelector("input[type=range]");
      slider.setAttribute("aria-label", "Compare " + a.dataset.label + " with " + b.dataset.label);
      const clip = slot.querySelector(".compare-before");
      const divider = slot.querySelector(".compare-divider");
      const move = () => { clip.style.clipPath = "inset(0 " + (100 - slider.value) + "% 0 0)"; divider.style.left = slider.value + "%"; };
      slider.addEventListener("input", move);
      move();
      slot.hidden = false;
    });
  });
})();
