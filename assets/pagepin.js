/* A pinned dashboard page (`?version=service_requests:41`) keeps its pin on Dash's own requests.
   Dash fetches the layout and every callback's answer from the page; the server pins those requests to
   the versions the page's address names (web/pagepins.py). The Referer carries that address, but a
   browser or proxy may send none (Referrer-Policy: no-referrer, privacy extensions): this sends the
   address bar's `version=` as the X-Pulse-Version header instead, read at each request (the address bar
   follows the filters by replaceState). Loaded before Dash's renderer starts, so its first request has it. */
(function () {
  "use strict";
  if (!window.fetch || !window.URL || !window.Headers) { return; }
  var original = window.fetch;
  var DASH = /\/_dash-(layout|update-component)$/;

  window.fetch = function (input, init) {
    var pin = new URLSearchParams(window.location.search).get("version");
    if (pin !== null) {
      var url = new URL(typeof input === "string" || input instanceof URL ? String(input) : input.url, window.location.href);
      if (url.origin === window.location.origin && DASH.test(url.pathname)) {
        init = Object.assign({}, init);
        var headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
        headers.set("X-Pulse-Version", pin);
        init.headers = headers;
      }
    }
    return original.call(this, input, init);
  };
})();
