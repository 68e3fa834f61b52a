// Draws every chart the server rendered (carbon/charts.py render): a <div class="hw-chart"> whose
// figure sits in a JSON data block. No inline script: the Content-Security-Policy allows scripts
// from this server only.
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("div.hw-chart[data-figure]").forEach(function (div) {
      var block = document.getElementById(div.getAttribute("data-figure"));
      if (!block || div.dataset.drawn) return;
      var spec = JSON.parse(block.textContent);
      div.dataset.drawn = "1";
      Plotly.newPlot(div, spec.figure.data || [], spec.figure.layout || {}, spec.config || {});
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
