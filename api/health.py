"""GET /healthz: 200 with every dataset's current version, so a load balancer and a human can both
see that the portal is up and which data it serves. GET /readyz: whether it can serve well
(portal/readiness.py): 200 ready or degraded, 503 not ready, with each check."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify

import datasets
import lake
from portal import readiness

bp = Blueprint("health", __name__)
log = logging.getLogger("pulse.readiness")
_last = {"status": readiness.READY}


def data_versions() -> dict:
    out = {}
    for name in datasets.datasets():
        m = lake.manifest(name)
        out[name] = {"version": m.version, "rows": m.rows, "published_at": m.published_at} if m else None
    return out


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok", "datasets": data_versions()})


@bp.get("/readyz")
def readyz():
    body = readiness.check()
    if body["status"] != _last["status"]:  # logged when it changes, not at every probe
        failed = {name: c.get("error") for name, c in body["checks"].items() if not c["ok"]}
        log.warning("readiness %s -> %s %s", _last["status"], body["status"], failed)
        _last["status"] = body["status"]
    resp = jsonify(body)
    resp.status_code = 503 if body["status"] == readiness.NOT_READY else 200
    resp.headers["Cache-Control"] = "no-store"
    return resp
