"""Turn a /rows or /export query string into a RowQuery over one lake version (issue 5, sections 2 and 6).

The SQL builder itself is portal/rows.py, beside the reader it runs through; this module is the HTTP
side: it parses parameters and answers a bad one with an ApiError.

Identifiers come only from the dataset declaration (public columns); every value a client sends is
a bound parameter, cast in SQL to the column's declared type. A parameter that is neither a known
option nor a public column with a known suffix is a 400 naming it and listing what is allowed.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import config
import datasets
import lake
from api.errors import ApiError, check_params
from datasets import Dataset
from lake.errors import VersionPruned
from lake.sql import ident
from portal.quoting import quoted
from portal.rows import DEFAULT_LIMIT, MAX_IN_VALUES, MAX_LIMIT, OPS, RowQuery, to_json

_KEY_TYPES = (str, int, float, bool, type(None))  # what encode_cursor writes: JSON scalars
ROWS_OPTIONS = ("bbox", "columns", "cursor", "limit", "sort", "version")
EXPORT_OPTIONS = ("bbox", "columns", "sort", "version")


def dataset_or_404(name: str) -> Dataset:
    try:
        return datasets.get(name)
    except KeyError:
        raise ApiError(404, f"no dataset {quoted(name)}; known: {', '.join(datasets.datasets())}",
                       allowed=list(datasets.datasets())) from None


def choose_manifest(ds: Dataset, raw: str | None) -> lake.Manifest | None:
    """The version asked for (?version=N) or the current one, chosen once for the whole request."""
    if raw is None:
        return lake.manifest(ds.name)
    digits = raw.isascii() and raw.isdigit()  # isdigit() alone takes '²', which int() refuses
    if digits:
        try:
            return lake.manifest(ds.name, int(raw))
        except VersionPruned as exc:  # published once, removed by retention (etl/compact.py): gone, not unknown
            raise ApiError(410, f"{exc}; cite version {exc.oldest} or later, or a day's last version "
                           f"(/api/v1/datasets/{ds.name} lists the versions kept)", parameter="version",
                           oldest=exc.oldest) from None
        except KeyError:
            pass
    current = lake.current_version(ds.name)
    known = list(range(lake.oldest_version(ds.name), current + 1)) if current else []
    allowed = f"{known[0]} to {known[-1]}" if known else "none yet"
    raise ApiError(404 if digits else 400, f"version must be a published version of {ds.name} ({allowed}), not {quoted(raw)}",
                   parameter="version", allowed=known)


def parse(ds: Dataset, args, *, paged: bool, current: int | None = None) -> RowQuery:
    """Validate every parameter against the declaration and build the query; 400 on anything else.
    `current`: the version a request without ?version= reads, when the caller already chose it."""
    options = ROWS_OPTIONS if paged else EXPORT_OPTIONS
    public = {c.name: c for c in ds.public_columns}
    if current is not None and args.get("version") is None:
        manifest = lake.manifest(ds.name, current)
    else:
        manifest = choose_manifest(ds, args.get("version"))
    q = RowQuery(ds=ds, manifest=manifest, columns=list(public))
    filterable = [n for n, c in public.items() if c.type != "geojson"]
    check_params([*options, *(n + (f"__{s}" if s else "") for n in filterable for s in OPS)], args=args,
                 takes=f"allowed are {', '.join(options)}, a public column ({', '.join(filterable)}) optionally "
                 "with __in, __gt, __gte, __lt or __lte", shown=[*options, *filterable],
                 suffixes=[f"__{s}" for s in OPS if s])
    for key in args:
        if key in options:
            continue
        name, _, suffix = key.rpartition("__") if "__" in key else (key, "", "")
        for raw in args.getlist(key):
            _add_filter(q, key, public[name], suffix, raw)
    if "bbox" in args:
        _add_bbox(q, public, args.get("bbox"))
    if "columns" in args:
        q.columns = _columns(public, args.get("columns"))
    if "sort" in args:
        raw = args.get("sort")
        q.descending, name = raw.startswith("-"), raw.lstrip("-")
        if name not in public or public[name].type == "geojson":
            raise ApiError(400, f"sort must be a public column, optionally with a leading '-', not {quoted(raw)}",
                           parameter="sort", allowed=[n for n, c in public.items() if c.type != "geojson"])
        q.sort = name
    if paged:
        raw = args.get("limit", str(DEFAULT_LIMIT))
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
            raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}, not {quoted(raw)}", parameter="limit")
        q.limit = int(raw)
        if "cursor" in args:
            q.after = decode_cursor(q, args.get("cursor"))
    return q


def _add_filter(q: RowQuery, key: str, col, suffix: str, raw: str) -> None:
    if suffix in ("", "in") and is_name(col):
        # A name matches in any case, as the pages and chart CSVs read it (filters.canonical):
        # complaint_type=heat/hot water is HEAT/HOT WATER here too (issue 15, "one reading of filters").
        values = [_value(key, col, v).lower() for v in (raw.split(",") if suffix == "in" else [raw])]
        _check_in_size(key, values)
        q.where.append(f"lower({ident(col.name)}) IN ({', '.join('?' for _ in values)})")
        q.params += values
    elif suffix == "in":
        values = [_value(key, col, v) for v in raw.split(",")]
        _check_in_size(key, values)
        q.where.append(f"{ident(col.name)} IN ({', '.join(f'CAST(? AS {col.duckdb_type})' for _ in values)})")
        q.params += values
    elif col.type == "datetime" and suffix in ("lte", "gt") and is_bare_date(raw):
        # A bare date is a whole local day, as the page's "To" box reads it: __lte includes that day,
        # __gt starts after it (issue 15: created__lte=2026-11-20 meant midnight at its start).
        q.where.append(f"{ident(col.name)} {'<' if suffix == 'lte' else '>='} CAST(? AS {col.duckdb_type})")
        q.params.append(next_midnight(key, col, raw))
    else:
        q.where.append(f"{ident(col.name)} {OPS[suffix]} CAST(? AS {col.duckdb_type})")
        q.params.append(_value(key, col, raw))


def is_name(col) -> bool:
    """A text column whose values name things (a complaint type, an agency, a street): matched in any
    case. Not a column with declared values (matched to the declared spelling, exactly, in _value)
    nor a resident's own words (free text, not filterable by name)."""
    return col.type == "string" and col.allowed is None and not col.free_text


