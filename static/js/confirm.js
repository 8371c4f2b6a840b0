// Behaviour that would otherwise be inline handlers, which the Content-Security-Policy forbids
// (no inline script anywhere):
//   <form data-confirm="Delete …?">   asks in a dialog before submitting; Cancel (or Esc) submits nothing.
//   <input data-autosubmit>           submits its form when it changes (filters, toggles).
// A <dialog> rather than window.confirm(): it is styled like the site, names the action on its
// button, and starts with the focus on Cancel so a stray Enter deletes nothing.

function askFirst(form, submitter) {
  const dialog = document.createElement("dialog");
  dialog.className = "confirm-dialog";
  dialog.setAttribute("aria-labelledby", "confirm-dialog-text");
  const text = document.createElement("p");
  text.id = "confirm-dialog-text";
  text.textContent = form.dataset.confirm;
  const row = document.createElement("div");
  row.className = "row";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "button secondary";
  cancel.textContent = "Cancel";
  const go = document.createElement("button");
  go.type = "button";
  go.className = "button danger";
  go.textContent = (submitter && submitter.textContent.trim().length > 1 && submitter.textContent.trim()) || "Delete";
  row.append(cancel, go);
  dialog.append(text, row);
  document.body.append(dialog);
  cancel.addEventListener("click", () => dialog.close());
  go.addEventListener("click", () => {
    form.dataset.confirmed = "yes";
    dialog.close();
    form.requestSubmit(submitter || undefined);
  });
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
  cancel.focus();
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
  if (form.dataset.confirmed === "yes") {
    delete form.dataset.confirmed;
    return;
  }
  event.preventDefault();
  askFirst(form, event.submitter);
});

document.addEventListener("change", (event) => {
  const control = event.target;
  if (control instanceof HTMLElement && control.hasAttribute("data-autosubmit") && control.form) {
    control.form.requestSubmit();
  }
});
