"""Writing the storage contract: new file paths, durable writes, the single-writer lock and the
publish step that makes a version current. Only the writers (etl/) import this.

Why this order (docs/decisions/0001-lake-storage.md): a version becomes current only when CURRENT is
renamed over, after its files and manifest are on disk, so a reader never sees half a version and a
writer killed at any point leaves the previous version current. Every step of a publish is named
(`crash_point`) so a test can kill a real writer there.

Over an object store (PULSE_LAKE_URL, docs/decisions/0016) the same steps map onto S3 the way Delta
Lake's commit does: the new files are uploaded under fresh names, the manifest of version N is
created only if absent (of two writers racing for N exactly one wins; the other raises
VersionConflict and publishes nothing), then the pointer moves from N-1 to N only if it still names
N-1 (If-Match), so it never moves backwards. Readers trust the pointer: a manifest beyond it is a
publish not yet finished, which the next writer completes (it moves the pointer on) before its own.
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
from lake import mirror, store
from lake.errors import LakeBusy, VersionConflict
from lake.model import DataFile, Manifest, SummaryEntry
from lake.read import current_version, dataset_dir, manifest, manifest_path

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
    """Test hook: with PULSE_TEST_PAUSE_AT=name, stop here (signalled by a marker file) until killed;
    with PULSE_TEST_HOLD_AT=name, until the marker file is removed.

    The SIGKILL tests use it to kill a real loader at an exact step of publishing; the race test
    holds two writers at the same step and lets them go together.
    """
    if os.environ.get("PULSE_TEST_HOLD_AT") == name:  # wait until the test removes the marker, once
        marker = config.data_dir() / f"held-at-{name}"
        marker.write_text(str(os.getpid()))
        while marker.exists():
            time.sleep(0.02)
        os.environ.pop("PULSE_TEST_HOLD_AT")
    if os.environ.get("PULSE_TEST_PAUSE_AT") == name:
        (config.data_dir() / f"paused-at-{name}").write_text(str(os.getpid()))
        while True:
            time.sleep(1)


def publish(dataset: str, files: list[DataFile], load: dict, expected_parent: int | None,
            rollups: dict[str, SummaryEntry] | None = None) -> Manifest:
    """Make a new version current: fsync its files, write its manifest, then swap CURRENT (over an
    object store: upload, create the manifest if absent, move the pointer).

    Must be called with the writer lock held; `expected_parent` guards against a lost update.
    """
    base = dataset_dir(dataset)
    remote = store.is_remote()
    parent, etag = mirror.read_pointer(dataset) if remote else (current_version(dataset), None)
    if parent != expected_parent:
        raise VersionConflict(f"{dataset}: version moved from {expected_parent} to {parent} during the load")
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
    if remote:
        _publish_remote(dataset, m, parent, etag)
        return m
    (base / "versions").mkdir(parents=True, exist_ok=True)
    write_atomically(manifest_path(dataset, version), m.to_json())
    crash_point("manifest-written")
    write_atomically(base / "CURRENT", f"{version}\n")
    return m


def _publish_remote(dataset: str, m: Manifest, parent: int | None, etag: str | None) -> None:
    """Upload the files the parent lacks, create manifest N if absent, move the pointer N-1 -> N."""
    s3 = store.remote()
    inherited = manifest(dataset, parent).stored_files() if parent else set()
    for rel in sorted(m.stored_files() - inherited):
        if rel not in inherited:
            s3.upload(f"{dataset}/{rel}", str(dataset_dir(dataset) / rel))
    crash_point("files-uploaded")
    rel = str(manifest_path(dataset, m.version).relative_to(dataset_dir(dataset)))
    try:
        s3.put(f"{dataset}/{rel}", m.to_json().encode(), if_absent=True)
    except store.PreconditionFailed:
        # Another writer created version N (racing us, or killed before moving the pointer): its
        # version stands; finish its publish so the pointer is not left behind, and publish nothing.
        _move_pointer(dataset, parent, m.version, etag)
        raise VersionConflict(f"{dataset}: another writer published version {m.version} first; nothing of "
                              "this load was published (load again to apply it on top)") from None
    crash_point("manifest-written")
    _move_pointer(dataset, parent, m.version, etag)


def _move_pointer(dataset: str, parent: int | None, version: int, etag: str | None) -> None:
    """Move the pointer from `parent` to `version` unless it is already there or beyond."""
    s3 = store.remote()
    while True:
        try:
            s3.put(f"{dataset}/CURRENT", f"{version}\n".encode(), if_absent=etag is None, if_match=etag)
            break
        except store.PreconditionFailed:
            moved, etag = mirror.read_pointer(dataset)
            if moved is not None and moved >= version:
                break  # another writer moved it on: never backwards
    mirror.read_pointer(dataset)


def share(name: str, path: Path) -> None:
    """Over an object store: put a file every node needs beside the lake as `_shared/<name>`
    (lake.read.shared_file fetches it)."""
    if store.is_remote():
        store.remote().upload(f"_shared/{name}", str(path))


def keep(dataset: str, path: Path) -> None:
    """Store a file written beside the versions (a load's quarantined rows) where every node finds it."""
    if store.is_remote():
        store.remote().upload(f"{dataset}/{path.relative_to(dataset_dir(dataset))}", str(path))


@contextmanager
def writer_lock(dataset: str, wait_seconds: float = 600.0):
    """Hold the dataset's single-writer lock. The kernel drops it if the holder dies, even by SIGKILL.

    It is this host's lock: over an object store, writers on two hosts are kept apart by the
    conditional creation of each manifest instead (publish), and the holder starts from a fresh
    read of the pointer with the current version's files at hand (hold_current)."""
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
        if store.is_remote():
            hold_current(dataset)
        yield
    finally:
        fh.close()


def hold_current(dataset: str) -> None:
    """Over an object store: read the pointer now and fetch the current version's files a writer
    reads (upsert, compaction and rollups read the parent's files by their local paths)."""
    version, _ = mirror.read_pointer(dataset)
    if version is None:
        return
    m = manifest(dataset, version)
    for rel in sorted(m.stored_files()):
        mirror.ensure(dataset, rel)


# ---- retention: what etl/compact.py removes, in a folder or in the object store -----------------

def stored_versions(dataset: str) -> list[int]:
    """Numbers of every manifest stored, published or not, oldest first."""
    if store.is_remote():
        keys = (o.key for o in store.remote().list(f"{dataset}/versions/"))
        stems = [k.rsplit("/", 1)[-1].removesuffix(".json") for k in keys]
    else:
        folder = dataset_dir(dataset) / "versions"
        stems = [p.stem for p in folder.glob("*.json")] if folder.exists() else []
    return sorted(int(s) for s in stems if s.isascii() and s.isdigit())


def set_oldest(dataset: str, version: int) -> None:
    """Record the oldest version kept, before removing older ones: a reader then gets "pruned", not a crash."""
    if store.is_remote():
        store.remote().put(f"{dataset}/OLDEST", f"{version}\n".encode())
    else:
        write_atomically(dataset_dir(dataset) / "OLDEST", f"{version}\n")


def remove_versions(dataset: str, numbers: list[int]) -> None:
    rels = [str(manifest_path(dataset, n).relative_to(dataset_dir(dataset))) for n in numbers]
    if store.is_remote():
        store.remote().delete([f"{dataset}/{rel}" for rel in rels])
    for rel in rels:
        mirror.drop_manifest(dataset, rel) if store.is_remote() else (dataset_dir(dataset) / rel).unlink(missing_ok=True)


def remote_files(dataset: str, folders: tuple[str, ...]) -> list[store.Listed]:
    """Over an object store: every object under the dataset's `folders` (keys relative to the dataset)."""
    out = []
    for folder in folders:
        out += [store.Listed(o.key.split("/", 1)[1], o.size, o.modified) for o in store.remote().list(f"{dataset}/{folder}/")]
    return out


def remove_remote_files(dataset: str, rels: list[str]) -> None:
    """Over an object store: delete objects no kept version references, and this node's copies of them."""
    store.remote().delete([f"{dataset}/{rel}" for rel in rels])
    for rel in rels:
        (dataset_dir(dataset) / rel).unlink(missing_ok=True)
