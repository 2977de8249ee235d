"""Change feeds (issue 18, item 5): `/data/<dataset>/changes.atom|json` (each new version with what its
load did) and `/api/v1/kpis/<id>/changes.atom|json` (each period's value, score and status, and every
change of the KPI's definition). Built by portal/feeds.py and portal/kpi_feed.py; stored by the HTTP
cache per data version like the other metadata; linked from the pages with <link rel="alternate">."""
from __future__ import annotations

import json

from flask import Response, request

import datasets
from api import httpcache
from api.errors import ApiError, blueprint, check_params, read_errors
from api.rowquery import dataset_or_404
from portal import feeds, kpi_feed
from portal.quoting import quoted

bp = blueprint("feeds", __name__)

TYPES = {"atom": "application/atom+xml; charset=utf-8", "json": "application/feed+json; charset=utf-8"}


def _dataset_version(name: str, **_) -> dict | None:
    return httpcache.exact(name) if name in datasets.datasets() else None


def write(feed: feeds.Feed, fmt: str) -> Response:
    body = feeds.atom(feed) if fmt == "atom" else json.dumps(feeds.json_feed(feed), ensure_ascii=False).encode()
    return Response(body, content_type=TYPES[fmt])


@bp.get("/data/<name>/changes.atom", defaults={"fmt": "atom"})
@bp.get("/data/<name>/changes.json", defaults={"fmt": "json"})
@httpcache.cached(_dataset_version, url=True)
def dataset_changes(name: str, fmt: str):
    """A dataset's newest versions, newest first, each with its load's counts and pinned links."""
    check_params(())
    return write(feeds.dataset_feed(dataset_or_404(name), request.url_root), fmt)


@bp.get("/api/v1/kpis/<kpi_id>/changes.atom", defaults={"fmt": "atom"})
@bp.get("/api/v1/kpis/<kpi_id>/changes.json", defaults={"fmt": "json"})
@httpcache.cached(clock=httpcache.city_day, url=True)  # the current period ends today in the city
def kpi_changes(kpi_id: str, fmt: str):
    """A KPI's values per period (?period=, default month) with status changes, and its definitions."""
    from datasets import kpis as decls

    check_params(("period",))
    kpi = decls.kpis().get(kpi_id)
    if kpi is None:
        raise ApiError(404, f"no KPI {quoted(kpi_id)}; known: {', '.join(decls.kpis())}")
    period = request.args.get("period", "month" if "month" in kpi.periods else kpi.periods[0])
    if period not in kpi.periods:
        raise ApiError(400, f"period must be one of {', '.join(kpi.periods)} for {kpi_id}, not {quoted(period)}",
                       parameter="period")
    with read_errors(parameter="period"):
        return write(kpi_feed.kpi_feed(kpi_id, period, request.url_root), fmt)
