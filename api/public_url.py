"""The portal's public address comes from PULSE_PUBLIC_URL, never from a request's Host header.

Why: citations, the data page's code examples, data.json, datapackage.json, the OpenAPI servers and
Dash's twitter:url are built from the URL a request reached the portal by, and a client chooses
its Host header: `Host: evil.example.com` put evil.example.com into every one of them, for a cache
or a proxy in front to keep and serve to everyone (issue 13, hostile review).

How: a WSGI middleware sets the scheme and host of every request to the configured ones before
Flask reads them, so `request.url_root`, `request.url` and `url_for(..., _external=True)` all give
the public address, in Dash's code as in ours, and a new link cannot forget. Empty (the default,
for `make run`) leaves each request's own. Read at each request: `configure(public_url=...)` in a
test, or an installed Settings, takes effect at once.
"""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask

import config


@lru_cache(maxsize=8)
def parse(value: str) -> tuple[str, str]:
    """(scheme, host[:port]) of a PULSE_PUBLIC_URL; a ValueError naming the setting otherwise. A path
    is refused: the portal's own routes are at the root of its host."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"PULSE_PUBLIC_URL must be like https://data.city.example (http or https, a host, an "
                         f"optional port, no path), not {value!r}")
    return parts.scheme, parts.netloc


def check() -> None:
    """Fail at start-up, not at the first request, on a malformed PULSE_PUBLIC_URL."""
    if config.get("public_url"):
        parse(config.get("public_url"))


def install(server: Flask) -> None:
    check()
    inner = server.wsgi_app

    def public(environ, start_response):
        configured = config.get("public_url")
        if configured:
            scheme, host = parse(configured)
            environ["wsgi.url_scheme"], environ["HTTP_HOST"] = scheme, host
        return inner(environ, start_response)

    server.wsgi_app = public
