// Upload page: each file is sent on its own request to the API so it gets its own progress bar
// and its own verdict; the form still works without JavaScript.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const zone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const done = document.getElementById("upload-done");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let pending = 0;

  function row(file) {
    const li = document.createElement("li");
    li.innerHTML = '<span class="name"></span><div class="progress"><div></div></div><span class="state muted">waiting</span>';
    li.querySelector(".name").textContent = file.name;
    list.appendChild(li);
    return li;
  }

  function send(file) {
    const li = row(file);
    const bar = li.querySelector(".progress > div");
    const state = li.querySelector(".state");
    const data = new FormData();
    data.append("images", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.endpoint);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.style.width = (100 * e.loaded / e.total) + "%"; };
    xhr.onload = () => {
      pending -= 1;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: handled below */ }
      if (xhr.status === 201 || xhr.status === 200) {
        bar.style.width = "100%";
        const item = body[0];
        li.classList.add(item && item.duplicate ? "duplicate" : "ok");
        state.innerHTML = "";
        const link = document.createElement("a");
        link.href = "/photos/" + item.photo.id + "/";
        link.textContent = item.duplicate ? "already in your gallery" : "uploaded";
        state.appendChild(link);
        if (item.notice) {
          const note = document.createElement("small");
          note.className = "notice";
          note.textContent = " " + item.notice;
          state.appendChild(note);
        }
      } else {
        li.classList.add("failed");
        const err = body.error || {};
        const fieldMessages = err.fields ? Object.values(err.fields).flat().join(" ") : "";
        state.textContent = fieldMessages || err.message || ("Upload failed (" + xhr.status + ")");
      }
      if (pending === 0) done.hidden = false;
    };
    xhr.onerror = () => { pending -= 1; li.classList.add("failed"); state.textContent = "Network error: try again."; };
    state.textContent = "uploading";
    pending += 1;
    xhr.send(data);
  }

  function sendAll(files) { Array.from(files).forEach(send); }
  input.addEventListener("change", () => { sendAll(input.files); input.value = ""; });
  ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.remove("over"); }));
  zone.addEventListener("drop", (e) => sendAll(e.dataTransfer.files));
})();
