/* Pulse embeds on a partner's page: each iframe marked data-pulse-embed takes the height its page
   posts ({"pulse-height": N}, a number of CSS pixels), so it shows whole, without a scroll bar of
   its own. Only messages from the iframe's own window and origin count. Loaded once per page; as it
   may load after a frame has already posted, it asks each frame for its height ({"pulse-embed": "height"}). */
(function () {
  "use strict";
  if (window.pulseEmbeds) { return; }
  window.pulseEmbeds = true;
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || typeof data !== "object" || typeof data["pulse-height"] !== "number") { return; }
    var frames = document.querySelectorAll("iframe[data-pulse-embed]");
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (frame.contentWindow === event.source && new URL(frame.src, window.location.href).origin === event.origin) {
        frame.style.height = Math.max(0, Math.ceil(data["pulse-height"])) + "px";
      }
    }
  });
  function ask() {
    var frames = document.querySelectorAll("iframe[data-pulse-embed]");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow) {
        frames[i].contentWindow.postMessage({ "pulse-embed": "height" }, new URL(frames[i].src, window.location.href).origin);
      }
    }
  }
  ask();
  window.addEventListener("load", ask);
})();
