/* Pulse in the browser: live refresh, URL state and meeting-mode keyboard navigation.
   Plain functions for Dash's clientside callbacks (callbacks/live.py, callbacks/_panels.py). */
(function () {
  "use strict";
  var etag = null;
  var lastVersions = null;

  function sameVersions(a, b) {
    return JSON.stringify(a || {}) === JSON.stringify(b || {});
  }

  function versionsOf(body) {
    var out = {};
    Object.keys(body.datasets || {}).sort().forEach(function (name) {
      out[name] = body.datasets[name].version;
    });
    return out;
  }

  function changed(before, after) {
    return Object.keys(after).filter(function (n) { return (before || {})[n] !== after[n]; });
  }

  window.pulse = {
    syncUrl: function (names, values) {
      var params = new URLSearchParams(window.location.search);
      names.forEach(function (name, i) {
        var v = values[i];
        if (v === null || v === undefined || v === "") { params.delete(name); } else { params.set(name, String(v)); }
      });
      var search = params.toString();
      var target = window.location.pathname + (search ? "?" + search : "") + window.location.hash;
      if (target !== window.location.pathname + window.location.search + window.location.hash) {
        window.history.replaceState(window.history.state, "", target);
      }
      return search;
    }
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    pulse: {
      /* Ask for the current versions; resolve to new versions only when one changed. */
      pollVersion: function (n, current) {
        var noUpdate = window.dash_clientside.no_update;
        if (lastVersions === null) { lastVersions = current; }
        var headers = etag ? { "If-None-Match": etag } : {};
        return fetch("/api/v1/version", { headers: headers, cache: "no-store" }).then(function (r) {
          if (r.status === 304 || !r.ok) { return noUpdate; }
          etag = r.headers.get("ETag");
          return r.json().then(function (body) {
            var fresh = versionsOf(body);
            return sameVersions(fresh, current) ? noUpdate : fresh;
          });
        }).catch(function () { return noUpdate; });
      },

      /* Say what changed, politely, once per new version. */
      announce: function (versions) {
        var names = changed(lastVersions, versions || {});
        lastVersions = versions;
        var time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        var what = names.map(function (n) { return n + " v" + versions[n]; }).join(", ");
        var text = "Updated at " + time + ": new data (" + (what || "no change") + ").";
        return [text, "Data updated at " + time];
      },

      /* One of a toggle group's buttons was pressed: it becomes the value, and the only one pressed. */
      toggle: function (clicks, current) {
        var ctx = window.dash_clientside.callback_context;
        var id = ctx.triggered_id || (ctx.triggered.length ? JSON.parse(ctx.triggered[0].prop_id.split(".")[0]) : null);
        var value = id ? id.value : current;
        var pressed = ctx.outputs_list[1].map(function (o) { return o.id.value === value ? "true" : "false"; });
        return [value, pressed];
      },

      togglePause: function (clicks) {
        var paused = clicks % 2 === 1;
        return [paused, paused ? "Resume live updates" : "Pause live updates", paused ? "true" : "false"];
      }
    }
  });

  /* Each map canvas is a landmark MapLibre names "Map"; name it after its chart so two maps on a
     page stay distinguishable (axe: landmark-unique). Only maps over a tile server (PULSE_MAP_TILE_URL)
     are MapLibre maps; the default SVG maps have no canvas. */
  new MutationObserver(function () {
    document.querySelectorAll(".maplibregl-canvas[aria-label='Map']").forEach(function (canvas) {
      var card = canvas.closest(".card");
      var heading = card && card.querySelector("h2");
      if (heading) { canvas.setAttribute("aria-label", heading.textContent + ": interactive map"); }
    });
  }).observe(document.documentElement, { childList: true, subtree: true });

  /* Meeting mode: arrow keys move between KPI tiles. */
  document.addEventListener("keydown", function (event) {
    if (!document.querySelector(".scorecard.meeting")) { return; }
    var keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    if (!(event.key in keys)) { return; }
    var tiles = Array.prototype.slice.call(document.querySelectorAll(".tile"));
    if (!tiles.length) { return; }
    var i = tiles.indexOf(document.activeElement);
    var next = i < 0 ? 0 : Math.min(tiles.length - 1, Math.max(0, i + keys[event.key]));
    tiles[next].focus();
    event.preventDefault();
  });
})();

/* Performance (decision 0021): a chart is drawn when it comes near the screen, not when its figure
   arrives. The page's callback writes each figure into a store; `offerFigure` (a clientside callback,
   callbacks/_panels.draw_when_seen) hands it to the graph at once if the graph is on or near the
   screen, else keeps it until an IntersectionObserver sees the graph, then sets the graph's figure.
   Drawing six charts at load blocked the 311 page's main thread for over a second (Lighthouse
   TBT); the ones out of sight now cost nothing until they are looked at. Printing draws them all. */
(function () {
  "use strict";
  var MARGIN = 0;  // px around the screen within which a graph counts as seen: its card entering the
                   // screen starts its drawing, a summary's height before the chart itself shows
  var waiting = {};  // graph id -> the figure it has not drawn yet
  var watched = typeof WeakSet === "function" ? new WeakSet() : null;
  var observer = "IntersectionObserver" in window
    ? new IntersectionObserver(seen, { rootMargin: MARGIN + "px 0px" }) : null;

  function draw(id) {
    var figure = waiting[id];
    delete waiting[id];
    if (figure) { window.dash_clientside.set_props(id, { figure: figure }); }
  }

  function seen(entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting) { return; }
      Object.keys(waiting).forEach(function (id) {
        if (entry.target.contains(document.getElementById(id))) { draw(id); }
      });
    });
  }

  function nearScreen(el) {
    var box = el.getBoundingClientRect();
    return box.width > 0 && box.bottom > -MARGIN && box.top < window.innerHeight + MARGIN;
  }

  function drawAll() { Object.keys(waiting).forEach(draw); }

  window.addEventListener("beforeprint", drawAll);

  window.dash_clientside = Object.assign({}, window.dash_clientside);
  window.dash_clientside.pulse = Object.assign({}, window.dash_clientside.pulse, {
    offerFigure: function (figure, id) {
      var el = document.getElementById(id);
      if (!figure || !el) { return window.dash_clientside.no_update; }
      waiting[id] = figure;
      if (!observer || nearScreen(el)) {
        /* Each chart in a task of its own, after the callback's: the page answers a click between two. */
        window.setTimeout(function () { draw(id); }, 0);
        return window.dash_clientside.no_update;
      }
      /* The card, not the graph: the graph's element is replaced once plotly.js has loaded. */
      var card = el.closest(".card") || el;
      if (!watched || !watched.has(card)) {
        observer.observe(card);
        if (watched) { watched.add(card); }
      }
      return window.dash_clientside.no_update;
    }
  });
})();
