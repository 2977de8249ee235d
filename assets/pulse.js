/* Pulse in the browser: live refresh (and its pause), calm announcements, URL state and meeting-mode
   keyboard navigation. Plain functions for Dash's clientside callbacks (callbacks/live.py,
   callbacks/_panels.py). */
(function () {
  "use strict";
  var etag = null;
  var waiting = null;  /* versions found while paused */
  var WAITING = "Paused \u2014 new data waiting";

  /* The one clock of a page: now, in the city's zone (the live bar's data-zone), zone named. */
  function cityClock() {
    var bar = document.getElementById("live-status");
    var zone = bar && bar.getAttribute("data-zone");
    var opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" };
    try { return new Intl.DateTimeFormat("en-US", zone ? Object.assign({ timeZone: zone }, opts) : opts).format(new Date()); }
    catch (e) { return new Intl.DateTimeFormat("en-US", opts).format(new Date()); }
  }

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
      /* The live bar, in one callback so pausing never loses a version: every tick asks for the
         current versions; live, a new one goes to the store (the page redraws); paused, it waits and
         the bar says so ("Paused \u2014 new data waiting") until the reader resumes. */
      live: function (n, clicks, current) {
        var noUpdate = window.dash_clientside.no_update;
        var ctx = window.dash_clientside.callback_context;
        var byToggle = ctx.triggered.some(function (t) { return t.prop_id.indexOf("live-toggle") === 0; });
        var paused = (clicks || 0) % 2 === 1;
        var button = [paused ? "Resume live updates" : "Pause live updates", paused ? "true" : "false"];
        if (byToggle) {
          if (paused) { return [noUpdate, waiting ? WAITING : "Paused", button[0], button[1]]; }
          var release = waiting;
          waiting = null;
          return [release || noUpdate, release ? "Live \u00b7 new data arrived " + cityClock() : "Live", button[0], button[1]];
        }
        var headers = etag ? { "If-None-Match": etag } : {};
        return fetch("/api/v1/version", { headers: headers, cache: "no-store" }).then(function (r) {
          if (r.status === 304 || !r.ok) { return [noUpdate, noUpdate, noUpdate, noUpdate]; }
          etag = r.headers.get("ETag");
          return r.json().then(function (body) {
            var fresh = versionsOf(body);
            if (sameVersions(fresh, waiting || current)) { return [noUpdate, noUpdate, noUpdate, noUpdate]; }
            if (paused) { waiting = fresh; return [noUpdate, WAITING, noUpdate, noUpdate]; }
            return [fresh, "Live \u00b7 new data arrived " + cityClock(), noUpdate, noUpdate];
          });
        }).catch(function () { return [noUpdate, noUpdate, noUpdate, noUpdate]; });
      },

      /* One of a toggle group's buttons was pressed: it becomes the value, and the only one pressed. */
      toggle: function (clicks, current) {
        var ctx = window.dash_clientside.callback_context;
        var id = ctx.triggered_id || (ctx.triggered.length ? JSON.parse(ctx.triggered[0].prop_id.split(".")[0]) : null);
        var value = id ? id.value : current;
        var pressed = ctx.outputs_list[1].map(function (o) { return o.id.value === value ? "true" : "false"; });
        return [value, pressed];
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

  /* Announcements: calm, in the page's own words, at most one per `data-min-seconds` (a minute).
     Each redraw leaves on the page's "data through" line a digest of what it shows (data-news:
     portal/news.py, layouts/scorecard.news); the difference from the last one spoken is the news.
     A new key (other filters, another page) is a new baseline, not news. */
  var spoken = null, spokenAt = 0, pendingTimer = null;

  function newsText(before, after) {
    var parts = [];
    Object.keys(after.counts || {}).forEach(function (what) {
      var d = after.counts[what] - ((before.counts || {})[what] || 0);
      if (d > 0) { parts.push(d.toLocaleString("en-US") + " more " + (d === 1 && after.one ? after.one[what] : what)); }
      else if (d < 0) { parts.push(what + " now " + after.counts[what].toLocaleString("en-US")); }
    });
    var moved = Object.keys(after.values || {}).filter(function (name) {
      return (before.values || {})[name] !== undefined && before.values[name] !== after.values[name];
    });
    moved.slice(0, 3).forEach(function (name) { parts.push(name + " now " + after.values[name]); });
    if (moved.length > 3) { parts.push("and " + (moved.length - 3) + " more indicators changed"); }
    return parts.length ? after.lead + ": " + parts.join("; ") + "." : "";
  }

  function minGap() {
    var region = document.getElementById("live-announce");
    var s = parseFloat(region && region.getAttribute("data-min-seconds"));
    return 1000 * (isNaN(s) ? 60 : s);
  }

  function considerNews() {
    var line = document.querySelector(".data-line[data-news]");
    var region = document.getElementById("live-announce");
    if (!line || !region) { return; }
    var digest;
    try { digest = JSON.parse(line.getAttribute("data-news")); } catch (e) { return; }
    if (!spoken || spoken.key !== digest.key) { spoken = digest; return; }
    var text = newsText(spoken, digest);
    if (!text) { return; }
    var wait = spokenAt + minGap() - Date.now();
    if (wait > 0) {
      if (!pendingTimer) { pendingTimer = setTimeout(function () { pendingTimer = null; considerNews(); }, wait); }
      return;
    }
    region.textContent = text;
    spoken = digest;
    spokenAt = Date.now();
  }

  new MutationObserver(function (records) {
    // also a page that arrives whole (its line in the layout, decision 0021): its digest is the baseline
    var touched = records.some(function (r) {
      return r.target.closest && (r.target.closest(".asof") || r.target.classList.contains("data-line"));
    }) || (!spoken && document.querySelector(".data-line[data-news]"));
    if (touched) { considerNews(); }
  }).observe(document.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-news"] });

  /* Focus kept across a live update: a new version rewrites parts of a page (the inside of a tile's
     "How is this computed?", callbacks/scorecard.refresh), and Dash 4 remounts what it rewrites, so a
     focused link there is removed and focus falls to <body>. The element that had focus is remembered
     by its id; when it has left the page and nothing else has focus, its successor of the same id
     (layouts/scorecard.how_link_id) takes focus again, without scrolling. */
  var focused = null;
  document.addEventListener("focusin", function (event) {
    focused = event.target && event.target.id ? event.target : null;
  });
  /* A reader who moves focus away (a click outside any control leaves it on <body>, with no focusin)
     is not pulled back to that link when a later version rewrites it: once focus has left an element
     that is still on the page, it is no longer watched. A removal is not a leaving (checked after the
     event, when the removed element is no longer connected). */
  document.addEventListener("focusout", function (event) {
    var left = event.target;
    setTimeout(function () {
      if (focused === left && left.isConnected && document.activeElement !== left) { focused = null; }
    }, 0);
  });
  new MutationObserver(function () {
    if (!focused || focused.isConnected) { return; }
    var active = document.activeElement;
    if (active && active !== document.body) { focused = null; return; }
    var again = document.getElementById(focused.id);
    if (again) { again.focus({ preventScroll: true }); }
  }).observe(document.documentElement, { childList: true, subtree: true });

  /* Meeting mode: arrow keys move between KPI tiles; Enter enlarges the focused tile with its trend
     (a data attribute, which the live refresh never rewrites), Escape or Enter again shrinks it. */
  document.addEventListener("keydown", function (event) {
    if (!document.querySelector(".scorecard.meeting")) { return; }
    var tiles = Array.prototype.slice.call(document.querySelectorAll(".tile"));
    var active = document.activeElement;
    var i = tiles.indexOf(active && active.closest ? active.closest(".tile") : null);
    if ((event.key === "Enter" || event.key === "Escape") && i >= 0 && (active === tiles[i] || event.key === "Escape")) {
      var big = tiles[i].hasAttribute("data-enlarged");
      if (event.key === "Enter" && !big) { tiles[i].setAttribute("data-enlarged", ""); }
      else { tiles[i].removeAttribute("data-enlarged"); }
      event.preventDefault();
      return;
    }
    var keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    if (!(event.key in keys) || !tiles.length) { return; }
    var next = i < 0 ? 0 : Math.min(tiles.length - 1, Math.max(0, i + keys[event.key]));
    var wasBig = i >= 0 && tiles[i].hasAttribute("data-enlarged");
    tiles.forEach(function (t) { t.removeAttribute("data-enlarged"); });
    if (wasBig) { tiles[next].setAttribute("data-enlarged", ""); }
    tiles[next].focus();
    event.preventDefault();
  });
  /* The share control of a chart or tile (layouts/_share.py): its body is built when it is first
     opened, from its `data-form` (a labelled read-only field per link, the downloads, a polite
     status), and filled from the view in the address bar, so its links are this view's at the
     versions now shown. Built on open, not rendered with the page: decision 0024. */
  function element(tag, props, text) {
    var el = document.createElement(tag);
    Object.keys(props).forEach(function (k) { el.setAttribute(k, props[k]); });
    if (text) { el.textContent = text; }
    return el;
  }

  function shareBody(box) {
    var body = box.querySelector(".share-body");
    if (body) { return body; }
    var form = JSON.parse(box.dataset.form), fid = "share-" + box.dataset.share;
    body = element("div", { "class": "share-body" });
    form.fields.forEach(function (f) {
      var row = element("div", { "class": "field" });
      row.appendChild(element("label", { "for": fid + "-" + f[0] }, f[1]));
      row.appendChild(element("textarea", { id: fid + "-" + f[0], readonly: "", rows: f[0].indexOf("snippet") >= 0 ? 3 : 1,
                                             "class": "share-field", "data-field": f[0] }));
      body.appendChild(row);
    });
    var downloads = element("p", { "class": "share-downloads" });
    form.downloads.forEach(function (d) {
      downloads.appendChild(element("a", { href: "#", download: "", "data-field": d[0] }, d[1]));
      downloads.appendChild(document.createTextNode(" "));
    });
    body.appendChild(downloads);
    body.appendChild(element("p", { "class": "share-status visually-hidden", role: "status", "aria-live": "polite" }));
    box.appendChild(body);
    return body;
  }

  document.addEventListener("toggle", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("details.share") || !box.open) { return; }
    var body = shareBody(box);
    var status = body.querySelector("[role=status]");
    fetch("/embed/" + encodeURIComponent(box.dataset.share) + "/share.json" + window.location.search)
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (links) {
        body.querySelectorAll("[data-field]").forEach(function (el) {
          var value = links[el.dataset.field];
          if (el.tagName === "A") { el.href = value; } else { el.value = value; }
        });
        if (status) { status.textContent = "Share links ready."; }
      })
      .catch(function () { if (status) { status.textContent = "The share links could not be made; try again."; } });
  }, true);

  /* A filter box's suggestions (layouts/_shell.choice) arrive as one `data-options` attribute and
     become <option>s when the box is first focused: as Dash components, the 311 page's 225 were
     rendered before its charts (decision 0024). */
  document.addEventListener("focusin", function (event) {
    var list = event.target && event.target.list;
    if (!list || !list.hasAttribute("data-options") || list.options.length) { return; }
    JSON.parse(list.getAttribute("data-options")).forEach(function (o) {
      var option = document.createElement("option");
      option.value = o[0];
      if (o.length > 1 && o[1] !== null) { option.label = o[1]; }
      list.appendChild(option);
    });
  });
})();

