"""`?version=` on a dashboard page (issue 15, item 5; issue 17): the page's charts read the versions
its URL pins (`version=service_requests:41[,dataset:N]`), as the embeds and chart CSVs do.

Why from the Referer: a page's data comes from Dash's layout and callback requests, which carry
the page's own address (same origin, Referrer-Policy strict-origin-when-cross-origin; the address
bar follows the filters by replaceState), not its query. Reading the pin there, around those two
routes, gives every page's callbacks the pin without a new input on each of them; the reader's pin
(portal/reader.pinned) then keys every cache by it and the "Showing ..." line names the version. A
version that is not published or no longer kept is ignored here (the page says what it shows);
the embed and CSV routes answer it with a 404 or a 410.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask import g, request

import datasets
import lake
from portal.reader import pin, unpin

ROUTES = ("_dash-update-component", "_dash-layout")


def page_pins(referer: str | None) -> dict[str, int]:
    """The versions a page address pins, each published and kept (others dropped)."""
    raw = (parse_qs(urlsplit(referer or "").query).get("version") or [""])[0]
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
            versions = page_pins(request.headers.get("Referer"))
            if versions:
                g.pulse_pin_token = pin(versions)

    @app.server.teardown_request
    def _unpin(_exc):
        token = g.pop("pulse_pin_token", None)
        if token is not None:
            unpin(token)
