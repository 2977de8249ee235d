"""`?version=` on a dashboard page (issue 15, item 5; issue 17): the page's charts read the versions
its URL pins (`version=service_requests:41[,dataset:N]`), as the embeds and chart CSVs do.

Why around Dash's two routes: a page's data comes from Dash's layout and callback requests, not
from the page's own URL. Pinning those requests gives every page's callbacks the pin without a new
input on each of them; the reader's pin (portal/reader.pinned) then keys every cache by it and the
"Showing ..." line names the version. A version that is not published or no longer kept is ignored
here (the page says what it shows); the embed and CSV routes answer it with a 404 or a 410.

Where the pin comes from: the page's own script (assets/pagepin.js) sends its address bar's
`version=` on those requests as the `X-Pulse-Version` header (the address bar follows the filters by
replaceState, so it holds the pin the reader sees). The Referer, which carries the same address, was
the only carrier before: a browser or proxy that sends none (Referrer-Policy no-referrer, privacy
extensions) silently showed current data. It stays the fallback, for a page loaded before the script
existed. Answers on those routes vary by the header, and by the Referer when the header is absent (a
shared cache must not hand a pinned layout to a current page, nor a current one to a pinned page).
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask import g, request

import datasets
import lake
from portal.reader import pin, unpin

ROUTES = ("_dash-update-component", "_dash-layout")


HEADER = "X-Pulse-Version"


def page_pins(referer: str | None) -> dict[str, int]:
    """The versions a page address pins, each published and kept (others dropped)."""
    return pins_of((parse_qs(urlsplit(referer or "").query).get("version") or [""])[0])


def request_pins(headers) -> dict[str, int]:
    """The versions Dash's request pins: the page's header, else its Referer's address."""
    raw = headers.get(HEADER)
    return pins_of(raw) if raw is not None else page_pins(headers.get("Referer"))


def pins_of(raw: str) -> dict[str, int]:
    """`service_requests:41,volunteer_signups:7` as {dataset: version}, each published and kept."""
    out = {}
    for part in raw.split(",") if ":" in raw else []:
        name, _, number = part.partition(":")
        if name in datasets.datasets() and number.isascii() and number.isdigit() and lake.has_version(name, int(number)):
            out[name] = int(number)
    return out


def install(app) -> None:
    prefix = app.config.routes_pathname_prefix
    paths = {prefix + r for r in ROUTES}

    @app.server.before_request
    def _pin():
        if request.path in paths:
            versions = request_pins(request.headers)
            if versions:
                g.pulse_pin_token = pin(versions)

    @app.server.after_request
    def _vary(response):
        if request.path in paths:
            response.vary.add(HEADER)
            if HEADER not in request.headers:  # the Referer may have pinned it: a shared cache keys by it too
                response.vary.add("Referer")
        return response

    @app.server.teardown_request
    def _unpin(_exc):
        token = g.pop("pulse_pin_token", None)
        if token is not None:
            unpin(token)
