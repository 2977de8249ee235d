/* Inside an embed (layouts/_embed.py): draw the chart, tell the parent page how tall we are, and
   redraw in place when a dataset we read gets a new version (not when pinned, not while paused).

   In place, not a reload: the same page is fetched again and what it says now is brought in (the
   chart by Plotly.react on the same element, the summary, "as of" and versions, the table, a tile's
   figures), so the frame keeps its scroll, the reader's focus and the parent's sizing; no blank frame
   or second download of plotly.js. While the pointer is on the chart the redraw waits for it to leave
   (a hover label is not pulled away from under the reader). The status line says what changed.

   The height message, for any page that frames an embed (documented in README "Share and embed"):
     window.parent.postMessage({"pulse-height": N}, "*")   N: the document's height in CSS pixels,
   sent after drawing, whenever it changes and when the parent asks ({"pulse-embed": "height"}).
   assets/embed/resize.js applies it to the iframe. */
(function () {
  "use strict";
  var card = document.querySelector(".embed-card");
  var data = JSON.parse(card.getAttribute("data-embed"));
  var lastHeight = 0;
  var chart = document.getElementById("embed-chart");

  function postHeight() {
    var h = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (h !== lastHeight && window.parent !== window) {
      lastHeight = h;
      window.parent.postMessage({ "pulse-height": h }, "*");
    }
  }

  /* Draw `figure` in the chart: newPlot the first time, react (the same element, updated) after. */
  function draw(figure, again) {
    var layout = Object.assign({}, figure.layout || {}, { autosize: true });
    delete layout.width;
    if (document.documentElement.classList.contains("theme-dark")) {
      Object.assign(layout, { paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: { color: "#f2f2f2" } });
    }
    var removed = JSON.parse(document.getElementById("embed-modebar").textContent);
    var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: removed };
    return window.Plotly[again ? "react" : "newPlot"](chart, figure.data || [], layout, config).then(postHeight);
  }

  if (chart && window.Plotly) { draw(JSON.parse(document.getElementById("embed-figure").textContent), false); }
  if (window.ResizeObserver) { new ResizeObserver(postHeight).observe(document.documentElement); }
  /* the parent's resize.js, loaded after this frame posted, asks again */
  window.addEventListener("message", function (event) {
    if (event.source === window.parent && event.data && event.data["pulse-embed"] === "height") {
      lastHeight = 0;
      postHeight();
    }
  });
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
        var tag = r.headers.get("ETag");
        return r.json().then(function (body) { return { tag: tag, body: body }; });
      })
      .then(function (got) {
        if (!got) { return; }
        var moved = Object.keys(data.versions).some(function (n) {
          return got.body.datasets[n] && got.body.datasets[n].version !== data.versions[n];
        });
        /* The tag is kept only once this page shows those versions: a redraw that has not happened yet
           (waiting for the pointer, failed, or answered by a worker or cache a moment behind) is asked
           for again at the next poll, not after the next publish, which a 304 would wait for. */
        etag = moved ? null : got.tag;
        if (moved) { return refresh(); }
      })
      .catch(function () {});
  }, data.poll * 1000);

  var waiting = false, fetching = false;
  function refresh() {
    if (chart && chart.matches(":hover")) {  // after the reader's pointer leaves the chart
      if (!waiting) {
        waiting = true;
        chart.addEventListener("mouseleave", function () { waiting = false; refresh(); }, { once: true });
      }
      return null;
    }
    if (fetching) { return null; }  // one redraw at a time: polls go on while a slow one is under way
    fetching = true;
    return fetch(window.location.href, { headers: { "Accept": "text/html" }, cache: "no-cache" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) { bringIn(new DOMParser().parseFromString(html, "text/html")); } })
      .finally(function () { fetching = false; });
  }

  /* What the page says now, into this one: elements keep their identity (focus, open details). */
  function bringIn(doc) {
    var fresh = doc.querySelector(".embed-card");
    if (!fresh) { return; }
    var latest = JSON.parse(fresh.getAttribute("data-embed"));
    if (JSON.stringify(latest.versions) === JSON.stringify(data.versions)) { return; }  // not on the new version yet: nothing to say
    data = latest;
    card.setAttribute("data-embed", fresh.getAttribute("data-embed"));
    ["#embed-summary", ".asof", ".table-wrap", ".tile"].forEach(function (selector) {
      var now = card.querySelector(selector), next = fresh.querySelector(selector);
      if (now && next && now.innerHTML !== next.innerHTML) { now.innerHTML = next.innerHTML; }
      if (now && next) { now.className = next.className; }  // a tile's status colour
    });
    var figure = doc.getElementById("embed-figure");
    if (chart && figure && window.Plotly) {
      document.getElementById("embed-figure").textContent = figure.textContent;
      draw(JSON.parse(figure.textContent), true);
    }
    var status = document.getElementById("embed-status");
    if (status) { status.textContent = "Updated with new data: " + card.querySelector(".asof").textContent; }
    postHeight();
  }
})();
