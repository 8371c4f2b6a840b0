// Faces pages: follow each queued or running job through the REST API (as the render page does)
// and reload the page once all of them have finished.
(function () {
  const nodes = Array.from(document.querySelectorAll("[data-status-url]"));
  if (!nodes.length) return;
  const active = (status) => ["queued", "running"].includes(status);
  let delay = 1000;
  function poll() {
    Promise.all(
      nodes.map((node) =>
        fetch(node.dataset.statusUrl, { headers: { Accept: "application/json" } })
          .then((r) => (r.ok ? r.json() : { status: "gone" }))
          .catch(() => ({ status: "queued" })),
      ),
    ).then((jobs) => {
      if (!jobs.some((job) => active(job.status))) {
        window.location.reload();
        return;
      }
      delay = Math.min(delay * 1.5, 10000);
      setTimeout(poll, delay);
    });
  }
  setTimeout(poll, delay);
})();
