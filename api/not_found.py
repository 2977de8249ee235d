"""Unknown paths answer 404: a JSON body under the API prefixes, the portal's "page not found" page
(with its 404 status) anywhere else.

Why: Dash's router catches every path and answers 200 with its not-found page, which a journalist's
script or a link checker reads as success. Werkzeug matches the most specific rule first, so every
real endpoint still wins over the API catch-alls. The catch-alls take GET (and HEAD) only, as every
API endpoint does: any other method under the API is Werkzeug's 405, answered as JSON with its
`Allow` header (api/errors.py; issue 13: a PUT or DELETE was a 404 saying the endpoint did not exist).
"""
from __future__ import annotations

import dash
from flask import Flask, request

import datasets
from api.errors import ApiError, blueprint

bp = blueprint("api_not_found", __name__)


@bp.get("/api/<path:rest>")
@bp.get("/open311/<path:rest>")
def not_found(rest: str):
    raise ApiError(404, "no such API endpoint; every endpoint is described at /openapi.json and /api", docs="/openapi.json")


def known_page(path: str) -> bool:
    """A path one of the portal's pages answers: a registered page, or /data/<a declared dataset>."""
    static = {p["path"] for p in dash.page_registry.values() if not p.get("path_template")} - {"/404"}
    return path in static or (path.startswith("/data/") and path[len("/data/"):] in datasets.datasets())


def requested_page(prefix: str = "/") -> str:
    """The page path a request asks for, without the app's path prefix or a trailing slash."""
    path = "/" + request.path[len(prefix):].lstrip("/") if request.path.startswith(prefix) else request.path
    return path.rstrip("/") or "/"


def page_status(server: Flask, prefix: str = "/") -> None:
    """Give Dash's page responses for unknown paths the 404 status their page already says."""
    @server.after_request
    def _status(resp):
        if request.endpoint in ("/", "/<path:path>") and resp.status_code == 200 and not known_page(requested_page(prefix)):
            resp.status_code = 404
        return resp
