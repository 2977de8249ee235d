"""The five 311 dashboard queries (issue 3) over an N-row lake: through Pulse's query layer uncached
and cached, beside DuckDB straight over the same Parquet files and pandas in memory, in the same run.

q1 count, median and p90 hours-to-close by type, 90 days   (sr_time_to_close)
q2 weekly volume by borough, last year                      (sr_volume_by_borough)
q3 share within SLA per agency per month, last year         (sr_within_target)
q4 open backlog by day over a year                          (sr_open_backlog)
q5 top 20 descriptors for one type, borough and date range  (sr_top_descriptors)
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks.ingest import OUT, source_csv
from benchmarks.measure import run_python

END = "2026-11-20"
QUERIES = {
    "q1": ("sr_time_to_close", {"start": "2026-08-23", "end": END}),
    "q2": ("sr_volume_by_borough", {"start": "2025-11-21", "end": END, "period": "week"}),
    "q3": ("sr_within_target", {"start": "2025-11-21", "end": END}),
    "q4": ("sr_open_backlog", {"start": "2025-11-21", "end": END}),
    "q5": ("sr_top_descriptors", {"start": "2026-01-01", "end": "2026-06-30", "complaint_type": "Noise - Residential",
                                  "borough": "BROOKLYN"}),
}

# DuckDB straight over the raw Parquet computes every answer from the rows themselves (Pulse reads
# rollups and the close-times projection): the same answers, checked by tests/integration/test_queries.py
# against pandas and, for q1, by tests/integration/test_projections.py against the same SQL.
RAW_TIME_TO_CLOSE = """
SELECT complaint_type, count(*) AS closed_requests,
       quantile_cont(hours, 0.5) AS median_hours, quantile_cont(hours, 0.9) AS p90_hours
FROM (SELECT complaint_type, (epoch_us(closed) - epoch_us(created)) / 3.6e9 AS hours
      FROM {service_requests}
      WHERE created >= timezone($tz, CAST($start AS TIMESTAMP)) AND created < timezone($tz, CAST($end + 1 AS TIMESTAMP))
        AND closed IS NOT NULL AND ($borough IS NULL OR borough = $borough) AND ($agency IS NULL OR agency = $agency)
        AND ($complaint_type IS NULL OR complaint_type = $complaint_type))
GROUP BY complaint_type ORDER BY closed_requests DESC, complaint_type
"""

RAW_BACKLOG = """
WITH events AS (
    SELECT CAST(timezone($tz, created) AS DATE) AS day, 1 AS delta FROM {service_requests}
    UNION ALL
    SELECT CAST(timezone($tz, closed) AS DATE) AS day, -1 AS delta FROM {service_requests} WHERE closed IS NOT NULL
    UNION ALL
    SELECT CAST(d AS DATE), 0 FROM generate_series(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP), INTERVAL 1 DAY) AS days(d)
),
running AS (SELECT day, sum(sum(delta)) OVER (ORDER BY day) AS open_requests FROM events GROUP BY day)
SELECT day, CAST(open_requests AS BIGINT) FROM running WHERE day >= $start AND day <= $end ORDER BY day
"""

RAW_VOLUME_BY_BOROUGH = """
SELECT CAST(date_trunc($period, timezone($tz, created)) AS DATE) AS period_start, borough, count(*) AS requests
FROM {service_requests}
WHERE created >= timezone($tz, CAST($start AS TIMESTAMP)) AND created < timezone($tz, CAST($end + 1 AS TIMESTAMP))
GROUP BY period_start, borough ORDER BY period_start, borough
"""

RAW_WITHIN_TARGET = """
SELECT agency, CAST(date_trunc('month', timezone($tz, created)) AS DATE) AS month, count(*) AS closed_with_due,
       count(*) FILTER (WHERE closed <= due) AS closed_within_target,
       100.0 * count(*) FILTER (WHERE closed <= due) / count(*) AS pct_within_target
FROM {service_requests}
WHERE created >= timezone($tz, CAST($start AS TIMESTAMP)) AND created < timezone($tz, CAST($end + 1 AS TIMESTAMP))
  AND closed IS NOT NULL AND due IS NOT NULL
