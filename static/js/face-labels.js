// Face names over a photo: each name starts inside its own box (CSS), where it cannot cover
// another face. Here it moves just below — or else above — its box at full length, but only where
// it covers no face box and no other name and stays on the picture. Redone when the size changes.
(function () {
  "use strict";
  function overlaps(a, b) {
    return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  }
  function place(figure) {
    var frame = figure.getBoundingClientRect();
    if (!frame.width) return;
    var boxes = Array.prototype.slice.call(figure.querySelectorAll(".face-box"));
    var rects = boxes.map(function (box) {
      var r = box.getBoundingClientRect();
      return { left: r.left - frame.left, top: r.top - frame.top, right: r.right - frame.left, bottom: r.bottom - frame.top };
    });
    var taken = [];
    boxes.forEach(function (box, i) {
      var label = box.querySelector(".face-label");
      if (!label) return;
      label.classList.add("outside");
      label.style.left = "0px";
      label.style.top = "0px";
      var width = label.offsetWidth, height = label.offsetHeight, r = rects[i], gap = 2;
      var left = Math.min(Math.max(0, r.left), frame.width - width);
      var spots = [r.bottom + gap, r.top - height - gap];
      for (var s = 0; s < spots.length; s++) {
        var spot = { left: left, top: spots[s], right: left + width, bottom: spots[s] + height };
        if (spot.left < 0 || spot.top < 0 || spot.bottom > frame.height) continue;
        if (rects.some(function (o) { return overlaps(spot, o); })) continue;
        if (taken.some(function (o) { return overlaps(spot, o); })) continue;
        // The label is positioned inside its box's border: offsets are from the padding edge.
        label.style.left = (spot.left - r.left - box.clientLeft) + "px";
        label.style.top = (spot.top - r.top - box.clientTop) + "px";
        taken.push(spot);
        return;
      }
      label.classList.remove("outside");
      label.style.left = "";
      label.style.top = "";
    });
  }
  function placeAll() {
    document.querySelectorAll(".face-figure").forEach(function (figure) {
      var img = figure.querySelector("img");
      if (img && !img.complete) img.addEventListener("load", function () { place(figure); }, { once: true });
      else place(figure);
    });
  }
  var timer = null;
  window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(placeAll, 100); });
  placeAll();
})();
