"""Security headers on every response, and CORS on the read-only open data (issue 13, item 4).

Why one after_request hook on the Flask server: it runs for every response the app makes (pages,
Dash's routes, assets, the API, streamed downloads, error handlers, 404s), whoever produced the
body: a view, a cached answer returned from a before_request, an error handler. A response that
sets a header itself keeps it. Framing: only the embed routes (`/embed/...`, issue 17) may be shown
inside another site's page (`frame-ancestors *`, no X-Frame-Options); everything else refuses.
Decision 0012 records the policy and why CORS is a hook here rather than flask-cors.
"""
from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from dash import Dash, _callback
from flask import Response, request

import config

# Every response. Permissions-Policy turns off the powerful features the portal never uses, so a
# script that got in could not ask for them either.
FIXED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
                          "magnetometer=(), microphone=(), midi=(), payment=(), serial=(), usb=()",
}
# What is neither a page nor a script (JSON, CSV, images, downloads) loads and runs nothing if a
# browser ever shows it as a document.
NOT_A_PAGE = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
RUNS_AS_PAGE = frozenset({"text/html", "application/javascript", "text/javascript"})
# The routes a partner site may frame (a chart, a KPI tile, the volunteer finder on its own page).
EMBED_PREFIX = "/embed/"

# CORS: the open data is public and these routes only read, so any origin may read them (a
# journalist's browser notebook); pages, Dash's callbacks and anything that changes state get none.
OPEN_PREFIXES = ("/api/", "/open311/", "/resource/")
OPEN_PATHS = frozenset({"/data.json", "/datapackage.json", "/openapi.json"})
READ_METHODS = frozenset({"GET", "HEAD"})
# Beyond the CORS-safelisted response headers, what a script reading the data needs.
EXPOSED = ("ETag", "X-Pulse-Version", "Link", "Content-Disposition", "Retry-After", "X-Request-Id",
           "X-SODA2-Fields", "X-SODA2-Types", "Last-Modified",
           "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
# Request headers a script may send with its GET (revalidation; not safelisted, so they preflight).
ALLOWED_REQUEST_HEADERS = ("If-None-Match", "If-Modified-Since", "Range", "X-App-Token")
PREFLIGHT_MAX_AGE = "86400"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
_policies: dict[tuple, str] = {}


def install(app: Dash) -> None:
    """Give every response of `app` the security headers, and the open data its CORS headers."""
    app.server.after_request(lambda resp: add_headers(app, resp))


def add_headers(app: Dash, resp: Response) -> Response:
    headers = resp.headers
    present = {name.lower() for name in headers.keys()}
    framable = is_embed(request.path)
    for name, value in FIXED.items():
        if name.lower() not in present and not (framable and name == "X-Frame-Options"):
            headers.add(name, value)
    if "content-security-policy" not in present:
        # a script gets the page's policy too: run as a worker, its own response's policy governs it
        policy = page_policy(app) if resp.mimetype in RUNS_AS_PAGE else NOT_A_PAGE
        headers.add("Content-Security-Policy", framable_policy(policy) if framable else policy)
    if is_open_data(request.path):
        _cors(headers)
    return resp


def is_embed(path: str) -> bool:
    """The routes other sites may frame: `/embed/<chart, KPI or finder>` and nothing else."""
    return path.startswith(EMBED_PREFIX)


def framable_policy(policy: str) -> str:
    """`policy` with any ancestor allowed to frame the response (the embed routes)."""
    return policy.replace("frame-ancestors 'none'", "frame-ancestors *")


def is_open_data(path: str) -> bool:
    """The read-only public data routes: the API, Open311, the catalogs and the API's description."""
    return path.startswith(OPEN_PREFIXES) or path in OPEN_PATHS


def _cors(headers) -> None:
    if request.method in READ_METHODS:
        headers["Access-Control-Allow-Origin"] = "*"
        headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED)
    elif request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method") in READ_METHODS:
        # the preflight of a GET sending If-None-Match; one for a POST or a PUT gets none of this,
        # so the browser refuses to send it
        headers["Access-Control-Allow-Origin"] = "*"
        headers["Access-Control-Allow-Methods"] = "GET, HEAD"
        headers["Access-Control-Allow-Headers"] = ", ".join(ALLOWED_REQUEST_HEADERS)
        headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE


def page_policy(app: Dash) -> str:
    """The Content-Security-Policy of a page, kept until the app's inline scripts or the tile URL
    change: Dash adds one inline script (use_pages' page-title callback) at its first request, and
    PULSE_MAP_TILE_URL is read at call time. Hashing them anew costs 40 µs a response."""
    tiles = config.get("map_tile_url")
    inline = getattr(app, "_inline_scripts", None)  # Dash's list; without it, recompute every time
    key = (id(app), tiles, app.index_string, app.renderer,
           None if inline is None else len(inline) + len(getattr(_callback, "GLOBAL_INLINE_SCRIPTS", ())))
    policy = _policies.get(key) if inline is not None else None
    if policy is None:
        policy = _policies[key] = build_policy(app, tiles)
    return policy


def build_policy(app: Dash, tile_url: str = "") -> str:
    """Scripts: this origin and, by hash, the inline ones the app itself writes (Dash's clientside
    callbacks and renderer, `app.csp_hashes()`; the inline scripts of `app.index_string`, app.py's
    plotly.js loader), never 'unsafe-inline' or 'unsafe-eval'. Styles: 'unsafe-inline', the least
    Dash 4 works under (its components inject their CSS as <style> elements, plotly.js writes style
    attributes); injected CSS still reaches no other origin. Images: data: (the scorecard's
    sparklines) and blob: (plotly's "download plot as a PNG"). With a tile URL, its origin for the
    tiles and blob: workers for MapLibre."""
    scripts = " ".join(["'self'", *app.csp_hashes(), *index_hashes(app.index_string)])
    tiles = tile_origin(tile_url)
    and_tiles = f" {tiles}" if tiles else ""
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: blob:{and_tiles}",
        f"connect-src 'self'{and_tiles}",
        *(["worker-src 'self' blob:"] if tiles else []),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def index_hashes(index_string: str) -> list[str]:
    """CSP hashes of the inline scripts in the page template (app.py's plotly.js loader)."""
    return [f"'sha256-{_b64_sha256(s)}'" for s in _INLINE_SCRIPT.findall(index_string)]


def _b64_sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def tile_origin(template: str) -> str:
    """The origin of a {z}/{x}/{y} tile URL template as a CSP source ('' when there is none); a
    placeholder in the host ({s}.tile.example) becomes a wildcard label."""
    parts = urlsplit(template or "")
    host = re.sub(r"\{[^}]*\}", "*", parts.netloc)
    return f"{parts.scheme}://{host}" if parts.scheme in ("http", "https") and host else ""