GROUP BY agency, month ORDER BY agency, month
"""

RAW_TOP_DESCRIPTORS = """
SELECT descriptor, count(*) AS requests FROM {service_requests}
WHERE complaint_type = $complaint_type
  AND created >= timezone($tz, CAST($start AS TIMESTAMP)) AND created < timezone($tz, CAST($end + 1 AS TIMESTAMP))
  AND ($borough IS NULL OR borough = $borough)
GROUP BY descriptor ORDER BY requests DESC, descriptor LIMIT $limit
"""

PULSE = """
import json, time, statistics
from portal import queries
Q = json.loads({queries!r})
out = {{}}
for q, (name, params) in Q.items():
    queries.run(name, **params)  # warm: the process has opened the files once
    times = []
    for _ in range(5):
        t = time.perf_counter(); r = queries.run(name, **params); times.append((time.perf_counter() - t) * 1000)
    queries.cached(name, **params)
    hits = []
    for _ in range(20):
        t = time.perf_counter(); _, hit = queries.cached(name, **params); hits.append((time.perf_counter() - t) * 1000)
        assert hit
    out[q] = {{"uncached_ms": statistics.median(times), "cached_ms": statistics.median(hits), "rows": len(r.rows)}}
# Resident memory the worker keeps after the queries (its peak, VmHWM, is measured by run_python).
out["rss_after_mb"] = int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) / 1024
print(json.dumps(out))
"""

DUCKDB_RAW = """
import json, time, statistics, duckdb
import lake
from portal import queries
Q = json.loads({queries!r})
RAW = {raw!r}
files = lake.file_paths('service_requests', lake.manifest('service_requests'))
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
out = {{}}
for q, (name, params) in Q.items():
    nq = queries.get(name)
    cleaned = queries.validate(name, params)
    sql = RAW.get(name, nq.sql).replace('{{service_requests}}', 'read_parquet(' + repr(files) + ')')
    used = set(queries._BOUND.findall(sql))
    bound = {{k: v for k, v in cleaned.items() if k in used}}
    bound['tz'] = 'America/New_York'
    times = []
    for _ in range(5):
        t = time.perf_counter(); con.execute(sql, bound).fetchall(); times.append((time.perf_counter() - t) * 1000)
    out[q] = {{"ms": statistics.median(times)}}
print(json.dumps(out))
"""

PANDAS = """
import json, time, statistics
import pandas as pd
import lake
files = lake.file_paths('service_requests', lake.manifest('service_requests'))
t = time.perf_counter()
df = pd.concat([pd.read_parquet(f, columns=['created', 'closed', 'due', 'agency', 'complaint_type', 'descriptor', 'borough'])
                for f in files], ignore_index=True)
df['created'] = df['created'].dt.tz_convert('America/New_York')
df['closed'] = df['closed'].dt.tz_convert('America/New_York')
df['due'] = df['due'].dt.tz_convert('America/New_York')
load_s = time.perf_counter() - t
def rng(s, e): return (df.created >= pd.Timestamp(s, tz='America/New_York')) & (df.created < pd.Timestamp(e, tz='America/New_York') + pd.Timedelta(days=1))
def q1():
    d = df[rng('2026-08-23', '{end}') & df.closed.notna()]
    h = (d.closed - d.created).dt.total_seconds() / 3600
    return h.groupby(d.complaint_type).agg(['count', 'median'])
def q2():
    d = df[rng('2025-11-21', '{end}')]
    return d.groupby([d.created.dt.to_period('W').dt.start_time, d.borough], dropna=False).size()
def q3():
    d = df[rng('2025-11-21', '{end}') & df.closed.notna() & df.due.notna()]
    ok = d.closed <= d.due
    return ok.groupby([d.agency, d.created.dt.to_period('M')]).agg(['count', 'sum', 'mean'])
def q4():
    days = pd.date_range('2025-11-21', '{end}', tz='America/New_York')
    ends = days + pd.Timedelta(days=1)
    c = df.created.sort_values().to_numpy(); cl = df.closed.dropna().sort_values().to_numpy()
    import numpy as np
    return np.searchsorted(c, ends.to_numpy(), side='left') - np.searchsorted(cl, ends.to_numpy(), side='left')
