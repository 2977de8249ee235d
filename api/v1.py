"""The JSON API, version 1: data versions (polled by every open page), KPIs with scores and history."""
from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from flask import Response, jsonify, request

from api import httpcache
from api.errors import ApiError, blueprint, check_params, read_errors
from portal.quoting import quoted
from portal.reader import reader

bp = blueprint("api_v1", __name__, url_prefix="/api/v1")


@bp.get("/version")
@httpcache.cached(clock=httpcache.every(1), weak=True, shared=False)
def version():
    """Current version of every dataset, polled by every open page: a 304 until a load publishes.
    The ETag is weak, of the versions alone, because the body also says when it was checked (to the
    second); built from the reader's state, it costs less than a fetch from the shared cache, so it
    is kept in the worker only, for a second (decision 0015)."""
    r = reader()
    versions = r.versions()
    published = r.published_at()
    return jsonify({
        "datasets": {n: {"version": v, "published_at": published.get(n)} for n, v in versions.items()},
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    })


HISTORY_DEFAULT, HISTORY_MAX = 12, 60  # earlier periods of /kpis/<id>?history=; api/openapi.py documents these


def _period_and_as_of():
    from portal.kpi_values import as_of_day

    try:
        as_of = as_of_day(request.args.get("as_of"))
    except ValueError as exc:
        raise ApiError(400, str(exc), parameter="as_of") from None
    return request.args.get("period", "month"), as_of


def _scorecard(**kw):
    from portal import kpi_values

    with read_errors(parameter="period"):
        return kpi_values.scorecard(**kw)


@bp.get("/kpis")
@httpcache.cached(clock=httpcache.city_day)  # the default as_of is today in the city
def kpis():
    """Every KPI's current value, target, score and status for a period (?period=day|week|month|quarter)."""
    check_params(("period", "as_of"))
    period, as_of = _period_and_as_of()
    return jsonify(_scorecard(period=period, as_of=as_of))


@bp.get("/kpis/<kpi_id>")
@httpcache.cached(clock=httpcache.city_day)
def kpi(kpi_id: str):
    """One KPI with its history (?history=N earlier periods, default HISTORY_DEFAULT, at most HISTORY_MAX)."""
    from datasets import kpis as decls

    check_params(("as_of", "history", "period"))
    if kpi_id not in decls.kpis():
        raise ApiError(404, f"no KPI {quoted(kpi_id)}; known: {', '.join(decls.kpis())}")
    period, as_of = _period_and_as_of()
    raw = request.args.get("history", str(HISTORY_DEFAULT))
    if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= HISTORY_MAX:
        raise ApiError(400, f"history must be a whole number from 0 to {HISTORY_MAX}, not {quoted(raw)}", parameter="history")
    card = _scorecard(period=period, as_of=as_of, history=int(raw), only=kpi_id)
    row = card["kpis"].get(kpi_id)
    if row is None:
        raise ApiError(400, f"{kpi_id} is not reported per {period}", parameter="period")
    from portal.kpi_feed import definition_json

    definitions = [definition_json(d) for d in decls.get(kpi_id).definitions]  # newest first (issue 18)
    return jsonify({**row, "period": period, "as_of": card["as_of"], "versions": card["versions"],
                    "definitions": definitions})


@bp.get("/kpis/<kpi_id>/rows.csv")
@httpcache.cached(clock=httpcache.city_day)
def kpi_rows(kpi_id: str):
    """The rows behind one KPI's value for a period and as_of, as CSV: the rows its query reads, with
    the columns deciding each one's part (portal/kpi_rows.py), so the download reproduces the number."""
    from datasets import kpis as decls
    from portal import kpi_rows, kpi_values, panels

    check_params(("as_of", "period"))
    kpi = decls.kpis().get(kpi_id)
    if kpi is None:
        raise ApiError(404, f"no KPI {quoted(kpi_id)}; known: {', '.join(decls.kpis())}")
    period, as_of = _period_and_as_of()
    if period not in kpi.periods:
        raise ApiError(400, f"period must be one of {', '.join(kpi.periods)}, not {quoted(period)}", parameter="period")
    as_of = as_of or kpi_values.default_as_of()
    start, _, cut = kpi_values.period_of(period, as_of)
    with read_errors():
        result = kpi_rows.rows(kpi, start, cut)
    if result.truncated:
        raise ApiError(413, f"more rows than one answer holds ({len(result.rows):,}); ask for a shorter period "
                       "(period=week or day)", parameter="period")
    csv = panels.to_csv(pd.DataFrame(result.rows, columns=list(result.columns)))
    tag = "-".join(f"{n}-v{v}" for n, v in sorted(result.versions.items()))
    return Response(csv, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{kpi_id}_{period}_{as_of}_{tag}.csv"'})
