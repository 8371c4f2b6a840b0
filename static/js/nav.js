// The main menu on phones: a real button (aria-expanded, aria-controls) folds the links away.
// Without JavaScript the links simply stay visible; CSS only folds them once this has run.
(function () {
  "use strict";
  var button = document.getElementById("nav-button");
  var nav = document.getElementById("site-nav");
  if (!button || !nav) return;
  document.documentElement.classList.add("js-nav");
  button.hidden = false;
  function set(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("open", open);
  }
  button.addEventListener("click", function () { set(button.getAttribute("aria-expanded") !== "true"); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && nav.classList.contains("open")) { set(false); button.focus(); }
  });
})();
