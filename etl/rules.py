"""The reject rules of validation: (condition, reason) pairs of SQL, one list per column and one for
the row, which etl/validate.py compiles into its plan. A row is rejected when any condition is true,
and its reason names the column and the value (STYLE habit 2).

Each rule reads up to three columns of the plan's steps: `text`, the cleaned source text; `value`,
the typed value; `placeholder`, a flag that the source held a placeholder such as 'Unspecified'.
"""
from __future__ import annotations

from datasets import City, Column, Dataset
from etl.formats import ColumnMap
from lake.sql import lit

Rule = tuple[str, str]  # (SQL condition, SQL text of the reason)


def _quoted(text: str) -> str:
    return f"'''' || left({text}, 60) || ''''"


def column_rules(c: Column, value: str, text: str, placeholder: str | None, mapping: ColumnMap | None,
                 future_limit: str) -> list[Rule]:
    """Every rule of one declared column; `mapping` is None when the file does not provide it."""
    return [*_read_and_required(c, value, text, placeholder, mapping), *_allowed_values(c, value),
            *_time_bounds(c, value, future_limit)]


def _read_and_required(c: Column, value: str, text: str, placeholder: str | None,
                       mapping: ColumnMap | None) -> list[Rule]:
    """A present value that does not read as its type; a required value that is missing."""
    name, out = c.name, []
    if mapping is not None and c.type != "string":  # a string is the text itself: it always reads
        # The typed value first: it is nearly always present, so the AND stops there.
        out.append((f"{value} IS NULL AND {text} IS NOT NULL",
                    f"'{name}: cannot read ' || {_quoted(text)} || ' as {c.type}'"))
    if c.required:
        why = mapping.reason_if_null if mapping and mapping.reason_if_null else f"{name} is required"
        if placeholder is not None:
            out.append((f"{value} IS NULL AND {placeholder}", f"'{name} is required but the source has a placeholder'"))
        not_placeholder = f"AND NOT coalesce({placeholder}, false)" if placeholder else ""
        out.append((f"{value} IS NULL AND {text if mapping else 'NULL'} IS NULL {not_placeholder}", lit(why)))
    return out


def _allowed_values(c: Column, value: str) -> list[Rule]:
    """The declaration's list of allowed values, minimum, maximum and pattern."""
    name, out = c.name, []
    if c.allowed is not None:
        allowed = ", ".join(lit(a) for a in c.allowed)
        shown = ", ".join(str(a) for a in c.allowed)
        out.append((f"{value} IS NOT NULL AND {value} NOT IN ({allowed})",
                    f"'{name}: ' || {_quoted('CAST(' + value + ' AS VARCHAR)')} || {lit(' is not one of: ' + shown)}"))
    if c.minimum is not None:
        out.append((f"{value} < {lit(c.minimum)}",
                    f"'{name}: ' || CAST({value} AS VARCHAR) || {lit(f' is below the minimum {c.minimum:g}')}"))
    if c.maximum is not None:
        out.append((f"{value} > {lit(c.maximum)}",
                    f"'{name}: ' || CAST({value} AS VARCHAR) || {lit(f' is above the maximum {c.maximum:g}')}"))
    if c.pattern is not None:
        out.append((f"{value} IS NOT NULL AND NOT regexp_full_match({value}, {lit(c.pattern)})",
                    f"'{name}: ' || {_quoted(value)} || {lit(' does not match ' + c.pattern)}"))
    return out


def _time_bounds(c: Column, value: str, future_limit: str) -> list[Rule]:
    """Times in the future (unless declared future_ok), dates over ten years ahead, and before year 1."""
    name, out = c.name, []
    if c.type == "datetime" and not c.future_ok:
        out.append((f"{value} > TIMESTAMPTZ {lit(future_limit)}", f"'{name}: ' || CAST({value} AS VARCHAR) || ' is in the future'"))
    if c.type == "date" or (c.type == "datetime" and c.future_ok):
        out.append((f"{value} > DATE {lit(future_limit[:10])} + INTERVAL 3660 DAY",
                    f"'{name}: ' || CAST({value} AS VARCHAR) || ' is more than ten years ahead'"))
    if c.type in ("date", "datetime"):  # DuckDB reads year 0 and BC dates, which no export format can write
        first = "DATE '0001-01-01'" if c.type == "date" else "TIMESTAMPTZ '0001-01-01 00:00:00+00'"
        out.append((f"{value} < {first}", f"'{name}: ' || CAST({value} AS VARCHAR) || ' is before the year 1'"))
    return out


def row_rules(ds: Dataset, city: City, provided: tuple[str, ...]) -> list[Rule]:
    """Rules over several columns: coordinates inside the city's bounds, and the declaration's checks."""
    out = []
    if {"latitude", "longitude"} <= set(ds.column_names) and {"latitude", "longitude"} & set(provided):
        out.append((
            f"latitude IS NOT NULL AND longitude IS NOT NULL AND NOT (latitude BETWEEN {city.min_lat} AND {city.max_lat} "
            f"AND longitude BETWEEN {city.min_lon} AND {city.max_lon})",
            f"'coordinates (' || latitude || ', ' || longitude || ') are outside the {city.name} bounds'",
        ))
    out += [(f"NOT coalesce(({check.sql}), true)", lit(check.reason)) for check in ds.checks]
    return out
