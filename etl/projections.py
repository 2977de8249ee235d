"""Write a version's projections (datasets/rollups.yaml, `kind: projection`): a narrow copy of a few
columns, sorted, beside each data file, before the version is published.

Why per data file: data files are immutable and shared between versions, and a load writes only the
files it adds or rewrites (docs/decisions/0001-lake-storage.md). A projection file made from one data
file stays right for as long as that file is in a version, so a publish writes projections only for
the files it wrote (its cost follows the batch, with no delta arithmetic) and reuses the rest. The
SQL is row-wise, so a version's projection is the union of its files' projections: exactly the rows
the same SQL gives over the whole version, which is what the reader falls back to when a version has
none (docs/decisions/0007-close-time-projection.md).

The manifest entry lists every projection file of the version ({data file: projection file}); its
`path` is the folder they live in, so publishing fsyncs that folder after the files themselves.
"""
from __future__ import annotations

import uuid

import config
import datasets
from datasets import rollups as declared
from etl import lake, local_day
from etl.sql import ident, lit

FOLDER = "projections"
ROW_GROUP = 122_880


def _write(con, p, data_file: str, folder, tz: str, days=None):
    path = folder / f"{uuid.uuid4().hex}.parquet"
    order = ", ".join(ident(c) for c in p.order_by)
    # LZ4 and Parquet v2 encodings (delta-packed integers): the narrow file is read on a dashboard's hot
    # path, where they decode ~15% faster than zstd and v1 (docs/benchmarks.md, queries).
    con.execute(f"COPY ({p.compile(f'read_parquet({lit(data_file)})', lit(tz), days)} ORDER BY {order}) TO {lit(str(path))} "
                f"(FORMAT parquet, COMPRESSION lz4, PARQUET_VERSION V2, ROW_GROUP_SIZE {ROW_GROUP})")
    lake._fsync_file(path)
    return path


def reusable(p, entry: dict | None, zone: str) -> dict[str, str]:
    """{data file: projection file} of a stored entry that still holds what `p` declares in `zone`."""
    if not entry or entry.get("kind") != "projection" or entry.get("timezone") != zone:
        return {}
    if entry.get("fingerprint") != p.fingerprint():
        return {}
    return dict(entry.get("files") or {})


def materialise(con, dataset: str, files: list[lake.DataFile], previous: lake.Manifest | None = None,
                fast_days: bool = False) -> dict[str, dict]:
    """{projection name: manifest entry} for the version made of `files`, writing the missing files
    (`fast_days`: local days through UTC offsets, etl/local_day.py; the same days, faster)."""
    todo = declared.projections(dataset)
    if not todo or not files:
        return {}
    base = lake.dataset_dir(dataset)
    zone = datasets.city(config.get("city")).timezone
    days = local_day.prepare(con, zone) if fast_days else None
    out = {}
    for p in todo:
        folder = base / FOLDER / p.name
        folder.mkdir(parents=True, exist_ok=True)
        have = reusable(p, previous.rollups.get(p.name) if previous else None, zone)
        mapping = {}
        for f in files:
            mapping[f.path] = have.get(f.path) or str(_write(con, p, str(base / f.path), folder, zone, days).relative_to(base))
        out[p.name] = {"kind": "projection", "path": str(folder.relative_to(base)), "timezone": zone,
                       "fingerprint": p.fingerprint(), "files": mapping}
    return out


def file_paths(dataset: str, entry: dict) -> list[str]:
    """Absolute paths of the projection files a manifest entry lists, for read_parquet."""
    base = lake.dataset_dir(dataset)
    return [str(base / rel) for rel in dict.fromkeys((entry.get("files") or {}).values())]
