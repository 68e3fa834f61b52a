// Show every <time datetime="..."> in the viewer's own timezone. The server renders UTC text and
// puts the zone's local time in the title attribute (hover), so nothing is lost without JS.
(function () {
  "use strict";
  var dateTime = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
  });
  var timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  function localise(root) {
    var nodes = (root || document).querySelectorAll("time[datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var when = new Date(nodes[i].getAttribute("datetime"));
      if (isNaN(when.getTime())) continue;
      var style = nodes[i].getAttribute("data-style");
      nodes[i].textContent = (style === "time" ? timeOnly : dateTime).format(when);
    }
  }
  window.hyperwebLocalise = localise;
  localise(document);
})();
