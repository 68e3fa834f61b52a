// Live status and progress bars: polls the dashboard's progress endpoint (session cookie) every
// 2 s for the jobs on the page that are still waiting or running. On a backup's own page a status
// change reloads the page, so its decision, events and accounting appear as they happen.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script.getAttribute("data-url");
  var reload = script.getAttribute("data-reload") === "1";
  var ACTIVE = ["pending", "scheduled", "running"];

  function activeRows() {
    return Array.prototype.filter.call(document.querySelectorAll("[data-job][data-status]"), function (el) {
      return ACTIVE.indexOf(el.getAttribute("data-status")) >= 0;
    });
  }

  function update(el, info) {
    var before = el.getAttribute("data-status");
    var status = info.status;
    var percent = Math.round((info.progress && info.progress.percent_complete) || 0);
    var badge = el.querySelector("[data-role=status]") || document.getElementById("job-status");
    if (badge) { badge.textContent = status; badge.className = "badge s-" + status; }
    var bar = el.querySelector("progress") || document.getElementById("job-progress");
    if (bar) bar.value = percent;
    var text = el.querySelector("[data-role=percent]") || document.getElementById("job-percent");
    if (text) text.textContent = percent + " %";
    var phase = document.getElementById("job-phase");
    if (phase && info.progress) phase.textContent = info.progress.phase;
    el.setAttribute("data-status", status);
    if (reload && before !== status) window.location.reload();
  }

  function poll() {
    var rows = activeRows();
    if (!rows.length) return;
    var ids = rows.map(function (el) { return el.getAttribute("data-job"); });
    fetch(url + "?ids=" + encodeURIComponent(ids.join(",")), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body) rows.forEach(function (el) {
          var info = body.jobs[el.getAttribute("data-job")];
          if (info) update(el, info);
        });
      })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .then(function () {
        var rows = activeRows();
        if (!rows.length) return;
        // Waiting for a planned start hours away needs no 2 s updates.
        var busy = rows.some(function (el) { return el.getAttribute("data-status") !== "scheduled"; });
        window.setTimeout(poll, busy ? 2000 : 15000);
      });
  }
  window.setTimeout(poll, 1000);
})();
