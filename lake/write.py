"""Writing the storage contract: new file paths, durable writes, the single-writer lock and the
publish step that makes a version current. Only the writers (etl/) import this.

Why this order (docs/decisions/0001-lake-storage.md): a version becomes current only when CURRENT is
renamed over, after its files and manifest are on disk, so a reader never sees half a version and a
writer killed at any point leaves the previous version current. Every step of a publish is named
(`crash_point`) so a test can kill a real writer there.
"""
from __future__ import annotations

import fcntl
import os
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import config
from lake.errors import LakeBusy
from lake.model import DataFile, Manifest, SummaryEntry
from lake.read import current_version, dataset_dir, manifest_path

# Rows per Parquet row group in data files and projections: DuckDB's default, the unit its readers
# skip by statistics and that compaction sizes files in.
ROW_GROUP = 122_880


def new_data_path(dataset: str) -> Path:
    folder = dataset_dir(dataset) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{uuid.uuid4().hex}.parquet"


def rejects_path(dataset: str, run_id: str) -> Path:
    folder = dataset_dir(dataset) / "rejects"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{run_id}.parquet"


def fsync_file(path: Path | str) -> None:
    """Flush a file (or a folder's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so that a reader sees the old content or the new, never half:
    a temporary file, fsync, rename, fsync of the folder."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_file(path.parent)


def crash_point(name: str) -> None:
    """Test hook: with PULSE_TEST_PAUSE_AT=name, stop here (signalled by a marker file) until killed.

    The SIGKILL tests use it to kill a real loader at an exact step of publishing.
    """
    if os.environ.get("PULSE_TEST_PAUSE_AT") == name:
        (config.data_dir() / f"paused-at-{name}").write_text(str(os.getpid()))
        while True:
            time.sleep(1)


def publish(dataset: str, files: list[DataFile], load: dict, expected_parent: int | None,
            rollups: dict[str, SummaryEntry] | None = None) -> Manifest:
    """Make a new version current: fsync its files, write its manifest, then swap CURRENT.

    Must be called with the writer lock held; `expected_parent` guards against a lost update.
    """
    base = dataset_dir(dataset)
    parent = current_version(dataset)
    if parent != expected_parent:
        raise RuntimeError(f"{dataset}: version moved from {expected_parent} to {parent} during the load")
    version = (parent or 0) + 1
    summaries = dict(rollups or {})
    for rel in [*(f.path for f in files), *(e.path for e in summaries.values())]:
        fsync_file(base / rel)
    crash_point("files-written")
    m = Manifest(
        dataset=dataset,
        version=version,
        published_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        rows=sum(f.rows for f in files),
        files=tuple(files),
        load=load,
        rollups=summaries,
    )
    (base / "versions").mkdir(parents=True, exist_ok=True)
    write_atomically(manifest_path(dataset, version), m.to_json())
    crash_point("manifest-written")
    write_atomically(base / "CURRENT", f"{version}\n")
    return m


@contextmanager
def writer_lock(dataset: str, wait_seconds: float = 600.0):
    """Hold the dataset's single-writer lock. The kernel drops it if the holder dies, even by SIGKILL."""
    base = dataset_dir(dataset)
    base.mkdir(parents=True, exist_ok=True)
    fh = open(base / ".lock", "a+")
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LakeBusy(f"{dataset}: another load has held the lock for {wait_seconds:.0f}s") from None
                time.sleep(0.05)
        yield
    finally:
        fh.close()
