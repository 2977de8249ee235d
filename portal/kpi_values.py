"""KPI values for a period: run each KPI's named query over the period's bounds, score it, keep
history, and say how each number was computed (formula, query, parameters, input rows).

Why a module of its own: the API and the scorecard page both show these, and both must show the
same numbers, from the same cached computation keyed by data version (portal/cache.py).
"""
from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import config
import datasets
from datasets import kpis as kpi_decls
from portal import cache, queries, scoring
from portal.reader import QueryError, reader


def city_today() -> date:
    return datetime.now(ZoneInfo(datasets.city(config.get("city")).timezone)).date()


def default_as_of() -> date:
    """Today in the city, or the day of the newest 311 request if the data ends earlier (a demo or a
    stalled feed), so a scorecard shows the latest data rather than an empty period."""
    r = reader().query("SELECT max(created) FROM {service_requests}", name="newest_request")
    newest = r.rows[0][0] if r.rows else None
    today = city_today()
    if newest is None:
        return today
    local = newest.astimezone(ZoneInfo(datasets.city(config.get("city")).timezone)).date()
    return min(today, local)


def _params(kpi, start: date, end: date) -> dict:
    """A KPI query takes the period's half-open bounds [start, end) as local dates (datasets/kpis.yaml)."""
    return {"start": start.isoformat(), "end": end.isoformat(), **kpi.parameters}


def _actual(kpi, start: date, end: date) -> float | None:
    params = _params(kpi, start, end)
    rows = queries.run(kpi.query, **params).dicts()
    value = rows[0]["value"] if rows else None
    return None if value is None else float(value)


def _rows_url(kpi, start: date, end: date) -> str:
    """The rows API link to the exact input rows: the period column in [start, end) in the city's
    time (the day boundaries the KPI query uses), or the whole dataset when no one column selects them."""
    base = f"/api/v1/datasets/{kpi.dataset}/rows"
    if not kpi.period_column:
        return base
    if datasets.get(kpi.dataset).column(kpi.period_column).type == "datetime":
        zone = ZoneInfo(datasets.city(config.get("city")).timezone)
        lo = datetime.combine(start, datetime.min.time(), zone).isoformat()
        hi = datetime.combine(end, datetime.min.time(), zone).isoformat()
    else:
        lo, hi = start.isoformat(), end.isoformat()
    return f"{base}?{urlencode({kpi.period_column + '__gte': lo, kpi.period_column + '__lt': hi})}"


def trace(kpi, start: date, end: date) -> dict:
    """How a value was computed, for a journalist to reproduce it."""
    return {
        "formula": kpi.formula,
        "query": kpi.query,
        "parameters": _params(kpi, start, end),
        "dataset": kpi.dataset,
        "columns": list(kpi.columns),
        "rows_url": _rows_url(kpi, start, end),
    }


def _compute(period: str, as_of: date, history: int, only: str | None) -> dict:
    selected = {k: v for k, v in kpi_decls.kpis().items() if (only is None or k == only) and period in v.periods}
    start, end = scoring.period_bounds(period, as_of)
    values = {k: _actual(kpi, start, end) for k, kpi in selected.items()}
    card = scoring.score_kpis(values, period, selected)
    for kpi_id, row in card["kpis"].items():
        kpi = selected[kpi_id]
        row["status"] = {"word": row["status"].word, "icon": row["status"].icon}
        row.update(id=kpi_id, description=kpi.description, agency=kpi.agency, target_note=kpi.target_note,
                   start=start.isoformat(), end=end.isoformat(), trace=trace(kpi, start, end))
        if history:
            past = []
            for p_start, p_end in scoring.previous_periods(period, as_of, history):
                actual = _actual(kpi, p_start, p_end)
                score = scoring.kpi_score(actual, kpi.target_for(period), kpi.direction)
                past.append({"start": p_start.isoformat(), "end": p_end.isoformat(), "actual": actual, "score": score})
            row["history"] = past
    card.update(as_of=as_of.isoformat(), start=start.isoformat(), end=end.isoformat(),
                overall_formula="The mean of the KPI scores that have data; each score is actual / target "
                                "(target / actual when lower is better), clamped to [0, 2].")
    return card


def scorecard(period: str = "month", as_of: date | None = None, history: int = 0, only: str | None = None) -> dict:
    """Every KPI (or one) for the period containing `as_of`, scored, with `history` earlier periods."""
    if period not in kpi_decls.PERIODS:
        raise QueryError(f"period must be one of {', '.join(kpi_decls.PERIODS)}, not {period!r}")
    if only is not None and only not in kpi_decls.kpis():
        raise KeyError(only)
    versions = reader().versions()
    as_of = as_of or default_as_of()
    params = {"period": period, "as_of": as_of.isoformat(), "history": history, "only": only}
    value, _ = cache.get_or_compute("scorecard", params, versions, lambda: _compute(period, as_of, history, only))
    return {**value, "versions": versions}