def q5():
    d = df[rng('2026-01-01', '2026-06-30') & (df.complaint_type == 'Noise - Residential') & (df.borough == 'BROOKLYN')]
    return d.descriptor.value_counts().head(20)
out = {{'load_s': load_s}}
for name, fn in [('q1', q1), ('q2', q2), ('q3', q3), ('q4', q4), ('q5', q5)]:
    fn()
    times = []
    for _ in range(3):
        t = time.perf_counter(); fn(); times.append((time.perf_counter() - t) * 1000)
    out[name] = {{'ms': statistics.median(times)}}
print(json.dumps(out))
"""


def up_to_date(data: Path) -> bool:
    """The lake exists and its version carries every rollup and projection declared today (a lake
    built by older code would measure the live fallbacks instead): the reader's own tests of a
    stored entry, applied to the manifest."""
    import config
    import datasets
    from datasets import rollups
    from lake.model import Manifest

    base = data / "lake" / "service_requests"
    try:
        current = int((base / "CURRENT").read_text())
        stored = Manifest.from_json((base / "versions" / f"{current:08d}.json").read_text()).rollups
    except (FileNotFoundError, ValueError):
        return False
    zone = datasets.city(config.get("city")).timezone
    return all(r.name in stored and stored[r.name].kind == r.kind and stored[r.name].holds(r.fingerprint(), zone)
               and getattr(stored[r.name], "legacy_file", None) is None
               for r in [*rollups.projections("service_requests"), *rollups.of("service_requests")])


def raw_sql() -> dict[str, str]:
    """Each named query's SQL computed from the rows alone (no rollups, no projections)."""
    return {"sr_time_to_close": RAW_TIME_TO_CLOSE, "sr_open_backlog": RAW_BACKLOG, "sr_volume_by_borough": RAW_VOLUME_BY_BOROUGH,
            "sr_within_target": RAW_WITHIN_TARGET, "sr_top_descriptors": RAW_TOP_DESCRIPTORS}


def lake_for(rows: int) -> Path:
    """A lake holding the benchmark's N-row 311 CSV, built once and reused while it is up to date."""
    data = OUT / f"lake-{rows}"
    if not up_to_date(data):
        shutil.rmtree(data, ignore_errors=True)
        run_python("load", f"from etl.load import load_file; load_file('service_requests', {str(source_csv(rows))!r})",
                   env={"PULSE_DATA_DIR": str(data)})
    return data


def run(rows: int = 1_000_000) -> dict:
    data = lake_for(rows)
    env = {"PULSE_DATA_DIR": str(data), "PULSE_CACHE_TYPE": "filesystem", "PULSE_QUERY_TIME_LIMIT_MS": "60000"}
    shutil.rmtree(data / "cache", ignore_errors=True)
    q = json.dumps(QUERIES)
    pulse = run_python("pulse", PULSE.format(queries=q), env=env)
    raw = run_python("duckdb_raw", DUCKDB_RAW.format(queries=q, raw=raw_sql()), env=env)
    pandas_run = run_python("pandas", PANDAS.format(end=END), env=env) if rows <= 5_000_000 else None
    p, d = json.loads(pulse.stdout.splitlines()[-1]), json.loads(raw.stdout.splitlines()[-1])
    pd_ = json.loads(pandas_run.stdout.splitlines()[-1]) if pandas_run else {}
    table = {}
    for name in QUERIES:
        row = {"pulse_uncached_ms": round(p[name]["uncached_ms"], 2), "pulse_cached_ms": round(p[name]["cached_ms"], 3),
               "duckdb_raw_ms": round(d[name]["ms"], 2), "rows": p[name]["rows"]}
        if pd_:
            row["pandas_ms"] = round(pd_[name]["ms"], 2)
        table[name] = row
    return {"rows": rows, "queries": table, "pulse_peak_rss_mb": round(pulse.peak_rss_mb),
            "pulse_rss_after_mb": round(p["rss_after_mb"]),
            "duckdb_raw_peak_rss_mb": round(raw.peak_rss_mb),
            **({"pandas_peak_rss_mb": round(pandas_run.peak_rss_mb), "pandas_load_s": round(pd_["load_s"], 2)} if pandas_run else {})}