/* Performance (decisions 0021, 0024): a chart is drawn when it comes near the screen, not when its
   figure arrives, and one chart per task. The page's callback writes each figure into a store;
   `offerFigure` (a clientside callback, callbacks/_panels.draw_when_seen) queues it for drawing if
   the graph is on or near the screen, else keeps it until an IntersectionObserver sees the graph.
   The queue draws a chart once plotly.js has loaded and drawn the graph's blank, then yields before
   the next: drawing six charts at load blocked the 311 page's main thread for over a second, and
   the first screen's two drawn in the task that mounted the graphs, 420 ms (Lighthouse TBT).
   Printing draws them all at once. */
(function () {
  "use strict";
  var MARGIN = 0;  // px around the screen within which a graph counts as seen: its card entering the
                   // screen starts its drawing, a summary's height before the chart itself shows
  var WAIT_MS = 50;  // how often the queue looks again while plotly.js is still loading
  var SETTLE_MS = 1500;  // the longest the queue waits for a chart to draw before the next
  var waiting = {};  // graph id -> the figure it has not drawn yet
  var queue = [];  // graph ids on the screen, drawn in this order, one task each
  var pumping = false;
  var watched = typeof WeakSet === "function" ? new WeakSet() : null;
  var observer = "IntersectionObserver" in window
    ? new IntersectionObserver(seen, { rootMargin: MARGIN + "px 0px" }) : null;

  function draw(id) {
    var figure = waiting[id];
    delete waiting[id];
    if (figure) { window.dash_clientside.set_props(id, { figure: figure }); }
  }

  /* The graph's plotly element: there once plotly.js has loaded and drawn the graph's blank. */
  function plotOf(id) {
    var el = document.getElementById(id);
    return el && el.querySelector(".js-plotly-plot");
  }

  function enqueue(id) {
    if (queue.indexOf(id) < 0) { queue.push(id); }
    if (!pumping) {
      pumping = true;
      window.setTimeout(step, 0);
    }
  }

  /* Draw the first chart of the queue in this task; the next in a task of its own once it has drawn
     (Plotly.react gives the graph a new layout object), so no task holds two charts. */
  function step() {
    queue = queue.filter(function (id) { return id in waiting; });
    if (!queue.length) { pumping = false; return; }
    var gd = plotOf(queue[0]);
    if (!gd) { window.setTimeout(step, WAIT_MS); return; }
    var id = queue.shift(), before = gd.layout, since = Date.now();
    draw(id);
    (function settled() {
      var now = plotOf(id);
      if (!now || now.layout !== before || Date.now() - since > SETTLE_MS) { window.setTimeout(step, 0); }
      else { window.setTimeout(settled, 16); }
    })();
  }

  function seen(entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting) { return; }
      Object.keys(waiting).forEach(function (id) {
        if (entry.target.contains(document.getElementById(id))) { enqueue(id); }
      });
    });
  }

  function nearScreen(el) {
    var box = el.getBoundingClientRect();
    return box.width > 0 && box.bottom > -MARGIN && box.top < window.innerHeight + MARGIN;
  }

  function drawAll() { Object.keys(waiting).forEach(draw); }

  /* Besides the observer, a look after each scroll or resize: a card the observer saw while the page
     was still moving (a chart above it drawing, a font arriving) is drawn once it is on the screen. */
  var looking = false;
  function lookAgain() {
    if (looking || !Object.keys(waiting).length) { return; }
    looking = true;
    window.requestAnimationFrame(function () {
      looking = false;
      Object.keys(waiting).forEach(function (id) {
        var el = document.getElementById(id);
        if (el && nearScreen(el.closest(".card") || el)) { enqueue(id); }
      });
    });
  }

  window.addEventListener("beforeprint", drawAll);
  window.addEventListener("scroll", lookAgain, { passive: true });
  window.addEventListener("resize", lookAgain, { passive: true });

  window.dash_clientside = Object.assign({}, window.dash_clientside);
  window.dash_clientside.pulse = Object.assign({}, window.dash_clientside.pulse, {
    offerFigure: function (figure, id) {
      var el = document.getElementById(id);
      if (!figure || !el) { return window.dash_clientside.no_update; }
      waiting[id] = figure;
      if (!observer || nearScreen(el)) {
        enqueue(id);
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
