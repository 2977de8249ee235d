"""Turn a /rows or /export query string into SQL over one lake version (issue 5, sections 2 and 6).

Identifiers come only from the dataset declaration (public columns); every value a client sends is
a bound parameter, cast in SQL to the column's declared type. A parameter that is neither a known
option nor a public column with a known suffix is a 400 naming it and listing what is allowed.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import duckdb

import config
import datasets
import lake
from api.errors import ApiError
from datasets import Dataset
from lake.errors import VersionPruned
from lake.sql import ident, lit

OPS = {"": "=", "in": "IN", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
ROWS_OPTIONS = ("bbox", "columns", "cursor", "limit", "sort", "version")
EXPORT_OPTIONS = ("bbox", "columns", "sort", "version")
DEFAULT_LIMIT, MAX_LIMIT, MAX_IN_VALUES = 100, 10_000, 1_000
# The stand-in for a NULL sort value inside the keyset, so the (flag, value, key) tuple never holds
# NULL (NULL breaks row comparison); the flag orders missing values last whichever the direction.
_ZERO = {"string": "''", "integer": "0", "number": "0.0", "boolean": "false",
         "date": "DATE '1970-01-01'", "datetime": "TIMESTAMPTZ '1970-01-01 00:00:00+00'"}


@dataclass
class RowQuery:
    """A parsed request: which version, which columns, which rows, in which order."""

    ds: Dataset
    manifest: lake.Manifest | None
    columns: list[str]
    where: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)
    sort: str | None = None  # a public column name
    descending: bool = False
    limit: int = DEFAULT_LIMIT
    after: list | None = None  # keyset of the last row of the previous page

    @property
    def version(self) -> int | None:
        return self.manifest.version if self.manifest else None

    def source(self) -> str:
        """The version's public columns: read_parquet over the manifest's own files (paths are ours)."""
        cols = ", ".join(ident(c.name) for c in self.ds.public_columns)
        if self.manifest and self.manifest.files:
            listed = "[" + ", ".join(lit(p) for p in lake.file_paths(self.ds.name, self.manifest)) + "]"
            return f"SELECT {cols} FROM read_parquet({listed})"
        typed = ", ".join(f"CAST(NULL AS {c.duckdb_type}) AS {ident(c.name)}" for c in self.ds.public_columns)
        return f"SELECT {typed} WHERE false"

    def keyset_exprs(self) -> list[str]:
        """The ordering tuple: (sort is missing, sort, *primary key), or just the primary key."""
        exprs = []
        if self.sort:
            col = ident(self.sort)
            exprs += [f"({col} IS NOT NULL)" if self.descending else f"({col} IS NULL)",
                      f"COALESCE({col}, {_ZERO[self.ds.column(self.sort).type]})"]
        return exprs + [ident(k) for k in self.ds.primary_key]

    def keyset_types(self) -> list[str]:
        types = ["BOOLEAN", self.ds.column(self.sort).duckdb_type] if self.sort else []
        return types + [self.ds.column(k).duckdb_type for k in self.ds.primary_key]

    def sql(self, *, paged: bool, select: list[str] | None = None) -> tuple[str, list]:
        """SELECT the chosen columns, or the given expressions over them (plus the keyset as __k0..
        when paged), with filters and order."""
        where, params = list(self.where), list(self.params)
        select = list(select) if select is not None else [ident(c) for c in self.columns]
        order = ""
        if paged or self.sort:
            keys = self.keyset_exprs()
            direction = " DESC" if self.descending else ""
            order = " ORDER BY " + ", ".join(k + direction for k in keys)
            if paged:
                select += [f"{k} AS __k{i}" for i, k in enumerate(keys)]
                if self.after is not None:
                    bound = ", ".join(f"CAST(? AS {t})" for t in self.keyset_types())
                    where.append(f"({', '.join(keys)}) {'<' if self.descending else '>'} ({bound})")
                    params += self.after
        text = f"SELECT {', '.join(select)} FROM ({self.source()}) AS src"
        if where:
            text += " WHERE " + " AND ".join(where)
        text += order
        if paged:
            text += f" LIMIT {int(self.limit) + 1}"  # one more than asked: is there a next page?
        return text, params


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory connection per request: reads Parquet, holds nothing between requests."""
    con = duckdb.connect(config={"memory_limit": config.get("reader_memory")})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def dataset_or_404(name: str) -> Dataset:
    try:
        return datasets.get(name)
    except KeyError:
        raise ApiError(404, f"no dataset {name!r}; known: {', '.join(datasets.datasets())}",
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
    raise ApiError(404 if digits else 400, f"version must be a published version of {ds.name} ({allowed}), not {raw!r}",
                   parameter="version", allowed=known)


def parse(ds: Dataset, args, *, paged: bool) -> RowQuery:
    """Validate every parameter against the declaration and build the query; 400 on anything else."""
    options = ROWS_OPTIONS if paged else EXPORT_OPTIONS
    public = {c.name: c for c in ds.public_columns}
    q = RowQuery(ds=ds, manifest=choose_manifest(ds, args.get("version")), columns=list(public))
    for key in args:
        if key in options:
            continue
        name, _, suffix = key.rpartition("__") if "__" in key else (key, "", "")
        col = public.get(name)
        if col is None or suffix not in OPS or col.type == "geojson":
            raise ApiError(400, f"unknown parameter {key!r}: allowed are {', '.join(options)}, a public column "
                           f"({', '.join(n for n, c in public.items() if c.type != 'geojson')}) optionally with "
                           f"__in, __gt, __gte, __lt or __lte", parameter=key,
                           allowed=[*options, *(n for n, c in public.items() if c.type != "geojson")],
                           suffixes=[f"__{s}" for s in OPS if s])
        for raw in args.getlist(key):
            _add_filter(q, key, col, suffix, raw)
    if "bbox" in args:
        _add_bbox(q, public, args.get("bbox"))
    if "columns" in args:
        q.columns = _columns(public, args.get("columns"))
    if "sort" in args:
        raw = args.get("sort")
        q.descending, name = raw.startswith("-"), raw.lstrip("-")
        if name not in public or public[name].type == "geojson":
            raise ApiError(400, f"sort must be a public column, optionally with a leading '-', not {raw!r}",
                           parameter="sort", allowed=[n for n, c in public.items() if c.type != "geojson"])
        q.sort = name
    if paged:
        raw = args.get("limit", str(DEFAULT_LIMIT))
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
            raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw!r}", parameter="limit")
        q.limit = int(raw)
        if "cursor" in args:
            q.after = decode_cursor(q, args.get("cursor"))
    return q


