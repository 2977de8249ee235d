/* Inside an embed (layouts/_embed.py): draw the chart, tell the parent page how tall we are, and
   reload when a dataset we read gets a new version (not when pinned, not while paused).

   The height message, for any page that frames an embed (documented in README "Share and embed"):
     window.parent.postMessage({"pulse-height": N}, "*")   N: the document's height in CSS pixels,
   sent after drawing and whenever it changes. assets/embed/resize.js applies it to the iframe. */
(function () {
  "use strict";
  var card = document.querySelector(".embed-card");
  var data = JSON.parse(card.getAttribute("data-embed"));
  var lastHeight = 0;

  function postHeight() {
    var h = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (h !== lastHeight && window.parent !== window) {
      lastHeight = h;
      window.parent.postMessage({ "pulse-height": h }, "*");
    }
  }

  var chart = document.getElementById("embed-chart");
  if (chart && window.Plotly) {
    var figure = JSON.parse(document.getElementById("embed-figure").textContent);
    var layout = Object.assign({}, figure.layout || {}, { autosize: true });
    delete layout.width;
    if (document.documentElement.classList.contains("theme-dark")) {
      Object.assign(layout, { paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: { color: "#f2f2f2" } });
    }
    var removed = JSON.parse(document.getElementById("embed-modebar").textContent);
    window.Plotly.newPlot(chart, figure.data || [], layout,
      { responsive: true, displaylogo: false, modeBarButtonsToRemove: removed }).then(postHeight);
  }
  if (window.ResizeObserver) { new ResizeObserver(postHeight).observe(document.documentElement); }
  window.addEventListener("load", postHeight);
  document.addEventListener("toggle", postHeight, true);
  postHeight();

  if (data.pinned || !data.poll) { return; }
  var paused = false;
  var button = document.querySelector(".live-toggle");
  if (button) {
    button.addEventListener("click", function () {
      paused = !paused;
      button.setAttribute("aria-pressed", paused ? "true" : "false");
      button.textContent = paused ? "Resume live updates" : "Pause live updates";
    });
  }
  var etag = null;
  setInterval(function () {
    if (paused) { return; }
    fetch("/api/v1/version", { headers: etag ? { "If-None-Match": etag } : {}, cache: "no-store" })
      .then(function (r) {
        if (r.status !== 200) { return null; }
        etag = r.headers.get("ETag");
        return r.json();
      })
      .then(function (body) {
        if (!body) { return; }
        var moved = Object.keys(data.versions).some(function (n) {
          return body.datasets[n] && body.datasets[n].version !== data.versions[n];
        });
        if (moved) { window.location.reload(); }
      })
      .catch(function () {});
  }, data.poll * 1000);
})();
