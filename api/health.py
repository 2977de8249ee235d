"""GET /healthz: 200 with every dataset's current version, so a load balancer and a human can both
see that the portal is up and which data it serves."""
from __future__ import annotations

from flask import Blueprint, jsonify

import datasets
import lake

bp = Blueprint("health", __name__)


def data_versions() -> dict:
    out = {}
    for name in datasets.datasets():
        m = lake.manifest(name)
        out[name] = {"version": m.version, "rows": m.rows, "published_at": m.published_at} if m else None
    return out


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok", "datasets": data_versions()})
