/* The volunteer finder, made better with JavaScript (it works without: a plain GET form).
   - Searches without a reload: the form's GET is fetched and the finder swapped in place; the URL follows.
   - Keeps the weekly count live: polls /api/v1/version (as assets/pulse.js does) and, when a version of
     the volunteer data lands, fetches the same search again and swaps it in (aria-live says the count).
   - Inside a frame, posts its height to the parent page: {"pulse-height": N} (README, "Volunteer finder"),
     which the snippet's script (embed.js) uses to size the iframe. */
(function () {
  "use strict";
  var root = document.getElementById("finder");
  if (!root) { return; }
  var state = JSON.parse(root.getAttribute("data-finder") || "{}");
  var etag = null;

  function finder() { return document.getElementById("finder"); }

  function postHeight() {
    if (window.parent === window) { return; }
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    window.parent.postMessage({ "pulse-height": height }, "*");
  }

  /* Bring in the finder in `html`: the count and the weekly figure change their text in place (so their
     live regions speak), the results are replaced, and the form too unless this is a refresh (never
     what someone is typing). Focus stays where it was. */
  function swap(html, keepForm) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("finder");
    if (!fresh) { return; }
    var current = finder();
    var focused = document.activeElement && document.activeElement.id;
    ["finder-week", "finder-count"].forEach(function (id) {
      var now = document.getElementById(id), next = doc.getElementById(id);
      if (now && next && now.textContent !== next.textContent) { now.textContent = next.textContent; }
    });
    var results = current.querySelector(".finder-results"), nextResults = fresh.querySelector(".finder-results");
    if (results && nextResults) {
      var count = nextResults.querySelector("#finder-count");
      if (count && document.getElementById("finder-count")) { count.replaceWith(document.getElementById("finder-count")); }
      results.replaceWith(nextResults);
    }
    var form = current.querySelector("form.finder-form"), nextForm = fresh.querySelector("form.finder-form");
    if (!keepForm && form && nextForm) { form.replaceWith(nextForm); }
    current.setAttribute("data-finder", fresh.getAttribute("data-finder"));
    if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
    state = JSON.parse(current.getAttribute("data-finder") || "{}");
    bind();
    postHeight();
  }

  function load(url, keepForm) {
    return fetch(url, { headers: { "Accept": "text/html" } }).then(function (r) {
      return r.text().then(function (html) { swap(html, keepForm); });
    });
  }

  function bind() {
    var form = finder().querySelector("form.finder-form");
    if (!form || form.getAttribute("data-bound")) { return; }
    form.setAttribute("data-bound", "1");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) { if (String(value).trim() !== "") { params.set(key, value); } });
      var search = params.toString();
      var url = window.location.pathname + (search ? "?" + search : "");
      load(url, false).then(function () {
        window.history.replaceState(window.history.state, "", url);
        var problem = finder().querySelector("[aria-invalid='true']");
        if (problem) { problem.focus(); }
      });
    });
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch("/api/v1/version", { headers: headers, cache: "no-store" }).then(function (r) {
      if (r.status === 304 || !r.ok) { return; }
      var tag = r.headers.get("ETag");
      return r.json().then(function (body) {
        var seen = state.versions || {};
        var moved = Object.keys(seen).some(function (name) {
          var now = (body.datasets || {})[name];
          return now && now.version !== seen[name];
        });
        /* kept only once the finder shows those versions: a page that came back from a worker or cache
           a moment behind is asked for again at the next poll, not after the next publish (a 304 till then) */
        etag = moved ? null : tag;
        if (moved) { return load(window.location.pathname + window.location.search, true); }
      });
    }).catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  bind();
  postHeight();
  if (window.ResizeObserver) { new ResizeObserver(postHeight).observe(document.documentElement); }
  window.addEventListener("load", postHeight);
  /* the parent's embed.js, loaded after this frame posted, asks again */
  window.addEventListener("message", function (event) {
    if (event.source === window.parent && event.data && event.data["pulse-embed"] === "height") { postHeight(); }
  });
  window.setInterval(poll, Math.max(1, state.poll || 5) * 1000);
})();
