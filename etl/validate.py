"""Turn a raw table of text into typed rows or rejects with reasons, in one set-based SQL pass.

Why SQL and not a Python loop: a million-row load must run near DuckDB's own CSV speed, so the
mapping, casts and checks are compiled from the declaration and the format into one SELECT.
Nothing is silently dropped: a value that is present but cannot be read, is out of range or not
allowed makes its row a reject with a reason naming the column and the value (STYLE habit 2);
placeholders ('Unspecified', 9999) become empty with a counted note.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import ftfy

from datasets import City, Dataset
from etl.errors import InputError
from etl.formats import ColumnMap, Format
from lake.sql import ident, lit

GEOJSON_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection")


@dataclass(frozen=True)
class Plan:
    """What a format offers for one file: the target columns it provides and their SQL."""

    provided: tuple[str, ...]
    sql: str


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """fix_text repairs double-encoded UTF-8 ('Ã©' for 'é', 'Â ' for a no-break space) with ftfy."""
    try:
        con.create_function("fix_text", _fix_text, ["VARCHAR"], "VARCHAR", null_handling="special", side_effects=False)
    except duckdb.CatalogException:
        pass


# Naive local times read with a strptime format are converted to instants without ICU for every value:
# ICU costs ~0.1 us a value (a third of the casts in a 1M-row NYC export). A day's offset from UTC is
# fetched from a list of every local day 1970-2099 for which ICU itself reports the same offset at its
# first microsecond, at noon and at its last (no transition that day); other days, earlier and later
# times keep the ICU cast, so the result is ICU's. (Only two transitions cancelling out within half a
# day would escape the probes; tests/integration/test_ingest_fast_paths.py checks DST edges.)
LOCAL_DAYS_FROM = "1970-01-01"
LOCAL_DAYS = 47_482  # to 2099-12-31
LOCAL_DAYS_TABLE = "_local_day_offsets"


def prepare_local_days(con: duckdb.DuckDBPyConnection) -> None:
    """Create the one-row table of per-day offsets (microseconds) for the session time zone."""
    def offset(after_midnight: str) -> str:
        t = f"(CAST(DATE {lit(LOCAL_DAYS_FROM)} + CAST(d AS INTEGER) AS TIMESTAMP) + INTERVAL {after_midnight})"
        return f"epoch_us(CAST({t} AS TIMESTAMPTZ)) - epoch_us({t})"

    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {LOCAL_DAYS_TABLE} AS
        SELECT list(CASE WHEN a = b AND b = c THEN a END ORDER BY d) AS _local_offsets FROM (
            SELECT d, {offset("0 HOUR")} AS a, {offset("12 HOUR")} AS b, {offset("86399999999 MICROSECOND")} AS c
            FROM range({LOCAL_DAYS}) r(d))"""
    )


def _local_to_instant(v: str) -> str:
    """`v` (a naive local TIMESTAMP) as TIMESTAMPTZ; needs `_local_offsets` (LOCAL_DAYS_TABLE) in scope."""
    index = f"CASE WHEN {v} >= TIMESTAMP {lit(LOCAL_DAYS_FROM)} THEN CAST({v} AS DATE) - DATE {lit(LOCAL_DAYS_FROM)} + 1 END"
    return f"coalesce(make_timestamptz(epoch_us({v}) + list_extract(_local_offsets, {index})), CAST({v} AS TIMESTAMPTZ))"


def _fix_text(value: str | None) -> str | None:
    return None if value is None else ftfy.fix_encoding(value)


def resolve(fmt: Format, header: tuple[str, ...]) -> dict[str, str | None]:
    """Map each column of the format to the file's actual header name (case- and space-insensitive).

    A missing required source column means the file is not in this format: an InputError.
    """
    actual = {h.strip().lower(): h for h in header}
    out, missing = {}, []
    for col in fmt.columns:
        if col.source is None:
            out[col.target] = None
            continue
        name = actual.get(col.source.strip().lower())
        if name is None and not col.optional:
            missing.append(col.source)
        out[col.target] = name
    if missing:
        raise InputError(f"the file lacks columns the {fmt.name} format needs: {', '.join(missing)}")
    return out


