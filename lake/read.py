"""Reading the storage contract: which version is current, its manifest, the versions kept, and the
paths of the files a version lists. Nothing here writes; the web side reads only through this.
"""
from __future__ import annotations

from pathlib import Path

import config
from lake.errors import VersionPruned
from lake.model import Manifest, SummaryEntry


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


def oldest_version(dataset: str) -> int:
    """The oldest version still kept: retention (etl/compact.py) writes OLDEST before deleting older ones."""
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
        return Manifest.from_json(manifest_path(dataset, version).read_text())
    except FileNotFoundError:
        oldest = oldest_version(dataset)
        if version < oldest:
            raise VersionPruned(dataset, version, oldest) from None
        raise KeyError(f"{dataset} has no version {version}") from None


def version_numbers(dataset: str) -> list[int]:
    """The numbers of every published version still kept, oldest first (no manifest is read)."""
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
    """Absolute paths of a version's data files, for read_parquet."""
    base = dataset_dir(dataset)
    return [str(base / f.path) for f in m.files]


def entry_paths(dataset: str, entry: SummaryEntry | None) -> list[str]:
    """Absolute paths of a rollup's or projection's stored files, for read_parquet."""
    base = dataset_dir(dataset)
    return [str(base / rel) for rel in (entry.files if entry else [])]
