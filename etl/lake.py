"""The lake: each dataset is a chain of immutable versions, each a manifest listing Parquet files.

Layout under PULSE_DATA_DIR/lake/<dataset>/:
    data/<uuid>.parquet     immutable data files, shared between versions
    versions/<N>.json       manifest of version N: its files, row count and what the load changed
    CURRENT                 the number of the current version, replaced atomically (os.replace)
    OLDEST                  the oldest version retention keeps (etl/compact.py); absent: 1
    rejects/<run_id>.parquet  quarantined rows of a load, with line, reason and raw values
    .lock                   flock held by the one writer

Why this shape (docs/decisions/0001-lake-storage.md): a version becomes current only when CURRENT
is renamed over, after its files and manifest are on disk, so a reader never sees half a version
and a writer killed at any point leaves the previous version current. Files are never rewritten in
place, so every earlier version stays readable by number.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import config
from etl.errors import LakeBusy, VersionPruned


@dataclass(frozen=True)
class DataFile:
    path: str  # relative to the dataset folder
    rows: int
    key_min: str | None = None
    key_max: str | None = None


@dataclass(frozen=True)
class Manifest:
    dataset: str
    version: int
    published_at: str
    rows: int
    files: tuple[DataFile, ...]
    load: dict
    rollups: dict = field(default_factory=dict)  # rollup name -> {path (relative to the dataset), timezone}

    def to_json(self) -> str:
        body = {
            "dataset": self.dataset,
            "version": self.version,
            "published_at": self.published_at,
            "rows": self.rows,
            "files": [f.__dict__ for f in self.files],
            "load": self.load,
            "rollups": self.rollups,
        }
        return json.dumps(body, indent=1, default=str)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        body = json.loads(text)
        return cls(
            dataset=body["dataset"],
            version=body["version"],
            published_at=body["published_at"],
            rows=body["rows"],
            files=tuple(DataFile(**f) for f in body["files"]),
            load=body.get("load", {}),
            rollups=body.get("rollups", {}),
        )


def lake_dir() -> Path:
    return config.data_dir() / "lake"


def dataset_dir(dataset: str) -> Path:
    return lake_dir() / dataset


def current_version(dataset: str) -> int | None:
    """The current version number, or None for a dataset never loaded. One small file read."""
    try:
        return int((dataset_dir(dataset) / "CURRENT").read_text().strip())
    except FileNotFoundError:
        return None


def manifest(dataset: str, version: int | None = None) -> Manifest | None:
    """The manifest of `version` (default: current); None if the dataset has no versions."""
    current = current_version(dataset)
    if version is None:
        if current is None:
            return None
        version = current
    if current is None or version > current or version < 1:
        # A manifest beyond CURRENT belongs to a load that died before publishing: not a version.
        raise KeyError(f"{dataset} has no version {version}")
    path = dataset_dir(dataset) / "versions" / f"{version:08d}.json"
    try:
        return Manifest.from_json(path.read_text())
    except FileNotFoundError:
        oldest = oldest_version(dataset)
        if version < oldest:
            raise VersionPruned(dataset, version, oldest) from None
        raise KeyError(f"{dataset} has no version {version}") from None


def oldest_version(dataset: str) -> int:
    """The oldest version still kept: retention (etl/compact.py) writes OLDEST before deleting older ones."""
    try:
        return int((dataset_dir(dataset) / "OLDEST").read_text().strip())
    except FileNotFoundError:
        return 1


def version_numbers(dataset: str) -> list[int]:
    """The numbers of every published version still kept, oldest first (no manifest is read)."""
    folder = dataset_dir(dataset) / "versions"
    current = current_version(dataset)
    if current is None or not folder.exists():
        return []
    return sorted(n for n in (int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()) if n <= current)


def versions(dataset: str, limit: int | None = None, numbers: list[int] | None = None) -> list[Manifest]:
    """Published versions, oldest first: all of them, the newest `limit`, or those `numbers` (from
    version_numbers, so a caller's count and page come from one listing).

    Why the page: a real-time feed publishes every few seconds and retention keeps hours of versions,
    thousands of manifests; a page reads only the manifests it returns."""
    if numbers is None:
        numbers = version_numbers(dataset)
        if limit is not None:
            numbers = numbers[-limit:] if limit > 0 else []
    out = []
    for n in numbers:
        try:
            out.append(manifest(dataset, n))
        except KeyError:  # removed by retention meanwhile (etl/compact.py)
            continue
    return out


def file_paths(dataset: str, m: Manifest) -> list[str]:
    """Absolute paths of a version's data files, for read_parquet."""
    base = dataset_dir(dataset)
    return [str(base / f.path) for f in m.files]


def new_data_path(dataset: str) -> Path:
    folder = dataset_dir(dataset) / "data"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{uuid.uuid4().hex}.parquet"


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_file(path.parent)


def _crash_point(name: str) -> None:
    """Test hook: with PULSE_TEST_PAUSE_AT=name, stop here (signalled by a marker file) until killed.

    The SIGKILL tests use it to kill a real loader at an exact step of publishing.
    """
    if os.environ.get("PULSE_TEST_PAUSE_AT") == name:
        (config.data_dir() / f"paused-at-{name}").write_text(str(os.getpid()))
        while True:
            time.sleep(1)


def publish(dataset: str, files: list[DataFile], load: dict, expected_parent: int | None,
            rollups: dict | None = None) -> Manifest:
    """Make a new version current: fsync its files, write its manifest, then swap CURRENT.

    Must be called with the writer lock held; `expected_parent` guards against a lost update.
    """
    base = dataset_dir(dataset)
    parent = current_version(dataset)
    if parent != expected_parent:
        raise RuntimeError(f"{dataset}: version moved from {expected_parent} to {parent} during the load")
    version = (parent or 0) + 1
    for rel in [*(f.path for f in files), *(r["path"] for r in (rollups or {}).values())]:
        _fsync_file(base / rel)
    _crash_point("files-written")
    m = Manifest(
        dataset=dataset,
        version=version,
        published_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        rows=sum(f.rows for f in files),
        files=tuple(files),
        load=load,
        rollups=dict(rollups or {}),
    )
    (base / "versions").mkdir(parents=True, exist_ok=True)
    _write_atomically(base / "versions" / f"{version:08d}.json", m.to_json())
    _crash_point("manifest-written")
    _write_atomically(base / "CURRENT", f"{version}\n")
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


def rejects_path(dataset: str, run_id: str) -> Path:
    folder = dataset_dir(dataset) / "rejects"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{run_id}.parquet"
