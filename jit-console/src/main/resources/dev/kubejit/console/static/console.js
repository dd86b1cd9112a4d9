// KubeJIT console: counts down every <time data-countdown datetime="..."> once a second.
// The pages work without it: the server renders the time left when the page is made.
"use strict";
(function () {
  function left(ms) {
    if (ms <= 0) { return "ended"; }
    var s = Math.floor(ms / 1000);
    if (s >= 3600) { return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min left"; }
    if (s >= 60) { return Math.floor(s / 60) + " min " + (s % 60) + " s left"; }
    return s + " s left";
  }
  function tick() {
    var els = document.querySelectorAll("time[data-countdown]");
    for (var i = 0; i < els.length; i++) {
      var end = Date.parse(els[i].getAttribute("datetime"));
      if (!isNaN(end)) { els[i].textContent = left(end - Date.now()); }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
