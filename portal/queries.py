"""Named queries: the dashboards' and KPIs' SQL, each with declared, validated parameters. (The rows
API builds its own filtered SELECT from a dataset's declaration; portal/kpi_values.py runs
all-periods forms of the KPI queries, checked against them.)

Why a registry rather than SQL in callbacks: a name plus cleaned parameters is a stable cache key
(`cached()`) and the reference a KPI's trace publishes (datasets/kpis.yaml, /api/v1/kpis), and every
value reaches DuckDB as a bound parameter (never in the SQL text, STYLE habit 3). Named queries have
no API address of their own (the API serves dataset rows and dashboard charts, not queries), and the
OpenAPI description is built from the dataset declarations, not from `describe()`, though the bounds
it states for chart parameters are these Params' (api/openapi.py).
The queries themselves live by area in portal/queries_311.py, queries_snow.py and
queries_volunteers.py; this module holds the parameter rules and `run()`.

Dates are the city's local calendar days: `run()` binds `$tz` (the city's time zone), and the SQL
reads a TIMESTAMPTZ as local wall-clock time with `timezone($tz, column)`. A range [start, end]
covers local midnight of `start` up to, not including, local midnight after `end`. KPI queries
instead take a period's half-open bounds [start, end), as portal/scoring.py computes them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

import config
import datasets
from datasets import rollups as rollup_decls
from portal.quoting import quoted
from portal.reader import QueryError, Results, reader

__all__ = ["NamedQuery", "Param", "QueryError", "datasets_of", "describe", "get", "names", "run", "validate"]

KINDS = ("date", "int", "choice", "value")
MAX_VALUE_CHARS = 200
# Every day a visitor may ask for: the dashboards' ranges (START, END) and a scorecard's as_of. Past
# it the date arithmetic overflowed (a year 10000 after the day following 9999-12-31, a year 0 before
# 0001-01-01) and the open-backlog query asked DuckDB for millions of days until it ran out of memory
# (issue 13): a 400 naming the bound, not a 500. KPI periods are computed from a bounded as_of.
DATE_RANGE = (date(1900, 1, 1), date(9000, 12, 31))
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_BOUND = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_DATASET = re.compile(r"\{([a-z][a-z0-9_]*)\}")
TODAY = "today"  # a date parameter's default meaning the current local date, resolved at validation


@dataclass(frozen=True)
class Param:
    """One parameter of a named query. `column` ("dataset", "column") gives a 'value' its allowed values."""

    name: str
    kind: str
    default: object = None
    required: bool = False
    choices: tuple[str, ...] = ()
    column: tuple[str, str] | None = None
    min: int | date | None = None  # an int's bounds, or a date's
    max: int | date | None = None
    help: str = ""

    def describe(self) -> dict:
        out = {"name": self.name, "kind": self.kind, "required": self.required, "default": self.default, "help": self.help}
        if self.kind == "choice":
            out["choices"] = list(self.choices)
        if self.kind == "int":
            out["min"], out["max"] = self.min, self.max
        if self.kind == "value":
            out["column"] = ".".join(self.column) if self.column else None
            allowed = self.allowed()
            if allowed:
                out["choices"] = list(allowed)
        return out

    def allowed(self) -> tuple | None:
        if self.column is None:
            return None
        return datasets.get(self.column[0]).column(self.column[1]).allowed


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str
    params: tuple[Param, ...]
    datasets: tuple[str, ...]

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def describe(self) -> dict:
        return {"name": self.name, "description": self.description, "datasets": list(self.datasets),
                "params": [p.describe() for p in self.params]}


def datasets_of(sql: str) -> tuple[str, ...]:
    """The datasets SQL reads, in order: its {dataset} and {rollup} placeholders (a rollup counts as its
    source dataset), so what a page says it shows is what its SQL reads."""
    return tuple(dict.fromkeys(rollup_decls.dataset_of(n) for n in _DATASET.findall(sql)))


def named(name: str, description: str, sql: str, *params: Param) -> NamedQuery:
    """A NamedQuery whose datasets are read off the SQL's {dataset} placeholders."""
    return NamedQuery(name=name, description=" ".join(description.split()), sql=sql, params=params,
                      datasets=datasets_of(sql))


# ---- parameters shared by several queries ----------------------------------------------------------
START = Param("start", "date", required=True, min=DATE_RANGE[0], max=DATE_RANGE[1],
              help="First local day of the range, YYYY-MM-DD.")
