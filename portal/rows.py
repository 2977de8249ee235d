"""The rows of one dataset version as SQL, run through the worker's reader (issue 12, item 2).

Why here and not in api/: the rows API, the exports and Open311 build the same kind of query, and
every web read goes through the one time-limited door (portal.reader.LakeReader, datasette's
Database.execute). Identifiers come only from the declaration's public columns; every value is a
bound parameter. The query reads the files of the manifest chosen when the request started, so a
page or a download is one version whole even while a load publishes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

import config
import lake
from datasets import Dataset
from lake import relation
from lake import stamps as stamps_
from lake.sql import ident
from portal.reader import Results, reader

OPS = {"": "=", "in": "IN", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
DEFAULT_LIMIT, MAX_LIMIT, MAX_IN_VALUES = 100, 10_000, 1_000
# The stand-in for a NULL sort value inside the keyset, so the (flag, value, key) tuple never holds
# NULL (NULL breaks row comparison); the flag orders missing values last whichever the direction.
_ZERO = {"string": "''", "integer": "0", "number": "0.0", "boolean": "false",
         "date": "DATE '1970-01-01'", "datetime": "TIMESTAMPTZ '1970-01-01 00:00:00+00'"}


@dataclass(frozen=True)
class ExportFormat:
    """One download format: the one list the export endpoint, the API links and the catalogs read."""

    extension: str
    media_type: str  # as DCAT and the data package name it
    title: str
    charset: bool = False  # text: the response says utf-8

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8" if self.charset else self.media_type


EXPORT_FORMATS = (
    ExportFormat("csv", "text/csv", "CSV", charset=True),
    ExportFormat("json", "application/json", "JSON"),
    ExportFormat("ndjson", "application/x-ndjson", "NDJSON"),
    ExportFormat("geojson", "application/geo+json", "GeoJSON"),
    ExportFormat("parquet", "application/vnd.apache.parquet", "Parquet"),
)


def geometry(ds: Dataset) -> str | None | bool:
    """The geojson column, None when a Point comes from latitude/longitude, False when neither."""
    geo = [c.name for c in ds.public_columns if c.type == "geojson"]
    if geo:
        return geo[0]
    return None if {"latitude", "longitude"} <= {c.name for c in ds.public_columns} else False


def export_formats(ds: Dataset) -> list[str]:
    """The extensions `ds` is downloadable as: GeoJSON only with a location."""
    return [f.extension for f in EXPORT_FORMATS if f.extension != "geojson" or geometry(ds) is not False]


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

    def source(self, *, stamps: bool = False) -> str:
        """The version's public columns: read_parquet over the manifest's own files (paths are ours);
        with `stamps`, also when each row entered the lake and last changed (lake/stamps.py, SODA's
        system fields)."""
        typed = {**self.ds.public_typed, **(stamps_.TYPED if stamps else {})}
        if self.manifest and self.manifest.files:
            return relation.columns(lake.file_paths(self.ds.name, self.manifest), typed)  # NULL where a file predates a column
        return relation.empty(typed)

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


def run(q: RowQuery, sql: str, params: list, *, name: str = "rows", max_rows: int | None = None) -> Results:
    """`sql` over `q`'s version through the reader, with the web time limit and row cap (habit 4).
    QueryTimeout past the limit, QueryTooBig past the memory limit; QueryError when a value does not
    fit its column (the reader says so in fixed words and logs DuckDB's)."""
    return reader().execute(sql, params, name=name, versions={q.ds.name: q.version},
                            time_limit_ms=config.get_int("query_time_limit_ms"),
                            max_rows=max_rows if max_rows is not None else config.get_int("query_max_rows"))


def export_seconds() -> float:
    """The streaming limit of one whole download (PULSE_EXPORT_TIME_LIMIT_S), not the dashboards' limit."""
    raw = config.get("export_time_limit_s")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"PULSE_EXPORT_TIME_LIMIT_S must be a positive number of seconds, not {raw!r}")
    return seconds


def stream(sql: str, params: list, *, batch_rows: int, buffer: str, name: str = "export"):
    """An Arrow batch reader over one export query through the reader (a context manager), stopped
    after export_seconds()."""
    return reader().stream(sql, params, name=name, time_limit_s=export_seconds(), batch_rows=batch_rows,
                           buffer=buffer)


def to_json(value):
    """A JSON-safe value: ISO datetimes with offset, ISO dates, no NaN."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
