// Style picker (photo page): previews of each preset on this very photo once a worker has drawn
// them, a filter by name, each style's share of the blend in percent, a small live preview of
// blend and strength (mixed here at once, then replaced by the network's own small render from
// the worker), and a painting dropped into "Any painting" ready to use at once.
(function () {
  "use strict";
  const panel = document.getElementById("stylize");
  const grid = document.getElementById("preset-grid");
  if (!panel || !grid) return;
  const form = grid.closest("form");
  const tiles = Array.from(grid.querySelectorAll(".preset"));
  const sliderOf = (tile) => tile.querySelector("input[type=range]");

  // --- each style's share of the blend ---------------------------------------------------------
  tiles.forEach((tile) => {
    const out = document.createElement("output");
    out.className = "share";
    sliderOf(tile).insertAdjacentElement("beforebegin", out);
  });
  function shares() {
    const total = tiles.reduce((sum, t) => sum + parseFloat(sliderOf(t).value), 0);
    tiles.forEach((tile) => {
      const value = parseFloat(sliderOf(tile).value);
      tile.querySelector("output.share").textContent = value > 0 && total > 0 ? Math.round((100 * value) / total) + "%" : "";
    });
  }

  // --- filter by name ---------------------------------------------------------------------------
  const filter = document.createElement("input");
  filter.type = "search";
  filter.className = "preset-filter";
  filter.placeholder = "Filter styles by name";
  filter.setAttribute("aria-label", "Filter styles by name");
  grid.insertAdjacentElement("beforebegin", filter);
  filter.addEventListener("input", () => {
    const query = filter.value.trim().toLowerCase();
    tiles.forEach((tile) => {
      tile.hidden = Boolean(query) && !tile.dataset.name.includes(query) && !tile.classList.contains("selected");
    });
  });

  // --- live preview: the chosen previews mixed by weight, then the photo by (1 - strength) -----
  const figure = document.createElement("figure");
  figure.className = "blend-preview";
  figure.hidden = true;
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "Approximate preview of the blend on your photo");
  const caption = document.createElement("figcaption");
  caption.className = "muted";
  caption.textContent = "Approximate preview: the styles are mixed as pictures here; the real render mixes them inside the network.";
  figure.append(canvas, caption);
  grid.insertAdjacentElement("afterend", figure);
  const photo = new Image();
  photo.src = grid.dataset.photo;
  const strength = form.querySelector("input[name=strength]");

  function loaded(img) {
    return img.complete && img.naturalWidth ? Promise.resolve(img)
      : new Promise((resolve, reject) => { img.addEventListener("load", () => resolve(img), { once: true }); img.addEventListener("error", reject, { once: true }); });
  }
  const APPROXIMATE = caption.textContent;
  const exact = { seq: 0, timer: null };
  function requestExact() {
    if (!grid.dataset.blendPreview) return;
    clearTimeout(exact.timer);
    const seq = ++exact.seq;
    exact.timer = setTimeout(() => {
      fetch(grid.dataset.blendPreview, { method: "POST", body: new FormData(form), credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((body) => poll(body.url, seq, 0))
        .catch(() => {});
    }, 400);
  }
  function poll(url, seq, tries) {
    if (seq !== exact.seq) return;
    fetch(url, { credentials: "same-origin" })
      .then((r) => {
        if (seq !== exact.seq) return null;
        if (r.status === 200) return r.blob().then((blob) => createImageBitmap(blob)).then((bitmap) => {
          if (seq !== exact.seq) return;
          canvas.width = bitmap.width;
          canvas.height = bitmap.height;
          canvas.getContext("2d").drawImage(bitmap, 0, 0);
          caption.textContent = "Preview on your photo: the network's own render at 160 px.";
          canvas.setAttribute("aria-label", "Preview of the blend on your photo");
          figure.dataset.exact = "true";
          figure.hidden = false;
        });
        if (r.status === 204 && tries < 40) setTimeout(() => poll(url, seq, tries + 1), Math.min(300 * (tries + 1), 2000));
        return null;
      })
      .catch(() => {});
  }
  function draw() {
    shares();
    const chosen = tiles.filter((t) => parseFloat(sliderOf(t).value) > 0);
    figure.dataset.exact = "false";
    caption.textContent = APPROXIMATE;
    if (!chosen.length) { exact.seq += 1; figure.hidden = true; return; }
    requestExact();
    if (!grid.hasAttribute("data-ready")) return;
    const images = chosen.map((t) => t.querySelector("img"));
    Promise.all([loaded(photo), ...images.map(loaded)]).then(() => {
      if (figure.dataset.exact === "true") return;  // the network's own preview came first: keep it
      const first = images[0];
      canvas.width = first.naturalWidth;
      canvas.height = first.naturalHeight;
      const ctx = canvas.getContext("2d");
      let sum = 0;
      chosen.forEach((tile, i) => {  // a running weighted mean: alpha = w_i / (w_1 + … + w_i)
        const w = parseFloat(sliderOf(tile).value);
        sum += w;
        ctx.globalAlpha = w / sum;
        ctx.drawImage(images[i], 0, 0, canvas.width, canvas.height);
      });
      ctx.globalAlpha = 1 - parseFloat(strength ? strength.value : "1");
      ctx.drawImage(photo, 0, 0, canvas.width, canvas.height);
      ctx.globalAlpha = 1;
      figure.hidden = false;
    }).catch(() => {});
  }
  form.addEventListener("input", draw);
  grid.addEventListener("click", () => setTimeout(draw, 0));  // stylize.js toggles on a picture click

  // --- previews on this photo: swap them in when the worker has drawn them ---------------------
  function swap() {
    grid.setAttribute("data-ready", "");
    grid.querySelectorAll("[data-preview]").forEach((el) => {
      if (el.tagName === "IMG") { el.src = el.dataset.preview; return; }
      const img = document.createElement("img");
      img.alt = "";
      img.src = el.dataset.preview;
      img.dataset.preview = el.dataset.preview;
      img.addEventListener("click", (event) => {  // what stylize.js does for the pictures it saw
        event.preventDefault();
        const slider = sliderOf(img.closest(".preset"));
        slider.value = parseFloat(slider.value) > 0 ? 0 : 1;
        slider.dispatchEvent(new Event("input", { bubbles: true }));
      });
      el.replaceWith(img);
    });
    draw();
  }
  if (!grid.hasAttribute("data-ready") && grid.dataset.previews) {
    let tries = 0;
    const check = () => fetch(grid.dataset.previews, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : { ready: false }))
      .then((body) => { if (body.ready) swap(); else if (++tries < 40) setTimeout(check, Math.min(1000 * tries, 5000)); })
      .catch(() => {});
    setTimeout(check, 1000);
  }
  draw();

  // --- "Any painting": drop or choose a painting, use it at once --------------------------------
  const arbitrary = panel.querySelector("[data-panel=arbitrary]");
  if (arbitrary && arbitrary.dataset.styleUpload) {
    const csrf = arbitrary.querySelector("input[name=csrfmiddlewaretoken]").value;
    const zone = document.createElement("label");
    zone.className = "painting-drop";
    zone.innerHTML = "<strong>Drop a painting here</strong> or click to choose one. <span class=\"status muted\" aria-live=\"polite\"></span>";
    const input = document.createElement("input");
    input.type = "file";
    input.accept = "image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif";
    input.setAttribute("aria-label", "Add a painting to use as the style");
    zone.append(input);
    const hidden = arbitrary.querySelector("input[name=method]");
    hidden.insertAdjacentElement("afterend", zone);
    const status = zone.querySelector(".status");
    function send(file) {
      if (!file) return;
      status.textContent = "Uploading “" + file.name + "”…";
      const data = new FormData();
      data.append("image", file);
      data.append("name", file.name.replace(/\.[^.]+$/, ""));
      fetch(arbitrary.dataset.styleUpload, { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf, Accept: "application/json" } })
        .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
        .then(({ ok, body }) => {
          if (!ok) {
            const err = body.error || {};
            status.textContent = (err.fields ? Object.values(err.fields).flat().join(" ") : err.message) || "Upload failed.";
            return;
          }
          const paintings = arbitrary.querySelector(".preset-grid");
          if (!paintings) { window.location.hash = "any-painting"; window.location.reload(); return; }
          const tile = document.createElement("label");
          tile.className = "preset selected";
          const img = document.createElement("img");
          img.alt = "";
          img.src = body.thumbnail_url;
          const name = document.createElement("span");
          name.className = "name";
          name.textContent = body.name;
          const radio = document.createElement("input");
          radio.type = "radio"; radio.name = "style"; radio.value = body.id; radio.checked = true;
          tile.append(img, name, radio);
          paintings.prepend(tile);
          status.textContent = "“" + body.name + "” is ready: press Stylize.";
        })
        .catch(() => { status.textContent = "Network error: try again."; });
    }
    input.addEventListener("change", () => { send(input.files[0]); input.value = ""; });
    ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
    ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.remove("over"); }));
    zone.addEventListener("drop", (e) => send(e.dataTransfer.files[0]));
    if (window.location.hash === "#any-painting") {
      const tab = panel.querySelector(".tab[data-tab=arbitrary]");
      if (tab) tab.click();
    }
  }
})();
