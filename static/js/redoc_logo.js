// Redoc draws its "API docs by Redocly" logo from a CDN (a fixed URL inside its bundle, no option
// to change it). Every asset of this site comes from this server, so the logo's URL is swapped for
// a local copy whichever way Redoc sets it: React first sets the attribute, then (on update) the
// `src` property, so both are covered. Loaded before the Redoc bundle.
(function () {
  "use strict";
  var CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg";
  var local = document.currentScript.getAttribute("data-logo");
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (name === "src" && value === CDN_LOGO) value = local;
    return setAttribute.call(this, name, value);
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: function () {
      return src.get.call(this);
    },
    set: function (value) {
      src.set.call(this, value === CDN_LOGO ? local : value);
    },
  });
})();
