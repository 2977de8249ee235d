"""GET /api/v1/charts/<panel>.csv: exactly the data a dashboard chart shows, for its filters.

The "download this data" link under every chart. Same frame as the chart, its summary and its table
(portal/panels.py), so the numbers match; the data version is in the filename; the HTTP cache (api/httpcache.py) stores it by version.
"""
from __future__ import annotations

import logging

from flask import Response, request

from api import httpcache, pins
from api.errors import ApiError, blueprint, check_params, read_errors
from portal import admission, embeds, filters, panels
from portal.quoting import quoted
from portal.reader import pinned

# A parameter the link leaves out takes the value the chart's page starts with (the last 90 days of
# 311 data, the latest storm, ...): the bare URL answers what the page shows on opening. Given
# values are used as given, so a malformed one is still a 400.
PAGE_DEFAULTS = embeds.PAGE_PARAMS

bp = blueprint("charts", __name__, url_prefix="/api/v1/charts")
log = logging.getLogger(__name__)


@bp.get("/<panel_id>.csv")
@httpcache.cached(clock=httpcache.city_day)  # a filter left out takes the page's opening value: today's
def chart_csv(panel_id: str):
    try:
        panel = panels.get(panel_id)
    except KeyError:
        raise ApiError(404, f"no chart {quoted(panel_id)}") from None
    check_params((*panel.params, "version"), takes=f"this chart takes: {', '.join(panel.params)} and version")
    given = request.args.to_dict()
    versions = pins.requested(embeds.target(panel.id), given.pop("version", None))
    missing = set(panel.params) - set(given)  # the page's defaults cost queries: only when needed
    with pinned(versions):  # ?version=: the versions named, read through the one read path (issue 17)
        return _csv(panel, given, missing)


def _csv(panel: panels.Panel, given: dict, missing: set) -> Response:
    try:
        with read_errors():
            defaults = PAGE_DEFAULTS[panel.page]({}) if missing and panel.page in PAGE_DEFAULTS else {}
            with admission.read_slot():  # a bounded wait for this worker's reader, counted in the time limit
                df = panels.frame(panel, {**defaults, **filters.named_values(panel.page, given)})
    except ValueError:  # not the query layer's (read_errors answers those): Python's words, for the log
        log.info("chart %s refused %s", panel.id, request.query_string[:200], exc_info=True)
        raise ApiError(400, f"a parameter is not one this chart takes; this chart takes: {', '.join(panel.params)}"
                       " (see /openapi.json)") from None
    versions = panels.versions_read(panel)
    tag = "-".join(f"{n}-v{v}" for n, v in sorted(versions.items()))
    return Response(panels.to_csv(df), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{panel.id}_{tag}.csv"'})
