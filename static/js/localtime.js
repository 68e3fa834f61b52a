// One rule for time: every time on a page is shown in the viewer's timezone (the browser's). The
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
  var zoneName = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  var dateTime = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var withSeconds = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
    hour12: false
  });
  var timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  var hhmm = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });
  var shortZone = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" });
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function zoneAbbrev(when) {
    var parts = shortZone.formatToParts(when).filter(function (p) { return p.type === "timeZoneName"; });
    return parts.length ? parts[0].value : zoneName;
  }
  // "2026-12-02T08:45:00Z" -> "2026-12-02 09:45:00", the wall-clock time Plotly draws as given.
  function localWallClock(iso) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) return iso;
    return when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()) + " " +
      pad(when.getHours()) + ":" + pad(when.getMinutes()) + ":" + pad(when.getSeconds());
  }
  var UTC_TEXT = /(\d{4}-\d{2}-\d{2} )?(\d{2}):(\d{2})(?:-(\d{2}):(\d{2}))? UTC/g;
  function localiseText(node) {
    var ref = new Date(node.getAttribute("data-ref") || Date.now());
    var original = node.getAttribute("data-utc-original") || node.textContent;
    node.setAttribute("data-utc-original", original);
    node.title = original;
    node.textContent = rewrite(original, ref);
  }
  function rewrite(original, ref) {
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
      return text + " " + zoneAbbrev(start);
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
  }
  window.hyperwebLocalise = localise;
  window.hyperwebLocalTime = { wallClock: localWallClock, zoneName: zoneName, zoneAbbrev: zoneAbbrev };
  localise(document);
})();
