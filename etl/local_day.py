"""The city's local date of an instant, for the SQL of rollups and projections (`{local_day[col]}`
in datasets/rollups.yaml).

Why not always `CAST(timezone(zone, col) AS DATE)`: that asks ICU for every value (~0.1 µs), and a
big load's rollups and projection ask it five times a row (created four times, closed once). A load
of a big file first builds a list of UTC offsets, one per UTC day 1970–2099, holding the offset ICU
reports at the day's first microsecond, at noon and at its last when the three agree (no clock
change that day); a value on such a day is shifted by integer arithmetic. Days with a clock change,
instants outside the range and NULLs take the ICU cast, so the answer is always ICU's
(tests/integration/test_ingest_fast_paths.py compares both over years of minutes in several zones).
The same trick converts naive local times in validation (etl/validate.py, prepare_local_days).
"""
from __future__ import annotations

import duckdb

from lake.sql import lit

TABLE = "_utc_day_offsets"
DAYS = 47_482  # 1970-01-01 .. 2099-12-31
US_PER_DAY = 86_400_000_000


class LocalDay:
    """`{local_day[created]}` → SQL for the local date of `created` in `zone` (a mapping for
    str.format). With `fast`, through the offsets table that `prepare` built for the same zone."""

    def __init__(self, zone: str, fast: bool = False):
        self.zone, self.fast = zone, fast

    def __getitem__(self, column: str) -> str:
        icu = f"CAST(timezone({lit(self.zone)}, {column}) AS DATE)"
        if not self.fast:
            return icu
        us = f"epoch_us({column})"
        index = f"CASE WHEN {us} >= 0 THEN {us} // {US_PER_DAY} + 1 END"  # list positions count from 1
        shifted = f"CAST(make_timestamp({us} + list_extract((SELECT offsets FROM {TABLE}), {index})) AS DATE)"
        return f"coalesce({shifted}, {icu})"


def prepare(con, zone: str) -> LocalDay:
    """Build the offsets table for `zone` in this connection (~30 ms, once) and return the fast mapping."""
    try:
        if con.execute(f"SELECT zone FROM {TABLE}").fetchone()[0] == zone:
            return LocalDay(zone, fast=True)
    except duckdb.CatalogException:
        pass

    def offset(after_midnight: str) -> str:
        t = f"(make_timestamptz(CAST(d AS BIGINT) * {US_PER_DAY}) + INTERVAL {after_midnight})"
        return f"epoch_us(timezone({lit(zone)}, {t})) - epoch_us({t})"

    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {TABLE} AS
        SELECT {lit(zone)} AS zone, list(CASE WHEN a = b AND b = c THEN a END ORDER BY d) AS offsets FROM (
            SELECT d, {offset("0 HOUR")} AS a, {offset("12 HOUR")} AS b, {offset("86399999999 MICROSECOND")} AS c
            FROM range({DAYS}) r(d))"""
    )
    return LocalDay(zone, fast=True)
