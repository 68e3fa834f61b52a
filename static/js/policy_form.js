// Explain the cron schedule and the flexible window in words while they are typed: the server
// describes them (the same rules as the page itself), this script only asks and shows.
(function () {
  "use strict";
  var form = document.getElementById("policy-form");
  if (!form) return;
  var url = form.getAttribute("data-describe");
  var scheduleText = document.getElementById("schedule-text");
  var windowText = document.getElementById("window-text");
  var local = window.hyperwebLocalTime;  // localtime.js: the pages' one rule for times
  function stamp(when) { return local ? local.format(when) : when.toISOString(); }
  var timer = null;

  function describe() {
    var params = new URLSearchParams({
      schedule: form.elements["schedule"].value,
      window_start: form.elements["window_start"].value,
      window_hours: form.elements["window_hours"].value
    });
    fetch(url + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok || r.status === 400 ? r.json() : null; })
      .then(function (d) {
        if (!d || !d.next_runs) return;  // a 400 still says in words what is wrong
        var next = d.next_runs.map(function (t) { return stamp(new Date(t)); }).join(", ");
        scheduleText.textContent = "Runs " + d.schedule_text + "." + (next ? " Next: " + next + "." : "");
        windowText.textContent = d.window_text || "The flexible window is explained here once the schedule is valid.";
        [scheduleText, windowText].forEach(function (el) { el.removeAttribute("data-utc-original"); });
        if (window.hyperwebLocalise) window.hyperwebLocalise(form);  // its UTC times in the viewer's zone
      })
      .catch(function () { /* keep the server-rendered text */ });
  }
  ["schedule", "window_start", "window_hours"].forEach(function (name) {
    var el = form.elements[name];
    if (el) el.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(describe, 300); });
  });
})();
