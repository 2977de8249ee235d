"""Turn a raw table of text into typed rows or rejects with reasons, in one set-based SQL pass.

Why SQL and not a Python loop: a million-row load must run near DuckDB's own CSV speed, so the
mapping, casts and checks are compiled from the declaration and the format into one SELECT.
Nothing is silently dropped: a value that is present but cannot be read, is out of range or not
allowed makes its row a reject with a reason naming the column and the value (STYLE habit 2);
placeholders ('Unspecified', 9999) become empty with a counted note.

The rules that reject a row are in etl/rules.py; this module compiles them, with the mapping,
cleaning and casts, into the plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb
import ftfy

from datasets import City, Column, Dataset
from etl import local_day, masking, rules
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
    """The source value as text: trimmed only where needed, empty as NULL, case and value maps applied."""
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
    """SQL that is true where text `e` is one of the format's or the column's placeholders."""
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


def _cast(t: str, c: Column, col: ColumnMap) -> str:
    """SQL reading cleaned text `t` as the declared type; NULL where it does not read."""
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


def provided_columns(ds: Dataset, by_target: dict[str, ColumnMap], raw_names: dict[str, str | None]) -> tuple[str, ...]:
    """The declared columns a file provides: its source column is in the file, or the format computes
    it with SQL from no source column."""
    return tuple(
        c.name for c in ds.columns
        if c.name in by_target and (raw_names[c.name] is not None or (by_target[c.name].source is None and by_target[c.name].sql))
    )


@dataclass
class _Steps:
    """The select lists of the plan's steps, filled one declared column at a time.

    `read`: each source value as trimmed, mapped text (`e:col`); `clean`: placeholders emptied and
    double-encoded text repaired (`t:col`), with a flag column per note (`phone:col` and `email:col`
    for a free-text column); `typed`: the typed value (`col`; free text masked where flagged), still
    naive for the columns in `naive` (made instants afterwards, etl/local_day.py).
    """

    read: list[str]
    clean: list[str]
    typed: list[str]
    notes: list[str] = field(default_factory=list)
    naive: list[str] = field(default_factory=list)
    rules: list[rules.Rule] = field(default_factory=list)

    @classmethod
    def carrying(cls, raw_columns: tuple[str, ...]) -> _Steps:
        """Steps that carry `_line` and the raw source values (`r:name`) through to the rejects."""
        carried = [ident(f"r:{name}") for name in raw_columns]
        read = ["_line", *(f"{ident(name)} AS {ident('r:' + name)}" for name in raw_columns)]
        return cls(read=read, clean=["_line", *carried], typed=["_line", *carried])


def _clean(steps: _Steps, c: Column, col: ColumnMap, raw_name: str | None, fmt: Format) -> str | None:
    """Add one provided column's read and clean expressions; returns its placeholder flag, if any."""
    text, clean = ident(f"e:{c.name}"), ident(f"t:{c.name}")
    steps.read.append(f"{_text_expr(col, raw_name)} AS {text}")
    value = text
    if c.type == "string":
        # Mojibake is non-ASCII: the O(1) byte length against the character count rules out
        # nearly every value before the two substring searches (a projection's OR runs both).
        suspect = f"(CASE WHEN strlen({text}) <> length({text}) THEN contains({text}, 'Ã') OR contains({text}, 'Â') ELSE false END)"
        value = f"(CASE WHEN {suspect} THEN fix_text({text}) ELSE {text} END)"
        fixed = ident(f"fixed:{c.name}")
        steps.clean.append(f"(CASE WHEN {suspect} THEN fix_text({text}) <> {text} ELSE false END) AS {fixed}")
        steps.notes.append(fixed)
    placeholder = None
    cond = _placeholder_cond(text, col, fmt)
    if cond:
        placeholder = ident(f"placeholder:{c.name}")
        steps.clean.append(f"coalesce({cond}, false) AS {placeholder}")
        steps.notes.append(placeholder)
        value = f"(CASE WHEN {cond} THEN NULL ELSE {value} END)"
    steps.clean.append(f"{value} AS {clean}")
    if c.free_text:
        # Judged on the text as read, so the typed step masks only what a flag found (decision 0014).
        for kind in masking.KINDS:
            flag = ident(f"{kind}:{c.name}")
            steps.clean.append(f"{masking.found(kind, text)} AS {flag}")
            steps.notes.append(flag)
    return placeholder


def _is_naive_local(c: Column, col: ColumnMap | None) -> bool:
    """A datetime read with a strptime format that has no zone: a wall-clock time in the city."""
    return (col is not None and c.type == "datetime" and bool(col.format) and col.format != "epoch_ms"
            and "%z" not in col.format and "%Z" not in col.format)


