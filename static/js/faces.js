// Faces pages: while a job runs, poll its status and reload when it has finished.
(function () {
  "use strict";
  var nodes = document.querySelectorAll("[data-poll-url]");
  if (!nodes.length) return;
  var urls = Array.prototype.map.call(nodes, function (n) { return n.getAttribute("data-poll-url"); });
  var delay = 1000;
  function poll() {
    Promise.all(urls.map(function (u) {
      return fetch(u, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { finished: true }; })
        .catch(function () { return { finished: false }; });
    })).then(function (states) {
      if (states.every(function (s) { return s.finished; })) { window.location.reload(); return; }
      delay = Math.min(delay * 1.5, 10000);
      setTimeout(poll, delay);
    });
  }
  setTimeout(poll, delay);
})();
