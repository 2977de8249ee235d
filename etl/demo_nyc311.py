"""The demo's NYC 311 export file: `rows` requests over the three years before `end`, written in
parallel chunks in bounded memory, the same bytes for the same (rows, seed, end).

Why the chunks are built by SQL (etl/demo_nyc311_sql.py) and written from Arrow's buffers: 20
million rows stream out with no Python loop per row. (Byte-identical holds for one DuckDB version:
a new version may change hash().)
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from etl.demo_city import HOURLY, MONTHLY, TZ
from etl.demo_complaints import AGENCIES, DAYPARTS, SEASONS, complaint_types, stable_uniform
from etl.demo_nyc311_sql import HEADER, core_sql, line_sql, lookup_lists, rows_sql, sql_list

DEFAULT_END = datetime(2026, 11, 20)
SPAN_DAYS = 1096  # three years of 311 requests before `end`
CHUNK_ROWS = 40_000
WORKERS = max(2, min(4, os.cpu_count() or 2))


def _epoch(dt: datetime) -> int:
    """Seconds since 1970 of a naive local time read as if it were UTC (the file's wall-clock value)."""
    return int(dt.replace(tzinfo=UTC).timestamp())


def as_datetime(end) -> datetime:
    if end is None:
        return DEFAULT_END
    if isinstance(end, datetime):
        return end if end.tzinfo is None else end.astimezone(TZ).replace(tzinfo=None)
    if isinstance(end, date):
        return datetime(end.year, end.month, end.day)
    return as_datetime(datetime.fromisoformat(str(end)))


def _slots(rows: int, seed: int, end: datetime) -> pa.Table:
    """One row per hour of the span with requests in it: first row index, row count, start, mix key.

    Row i of the file falls in the hour whose [first, first + n) holds i, so created times rise with i.
    The hour an early-spring clock change skips gets no requests: such a time does not exist in New York.
    """
    start = end - timedelta(days=SPAN_DAYS)
    weights, meta = [], []
    for day in range(SPAN_DAYS):
        t = start + timedelta(days=day)
        weekend = t.weekday() >= 5
        day_factor = MONTHLY[t.month - 1] * (1 + 0.05 * day / 365.25) * (0.85 + 0.3 * stable_uniform(f"{seed}:{t.date()}"))
        midnight, late = t.replace(tzinfo=TZ), (t + timedelta(hours=23)).replace(tzinfo=TZ)
        skipped = 2 if late.utcoffset() > midnight.utcoffset() else None
        for hour in range(24):
            weights.append(0.0 if hour == skipped else day_factor * HOURLY[weekend][hour])
            meta.append((_epoch(t) + hour * 3600, (t.month - 1) * 8 + (hour // 6) * 2 + weekend))
    total, cum, first = sum(weights), 0.0, 0
    cols = {"first": [], "n": [], "t0": [], "key": []}
    for w, (t0, key) in zip(weights, meta, strict=True):
        cum += w
        nxt = min(rows, int(rows * cum / total))
        if nxt > first:
            cols["first"].append(first)
            cols["n"].append(nxt - first)
            cols["t0"].append(t0)
            cols["key"].append(key)
            first = nxt
    if first < rows:  # float rounding left a remainder: it goes to the last hour
        cols["n"][-1] += rows - first
    return pa.table(cols)


def _mix(types: list[dict]) -> pa.Table:
    """For each (month, part of day, weekend) key, the cumulative share of each complaint type."""
    cols = {"key": [], "lo": [], "ty": [], "agency": [], "median_s": [], "sigma": [], "target_s": []}
    agencies = list(AGENCIES)
    for key in range(96):
        month, part, weekend = key // 8, (key % 8) // 2, key % 2
        ws = []
        for t in types:
            factors, weekend_factor = DAYPARTS[t["daypart"]]
            ws.append(t["weight"] * SEASONS[t["season"]][month] * factors[part] * (weekend_factor if weekend else 1.0))
        total, cum = sum(ws), 0.0
        for ty, (t, w) in enumerate(zip(types, ws, strict=True)):
            cols["key"].append(key)
            cols["lo"].append(cum / total)
            cols["ty"].append(ty)
            cols["agency"].append(agencies.index(t["agency"]))
            cols["median_s"].append(t["median_hours"] * 3600)
            cols["sigma"].append(t["sigma"])
            cols["target_s"].append(int(t["target_hours"] * 3600))
            cum += w
    return pa.table(cols)


def _connect(seed: int) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose queries each run on one thread: the parallelism is one chunk per worker."""
    con = duckdb.connect(config={"threads": 1, "memory_limit": "1GB"})
    # u(i, k): the k-th uniform draw in [0, 1) of row i (k < 64). hash() of several values only XORs
    # their hashes together, which makes all draws of a row move together; one mixed integer does not.
    offset = int.from_bytes(hashlib.sha256(f"pulse-demo:{seed}".encode()).digest()[:8], "big") >> 3
    con.execute(f"CREATE MACRO u(i, k) AS (hash(i * 64 + k + {offset}) >> 11)::DOUBLE * {2.0 ** -53!r}")
    return con


def _write_lines(out, table: pa.Table) -> None:
    """Write a column of finished lines as the bytes Arrow already holds them in: one write per batch."""
    for arr in table.column(0).chunks:
        if len(arr) == 0:
            continue
        _, offsets, data = arr.buffers()
        width = 8 if pa.types.is_large_string(arr.type) else 4
        first = int.from_bytes(offsets[arr.offset * width:(arr.offset + 1) * width], "little")
        last = int.from_bytes(offsets[(arr.offset + len(arr)) * width:(arr.offset + len(arr) + 1) * width], "little")
        out.write(memoryview(data)[first:last])


def _chunk_maker(con: duckdb.DuckDBPyConnection, end_s: int, types: list[dict]):
    """A function building rows lo..hi-1 as an Arrow table of finished lines, on a cursor per thread."""
    cursors: list = []
    local = threading.local()
    shared_values, lines, lists = rows_sql(end_s), line_sql(end_s), lookup_lists(types)

    def chunk(lo: int, hi: int) -> pa.Table:
        if not hasattr(local, "cur"):
            local.cur = con.cursor()
            cursors.append(local.cur)
            for name, values in lists.items():
                local.cur.execute(f"SET VARIABLE {name} = {sql_list(values)}")
        local.cur.execute(core_sql(lo, hi))
        local.cur.execute(shared_values)
        # Streamed into Arrow batch by batch: no second, fully materialised copy inside DuckDB.
        return pa.Table.from_batches(list(local.cur.sql(lines).to_arrow_reader(1 << 14)))

    return chunk, cursors


def _write_in_order(out, chunk, rows: int) -> None:
    """Chunks built by WORKERS threads, written in order; at most WORKERS + 1 are held at once."""
    with ThreadPoolExecutor(WORKERS) as pool:
        pending: deque = deque()
        for lo in range(0, rows, CHUNK_ROWS):
            pending.append(pool.submit(chunk, lo, min(rows, lo + CHUNK_ROWS)))
            if len(pending) > WORKERS:
                _write_lines(out, pending.popleft().result())
        while pending:
            _write_lines(out, pending.popleft().result())


def write_nyc311_csv(path, rows: int, seed: int = 311, end=None) -> Path:
    """Write `rows` NYC-311-export-shaped requests spanning the three years before `end` to `path`.

    Workers each build one chunk of CHUNK_ROWS finished lines at a time; the chunks are written in
    order and at most WORKERS + 1 are held at once, so memory stays bounded at any size. The same
    (rows, seed, end) gives the same bytes, whatever the number of workers.
    """
    path = Path(path)
    end_dt = as_datetime(end)
    types = complaint_types()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    con = _connect(seed)
    chunk, cursors = _chunk_maker(con, _epoch(end_dt), types)
    try:
        con.register("_slots", _slots(rows, seed, end_dt))
        con.execute("CREATE TABLE slots AS SELECT * FROM _slots")
        con.register("_mix", _mix(types))
        con.execute("CREATE TABLE mix AS SELECT * FROM _mix")
        with open(tmp, "wb") as out:
            out.write((HEADER + "\n").encode())
            _write_in_order(out, chunk, rows)
        os.replace(tmp, path)
    finally:
        for cur in cursors:
            cur.close()
        con.close()
        tmp.unlink(missing_ok=True)
    return path
