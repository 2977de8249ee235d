"""Source formats: declarative mappings from a publisher's file layout onto a dataset declaration.

A format is a small YAML file in etl/formats/ (which reader, which header columns identify it, and
per target column: the source column, a date format, a value map, placeholders). Adding a city is
adding such a file. Every dataset also gets a `plain` format: its own column names, the same shape
Pulse exports, so a download loads back.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyarrow.parquet as pq

import datasets
from datasets.registry import read_yaml
from etl.errors import InputError
from etl.sources.csvfile import read_header

HERE = Path(__file__).resolve().parent / "formats"
READERS = ("csv", "json", "geojson", "parquet")
_COLUMN_KEYS = {"from", "sql", "format", "case", "map", "placeholders", "placeholders_like", "optional", "reason_if_null"}


@dataclass(frozen=True)
class ColumnMap:
    target: str
    source: str | None = None  # raw column name; matched ignoring case and surrounding spaces
    sql: str | None = None  # SQL expression over raw columns, used instead of the bare column
    format: str | None = None  # strptime format or 'epoch_ms' for date/datetime targets
    case: str | None = None  # 'upper' or 'lower'
    map: tuple[tuple[str, str], ...] = ()
    placeholders: tuple[str, ...] = ()
    placeholders_like: tuple[str, ...] = ()
    optional: bool = False  # the source column may be absent from a file of this format
    reason_if_null: str | None = None


@dataclass(frozen=True)
class Format:
    name: str
    title: str
    dataset: str
    reader: str
    detect: tuple[str, ...]
    columns: tuple[ColumnMap, ...]
    city: str | None = None
    placeholders: tuple[str, ...] = ()
    duplicates: str = "reject"  # or 'keep_last' for change logs
    may_have: tuple[str, ...] = ()  # source columns SQL expressions name that a file may lack
    reads: tuple[str, ...] = ()  # further source columns SQL expressions name (kept when reading)


def _column_map(target: str, raw, where: str) -> ColumnMap:
    if isinstance(raw, str):
        return ColumnMap(target=target, source=raw)
    unknown = set(raw) - _COLUMN_KEYS
    if unknown:
        raise ValueError(f"{where}: column {target} has unknown keys {sorted(unknown)}")
    return ColumnMap(
        target=target,
        source=raw.get("from"),
        sql=raw.get("sql"),
        format=raw.get("format"),
        case=raw.get("case"),
        map=tuple((str(k), str(v)) for k, v in (raw.get("map") or {}).items()),
        placeholders=tuple(str(p) for p in raw.get("placeholders", ())),
        placeholders_like=tuple(raw.get("placeholders_like", ())),
        optional=bool(raw.get("optional", False)),
        reason_if_null=raw.get("reason_if_null"),
    )


def _load(path: Path) -> Format:
    raw = read_yaml(path)
    ds = datasets.get(raw["dataset"])
    if raw["reader"] not in READERS:
        raise ValueError(f"{path.name}: reader must be one of {READERS}")
    columns = tuple(_column_map(t, spec, path.name) for t, spec in raw["columns"].items())
    for c in columns:
        ds.column(c.target)  # raises on a typo
    return Format(
        name=path.stem,
        title=raw["title"],
        dataset=ds.name,
        reader=raw["reader"],
        detect=tuple(raw["detect"]),
        columns=columns,
        city=raw.get("city"),
        placeholders=tuple(str(p) for p in raw.get("placeholders", ())),
        duplicates=raw.get("duplicates", "reject"),
        may_have=tuple(raw.get("may_have", ())),
        reads=tuple(raw.get("reads", ())),
    )


def plain(dataset: str, reader: str) -> Format:
    """The dataset's own schema, as Pulse exports it: column names equal to the declaration's."""
    ds = datasets.get(dataset)
    required = tuple(c.name for c in ds.columns if c.required)
    return Format(
        name="plain",
        title=f"{ds.title} in Pulse's own schema (CSV, JSON, NDJSON or Parquet)",
        dataset=dataset,
        reader=reader,
        detect=required,
        columns=tuple(ColumnMap(target=c.name, source=c.name, optional=not c.required) for c in ds.columns),
    )


@cache
def formats() -> dict[str, Format]:
    return {p.stem: _load(p) for p in sorted(HERE.glob("*.yaml"))}


def for_dataset(dataset: str) -> list[Format]:
    return [f for f in formats().values() if f.dataset == dataset]


def reader_for(path: Path) -> str:
    """Which reader a file needs, from its extension and, for JSON, its shape."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix == ".parquet":
        return "parquet"
    if suffix == ".geojson":
        return "geojson"
    if suffix in (".json", ".ndjson", ".jsonl"):
        with open(path, "rb") as fh:
            head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"{") and b'"FeatureCollection"' in head:
            return "geojson"
        return "json"
    raise InputError(f"{path.name}: unsupported file type {suffix or '(none)'}; use .csv, .tsv, .json, .ndjson, .geojson or .parquet")


def header_of(path: Path, reader: str) -> tuple[str, ...]:
    """The field names a file offers, cheaply: the CSV header, Parquet schema or first JSON records."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputError(f"{path.name}: the file is empty")
    if reader == "csv":
        return read_header(path).header
    if reader == "parquet":
        try:
            return tuple(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises several types for a broken file
            raise InputError(f"{path.name}: unreadable as Parquet: {exc}") from None
    from etl.sources.jsonfile import read_records

    records, _ = read_records(path, reader, limit=50)
    keys: dict[str, None] = {}
    for rec in records:
        keys.update(dict.fromkeys(rec))
    return tuple(keys)


def detect(dataset: str, path: Path, name: str | None = None) -> Format:
    """The format of `path` for `dataset`: the named one, else the best match of its header."""
    reader = reader_for(path)
    if name == "plain":
        return plain(dataset, reader)
    if name is not None:
        fmt = formats().get(name)
        if fmt is None:
            known = ", ".join(sorted([*formats(), "plain"]))
            raise InputError(f"unknown format {name!r}; known formats: {known}")
        if fmt.dataset != dataset:
            raise InputError(f"format {name} loads {fmt.dataset}, not {dataset}")
        return fmt
    header = {h.strip().lower() for h in header_of(path, reader)}
    matches = [
        f for f in for_dataset(dataset)
        if f.reader == reader and all(d.lower() in header for d in f.detect)
    ]
    if matches:
        return max(matches, key=lambda f: len(f.detect))
    own = plain(dataset, reader)
    if all(d.lower() in header for d in own.detect):
        return own
    expected = "; ".join(f"{f.name}: {', '.join(f.detect)}" for f in [*for_dataset(dataset), own])
    raise InputError(f"{path.name}: unknown header for {dataset}; expected the columns of one of: {expected}")


def describe() -> list[dict]:
    """Every format, for `python -m etl formats` and the docs."""
    out = [{"name": f.name, "dataset": f.dataset, "reader": f.reader, "title": f.title} for f in formats().values()]
    out += [{"name": "plain", "dataset": d, "reader": "csv|json|ndjson|parquet", "title": plain(d, "csv").title} for d in datasets.datasets()]
    return out

