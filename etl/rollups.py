"""Materialise a version's rollups (datasets/rollups.yaml) as Parquet beside its data files, before
the version is published, so a reader never sees a version without them."""
from __future__ import annotations

import uuid

import config
import datasets
from datasets import rollups as declared
from etl import lake
from etl.sql import lit


def materialise(con, dataset: str, files: list[lake.DataFile]) -> dict[str, dict]:
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
    source = "read_parquet([" + ", ".join(lit(str(base / f.path)) for f in files) + "])"
    zone = datasets.city(config.get("city")).timezone
    tz = lit(zone)
    out = {}
    for r in todo:
        path = folder / f"{r.name}-{uuid.uuid4().hex}.parquet"
        con.execute(f"COPY ({r.compile(source, tz)} ORDER BY ALL) TO {lit(str(path))} (FORMAT parquet, COMPRESSION zstd)")
        out[r.name] = {"path": str(path.relative_to(base)), "timezone": zone}
    return out