def _text_expr(col: ColumnMap, raw_name: str | None) -> str:
    base = f"CAST(({col.sql}) AS VARCHAR)" if col.sql is not None else ident(raw_name)
    # trim() copies every value; most need no trimming, and prefix/suffix tests are cheap.
    expr = f"NULLIF(CASE WHEN {base} LIKE ' %' OR {base} LIKE '% ' THEN trim({base}) ELSE {base} END, '')"
    if col.case == "upper":
        expr = f"upper({expr})"
    elif col.case == "lower":
        expr = f"lower({expr})"
    if col.map:
        whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in col.map)
        expr = f"(CASE {expr} {whens} ELSE {expr} END)"
    return expr


def _placeholder_cond(e: str, col: ColumnMap, fmt: Format) -> str | None:
    values = [*fmt.placeholders, *col.placeholders]
    conds = []
    if values:
        # The spellings a source uses, listed rather than upper()-ing every value (an allocation per cell).
        # Keyed on the byte length (strlen is O(1); length() counts characters), inside a CASE so a
        # value is compared only with the few spellings of its length, and most values with none.
        spellings = sorted({form for v in values for form in (v, v.upper(), v.lower(), v.title())})
        by_length: dict[int, list[str]] = {}
        for v in spellings:
            by_length.setdefault(len(v.encode()), []).append(v)
        whens = " ".join(f"WHEN {n} THEN {e} IN ({', '.join(lit(v) for v in vs)})" for n, vs in sorted(by_length.items()))
        conds.append(f"(CASE strlen({e}) {whens} ELSE false END)")
    conds += [f"{e} ILIKE {lit(p)}" for p in col.placeholders_like]
    return " OR ".join(conds) if conds else None


def _cast(t: str, c, col: ColumnMap) -> str:
    if c.type == "string":
        return t
    if c.type == "integer":
        return f"TRY_CAST({t} AS BIGINT)"
    if c.type == "number":
        return f"TRY_CAST({t} AS DOUBLE)"
    if c.type == "boolean":
        return (f"(CASE WHEN lower({t}) IN ('true','t','yes','y','1') THEN TRUE "
                f"WHEN lower({t}) IN ('false','f','no','n','0') THEN FALSE END)")
    if c.type == "date":
        if col.format:
            return f"CAST(try_strptime({t}, {lit(col.format)}) AS DATE)"
        return f"TRY_CAST({t} AS DATE)"
    if c.type == "datetime":
        if col.format == "epoch_ms":
            return f"to_timestamp(TRY_CAST({t} AS DOUBLE) / 1000.0)"
        if col.format:
            # A naive local time: the cast reads it in the session time zone, the city's.
            return f"CAST(try_strptime({t}, {lit(col.format)}) AS TIMESTAMPTZ)"
        return f"TRY_CAST({t} AS TIMESTAMPTZ)"
    if c.type == "geojson":
        types = ", ".join(lit(x) for x in GEOJSON_TYPES)
        return f"(CASE WHEN json_valid({t}) AND json_extract_string({t}, '$.type') IN ({types}) THEN {t} END)"
    raise ValueError(c.type)


def _quoted(t: str) -> str:
    return f"'''' || left({t}, 60) || ''''"