END = Param("end", "date", required=True, min=DATE_RANGE[0], max=DATE_RANGE[1],
            help="Last local day of the range, included, YYYY-MM-DD.")
PERIOD_START = Param("start", "date", required=True, help="First local day of the period, YYYY-MM-DD.")
PERIOD_END = Param("end", "date", required=True,
                   help="First local day after the period, YYYY-MM-DD: KPI periods are half-open [start, end).")
SR_BOROUGH = Param("borough", "value", column=("service_requests", "borough"), help="Only requests in this borough.")
AGENCY = Param("agency", "value", column=("service_requests", "agency"), help="Only requests handled by this agency (acronym).")
TARGET_HOURS = Param("target_hours", "int", default=6, min=1, max=168,
                     help="Hours after a storm's start within which a first plow pass counts as on target.")


def limit(default: int = 20, maximum: int = 100) -> Param:
    return Param("limit", "int", default=default, min=1, max=maximum, help=f"Most rows returned, 1 to {maximum}.")


# ---- the registry ----------------------------------------------------------------------------------
@cache
def _registry() -> dict[str, NamedQuery]:
    # Imported here: the area modules import Param and NamedQuery from this module.
    from portal import queries_311, queries_snow, queries_volunteers

    out: dict[str, NamedQuery] = {}
    for q in (*queries_311.QUERIES, *queries_snow.QUERIES, *queries_volunteers.QUERIES):
        if q.name in out:
            raise ValueError(f"named query {q.name!r} is declared twice")
        _check(q)
        out[q.name] = q
    return out


def _check(q: NamedQuery) -> None:
    """Declaration mistakes fail at first use with the query named, not as a DuckDB error later."""
    declared = {p.name for p in q.params}
    if len(declared) != len(q.params):
        raise ValueError(f"query {q.name!r} declares a parameter twice")
    for p in q.params:
        if p.kind not in KINDS:
            raise ValueError(f"query {q.name!r}: parameter {p.name!r} has kind {p.kind!r}; kinds: {', '.join(KINDS)}")
        if p.kind == "choice" and not p.choices:
            raise ValueError(f"query {q.name!r}: choice parameter {p.name!r} needs choices")
        if p.column:
            datasets.get(p.column[0]).column(p.column[1])
    unbound = set(_BOUND.findall(q.sql)) - declared - set(AUTOMATIC)
    if unbound:
        raise ValueError(f"query {q.name!r} uses undeclared parameters {sorted(unbound)}")
    unknown = set(q.datasets) - set(datasets.datasets())
    if unknown:
        raise ValueError(f"query {q.name!r} reads unknown datasets {sorted(unknown)}")


def names() -> list[str]:
    return list(_registry())


def get(name: str) -> NamedQuery:
    try:
        return _registry()[name]
    except KeyError:
        raise QueryError(f"unknown query {name!r}; known queries: {', '.join(_registry())}") from None


def describe() -> list[dict]:
    """Every query with its description, datasets and parameters, as plain data for a reader or a tool."""
    return [q.describe() for q in _registry().values()]


# ---- validation ------------------------------------------------------------------------------------
def city_timezone() -> str:
    return datasets.city(config.get("city")).timezone


def _fail(q: NamedQuery, p: Param, expected: str, value) -> QueryError:
    return QueryError(f"parameter {p.name!r} of query {q.name!r} expects {expected}, got {quoted(value)}")


def in_date_range(day: date) -> bool:
    return DATE_RANGE[0] <= day <= DATE_RANGE[1]


def _date(q: NamedQuery, p: Param, value) -> date:
    if value == TODAY:
        return datetime.now(ZoneInfo(city_timezone())).date()
    day = None
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and _ISO_DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
    if day is not None and (p.min is None or day >= p.min) and (p.max is None or day <= p.max):
        return day
    raise _fail(q, p, "a date as YYYY-MM-DD" + (f" from {p.min} to {p.max}" if p.min and p.max else ""), value)


def _int(q: NamedQuery, p: Param, value) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # KPI parameters are declared as numbers (datasets/kpis.yaml)
    if isinstance(value, str) and len(value) <= 40 and _INTEGER.match(value.strip()):
        value = int(value)  # (longer: int() refuses past 4,300 digits, and no bound is that long)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(q, p, "a whole number", value)
    if (p.min is not None and value < p.min) or (p.max is not None and value > p.max):
        raise _fail(q, p, f"a whole number from {p.min} to {p.max}", value)
    return value


