"""SODA pages beside the native rows API and DuckDB (issue 18): `python -m benchmarks --only soda`.

One pull of the same rows three ways, in the same run, on an N-row demo lake (default 1M):
  - soda: `/resource/erm2-nwe9.json?$where=created_date >= '2024-01-01'&$order=created_date&$limit=50000`
    with `$offset` 0, 50,000, ... for PAGES pages, as sodapy's get_all sends them;
  - native: `/api/v1/datasets/service_requests/rows?created__gte=2024-01-01&sort=created&limit=10000`
    following its `next` links (keyset pages; 10,000 is that API's largest page) until as many rows;
  - duckdb: the same SELECT of the public columns, ORDER BY and LIMIT/OFFSET straight over the
    version's Parquet files in this process, rows fetched as Python tuples (no HTTP, no JSON).
Pulse is production's gunicorn (gunicorn.conf.py) with the HTTP cache off (PULSE_CACHE_TYPE=null), so
every page is computed, and a 30 s query time limit (at 1M rows the native API's 10,000-row pages
sorted by time take 1.2-2.9 s each, at the default 3 s limit: some were 503s); one client, pages one
after another, as a script pulls. Time is the HTTP
round trip with the body read (counting rows afterwards is not timed); the best of ROUNDS rounds.
Goal: soda rows/s >= 0.5x native.
"""
from __future__ import annotations

import json
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from benchmarks.exports import SR_FILES
from benchmarks.serving import ENV, Gunicorn, build_lake

SINCE = "2024-01-01"
SODA_PAGE, NATIVE_PAGE = 50_000, 10_000
PAGES = 4
ROUNDS = 3
SODA = "/resource/erm2-nwe9.json?" + urllib.parse.urlencode(
    {"$where": f"created_date >= '{SINCE}'", "$order": "created_date", "$limit": str(SODA_PAGE)})
NATIVE = f"/api/v1/datasets/service_requests/rows?created__gte={SINCE}&sort=created&limit={NATIVE_PAGE}"

DUCKDB = SR_FILES + """
con.execute("SET TimeZone = 'America/New_York'")
best, count = None, 0
for _ in range({rounds}):
    t, count = time.perf_counter(), 0
    for page in range({pages}):
        rows = con.execute(f"SELECT {{cols}} FROM read_parquet({{files!r}}) WHERE created >= TIMESTAMPTZ '{since} 00:00' "
                           f"ORDER BY created, request_id LIMIT {size} OFFSET {{page * {size}}}").fetchall()
        count += len(rows)
    seconds = time.perf_counter() - t
    best = seconds if best is None else min(best, seconds)
print(json.dumps({{"rows": count, "seconds": best}}))
"""


def _fetch(server: Gunicorn, path: str) -> tuple[bytes, float]:
    started = time.perf_counter()
    with urllib.request.urlopen(server.url(path), timeout=120) as resp:
        body = resp.read()
    return body, time.perf_counter() - started


def _soda(server: Gunicorn) -> tuple[int, float, list[str]]:
    rows, seconds, first = 0, 0.0, []
    for page in range(PAGES):
        body, took = _fetch(server, f"{SODA}&%24offset={page * SODA_PAGE}")
        seconds += took
        parsed = json.loads(body)
        rows += len(parsed)
        first = first or [r["unique_key"] for r in parsed[:NATIVE_PAGE]]
    return rows, seconds, first


def _native(server: Gunicorn, wanted: int) -> tuple[int, float, list[str]]:
    rows, seconds, path, first = 0, 0.0, NATIVE, []
    while path and rows < wanted:
        body, took = _fetch(server, path)
        seconds += took
        parsed = json.loads(body)
        rows += len(parsed["rows"])
        first = first or [r["request_id"] for r in parsed["rows"]]
        path = parsed.get("next")
    return rows, seconds, first


def _duckdb(data: Path) -> dict:
    from benchmarks.measure import run_python

    code = DUCKDB.format(rounds=ROUNDS, pages=PAGES, since=SINCE, size=SODA_PAGE)
    return json.loads(run_python("duckdb", code, env={"PULSE_DATA_DIR": str(data)}).stdout)


def run(rows: int = 1_000_000) -> dict:
    result: dict = {"rows_in_lake": rows, "soda_page": SODA_PAGE, "native_page": NATIVE_PAGE, "pages": PAGES,
                    "rounds": ROUNDS, "soda_path": SODA}
    with tempfile.TemporaryDirectory(prefix="pulse-bench-soda-") as tmp:
        data = Path(tmp) / "data"
        build_lake(data, str(rows))
        server = Gunicorn("app:server", {**ENV, "PULSE_DATA_DIR": str(data), "PULSE_CACHE_TYPE": "null",
                                             "PULSE_QUERY_TIME_LIMIT_MS": "30000"}, "/healthz")
        try:
            for path in ("/resource/erm2-nwe9.json?%24limit=1", NATIVE.replace(f"limit={NATIVE_PAGE}", "limit=1")):
                server.get(path)  # warm-up: both workers' readers open the lake
                server.get(path)
            runs = {"soda": [], "native": []}
            for _ in range(ROUNDS):
                runs["soda"].append(_soda(server))
                runs["native"].append(_native(server, runs["soda"][-1][0]))
        finally:
            server.stop()
        base = _duckdb(data)
    soda_rows, soda_s, soda_first = min(runs["soda"], key=lambda r: r[1])
    native_rows, native_s, native_first = min(runs["native"], key=lambda r: r[1])
    assert soda_first == native_first, "SODA and the rows API disagree on the first rows"
    result.update(
        soda={"rows": soda_rows, "seconds": round(soda_s, 3), "rows_per_s": round(soda_rows / soda_s)},
        native={"rows": native_rows, "seconds": round(native_s, 3), "rows_per_s": round(native_rows / native_s)},
        duckdb={"rows": base["rows"], "seconds": round(base["seconds"], 3), "rows_per_s": round(base["rows"] / base["seconds"])},
    )
    result["soda_vs_native"] = round(result["soda"]["rows_per_s"] / result["native"]["rows_per_s"], 2)
    result["soda_vs_duckdb"] = round(result["soda"]["rows_per_s"] / result["duckdb"]["rows_per_s"], 2)
    return result