def _column_rules(c, v: str, t: str, p: str | None, col: ColumnMap | None, future_limit: str) -> list[tuple[str, str]]:
    """(condition, reason) pairs for one column: the row is rejected when a condition is true."""
    name = c.name
    out = []
    if col is not None and c.type != "string":  # a string is the text itself: it always reads
        # The typed value first: it is nearly always present, so the AND stops there.
        out.append((f"{v} IS NULL AND {t} IS NOT NULL", f"'{name}: cannot read ' || {_quoted(t)} || ' as {c.type}'"))
    if c.required:
        why = col.reason_if_null if col and col.reason_if_null else f"{name} is required"
        if p is not None:
            out.append((f"{v} IS NULL AND {p}", f"'{name} is required but the source has a placeholder'"))
        out.append((f"{v} IS NULL AND {t if col else 'NULL'} IS NULL {'AND NOT coalesce(' + p + ', false)' if p else ''}", lit(why)))
    if c.allowed is not None:
        allowed = ", ".join(lit(a) for a in c.allowed)
        shown = ", ".join(str(a) for a in c.allowed)
        out.append((f"{v} IS NOT NULL AND {v} NOT IN ({allowed})",
                    f"'{name}: ' || {_quoted('CAST(' + v + ' AS VARCHAR)')} || {lit(' is not one of: ' + shown)}"))
    if c.minimum is not None:
        out.append((f"{v} < {lit(c.minimum)}", f"'{name}: ' || CAST({v} AS VARCHAR) || {lit(f' is below the minimum {c.minimum:g}')}"))
    if c.maximum is not None:
        out.append((f"{v} > {lit(c.maximum)}", f"'{name}: ' || CAST({v} AS VARCHAR) || {lit(f' is above the maximum {c.maximum:g}')}"))
    if c.pattern is not None:
        out.append((f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {lit(c.pattern)})",
                    f"'{name}: ' || {_quoted(v)} || {lit(' does not match ' + c.pattern)}"))
    if c.type == "datetime" and not c.future_ok:
        out.append((f"{v} > TIMESTAMPTZ {lit(future_limit)}", f"'{name}: ' || CAST({v} AS VARCHAR) || ' is in the future'"))
    if c.type == "date" or (c.type == "datetime" and c.future_ok):
        out.append((f"{v} > DATE {lit(future_limit[:10])} + INTERVAL 3660 DAY",
                    f"'{name}: ' || CAST({v} AS VARCHAR) || ' is more than ten years ahead'"))
    if c.type in ("date", "datetime"):  # DuckDB reads year 0 and BC dates, which no export format can write
        first = "DATE '0001-01-01'" if c.type == "date" else "TIMESTAMPTZ '0001-01-01 00:00:00+00'"
        out.append((f"{v} < {first}", f"'{name}: ' || CAST({v} AS VARCHAR) || ' is before the year 1'"))
    return out


