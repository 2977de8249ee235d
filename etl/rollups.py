"""Materialise a version's rollups (datasets/rollups.yaml) as Parquet beside its data files, before
the version is published, so a reader never sees a version without them.

Rollup measures are counts, so the new version's rollup is the previous one plus the rollup of the
rows the load adds minus the rollup of the rows it replaces: a publish costs what its batch costs,
not what the table costs. Without a usable previous rollup it is computed from the version's files.
"""
from __future__ import annotations

import uuid

import config
import datasets
from datasets import rollups as declared
from etl import lake
from etl.sql import ident, lit
from etl.upsert import Delta


def _fresh(r, files_source: str, tz: str) -> str:
    return r.compile(files_source, tz)


def _incremental(r, old_path: str, delta: Delta, tz: str) -> str:
    keys = ", ".join(ident(k) for k in r.keys)
    measures = ", ".join(f"CAST(sum({ident(m)}) AS BIGINT) AS {ident(m)}" for m in r.measures)
    parts = [f"SELECT * FROM read_parquet({lit(old_path)})", r.compile(f"({delta.plus})", tz)]
    if delta.minus:
        negated = ", ".join(f"-{ident(m)} AS {ident(m)}" for m in r.measures)
        parts.append(f"SELECT {keys}, {negated} FROM ({r.compile(f'({delta.minus})', tz)})")
    everything = " UNION ALL BY NAME ".join(f"({p})" for p in parts)
    # A group whose counts all return to zero has no rows left: a fresh rollup would not have it.
    gone = " AND ".join(f"sum({ident(m)}) = 0" for m in r.measures)
    return f"SELECT {keys}, {measures} FROM ({everything}) GROUP BY ALL HAVING NOT ({gone})"


def materialise(con, dataset: str, files: list[lake.DataFile], previous: lake.Manifest | None = None,
                delta: Delta | None = None) -> dict[str, dict]:
    """{rollup name: {path (relative to the dataset folder), timezone}} for the version made of `files`.

    Days are the city's days (PULSE_CITY); the time zone is recorded so a reader configured for
    another city knows not to use them.
    """
    todo = declared.of(dataset)
    if not todo or not files:
        return {}
    base = lake.dataset_dir(dataset)
    folder = base / "rollups"
    folder.mkdir(parents=True, exist_ok=True)
    zone = datasets.city(config.get("city")).timezone
    tz = lit(zone)
    files_source = "read_parquet([" + ", ".join(lit(str(base / f.path)) for f in files) + "])"
    out = {}
    for r in todo:
        old = previous.rollups.get(r.name) if previous else None
        if delta is not None and previous is None:
            sql = r.compile(f"({delta.plus})", tz)  # a first version: the batch is everything
        elif delta is not None and old and old.get("timezone") == zone:
            sql = _incremental(r, str(base / old["path"]), delta, tz)
        else:
            sql = _fresh(r, files_source, tz)
        path = folder / f"{r.name}-{uuid.uuid4().hex}.parquet"
        # A rollup read from Parquet is sorted by its keys so a query for one type skips row
        # groups; one loaded into memory needs no order.
        order = "" if r.in_memory else " ORDER BY ALL"
        con.execute(f"COPY ({sql}{order}) TO {lit(str(path))} (FORMAT parquet, COMPRESSION zstd)")
        out[r.name] = {"path": str(path.relative_to(base)), "timezone": zone}
    return out
