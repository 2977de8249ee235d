"""Write a version's projections (datasets/rollups.yaml, `kind: projection`): a narrow copy of a few
columns, sorted, beside each data file, before the version is published.

Why per data file: data files are immutable and shared between versions, and a load writes only the
files it adds or rewrites (docs/decisions/0001-lake-storage.md). A projection file made from one data
file stays right for as long as that file is in a version, so a publish writes projections only for
the files it wrote (its cost follows the batch, with no delta arithmetic) and reuses the rest. The
SQL is row-wise, so a version's projection is the union of its files' projections: exactly the rows
the same SQL gives over the whole version, which is what the reader falls back to when a version has
none (docs/decisions/0007-close-time-projection.md).

The manifest entry (lake.ProjectionEntry) lists every projection file of the version by data file;
its `path` is the folder they live in, so publishing fsyncs that folder after the files themselves.
"""
from __future__ import annotations

import uuid

import config
import datasets
import lake
import lake.write
from datasets import rollups as declared
from etl import local_day
from lake import relation
from lake.sql import ident, lit

FOLDER = "projections"


def _write(con, p, typed: dict[str, str], data_file: str, folder, tz: str, days=None):
    """A projection file of one data file, read with every declared column `typed` (NULL where the
    file was written before a column was declared, lake/relation.py)."""
    path = folder / f"{uuid.uuid4().hex}.parquet"
    order = ", ".join(ident(c) for c in p.order_by)
    # LZ4 and Parquet v2 encodings (delta-packed integers): the narrow file is read on a dashboard's hot
    # path, where they decode ~15% faster than zstd and v1 (docs/benchmarks-history.md, queries).
    con.execute(f"COPY ({p.compile(f'({relation.columns([data_file], typed)})', lit(tz), days)} ORDER BY {order}) TO {lit(str(path))} "
                f"(FORMAT parquet, COMPRESSION lz4, PARQUET_VERSION V2, ROW_GROUP_SIZE {lake.write.ROW_GROUP})")
    lake.write.fsync_file(path)
    return path


def reusable(p, entry: lake.SummaryEntry | None, zone: str) -> dict[str, str]:
    """{data file: projection file} of a stored entry that still holds what `p` declares in `zone`."""
    if not isinstance(entry, lake.ProjectionEntry) or not entry.holds(p.fingerprint(), zone):
        return {}
    return dict(entry.files_by_data_file)


def materialise(con, dataset: str, files: list[lake.DataFile], previous: lake.Manifest | None = None,
                fast_days: bool = False) -> dict[str, lake.ProjectionEntry]:
    """{projection name: manifest entry} for the version made of `files`, writing the missing files
    (`fast_days`: local days through UTC offsets, etl/local_day.py; the same days, faster)."""
    todo = declared.projections(dataset)
    if not todo or not files:
        return {}
    base = lake.dataset_dir(dataset)
    zone = datasets.city(config.get("city")).timezone
    days = local_day.prepare(con, zone) if fast_days else None
    typed = datasets.get(dataset).typed
    out = {}
    for p in todo:
        folder = base / FOLDER / p.name
        folder.mkdir(parents=True, exist_ok=True)
        have = reusable(p, previous.rollups.get(p.name) if previous else None, zone)
        mapping = {}
        for f in files:
            mapping[f.path] = have.get(f.path) or str(_write(con, p, typed, str(base / f.path), folder, zone, days).relative_to(base))
        out[p.name] = lake.ProjectionEntry(path=str(folder.relative_to(base)), timezone=zone,
                                           fingerprint=p.fingerprint(), files_by_data_file=mapping)
    return out
