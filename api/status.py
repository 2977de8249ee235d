"""GET /api/v1/status: pipeline health of every dataset (portal/pipeline_health.py): current version,
last successful load, last poll, lag, last error, errors in the last 24 hours, and the state of each
poller, watcher or simulator feeding it. Never cached: it is what an operator checks."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import jsonify

from api.errors import blueprint, check_params
from portal import pipeline_health

bp = blueprint("api_status", __name__, url_prefix="/api/v1")


@bp.get("/status")
def status():
    check_params(())
    resp = jsonify({"checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "datasets": pipeline_health.status_all()})
    resp.headers["Cache-Control"] = "no-cache"
    return resp
