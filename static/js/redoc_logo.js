// Redoc draws its "API docs by Redocly" logo from a CDN (a fixed URL inside its bundle, no option
// to change it). Every asset of this site comes from this server, so the logo's URL is swapped for
// a local copy when Redoc sets it. Loaded before the Redoc bundle.
(function () {
  "use strict";
  var CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
  var local = document.currentScript.getAttribute("data-logo");
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (name === "src" && value === CDN_LOGO) value = local;
    return setAttribute.call(this, name, value);
  };
})();