def _add_filter(q: RowQuery, key: str, col, suffix: str, raw: str) -> None:
    if suffix == "in":
        values = [_value(key, col, v) for v in raw.split(",")]
        if len(values) > MAX_IN_VALUES:
            raise ApiError(400, f"{key} takes at most {MAX_IN_VALUES} values", parameter=key)
        q.where.append(f"{ident(col.name)} IN ({', '.join(f'CAST(? AS {col.duckdb_type})' for _ in values)})")
        q.params += values
    else:
        q.where.append(f"{ident(col.name)} {OPS[suffix]} CAST(? AS {col.duckdb_type})")
        q.params.append(_value(key, col, raw))


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
        raise ApiError(400, f"{key} must be {expected}, not {raw!r}", parameter=key, type=col.type) from None
    if col.allowed is not None and raw not in [str(a) for a in col.allowed]:
        raise ApiError(400, f"{key} must be one of {', '.join(map(str, col.allowed))}, not {raw!r}",
                       parameter=key, allowed=list(col.allowed))
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
        raise ApiError(400, f"bbox must be min_lon,min_lat,max_lon,max_lat in degrees, not {raw!r}",
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
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError(400, "cursor is not one this API issued; start again without it", parameter="cursor") from None
    if version != q.version:
        raise ApiError(400, f"cursor belongs to version {version}, but this request reads version {q.version}; "
                       "follow the next link (it names the version) or start again", parameter="cursor")
    if sort != ("-" if q.descending else "") + (q.sort or ""):
        raise ApiError(400, "cursor was issued for another sort order; start again without it", parameter="cursor")
    return keyset


def to_json(value):
    """A JSON-safe value: ISO datetimes with offset, ISO dates, no NaN."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