def _choice(q: NamedQuery, p: Param, value) -> str:
    if value not in p.choices:
        raise _fail(q, p, f"one of {', '.join(p.choices)}", value)
    return value


def _value(q: NamedQuery, p: Param, value):
    allowed = p.allowed()
    if allowed:
        # Case-insensitive, returned as declared: a URL's ?borough=Brooklyn means BROOKLYN.
        for a in allowed:
            if str(a).casefold() == str(value).casefold():
                return a
        raise _fail(q, p, f"one of {', '.join(map(str, allowed))}", value)
    if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
        raise _fail(q, p, f"a text of 1 to {MAX_VALUE_CHARS} characters", value)
    return value


_PARSERS = {"date": _date, "int": _int, "choice": _choice, "value": _value}


def validate(name: str, params: dict) -> dict:
    """The cleaned parameters of a call: every declared parameter, defaults filled, values typed.

    Raises QueryError naming the query and parameter for an unknown query or parameter, a missing
    required one, a malformed or out-of-range value, or a start after the end.
    """
    q = get(name)
    known = [p.name for p in q.params]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise QueryError(f"query {name!r} has no parameter {', '.join(map(quoted, unknown))}; "
                         f"its parameters: {', '.join(known) or 'none'}")
    cleaned = {}
    for p in q.params:
        value = params.get(p.name)
        if value is None or value == "":
            if p.required:
                raise QueryError(f"query {name!r} needs parameter {p.name!r} ({p.help or p.kind})")
            value = p.default
        cleaned[p.name] = None if value is None else _PARSERS[p.kind](q, p, value)
    start, end = cleaned.get("start"), cleaned.get("end")
    if start is not None and end is not None and start > end:
        raise QueryError(f"query {name!r}: parameter 'start' ({start}) is after parameter 'end' ({end})")
    return cleaned


_AS_OF: dict[tuple, object] = {}  # a service_requests version -> its newest instant (one entry kept)


def version_key(*names: str) -> tuple:
    """The versions of `names` (all datasets when none) with their publication times: two lakes both at
    version 1 (tests, a moved data folder) are not the same data."""
    r = reader()
    versions, published = r.versions(), r.published_at()
    return tuple((n, versions.get(n), published.get(n)) for n in (names or sorted(versions)))


def data_as_of():
    """The newest created or closed instant of the current service_requests version: the "now" the
    311 data describes (queries_311.DATA_AS_OF). Computed once per version in each process."""
    version = version_key("service_requests")
    if version not in _AS_OF:
        r = reader().query("SELECT greatest(max(created), max(closed)) FROM {service_requests}", name="data_as_of",
                           time_limit_ms=config.get_int("query_time_limit_ms"))
        _AS_OF.clear()
        _AS_OF[version] = r.rows[0][0] if r.rows else None
    return _AS_OF[version]


# Parameters run() binds itself when the SQL uses them: the city's zone, the 311 data's "now".
AUTOMATIC = {"tz": city_timezone, "data_as_of": data_as_of}


def automatic(used: set[str]) -> dict:
    return {name: value() for name, value in AUTOMATIC.items() if name in used}


def run(name: str, /, **params) -> Results:
    """Validate, bind and run a named query under the configured time limit and row cap."""
    q = get(name)
    cleaned = validate(name, params)
    used = set(_BOUND.findall(q.sql))
    bound = {k: v for k, v in cleaned.items() if k in used}  # DuckDB rejects unused named parameters
    bound.update(automatic(used))
    return reader().query(q.sql, bound, name=name, time_limit_ms=config.get_int("query_time_limit_ms"),
                          max_rows=config.get_int("query_max_rows"))


def cached(name: str, /, **params) -> tuple[Results, bool]:
    """(results, hit): `run` through the shared cache, keyed by the cleaned parameters and the
    versions of the data read, so a new version is never served stale (portal/cache.py)."""
    from portal import cache

    cleaned = validate(name, params)
    versions = reader().versions()
    used = {n: versions[n] for n in get(name).datasets}
    return cache.get_or_compute(name, cleaned, used, lambda: run(name, **params))