def _type(steps: _Steps, c: Column, col: ColumnMap | None, local_days: bool) -> None:
    """Add one column's typed value (a typed NULL for a column the file does not provide)."""
    clean, value = ident(f"t:{c.name}"), ident(c.name)
    if local_days and _is_naive_local(c, col):
        steps.typed.append(f"try_strptime({clean}, {lit(col.format)}) AS {value}")  # made an instant in s3z
        steps.naive.append(value)
    elif col is not None and c.free_text:
        found = " OR ".join(ident(f"{kind}:{c.name}") for kind in masking.KINDS)
        steps.typed.append(f"CASE WHEN {found} THEN {masking.masked(clean)} ELSE {clean} END AS {value}")
    else:
        steps.typed.append(f"{_cast(clean, c, col) if col else 'CAST(NULL AS ' + c.duckdb_type + ')'} AS {value}")


def plan(ds: Dataset, fmt: Format, header: tuple[str, ...], city: City, max_future_days: int, raw_table: str,
         raw_columns: tuple[str, ...], local_days: bool = False) -> Plan:
    """Compile the SELECT that reads `raw_table` and yields the typed columns, `_line`, `_notes`,
    `_reason` (empty for a good row) and `_raw` (the source values of `raw_columns`, rejects only).

    With `local_days`, naive local times are converted through local_day.prepare_naive's table (which
    the connection must hold) instead of one ICU call each."""
    raw_names = resolve(fmt, header)
    by_target = {c.target: c for c in fmt.columns}
    provided = provided_columns(ds, by_target, raw_names)
    future_limit = (datetime.now(UTC) + timedelta(days=max_future_days)).isoformat()
    steps = _Steps.carrying(raw_columns)
    for c in ds.columns:
        col = by_target.get(c.name) if c.name in provided else None
        if col is None:
            placeholder = None
            steps.clean.append(f"CAST(NULL AS VARCHAR) AS {ident(f't:{c.name}')}")
        else:
            placeholder = _clean(steps, c, col, raw_names[c.name], fmt)
        _type(steps, c, col, local_days)
        steps.rules += rules.column_rules(c, ident(c.name), ident(f"t:{c.name}"), placeholder, col, future_limit)
    steps.rules += rules.row_rules(ds, city, provided)
    return Plan(provided=provided, sql=_compile(ds, steps, raw_table, raw_columns))


def _notes_column(notes: list[str]) -> str:
    """One mostly-empty text column instead of a boolean per column: cheaper to materialise."""
    if not notes:
        return "'' AS _notes"
    return (f"CASE WHEN {' OR '.join(notes)} THEN concat_ws(',', "
            + ", ".join(f"CASE WHEN {n} THEN {lit(n.strip(chr(34)))} END" for n in notes) + ") ELSE '' END AS _notes")


def _compile(ds: Dataset, steps: _Steps, raw_table: str, raw_columns: tuple[str, ...]) -> str:
    """The steps as one query: s1 read, s2 clean, s3 typed, s3z naive times made instants, s4 judged."""
    typed = [*steps.typed, *steps.notes, *[ident(f"t:{c.name}") for c in ds.columns], _notes_column(steps.notes)]
    # Cheap boolean tests decide whether a row is bad; the reason text is built for bad rows only.
    # A CASE condition is a selection: a NULL condition does not select, as coalesce(.., false) would
    # not, and without the coalesce each AND stops at its first false instead of computing every term.
    bad = " OR ".join(f"({cond})" for cond, _ in steps.rules) or "false"
    why = ", ".join(f"CASE WHEN {cond} THEN {msg} END" for cond, msg in steps.rules) or "NULL"
    # NOT MATERIALIZED: each step is a projection of the one before; materialising them would copy
    # the whole file three times.
    raw_json = "json_object(" + ", ".join(f"{lit(n)}, {ident('r:' + n)}" for n in raw_columns) + ")" if raw_columns else "NULL"
    s3z = (f"SELECT s3.* REPLACE ({', '.join(f'{local_day.naive_to_instant(v)} AS {v}' for v in steps.naive)}) "
           f"FROM s3 CROSS JOIN {local_day.NAIVE_TABLE}") if steps.naive else "SELECT * FROM s3"
    return f"""
    WITH s1 AS NOT MATERIALIZED (SELECT {', '.join(steps.read)} FROM {raw_table}),
         s2 AS NOT MATERIALIZED (SELECT {', '.join(steps.clean)} FROM s1),
         s3 AS NOT MATERIALIZED (SELECT {', '.join(typed)} FROM s2),
         s3z AS NOT MATERIALIZED ({s3z}),
         s4 AS NOT MATERIALIZED (SELECT *, CASE WHEN {bad} THEN concat_ws('; ', {why}) ELSE '' END AS _reason FROM s3z)
    SELECT {', '.join(ident(c) for c in ds.column_names)}, _line, _notes, _reason,
           CASE WHEN _reason <> '' THEN CAST({raw_json} AS VARCHAR) END AS _raw
    FROM s4"""