def _check_in_size(key: str, values: list) -> None:
    if len(values) > MAX_IN_VALUES:
        raise ApiError(400, f"{key} takes at most {MAX_IN_VALUES} values", parameter=key)


def is_bare_date(raw: str) -> bool:
    return "T" not in raw and " " not in raw


def next_midnight(key: str, col, raw: str) -> str:
    """The local midnight after the day `raw` names; a bad date is the same 400 as anywhere."""
    day = _value(key, col, raw)  # validates, and is local midnight at the day's start
    start = datetime.fromisoformat(day)
    return parse_datetime((start.date() + timedelta(days=1)).isoformat()).isoformat()


def _value(key: str, col, raw: str):
    """Parse one value for the column's type; a bad one is a 400 naming the parameter."""
    try:
        if col.type == "integer":
            value = int(raw)
            if not -(2**63) <= value < 2**63:  # BIGINT; past it DuckDB fails mid-download (after the 200)
                raise ValueError
            return value
        if col.type == "number":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            return value
        if col.type == "boolean":
            return {"true": True, "1": True, "false": False, "0": False}[raw.lower()]
        if col.type == "date":
            return date.fromisoformat(raw).isoformat()
        if col.type == "datetime":
            return parse_datetime(raw).isoformat()
    except (ValueError, KeyError):
        expected = {"integer": "a whole number (64-bit)", "number": "a number", "boolean": "true or false",
                    "date": "a date like 2025-03-01",
                    "datetime": "an ISO datetime like 2025-03-01T08:00:00-05:00 (or a date)"}[col.type]
        raise ApiError(400, f"{key} must be {expected}, not {quoted(raw)}", parameter=key, type=col.type) from None
    if col.allowed is not None:
        # In any case, as the pages and chart CSVs read a name (queries._value): ?borough=Bronx is BRONX
        # everywhere, not a 400 here and a chart there (issue 15).
        match = next((a for a in col.allowed if str(a).casefold() == raw.casefold()), None)
        if match is None:
            raise ApiError(400, f"{key} must be one of {', '.join(map(str, col.allowed))}, not {quoted(raw)}",
                           parameter=key, allowed=list(col.allowed))
        return str(match)
    return raw


def parse_datetime(raw: str) -> datetime:
    """An ISO datetime; one without an offset (or a bare date) is read in the city's time zone."""
    value = datetime.fromisoformat(raw) if "T" in raw or " " in raw else datetime.combine(date.fromisoformat(raw), time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(datasets.city(config.get("city")).timezone))
    return value


def _add_bbox(q: RowQuery, public: dict, raw: str) -> None:
    if not {"latitude", "longitude"} <= set(public):
        raise ApiError(400, f"bbox needs latitude and longitude columns, which {q.ds.name} does not have",
                       parameter="bbox")
    try:
        lo_lon, lo_lat, hi_lon, hi_lat = (float(v) for v in raw.split(","))
        if not (-180 <= lo_lon <= hi_lon <= 180 and -90 <= lo_lat <= hi_lat <= 90):
            raise ValueError
    except ValueError:
        raise ApiError(400, f"bbox must be min_lon,min_lat,max_lon,max_lat in degrees, not {quoted(raw)}",
                       parameter="bbox") from None
    q.where.append('"longitude" BETWEEN ? AND ? AND "latitude" BETWEEN ? AND ?')
    q.params += [lo_lon, hi_lon, lo_lat, hi_lat]


def _columns(public: dict, raw: str) -> list[str]:
    chosen = [c.strip() for c in raw.split(",") if c.strip()]
    bad = [c for c in chosen if c not in public]
    if bad or not chosen:
        raise ApiError(400, f"columns must list public columns of the dataset; unknown: {', '.join(bad) or '(none given)'}",
                       parameter="columns", allowed=list(public))
    return list(dict.fromkeys(chosen))


def encode_cursor(q: RowQuery, keyset: tuple) -> str:
    body = {"v": q.version, "s": ("-" if q.descending else "") + (q.sort or ""), "k": [to_json(v) for v in keyset]}
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(q: RowQuery, raw: str) -> list:
    """The keyset a cursor carries; a cursor that is malformed or from another version or sort is a 400."""
    try:
        body = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        keyset, version, sort = body["k"], body["v"], body["s"]
        if not isinstance(keyset, list) or len(keyset) != len(q.keyset_types()):
            raise ValueError
        if not all(isinstance(v, _KEY_TYPES) for v in keyset):  # a list or an object binds as a DuckDB LIST/STRUCT
            raise ValueError
    # RecursionError: JSON nested a few thousand deep (issue 13: a 500)
    except (ValueError, KeyError, TypeError, binascii.Error, RecursionError):
        raise ApiError(400, "cursor is not one this API issued; start again without it", parameter="cursor") from None
    if version != q.version:
        raise ApiError(400, f"cursor belongs to version {version}, but this request reads version {q.version}; "
                       "follow the next link (it names the version) or start again", parameter="cursor")
    if sort != ("-" if q.descending else "") + (q.sort or ""):
        raise ApiError(400, "cursor was issued for another sort order; start again without it", parameter="cursor")
    return keyset
