/* For a page that embeds Pulse charts (the share control's snippet loads this): size each Pulse
   iframe to the height its content reports, {"pulse-height": N} (assets/embed/embed.js). Only a
   message from the iframe's own window and origin is obeyed. */
(function () {
  "use strict";
  if (window.pulseEmbedResize) { return; }
  window.pulseEmbedResize = true;
  window.addEventListener("message", function (event) {
    var h = event.data && event.data["pulse-height"];
    if (typeof h !== "number" || !(h > 0) || h > 20000) { return; }
    var frames = document.querySelectorAll("iframe[data-pulse-embed]");
    for (var i = 0; i < frames.length; i++) {
      var f = frames[i];
      if (f.contentWindow === event.source && new URL(f.src, location.href).origin === event.origin) {
        f.style.height = h + "px";
        f.setAttribute("height", String(h));
      }
    }
  });
})();
