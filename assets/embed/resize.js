/* For a page that embeds Pulse (a chart, a KPI tile or the volunteer finder: every snippet loads this
   one script): each iframe marked data-pulse-embed takes the height its page posts, {"pulse-height": N}
   in CSS pixels (assets/embed/embed.js, web/finder/finder.js), so it shows whole, without a scroll bar
   of its own. Only a message from the iframe's own window and origin is obeyed, and only a height from
   1 to 20000. Loaded once per page however many snippets it holds; as it may load after a frame has
   already posted, it asks each frame for its height ({"pulse-embed": "height"}).
   The finder's snippets pasted before there was one script load it as /volunteer/static/embed.js: the
   same file, served there too. */
(function () {
  "use strict";
  if (window.pulseEmbeds || window.pulseEmbedResize) { return; }
  window.pulseEmbeds = window.pulseEmbedResize = true;

  function origin(frame) { return new URL(frame.src, window.location.href).origin; }

  window.addEventListener("message", function (event) {
    var h = event.data && typeof event.data === "object" ? event.data["pulse-height"] : null;
    if (typeof h !== "number" || !(h > 0) || h > 20000) { return; }
    var frames = document.querySelectorAll("iframe[data-pulse-embed]");
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (frame.contentWindow === event.source && origin(frame) === event.origin) {
        frame.style.height = Math.ceil(h) + "px";
        frame.setAttribute("height", String(Math.ceil(h)));
      }
    }
  });

  function ask() {
    var frames = document.querySelectorAll("iframe[data-pulse-embed]");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow) { frames[i].contentWindow.postMessage({ "pulse-embed": "height" }, origin(frames[i])); }
    }
  }
  ask();
  window.addEventListener("load", ask);
})();
