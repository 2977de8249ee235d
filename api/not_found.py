"""Unknown paths under the API prefixes answer a JSON 404.

Why: the portal's pages catch every other path (Dash's router) and answer 200 with an HTML "page not
found", which a journalist's script would read as success. Werkzeug matches the most specific rule
first, so every real endpoint still wins over these.
"""
from __future__ import annotations

from flask import Blueprint

from api.errors import ApiError, register

bp = Blueprint("api_not_found", __name__)
register(bp)


@bp.route("/api/<path:rest>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/open311/<path:rest>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def not_found(rest: str):
    raise ApiError(404, "no such API endpoint; every endpoint is described at /openapi.json and /api", docs="/openapi.json")
