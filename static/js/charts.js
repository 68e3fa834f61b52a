// Draws every chart the server rendered (carbon/charts.py render): a <div class="hw-chart"> whose
// figure sits in a JSON data block. No inline script: the Content-Security-Policy allows scripts
// from this server only.
//
// Times: the server sends UTC ("...Z"); Plotly draws date strings as they are, so every UTC
// string of the figure (trace x and base, shapes, annotations, axis ranges) becomes the viewer's
// wall-clock time first, and "UTC" in axis titles and hover labels becomes the viewer's zone, as
// on the rest of the page (localtime.js, loaded before this script). A chart inside an element
// with data-zone-tz (a zone page, a backup's decision chart) also shows the zone's own local time
// on hover, beside each value.
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
  // "%{y:.0f} g/kWh<extra>actual</extra>" -> "... · 09:45 CET Europe/Berlin<extra>...": the
  // zone's local time of each point rides in customdata (a trace that has none of its own).
  function zoneTimeOnHover(trace, zoneTz) {
    if (!zoneTz || !trace.hovertemplate || trace.customdata || !Array.isArray(trace.x)) return;
    if (!trace.x.some(function (v) { return typeof v === "string" && ISO_UTC.test(v); })) return;
    trace.customdata = trace.x.map(function (v) {
      return typeof v === "string" && ISO_UTC.test(v) ? local.format(new Date(v), "time", zoneTz) : "";
    });
    var tail = " · %{customdata} " + zoneTz.replace(/%/g, "");
    trace.hovertemplate = trace.hovertemplate.indexOf("<extra>") >= 0
      ? trace.hovertemplate.replace("<extra>", tail + "<extra>") : trace.hovertemplate + tail;
  }
  function localiseFigure(figure, zoneTz) {
    if (!local) return figure;
    // The x axes (layout keys) that carry times: their labels follow the pages' rule.
    var dated = {};
    (figure.data || []).forEach(function (trace) {
      if (Array.isArray(trace.x) && trace.x.some(function (v) { return typeof v === "string" && ISO_UTC.test(v); })) {
        dated["xaxis" + (trace.xaxis ? trace.xaxis.slice(1) : "")] = true;
      }
    });
    (figure.data || []).forEach(function (trace) {
      if (trace.hovertemplate) trace.hovertemplate = relabel(trace.hovertemplate);
      zoneTimeOnHover(trace, zoneTz);  // before x becomes wall-clock text
      ["x", "base"].forEach(function (key) { if (key in trace) trace[key] = toLocal(trace[key]); });
    });
    var layout = figure.layout = figure.layout || {};
    Object.keys(dated).forEach(function (key) { layout[key] = layout[key] || {}; });
    (layout.shapes || []).forEach(function (s) { s.x0 = toLocal(s.x0); s.x1 = toLocal(s.x1); });
    (layout.annotations || []).forEach(function (a) { a.x = toLocal(a.x); });
    Object.keys(layout).forEach(function (key) {
      if (key.indexOf("xaxis") !== 0 || !layout[key]) return;
      var axis = layout[key];
      if (axis.range) axis.range = toLocal(axis.range);
      // A time axis by the pages' rule (24-hour clock, the day in words): hours on each tick, the
      // day under the first tick of each day (Plotly shows the part after "\n" when it changes).
      if (dated[key] && !axis.hoverformat) axis.hoverformat = "%a %-d %b %Y %H:%M";
      if (dated[key] && !axis.tickformat && !axis.tickformatstops) {
        axis.tickformatstops = [
          { dtickrange: [null, 86399999], value: "%H:%M\n%a %-d %b %Y" },
          { dtickrange: [86400000, null], value: "%a %-d %b %Y" }
        ];
      }
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
      var zone = div.closest("[data-zone-tz]");
      var figure = localiseFigure(spec.figure, zone ? zone.getAttribute("data-zone-tz") : "");
      Plotly.newPlot(div, figure.data || [], figure.layout || {}, spec.config || {});
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
