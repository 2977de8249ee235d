"""Per-day UTC offsets of the city's time zone, so big loads avoid an ICU call for every value.

Why: ICU costs ~0.1 µs a value, and a big load asks it several times a row (validation reads naive
local times; rollups and projections take the local date of instants five times a row). A load of a
big file first builds a list of offsets, one per day 1970–2099, holding the offset ICU reports at
the day's first microsecond, at noon and at its last when the three agree (no clock change that
day); a value on such a day is shifted by integer arithmetic. Days with a clock change, values
outside the range and NULLs take the ICU cast, so the answer is always ICU's (only two transitions
cancelling out within half a day would escape the probes; tests/integration/test_ingest_fast_paths.py
compares both over years of minutes in several zones).

Two lists, built by one function: `prepare` walks UTC days (an instant's local date, for
`{local_day[col]}` in datasets/rollups.yaml) and `prepare_naive` walks local days (a naive local
time read as an instant, for etl/validate.py). One list cannot serve both: a local day and the UTC
day of the same date cover different instants.
"""
from __future__ import annotations

from collections.abc import Callable

import duckdb

from lake.sql import lit

FIRST_DAY = "1970-01-01"
DAYS = 47_482  # 1970-01-01 .. 2099-12-31
US_PER_DAY = 86_400_000_000
TABLE = "_utc_day_offsets"  # by UTC day: instant -> local date
NAIVE_TABLE = "_local_day_offsets"  # by local day: naive local time -> instant
NAIVE_COLUMN = "_local_offsets"


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


def _build(con, table: str, columns: str, offset: Callable[[str], str]) -> None:
    """Create `table` holding the list (`columns` names it) of each day's offset, NULL on a day whose
    first microsecond, noon and last microsecond disagree; `offset(after_midnight)` is SQL over day `d`."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT {columns} FROM (
            SELECT d, {offset("0 HOUR")} AS a, {offset("12 HOUR")} AS b, {offset("86399999999 MICROSECOND")} AS c
            FROM range({DAYS}) r(d))"""
    )


def _day_list(name: str) -> str:
    return f"list(CASE WHEN a = b AND b = c THEN a END ORDER BY d) AS {name}"


def prepare(con, zone: str) -> LocalDay:
    """Build the UTC-day offsets for `zone` in this connection (~30 ms, once) and return the fast mapping."""
    try:
        if con.execute(f"SELECT zone FROM {TABLE}").fetchone()[0] == zone:
            return LocalDay(zone, fast=True)
    except duckdb.CatalogException:
        pass

    def offset(after_midnight: str) -> str:
        t = f"(make_timestamptz(CAST(d AS BIGINT) * {US_PER_DAY}) + INTERVAL {after_midnight})"
        return f"epoch_us(timezone({lit(zone)}, {t})) - epoch_us({t})"

    _build(con, TABLE, f"{lit(zone)} AS zone, {_day_list('offsets')}", offset)
    return LocalDay(zone, fast=True)


def prepare_naive(con: duckdb.DuckDBPyConnection) -> None:
    """Build the local-day offsets (microseconds to add) for the session time zone (the city's)."""
    def offset(after_midnight: str) -> str:
        t = f"(CAST(DATE {lit(FIRST_DAY)} + CAST(d AS INTEGER) AS TIMESTAMP) + INTERVAL {after_midnight})"
        return f"epoch_us(CAST({t} AS TIMESTAMPTZ)) - epoch_us({t})"

    _build(con, NAIVE_TABLE, _day_list(NAIVE_COLUMN), offset)


def naive_to_instant(value: str) -> str:
    """SQL for `value` (a naive local TIMESTAMP) as TIMESTAMPTZ; needs NAIVE_TABLE's column in scope."""
    index = f"CASE WHEN {value} >= TIMESTAMP {lit(FIRST_DAY)} THEN CAST({value} AS DATE) - DATE {lit(FIRST_DAY)} + 1 END"
    return (f"coalesce(make_timestamptz(epoch_us({value}) + list_extract({NAIVE_COLUMN}, {index})), "
            f"CAST({value} AS TIMESTAMPTZ))")
