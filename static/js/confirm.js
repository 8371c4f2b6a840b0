// Forms with data-confirm ask before submitting (instead of inline onsubmit handlers, which the
// Content-Security-Policy forbids: no inline script anywhere).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
