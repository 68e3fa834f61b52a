// One way to write quantities in the browser: the very rule of hyperweb/lib/units.py (decimal SI
// bytes, g/kg/t by size, Wh/kWh/MWh by size, at most three significant digits). A Playwright test
// (tests/dashboard/test_e2e_quantities.py) checks this file against the Python one value by value.
(function () {
  "use strict";
  var DATA = [["PB", 1e15], ["TB", 1e12], ["GB", 1e9], ["MB", 1e6], ["kB", 1e3]];
  var MASS = [["t", 1000], ["kg", 1], ["g", 0.001]];
  var ENERGY = [["MWh", 1000], ["kWh", 1], ["Wh", 0.001]];
  // Python's format(): round the number's exact binary value half to even. toFixed rounds the
  // exact value too, but an exact tie (12.25, 1234.5) upwards; those few are rounded to even here.
  function fixed(value, places, grouping) {
    var size = Math.abs(value);
    var text = size.toFixed(places);
    var exact = size.toFixed(places + 30).split(".")[1];
    if (exact.charAt(places) === "5" && /^0*$/.test(exact.slice(places + 1))) {
      var down = size.toFixed(places + 30).slice(0, places ? -30 : -31);  // the value cut, not rounded
      var last = parseInt(down.replace(".", "").slice(-1), 10);
      if (last % 2 === 0) text = down;
    }
    if (grouping) {
      var parts = text.split(".");
      parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
      text = parts.join(".");
    }
    return (value < 0 ? "-" : "") + text;
  }
  function significant3(value) {  // Python's f"{value:.3g}" for 0.001 <= |value| < 1
    if (value === 0) return "0";
    var exp = Math.floor(Math.log10(Math.abs(value)));
    if (Math.abs(value) >= Math.pow(10, exp + 1)) exp += 1;
    if (Math.abs(value) < Math.pow(10, exp)) exp -= 1;
    var text = fixed(value, Math.max(0, 2 - exp), false);
    return text.indexOf(".") >= 0 ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  }
  function digits(value) {  // 0.123, 12.3, 123, 1,234 (Python: :,.0f / .1f / .2f / .3g)
    var size = Math.abs(value);
    if (size >= 100) return fixed(value, 0, true);
    if (size >= 10) return fixed(value, 1, false);
    return size >= 1 ? fixed(value, 2, false) : significant3(value);
  }
  // Below a hundredth of the smallest unit: "< 0.01 g" ("> -0.01 g" below zero), as units.py.
  function scaled(value, units) {
    if (value === null || value === undefined || isNaN(value)) return "—";
    var smallest = units[units.length - 1];
    if (value !== 0 && Math.abs(value) < 0.01 * smallest[1]) {
      return (value > 0 ? "< 0.01 " : "> -0.01 ") + smallest[0];
    }
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(value) >= units[i][1]) return digits(value / units[i][1]) + " " + units[i][0];
    }
    var last = units[units.length - 1];
    return digits(value / last[1]) + " " + last[0];
  }
  function dataBytes(count) {
    if (count === null || count === undefined || isNaN(count)) return "—";
    for (var i = 0; i < DATA.length; i++) {
      if (Math.abs(count) >= DATA[i][1]) return digits(count / DATA[i][1]) + " " + DATA[i][0];
    }
    return fixed(count, 0, true) + " B";
  }
  window.hyperwebQuantities = {
    co2: function (kg) { return scaled(kg, MASS); },
    energy: function (kwh) { return scaled(kwh, ENERGY); },
    dataBytes: dataBytes,
    dataGb: function (gb) { return gb === null || gb === undefined ? "—" : dataBytes(gb * 1e9); }
  };
})();
