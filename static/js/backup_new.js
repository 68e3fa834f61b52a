// Live estimate on the new-backup form: POST /carbon/estimate with the session cookie and the
// CSRF token whenever the zone, size, duration or delay changes (debounced), and say in words
// what starting now would emit against the best window.
(function () {
  "use strict";
  var form = document.getElementById("backup-form");
  var box = document.getElementById("estimate");
  if (!form || !box) return;
  var vm = document.getElementById("id_vm_path");
  if (vm) vm.setAttribute("list", "vm-paths");
  var timer = null;
  var seq = 0;
  var local = window.hyperwebLocalTime;  // localtime.js: the pages' one rule for times
  function range(start, end) {
    return local ? local.span(start, end) : start.toISOString() + " - " + end.toISOString();
  }

  function value(name) { var el = form.elements[name]; return el ? el.value.trim() : ""; }
  var q = window.hyperwebQuantities;  // static/js/quantities.js: the pages' own rule, g/kg/t by size
  function say(html) { box.innerHTML = html; }
  function esc(text) { var d = document.createElement("div"); d.textContent = text; return d.innerHTML; }

  function estimate() {
    var zone = value("zone"), size = parseFloat(value("data_size_gb")), hours = parseFloat(value("expected_duration_hours"));
    // No size typed: the chosen VM's size as the server measured it (its list of source files).
    var measured = "";
    if (!(size > 0) && value("vm_path")) {
      var option = document.querySelector('#vm-paths option[value="' + CSS.escape(value("vm_path")) + '"]');
      var gb = option ? parseFloat(option.getAttribute("data-gb")) : NaN;
      if (gb > 0) { size = gb; measured = '<p class="small muted" id="estimate-size">Data size: the VM measured ' + esc(q.dataGb(gb)) + ".</p>"; }
    }
    var delay = parseFloat(value("max_delay_hours"));
    var aware = form.elements["carbon_aware"] && form.elements["carbon_aware"].checked;
    if (!zone || !(size > 0) || !(hours > 0)) {
      say('<p class="muted">Choose a zone, a VM (or a data size) and a duration to see an estimate.</p>');
      return;
    }
    var body = { zone: zone, data_size_gb: size, duration_hours: hours, horizon_hours: aware && delay >= 0 ? Math.min(delay, 168) : 0 };
    var mine = ++seq;
    say('<p class="muted">Estimating…</p>');
    fetch(box.getAttribute("data-url"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": form.elements["csrfmiddlewaretoken"].value },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (mine !== seq) return;  // a newer request is on its way
        if (!res.ok) { say('<p class="errors">' + esc(res.body.error || "no estimate") + "</p>"); return; }
        var e = res.body;
        var start = new Date(e.best_time), end = new Date(e.best_end);
        var label = e.simulated ? ' <span class="badge simulated">simulated</span>' : "";
        var html = "<p>Start now: <strong>" + esc(q.co2(e.current_emissions_kg_co2)) + " CO2</strong> (" +
          Math.round(e.current_intensity_gco2_kwh) + " gCO2/kWh)" + label + "</p>";
        if (e.savings_kg_co2 > 0 && e.delay_minutes > 0) {
          html += '<p>Best window <span id="estimate-window">' + esc(range(start, end)) + "</span>" +
            ": <strong>" + esc(q.co2(e.best_emissions_kg_co2)) + " CO2</strong>, " + e.savings_percent.toFixed(1) + " % less</p>";
        } else {
          html += "<p>No cleaner window within " + body.horizon_hours + " h: it would start at once.</p>";
        }
        html += measured;
        html += '<p class="small muted" data-utc-text data-ref="' + esc(e.best_time) + '">' + esc(e.recommendation) + "</p>";
        say(html);
        if (window.hyperwebLocalise) window.hyperwebLocalise(box);  // "start at 08:45 UTC" in the viewer's zone
      })
      .catch(function () { if (mine === seq) say('<p class="errors">The estimate could not be fetched.</p>'); });
  }

  function schedule() { window.clearTimeout(timer); timer = window.setTimeout(estimate, 300); }
  ["zone", "vm_path", "data_size_gb", "expected_duration_hours", "max_delay_hours", "carbon_aware"].forEach(function (name) {
    var el = form.elements[name];
    if (el) { el.addEventListener("input", schedule); el.addEventListener("change", schedule); }
  });
  estimate();
})();