def plan(ds: Dataset, fmt: Format, header: tuple[str, ...], city: City, max_future_days: int, raw_table: str,
         raw_columns: tuple[str, ...], local_days: bool = False) -> Plan:
    """Compile the SELECT that reads `raw_table` and yields the typed columns, `_line`, `_notes`,
    `_reason` (empty for a good row) and `_raw` (the source values of `raw_columns`, rejects only).

    With `local_days`, naive local times are converted through prepare_local_days' table (which the
    connection must hold) instead of one ICU call each."""
    raw_names = resolve(fmt, header)
    by_target = {c.target: c for c in fmt.columns}
    # A column is provided when its source column is in the file (or it is pure SQL with no source).
    provided = tuple(
        c.name for c in ds.columns
        if c.name in by_target and (raw_names[c.name] is not None or (by_target[c.name].source is None and by_target[c.name].sql))
    )
    future_limit = (datetime.now(UTC) + timedelta(days=max_future_days)).isoformat()
    carried = [ident(f"r:{name}") for name in raw_columns]
    s1 = ["_line", *(f"{ident(name)} AS {ident('r:' + name)}" for name in raw_columns)]
    s2, s3, reasons, notes, local = ["_line", *carried], ["_line", *carried], [], [], []
    for c in ds.columns:
        col = by_target.get(c.name) if c.name in provided else None
        e, t, v = ident(f"e:{c.name}"), ident(f"t:{c.name}"), ident(c.name)
        p = None
        if col is None:
            s2.append(f"CAST(NULL AS VARCHAR) AS {t}")
        else:
            s1.append(f"{_text_expr(col, raw_names[c.name])} AS {e}")
            cond = _placeholder_cond(e, col, fmt)
            value = e
            if c.type == "string":
                # Mojibake is non-ASCII: the O(1) byte length against the character count rules out
                # nearly every value before the two substring searches (a projection's OR runs both).
                suspect = f"(CASE WHEN strlen({e}) <> length({e}) THEN contains({e}, 'Ã') OR contains({e}, 'Â') ELSE false END)"
                value = f"(CASE WHEN {suspect} THEN fix_text({e}) ELSE {e} END)"
                flag = ident(f"fixed:{c.name}")
                s2.append(f"(CASE WHEN {suspect} THEN fix_text({e}) <> {e} ELSE false END) AS {flag}")
                notes.append(flag)
            if cond:
                flag = ident(f"placeholder:{c.name}")
                s2.append(f"coalesce({cond}, false) AS {flag}")
                notes.append(flag)
                p = flag
                value = f"(CASE WHEN {cond} THEN NULL ELSE {value} END)"
            s2.append(f"{value} AS {t}")
        if local_days and col and c.type == "datetime" and col.format and col.format != "epoch_ms" \
                and "%z" not in col.format and "%Z" not in col.format:
            s3.append(f"try_strptime({t}, {lit(col.format)}) AS {v}")  # naive: made an instant in s3z
            local.append(v)
        else:
            s3.append(f"{_cast(t, c, col) if col else 'CAST(NULL AS ' + c.duckdb_type + ')'} AS {v}")
        reasons += _column_rules(c, v, t, p, col, future_limit)
    s3 += [*notes, *[ident(f"t:{c.name}") for c in ds.columns]]
    if notes:
        # One mostly-empty text column instead of a boolean per column: cheaper to materialise.
        s3.append(f"CASE WHEN {' OR '.join(notes)} THEN concat_ws(',', "
                  + ", ".join(f"CASE WHEN {n} THEN {lit(n.strip(chr(34)))} END" for n in notes) + ") ELSE '' END AS _notes")
    else:
        s3.append("'' AS _notes")
    names = set(ds.column_names)
    if {"latitude", "longitude"} <= names and {"latitude", "longitude"} & set(provided):
        reasons.append((
            f"latitude IS NOT NULL AND longitude IS NOT NULL AND NOT (latitude BETWEEN {city.min_lat} AND {city.max_lat} "
            f"AND longitude BETWEEN {city.min_lon} AND {city.max_lon})",
            f"'coordinates (' || latitude || ', ' || longitude || ') are outside the {city.name} bounds'",
        ))
    for check in ds.checks:
        reasons.append((f"NOT coalesce(({check.sql}), true)", lit(check.reason)))
    # Cheap boolean tests decide whether a row is bad; the reason text is built for bad rows only.
    # A CASE condition is a selection: a NULL condition does not select, as coalesce(.., false) would
    # not, and without the coalesce each AND stops at its first false instead of computing every term.
    bad = " OR ".join(f"({cond})" for cond, _ in reasons) or "false"
    why = ", ".join(f"CASE WHEN {cond} THEN {msg} END" for cond, msg in reasons) or "NULL"
    # NOT MATERIALIZED: each step is a projection of the one before; materialising them would copy
    # the whole file three times.
    raw_json = "json_object(" + ", ".join(f"{lit(n)}, {ident('r:' + n)}" for n in raw_columns) + ")" if raw_columns else "NULL"
    s3z = (f"SELECT s3.* REPLACE ({', '.join(f'{_local_to_instant(v)} AS {v}' for v in local)}) "
           f"FROM s3 CROSS JOIN {LOCAL_DAYS_TABLE}") if local else "SELECT * FROM s3"
    sql = f"""
    WITH s1 AS NOT MATERIALIZED (SELECT {', '.join(s1)} FROM {raw_table}),
         s2 AS NOT MATERIALIZED (SELECT {', '.join(s2)} FROM s1),
         s3 AS NOT MATERIALIZED (SELECT {', '.join(s3)} FROM s2),
         s3z AS NOT MATERIALIZED ({s3z}),
         s4 AS NOT MATERIALIZED (SELECT *, CASE WHEN {bad} THEN concat_ws('; ', {why}) ELSE '' END AS _reason FROM s3z)
    SELECT {', '.join(ident(c) for c in ds.column_names)}, _line, _notes, _reason,
           CASE WHEN _reason <> '' THEN CAST({raw_json} AS VARCHAR) END AS _raw
    FROM s4"""
    return Plan(provided=provided, sql=sql)
