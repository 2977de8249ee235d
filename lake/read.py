"""Reading the storage contract: which version is current, its manifest, the versions kept, and the
paths of the files a version lists. Nothing here writes to the lake; the web side reads only
through this.

With PULSE_LAKE_URL set the lake lives in an object store and each answer comes through this
node's read-through copy (lake/mirror.py): the same layout, so the paths returned are local files.
"""
from __future__ import annotations

from pathlib import Path

import config
from lake import mirror, store
from lake.errors import VersionPruned
from lake.model import Manifest, SummaryEntry


def lake_dir() -> Path:
    return config.data_dir() / "lake"


def dataset_dir(dataset: str) -> Path:
    return lake_dir() / dataset


def current_version(dataset: str) -> int | None:
    """The current version number, or None for a dataset never loaded. One small file read (over an
    object store: the pointer, asked at most every PULSE_LAKE_POLL_SECONDS)."""
    if store.is_remote():
        return mirror.current(dataset)
    try:
        return int((dataset_dir(dataset) / "CURRENT").read_text().strip())
    except FileNotFoundError:
        return None


def oldest_version(dataset: str) -> int:
    """The oldest version still kept: retention (etl/compact.py) writes OLDEST before deleting older ones."""
    if store.is_remote():
        return mirror.oldest(dataset)
    try:
        return int((dataset_dir(dataset) / "OLDEST").read_text().strip())
    except FileNotFoundError:
        return 1


def manifest_path(dataset: str, version: int) -> Path:
    return dataset_dir(dataset) / "versions" / f"{version:08d}.json"


def manifest(dataset: str, version: int | None = None) -> Manifest | None:
    """The manifest of `version` (default: current); None if the dataset has no versions.
    KeyError for a version never published, VersionPruned for one retention removed."""
    current = current_version(dataset)
    if version is None:
        if current is None:
            return None
        version = current
    if current is None or version > current or version < 1:
        # A manifest beyond CURRENT belongs to a load that died before publishing: not a version.
        raise KeyError(f"{dataset} has no version {version}")
    try:
        return Manifest.from_json(_manifest_text(dataset, version))
    except FileNotFoundError:
        oldest = oldest_version(dataset)
        if version < oldest:
            raise VersionPruned(dataset, version, oldest) from None
        raise KeyError(f"{dataset} has no version {version}") from None


def _manifest_text(dataset: str, version: int) -> str:
    if store.is_remote():
        return mirror.manifest_text(dataset, str(manifest_path(dataset, version).relative_to(dataset_dir(dataset))))
    return manifest_path(dataset, version).read_text()


def has_version(dataset: str, version: int) -> bool:
    """Whether `version` is published and still kept (reads its manifest at most once per node)."""
    try:
        manifest(dataset, version)
    except KeyError:
        return False
    return True


def version_numbers(dataset: str) -> list[int]:
    """The numbers of every published version still kept, oldest first (no manifest is read)."""
    if store.is_remote():
        return mirror.version_numbers(dataset, current_version(dataset))
    folder = dataset_dir(dataset) / "versions"
    current = current_version(dataset)
    if current is None or not folder.exists():
        return []
    return sorted(n for n in (int(p.stem) for p in folder.glob("*.json") if p.stem.isascii() and p.stem.isdigit()) if n <= current)


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
    """Absolute paths of a version's data files, for read_parquet (fetched first when this node
    lacks them, over an object store)."""
    return [local_path(dataset, f.path) for f in m.files]


def entry_paths(dataset: str, entry: SummaryEntry | None) -> list[str]:
    """Absolute paths of a rollup's or projection's stored files, for read_parquet."""
    return [local_path(dataset, rel) for rel in (entry.files if entry else [])]


def local_path(dataset: str, rel: str) -> str:
    """The local path of one immutable file of the lake (`rel`: relative to the dataset folder)."""
    if store.is_remote():
        return str(mirror.ensure(dataset, rel))
    return str(dataset_dir(dataset) / rel)


def shared_file(name: str, path: Path) -> bool:
    """Whether `path` exists, fetching it first from the object store's `_shared/<name>` when this
    node lacks it (the map boundaries the demo writes beside the lake: every node draws them)."""
    if path.exists():
        return True
    return store.is_remote() and mirror.fetch_shared(name, path)
