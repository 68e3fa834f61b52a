// Draws every chart the server rendered (carbon/charts.py render): a <div class="hw-chart"> whose
// figure sits in a JSON data block. No inline script: the Content-Security-Policy allows scripts
// from this server only.
//
// Times: the server sends UTC ("...Z"); Plotly draws date strings as they are, so every UTC
// string of the figure (trace x and base, shapes, annotations, axis ranges) becomes the viewer's
// wall-clock time first, and "UTC" in axis titles and hover labels becomes the viewer's zone, as
// on the rest of the page (localtime.js, loaded before this script).
(function () {
  "use strict";
  var ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/;
  var local = window.hyperwebLocalTime;
  function toLocal(value) {
    if (typeof value === "string") return ISO_UTC.test(value) ? local.wallClock(value) : value;
    if (Array.isArray(value)) return value.map(toLocal);
    return value;
  }
  function relabel(text) {
    return typeof text === "string" ? text.replace(/\bUTC\b/g, local.zoneName) : text;
  }
  function localiseFigure(figure) {
    if (!local) return figure;
    (figure.data || []).forEach(function (trace) {
      ["x", "base"].forEach(function (key) { if (key in trace) trace[key] = toLocal(trace[key]); });
      if (trace.hovertemplate) trace.hovertemplate = relabel(trace.hovertemplate);
    });
    var layout = figure.layout || {};
    (layout.shapes || []).forEach(function (s) { s.x0 = toLocal(s.x0); s.x1 = toLocal(s.x1); });
    (layout.annotations || []).forEach(function (a) { a.x = toLocal(a.x); });
    Object.keys(layout).forEach(function (key) {
      if (key.indexOf("xaxis") !== 0 || !layout[key]) return;
      var axis = layout[key];
      if (axis.range) axis.range = toLocal(axis.range);
      if (axis.title && axis.title.text) axis.title.text = relabel(axis.title.text);
    });
    return figure;
  }
  function draw() {
    document.querySelectorAll("div.hw-chart[data-figure]").forEach(function (div) {
      var block = document.getElementById(div.getAttribute("data-figure"));
      if (!block || div.dataset.drawn) return;
      var spec = JSON.parse(block.textContent);
      div.dataset.drawn = "1";
      var figure = localiseFigure(spec.figure);
      Plotly.newPlot(div, figure.data || [], figure.layout || {}, spec.config || {});
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
