// One rule for time: every time on a page is shown in the viewer's timezone: the one they chose on
// the preferences page (<html data-timezone>, from the server), else the browser's. The
// server renders UTC, which is what a page says without JavaScript; the API and CSV stay in UTC.
// - <time datetime="...Z"> elements get the viewer's local time with its zone name; their title
//   (hover) keeps the zone's local time the server put there.
// - Text written in UTC ("Best 2 h window 08:45-10:45 UTC", "at 22:00 UTC") inside an element
//   marked data-utc-text is rewritten in the viewer's time; a time without a date is on the day of
//   the element's data-ref (an ISO time), else today. The UTC text stays on hover. A hover text
//   in UTC (attribute data-utc-title) is rewritten the same way into the element's title.
// - Charts (charts.js) use window.hyperwebLocalTime for their axes and hover labels.
(function () {
  "use strict";
  var browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  // The user's own choice (preferences page), if this browser knows the name; else the browser's.
  var chosen = document.documentElement.getAttribute("data-timezone") || "";
  if (chosen) {
    try { new Intl.DateTimeFormat(undefined, { timeZone: chosen }); } catch (e) { chosen = ""; }
  }
  var zoneName = chosen || browserZone;
  // An Intl.DateTimeFormat in the viewer's timezone (every script formats times through this).
  function formatter(options, zone) {
    var opts = {};
    Object.keys(options || {}).forEach(function (k) { opts[k] = options[k]; });
    if (zone || chosen) opts.timeZone = zone || chosen;
    return new Intl.DateTimeFormat(undefined, opts);
  }
  var dateTime = formatter({
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var withSeconds = formatter({
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    hourCycle: "h23"
  });
  var timeOnly = formatter({ hour: "2-digit", minute: "2-digit" });
  var hhmm = formatter({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var shortZone = formatter({ timeZoneName: "short" });
  function zoneAbbrev(when) {
    var parts = shortZone.formatToParts(when).filter(function (p) { return p.type === "timeZoneName"; });
    return parts.length ? parts[0].value : zoneName;
  }
  var wallParts = {};
  // "2026-12-02T08:45:00Z" -> "2026-12-02 09:45:00", the wall-clock time in the viewer's zone (or
  // in `zone`), which Plotly draws as given.
  function localWallClock(iso, zone) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) return iso;
    var key = zone || chosen || "";
    var fmt = wallParts[key] || (wallParts[key] = formatter({
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
      hourCycle: "h23"
    }, zone));
    var p = {};
    fmt.formatToParts(when).forEach(function (part) { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second;
  }
  var UTC_TEXT = /(\d{4}-\d{2}-\d{2} )?(\d{2}):(\d{2})(?:-(\d{2}):(\d{2}))? UTC/g;
  function localiseText(node) {
    var ref = new Date(node.getAttribute("data-ref") || Date.now());
    var original = node.getAttribute("data-utc-original") || node.textContent;
    node.setAttribute("data-utc-original", original);
    node.title = original;
    node.textContent = rewrite(original, ref, node.hasAttribute("data-utc-days"));
  }
  // A schedule's time ("at 01:30 UTC, on Monday to Friday", element marked data-utc-days) whose
  // local time falls on another day says so: "at 17:30 PST the day before, on Monday to Friday".
  function dayShift(start) {
    var local = localWallClock(start.toISOString()).slice(0, 10), utc = start.toISOString().slice(0, 10);
    return local < utc ? " the day before" : local > utc ? " the day after" : "";
  }
  function rewrite(original, ref, days) {
    return original.replace(UTC_TEXT, function (all, day, h1, m1, h2, m2) {
      var base = day ? day.trim().split("-").map(Number) : [ref.getUTCFullYear(), ref.getUTCMonth() + 1, ref.getUTCDate()];
      var start = new Date(Date.UTC(base[0], base[1] - 1, base[2], +h1, +m1));
      var text = hhmm.format(start);
      if (h2 !== undefined) {
        var end = new Date(Date.UTC(base[0], base[1] - 1, base[2], +h2, +m2));
        if (end < start) end = new Date(end.getTime() + 86400000);
        text += "-" + hhmm.format(end);
      }
      if (day) text = localWallClock(start.toISOString()).slice(0, 10) + " " + text;
      return text + " " + zoneAbbrev(start) + (days && !day ? dayShift(start) : "");
    });
  }
  function localise(root) {
    var nodes = (root || document).querySelectorAll("time[datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var when = new Date(nodes[i].getAttribute("datetime"));
      if (isNaN(when.getTime())) continue;
      var style = nodes[i].getAttribute("data-style");
      nodes[i].textContent = style === "time" ? timeOnly.format(when)
        : style === "seconds" ? withSeconds.format(when) + " " + zoneAbbrev(when)
        : dateTime.format(when);
    }
    var texts = (root || document).querySelectorAll("[data-utc-text]");
    for (var j = 0; j < texts.length; j++) localiseText(texts[j]);
    // A hover text written in UTC (data-utc-title, e.g. an integrity badge's "verified ... UTC").
    var titles = (root || document).querySelectorAll("[data-utc-title]");
    for (var t = 0; t < titles.length; t++) titles[t].title = rewrite(titles[t].getAttribute("data-utc-title"), new Date());
    var names = (root || document).querySelectorAll("[data-viewer-zone]");
    for (var k = 0; k < names.length; k++) names[k].textContent = zoneName;
    var browsers = (root || document).querySelectorAll("[data-browser-zone]");
    for (var b = 0; b < browsers.length; b++) browsers[b].textContent = browserZone;
  }
  window.hyperwebLocalise = localise;
  window.hyperwebLocalTime = {
    wallClock: localWallClock, zoneName: zoneName, zoneAbbrev: zoneAbbrev, formatter: formatter, chosen: chosen
  };
  localise(document);
})();
