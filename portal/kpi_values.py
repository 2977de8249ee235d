"""KPI values for a period: run each KPI's named query over the period's bounds, score it, keep
history, and say how each number was computed (formula, query, parameters, input rows).

Why a module of its own: the API and the scorecard page both show these, and both must show the
same numbers, from the same cached computation keyed by data version (portal/cache.py).
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import config
import datasets
from datasets import kpis as kpi_decls
from portal import cache, kpi_notes, queries, queries_311, queries_snow, scoring
from portal.quoting import quoted
from portal.reader import QueryError, read_pool, reader


def city_today() -> date:
    return datetime.now(ZoneInfo(datasets.city(config.get("city")).timezone)).date()


NEWEST_REQUEST_DAY = "SELECT max(day) FILTER (WHERE opened > 0) FROM {sr_daily_flow}"


def datasets_read() -> tuple[str, ...]:
    """Every dataset a scorecard reads, for its "Showing ..." line: those of each KPI's named query
    (datasets/kpis.yaml; the all-periods SQL below reads the same ones) and of the default day."""
    reads = [*queries.datasets_of(NEWEST_REQUEST_DAY), *(d for k in kpi_decls.kpis().values()
                                                        for d in queries.get(k.query).datasets)]
    return tuple(dict.fromkeys(reads))


def as_of_day(raw) -> date | None:
    """The day a scorecard is asked for (?as_of=, or the page's store): None when not given; a
    ValueError for anything but a YYYY-MM-DD day inside queries.DATE_RANGE. Past the range the period
    arithmetic overflowed (a year 10000, or a year 0 in the history): the API and the page both check
    here (issue 13: the page's callback took 9999-12-31, 0001-01-01 or a number and answered 500)."""
    if raw is None or raw == "":
        return None
    lo, hi = queries.DATE_RANGE
    try:
        day = date.fromisoformat(raw) if isinstance(raw, str) and len(raw) <= 10 else None
    except ValueError:
        day = None
    if day is None or not queries.in_date_range(day):
        raise ValueError(f"as_of must be a date like 2026-11-20 from {lo} to {hi}, not {quoted(raw)}")
    today = city_today()
    if day > today:  # a period that has not happened has no score (issue 15)
        raise ValueError(f"as_of {day} is in the future: a scorecard can show days up to today, {today}")
    return day


def default_as_of() -> date:
    """Today in the city, or the day of the newest 311 request if the data ends earlier (a demo or a
    stalled feed), so a scorecard shows the latest data rather than an empty period."""
    # The newest local day with requests created in the daily-flow rollup is the local day of
    # max(created) (a local day never decreases as time goes on), read from thousands of rows held
    # in memory instead of a scan of the table on every scorecard request (issue 4).
    r = reader().query(NEWEST_REQUEST_DAY, name="newest_request_day")
    newest = r.rows[0][0] if r.rows else None
    today = city_today()
    return today if newest is None else min(today, newest)


def _params(kpi, start: date, end: date) -> dict:
    """A KPI query takes the period's half-open bounds [start, end) as local dates (datasets/kpis.yaml)."""
    return {"start": start.isoformat(), "end": end.isoformat(), **kpi.parameters}


def _actual(kpi, start: date, end: date) -> float | None:
    params = _params(kpi, start, end)
    rows = queries.run(kpi.query, **params).dicts()
    value = rows[0]["value"] if rows else None
    return None if value is None else float(value)


# ---- every period of a KPI in one query ---------------------------------------------------------------
# A scorecard shows each KPI for its period and HISTORY earlier ones: a query per KPI and period was 54
# queries, 27 of them scans of the whole 311 table, ~2 s on a cold cache at 1M rows (issue 4). The SQL
# below answers every period in one pass, with exactly the expression of the KPI's named query
# (portal/queries_*.py) over exactly its rows (the same predicates, the same bound values), so each
# value is identical: tests/integration/test_api_kpis.py compares them period by period. Volunteer
# hours, a sum of doubles whose last bit could depend on the order of addition, keeps one query per
# period; so does any KPI not listed here.

def _local(name: str) -> str:
    """A bound local day as the instant of its midnight in the city, as the named queries write it."""
    return f"timezone($tz, CAST(${name} AS TIMESTAMP))"


def _day(name: str) -> str:
    return f"${name}"


def _period_of(column: str, bound, n: int) -> str:
    """The index of the period [start_i, end_i) holding `column`, for n periods that follow one another."""
    return "CASE " + " ".join(f"WHEN {column} < {bound(f'end{i}')} THEN {i}" for i in range(n)) + " END"


def _in_periods(column: str, bound, n: int) -> str:
    return f"{column} >= {bound('start0')} AND {column} < {bound(f'end{n - 1}')}"


def _km_median_311(n: int) -> str:
    """The Kaplan-Meier median days to close of the requests created in each period, each observed up
    to its period's end or the data's newest time (queries_311.km_median_days, as the named query)."""
    end = "CASE period " + " ".join(f"WHEN {i} THEN {_local(f'end{i}')}" for i in range(n)) + " END"
    return (queries_311.km_median_days(_period_of("created", _local, n), end, _in_periods("created", _local, n))
            + f"\nSELECT period, {queries_311.KM_MEDIAN_DAYS} AS value FROM km GROUP BY period")


def _decided_311(n: int) -> str:
    """The share on time of the 311 requests with a due time decided in each period (queries_311.DECIDED)."""
    return (f"SELECT {_period_of('decided', _local, n)} AS period, 100.0 * count(*) FILTER (WHERE on_time) / "
            f"nullif(count(*), 0) AS value FROM (SELECT {queries_311.DECIDED} FROM {{service_requests}} "
            f"WHERE due IS NOT NULL) WHERE {_in_periods('decided', _local, n)} AND decided <= {queries_311.DATA_AS_OF} "
            f"GROUP BY period")


def _open_at_period_ends(n: int) -> str:
    """The 311 requests open at each period's end: created before it, closed empty or at or after it
    (the WHERE only skips rows open at no end, each count keeps the named query's own predicate)."""
    counts = ", ".join(f"count(*) FILTER (WHERE created < {_local(f'end{i}')} AND (closed IS NULL OR closed >= "
                       f"{_local(f'end{i}')}))" for i in range(n))
    return (f"SELECT unnest(range({n})) AS period, unnest([{counts}]) AS value FROM {{service_requests}} "
            f"WHERE created < {_local(f'end{n - 1}')} AND (closed IS NULL OR closed >= {_local('end0')})")


def _signups(n: int) -> str:
    return (f"SELECT {_period_of('event_date', _day, n)} AS period, count(*) AS value FROM {{volunteer_signups}} "
            f"WHERE {_in_periods('event_date', _day, n)} GROUP BY period")


def _snow_p1_within_target(n: int) -> str:
    return f"""
WITH storms AS ({queries_snow.STORM_WINDOWS}, {_period_of('started', _local, n)} AS period
    FROM {{snow_storms}} s
    WHERE {_in_periods('s.started', _local, n)}
),
p1 AS (SELECT segment_id FROM {{snow_segments}} WHERE route_priority = 1),
first_pass AS (
    SELECT a.storm_id, a.segment_id, min(a.last_serviced) AS first_serviced
    FROM {{plow_activity}} a JOIN storms s ON a.storm_id = s.storm_id
    WHERE a.last_serviced >= s.started AND s.window_closed
    GROUP BY a.storm_id, a.segment_id
),
pairs AS (
    SELECT s.period, f.first_serviced <= s.started + to_hours($target_hours) AS within
    FROM storms s
    CROSS JOIN p1
    LEFT JOIN first_pass f ON f.storm_id = s.storm_id AND f.segment_id = p1.segment_id
    WHERE s.window_closed
)
SELECT period, 100.0 * count(*) FILTER (WHERE within) / nullif(count(*), 0) AS value FROM pairs GROUP BY period
"""


# named query -> (SQL for n periods giving (period index, value) rows, the value of a period with no row)
ALL_PERIODS = {
    "kpi_311_median_days_to_close": (_km_median_311, None),
    "kpi_311_pct_closed_within_target": (_decided_311, None),
    "kpi_311_open_backlog": (_open_at_period_ends, None),
    "kpi_snow_p1_serviced_within_target": (_snow_p1_within_target, None),
    "kpi_volunteer_signups": (_signups, 0.0),
}


def _actuals(kpi, bounds: list[tuple[date, date]]) -> list[float | None]:
    """The KPI's value for each period, oldest first: one query when the periods follow one another
    and the KPI has an all-periods form, else one query per period."""
    build, empty = ALL_PERIODS.get(kpi.query, (None, None))
    contiguous = all(bounds[i][1] == bounds[i + 1][0] for i in range(len(bounds) - 1))
    if build is None or not contiguous or len(bounds) < 2:
        return [_actual(kpi, start, end) for start, end in bounds]
    sql = build(len(bounds))
    cleaned = queries.validate(kpi.query, _params(kpi, *bounds[0]))  # the KPI's own parameters, as the query binds them
    used = set(re.findall(r"\$(\w+)", sql))  # DuckDB rejects unused named parameters
    params = {**cleaned, **queries.automatic(used), "start0": bounds[0][0],
              **{f"end{i}": end for i, (_, end) in enumerate(bounds)}}
    r = reader().query(sql, {k: v for k, v in params.items() if k in used}, name=f"{kpi.query}[{len(bounds)} periods]",
                       time_limit_ms=config.get_int("query_time_limit_ms"), max_rows=config.get_int("query_max_rows"))
    values = dict(r.rows)
    return [empty if i not in values else None if values[i] is None else float(values[i]) for i in range(len(bounds))]


def detail(kpi, start: date, end: date) -> dict:
    """What the KPI's named query returns beside its value for one period (the counts behind it, how many
    are still open or in progress, the figure it used to show), so a tile can say what the number leaves
    open (issue 15). Times as ISO text, as the API writes them."""
    rows = queries.run(kpi.query, **_params(kpi, start, end)).dicts()  # inside the scorecard's own cache entry
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in (rows[0] if rows else {}).items() if k != "value"}


def period_of(period: str, as_of: date) -> tuple[date, date, date]:
    """(start, end, cut): the period holding as_of, and the end of what a scorecard as of that day
    reads, the day after as_of when the period is still running (issue 15)."""
    start, end = scoring.period_bounds(period, as_of)
    return start, end, min(end, as_of + timedelta(days=1))


def links(kpi, period: str, as_of: date) -> dict:
    """Where a tile's links lead: the KPI's input rows and its JSON for exactly this period and as_of
    (issue 15: the JSON link dropped both), and the page that explains it."""
    query = urlencode({"period": period, "as_of": as_of.isoformat()})
    return {"rows_url": f"/api/v1/kpis/{kpi.id}/rows.csv?{query}", "json_url": f"/api/v1/kpis/{kpi.id}?{query}",
            "dashboard": kpi.dashboard}


def trace(kpi, start: date, end: date, period: str, as_of: date) -> dict:
    """How a value was computed, for a journalist to reproduce it."""
    return {
        "formula": kpi.formula,
        "query": kpi.query,
        "parameters": _params(kpi, start, end),
        "dataset": kpi.dataset,
        "columns": list(kpi.columns),
        **links(kpi, period, as_of),
    }


def previous(last: dict, row: dict) -> dict:
    """The previous period's value and the change since: against the pace of a total whose period is
    still running (341 so far, on pace for 511, against 576 last month), else against the value."""
    now = row["on_pace_for"] if row.get("on_pace_for") is not None else row["actual"]
    change = None if now is None or last["actual"] is None else now - last["actual"]
    return {**last, "change": change, "change_of": "pace" if row.get("on_pace_for") is not None else "value"}


_FIRST: dict[tuple, dict] = {}  # the data versions -> their first days (one entry kept)


def first_days() -> dict[str, date | None]:
    """Each dataset's first local day of its declared time column: before it a KPI has no data, not a
    score (a backlog of 0 "on target" in 2020, issue 15). Computed once per set of versions in each
    process (a scan of each table's time column: ~100 ms at 1M requests)."""
    versions = queries.version_key()
    if versions not in _FIRST:
        _FIRST.clear()
        _FIRST[versions] = _first_days()
    return _FIRST[versions]


def _first_days() -> dict[str, date | None]:
    parts = []
    for name, d in datasets.datasets().items():
        column = d.time_column
        if column:
            local = f"timezone($tz, {column})" if d.column(column).type == "datetime" else column
            parts.append(f"SELECT '{name}' AS dataset, CAST(min({local}) AS DATE) AS first_day FROM {{{name}}}")
    r = reader().query(" UNION ALL ".join(parts), {"tz": queries.city_timezone()}, name="first_days",
                       time_limit_ms=config.get_int("query_time_limit_ms"))
    return dict(r.rows)


def _before_data(actuals: list, bounds: list[tuple[date, date]], first: date | None) -> list:
    """No value for a period that ends before the dataset's first day (or when the dataset is empty)."""
    return [None if first is None or end <= first else a for a, (_, end) in zip(actuals, bounds, strict=True)]


def _compute(period: str, as_of: date, history: int, only: str | None) -> dict:
    selected = {k: v for k, v in kpi_decls.kpis().items() if (only is None or k == only) and period in v.periods}
    # The current period is cut at the end of as_of: a scorecard "as of" a day shows what was known by
    # then, and a period still running is scored on its elapsed share (issue 15).
    start, end, cut = period_of(period, as_of)
    share = (cut - start).days / (end - start).days
    # at least the previous period, for the tile's "previous period and change" (issue 15)
    bounds = [*scoring.previous_periods(period, as_of, max(history, 1)), (start, cut)]
    firsts = first_days()
    with read_pool(min(len(selected), 4) or 1) as pool:  # each query on its own cursor
        actuals = pool.map(lambda kpi: _before_data(_actuals(kpi, bounds), bounds, firsts.get(kpi.dataset)),
                           selected.values())
        # beside the values, what each leaves open this period (none before the dataset's first day)
        details = pool.map(lambda kpi: detail(kpi, start, cut) if firsts.get(kpi.dataset) and as_of >= firsts[kpi.dataset]
                           else {}, selected.values())
        actuals, details = dict(zip(selected, actuals, strict=True)), dict(zip(selected, details, strict=True))
    values = {k: a[-1] for k, a in actuals.items()}
    card = scoring.score_kpis(values, period, selected, share=share)
    for kpi_id, row in card["kpis"].items():
        kpi = selected[kpi_id]
        row["status"] = {"word": row["status"].word, "icon": row["status"].icon}
        facts = details[kpi_id]
        if row["actual"] is None and facts.get("storms_in_progress"):
            row["status"] = {"word": scoring.IN_PROGRESS.word, "icon": scoring.IN_PROGRESS.icon}
        first = firsts.get(kpi.dataset)
        row.update(id=kpi_id, description=kpi.description, agency=kpi.agency, target_note=kpi.target_note,
                   start=start.isoformat(), end=end.isoformat(), data_to=cut.isoformat(), share_of_period=share,
                   on_pace_for=None if row["actual"] is None or share >= 1 or row["target"] == row["target_so_far"]
                   else row["actual"] / share,
                   trace=trace(kpi, start, cut, period, as_of), detail=facts,
                   note=(f"No data before {first}: the {kpi.dataset} data begins then." if first and as_of < first else
                         "No data yet." if first is None else kpi_notes.note(kpi_id, row["actual"], facts)))
        past = []
        for (p_start, p_end), actual in zip(bounds[:-1], actuals[kpi_id][:-1], strict=True):
            score = scoring.kpi_score(actual, kpi.target_for(period), kpi.direction)
            past.append({"start": p_start.isoformat(), "end": p_end.isoformat(), "actual": actual, "score": score})
        row["previous"] = previous(past[-1], row)
        row.update(channel=kpi.channel, target_source=kpi.target_source)
        if history:
            row["history"] = past[-history:]
    card.update(as_of=as_of.isoformat(), start=start.isoformat(), end=end.isoformat(),
                data_to=cut.isoformat(), share_of_period=share,
                overall_formula="The mean of the KPI scores that have data; each score is actual / target "
                                "(target / actual when lower is better), clamped to [0, 2]. In a period still "
                                "running, totals are scored against their target pro-rated to the days elapsed, "
                                "and a storm inside its target window is left out.")
    return card


def scorecard(period: str = "month", as_of: date | None = None, history: int = 0, only: str | None = None) -> dict:
    """Every KPI (or one) for the period containing `as_of`, scored, with `history` earlier periods."""
    if period not in kpi_decls.PERIODS:
        raise QueryError(f"period must be one of {', '.join(kpi_decls.PERIODS)}, not {quoted(period)}")
    if only is not None and only not in kpi_decls.kpis():
        raise KeyError(only)
    versions = reader().versions()
    as_of = as_of or default_as_of()
    params = {"period": period, "as_of": as_of.isoformat(), "history": history, "only": only}
    value, _ = cache.get_or_compute("scorecard", params, versions, lambda: _compute(period, as_of, history, only))
    return {**value, "versions": versions}
