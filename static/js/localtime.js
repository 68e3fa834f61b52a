// One rule for time: every time on a page is shown in the viewer's timezone: the one they chose on
// the preferences page (<html data-timezone>, from the server), else the browser's. The
// server renders the same text in the chosen timezone, else in UTC (a page without JavaScript);
// the API and CSV stay in UTC. hyperweb/lib/zonetext.py is this file's twin and writes the same:
//   "Thu 3 Dec 2026 09:45 CET" (datetime), "Thu 3 Dec 2026 09:45:12 CET" (seconds),
//   "09:45 CET" (time), "Thu 3 Dec 2026 11:00-13:00 CET" (a range within one day),
// a 24-hour clock, the day never in digits alone, and the zone's abbreviation (for a chosen zone
// the server's, from <html data-timezone-labels>; else the English one Intl knows, CET rather
// than GMT+1; GMT-3 for a zone that has none).
// - <time datetime="...Z"> elements get the viewer's local time in its style (data-style); one
//   with data-zone stays in that zone (a report's UTC); their title (hover) keeps the zone's
//   local time the server put there.
// - <span data-start data-end> is a range, written as above.
// - Text written in UTC ("Best 2 h window 08:45-10:45 UTC", "at 22:00 UTC") inside an element
//   marked data-utc-text is rewritten in the viewer's time; a time without a date is on the day of
//   the element's data-ref (an ISO time), else today. The UTC text stays on hover. A hover text
//   in UTC (attribute data-utc-title) is rewritten the same way into the element's title.
// - Charts (charts.js) and the forms' scripts format through window.hyperwebLocalTime.
(function () {
  "use strict";
  var browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  // The user's own choice (preferences page), if this browser knows the name; else the browser's.
  var chosen = document.documentElement.getAttribute("data-timezone") || "";
  if (chosen) {
    try { new Intl.DateTimeFormat("en-US", { timeZone: chosen }); } catch (e) { chosen = ""; }
  }
  var zoneName = chosen || browserZone;
  // The chosen zone's labels by UTC offset in seconds, as the server writes them ("3600=CET 7200=CEST").
  var serverLabels = {};
  (document.documentElement.getAttribute("data-timezone-labels") || "").split(" ").forEach(function (pair) {
    var kv = pair.split("=");
    if (kv.length === 2) serverLabels[kv[0]] = kv[1];
  });
  var cache = {};
  function cached(key, make) { return cache[key] || (cache[key] = make()); }
  // An Intl.DateTimeFormat in the viewer's timezone, or in `zone`.
  function formatter(options, zone) {
    var opts = {};
    Object.keys(options || {}).forEach(function (k) { opts[k] = options[k]; });
    opts.timeZone = zone || zoneName;
    return new Intl.DateTimeFormat(undefined, opts);
  }
  // The parts of `when` in `zone` (default the viewer's), in English, on a 24-hour clock.
  function parts(when, zone) {
    var z = zone || zoneName;
    var fmt = cached("p:" + z, function () {
      return new Intl.DateTimeFormat("en-US", {
        timeZone: z, weekday: "short", year: "numeric", month: "short", day: "numeric",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
      });
    });
    var nums = cached("n:" + z, function () {
      return new Intl.DateTimeFormat("en-US", {
        timeZone: z, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"
      });
    });
    var p = {}, n = {};
    fmt.formatToParts(when).forEach(function (x) { p[x.type] = x.value; });
    nums.formatToParts(when).forEach(function (x) { n[x.type] = x.value; });
    p.hour = p.hour === "24" ? "00" : p.hour;
    p.iso = n.year + "-" + n.month + "-" + n.day;
    var wall = Date.UTC(+n.year, +n.month - 1, +n.day, +p.hour, +n.minute, +n.second);
    p.offset = Math.round((wall - Math.floor(when.getTime() / 1000) * 1000) / 60000) * 60;
    return p;
  }
  function shortName(when, zone, locale) {
    var fmt = cached("z:" + locale + ":" + zone, function () {
      return new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: "short" });
    });
    var found = fmt.formatToParts(when).filter(function (x) { return x.type === "timeZoneName"; });
    return found.length ? found[0].value : "";
  }
  // The zone's label at `when`: the server's for the chosen zone, else the English abbreviation
  // Intl knows (en-US says GMT+1 for Berlin, en-GB CET), else the offset ("GMT-3", "GMT+5:45").
  function label(when, zone, offset) {
    var z = zone || zoneName;
    if (z === chosen && serverLabels[offset] !== undefined) return serverLabels[offset];
    var names = [shortName(when, z, "en-US"), shortName(when, z, "en-GB")];
    for (var i = 0; i < names.length; i++) {
      if (/^[A-Z]{2,5}$/.test(names[i])) return names[i];
    }
    if (offset === 0) return "GMT";
    var m = Math.abs(offset) / 60;
    return "GMT" + (offset > 0 ? "+" : "-") + Math.floor(m / 60) + (m % 60 ? ":" + ("0" + (m % 60)).slice(-2) : "");
  }
  function dateText(p) { return p.weekday + " " + p.day + " " + p.month + " " + p.year; }
  // One instant by the rule: style "datetime" (default), "seconds" or "time"; in `zone` if given.
  function format(when, style, zone) {
    var p = parts(when, zone), tag = label(when, zone, p.offset);
    if (style === "time") return p.hour + ":" + p.minute + " " + tag;
    var clock = p.hour + ":" + p.minute + (style === "seconds" ? ":" + p.second : "");
    return dateText(p) + " " + clock + " " + tag;
  }
  // A range: "Thu 3 Dec 2026 11:00-13:00 CET" within one local day, else both ends in full.
  function span(start, end, zone) {
    var a = parts(start, zone), b = parts(end, zone);
    if (a.iso !== b.iso) return format(start, "datetime", zone) + " - " + format(end, "datetime", zone);
    var la = label(start, zone, a.offset), lb = label(end, zone, b.offset);
    return dateText(a) + " " + a.hour + ":" + a.minute + (la === lb ? "" : " " + la) + "-" + b.hour + ":" + b.minute + " " + lb;
  }
  // "2026-12-02T08:45:00Z" -> "2026-12-02 09:45:00", the wall-clock time in the viewer's zone (or
  // in `zone`), which Plotly draws as given.
  function localWallClock(iso, zone) {
    var when = new Date(iso);
    if (isNaN(when.getTime())) return iso;
    var p = parts(when, zone);
    return p.iso + " " + p.hour + ":" + p.minute + ":" + p.second;
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
    var local = parts(start).iso, utc = start.toISOString().slice(0, 10);
    return local < utc ? " the day before" : local > utc ? " the day after" : "";
  }
  function rewrite(original, ref, days) {
    return original.replace(UTC_TEXT, function (all, day, h1, m1, h2, m2) {
      var base = day ? day.trim().split("-").map(Number) : [ref.getUTCFullYear(), ref.getUTCMonth() + 1, ref.getUTCDate()];
      var start = new Date(Date.UTC(base[0], base[1] - 1, base[2], +h1, +m1));
      var text;
      if (h2 === undefined) {
        text = format(start, day ? "datetime" : "time");
      } else {
        var end = new Date(Date.UTC(base[0], base[1] - 1, base[2], +h2, +m2));
        if (end < start) end = new Date(end.getTime() + 86400000);
        if (day) {
          text = span(start, end);
        } else {
          var a = parts(start);
          text = a.hour + ":" + a.minute + "-" + format(end, "time");
        }
      }
      return text + (days && !day ? dayShift(start) : "");
    });
  }
  function localise(root) {
    var nodes = (root || document).querySelectorAll("time[datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var when = new Date(nodes[i].getAttribute("datetime"));
      if (isNaN(when.getTime())) continue;
      nodes[i].textContent = format(when, nodes[i].getAttribute("data-style"), nodes[i].getAttribute("data-zone") || undefined);
    }
    var spans = (root || document).querySelectorAll("[data-start][data-end]");
    for (var s = 0; s < spans.length; s++) {
      var from = new Date(spans[s].getAttribute("data-start")), to = new Date(spans[s].getAttribute("data-end"));
      if (!isNaN(from.getTime()) && !isNaN(to.getTime())) spans[s].textContent = span(from, to);
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
    wallClock: localWallClock, zoneName: zoneName, formatter: formatter, chosen: chosen,
    format: format, span: span, label: function (when, zone) { return label(when, zone, parts(when, zone).offset); }
  };
  localise(document);
})();
