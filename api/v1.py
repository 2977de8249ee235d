"""The JSON API, version 1: data versions (polled by every open page), KPIs with scores and history."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from flask import Blueprint, jsonify, request

from api.errors import register
from portal.reader import reader

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
register(bp)


@bp.get("/version")
def version():
    """Current version of every dataset. Cheap: served from the reader's state, with an ETag so a
    page polling every few seconds gets 304 until a load publishes."""
    r = reader()
    versions = r.versions()
    published = r.published_at()
    etag = hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()[:16]
    if request.if_none_match and etag in request.if_none_match:
        return "", 304, {"ETag": f'"{etag}"', "Cache-Control": "no-cache"}
    body = {
        "datasets": {n: {"version": v, "published_at": published.get(n)} for n, v in versions.items()},
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    resp = jsonify(body)
    resp.headers["ETag"] = f'"{etag}"'
    resp.headers["Cache-Control"] = "no-cache"
    return resp
