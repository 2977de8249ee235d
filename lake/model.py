"""A version's manifest, parsed in one place: its data files and the typed entries of its rollups
and projections. The JSON written to `versions/<N>.json` keeps the shape it has always had, so every
stored version stays readable (docs/decisions/0001, 0007, 0008).

Why typed entries: a rollup entry (a base file plus a delta file) and a projection entry (one file
per data file) were plain dicts read in six places; each place re-learned which keys were optional
and what an entry from before deltas or fingerprints looked like. Here that is said once.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DataFile:
    path: str  # relative to the dataset folder
    rows: int
    key_min: str | None = None
    key_max: str | None = None


@dataclass(frozen=True)
class RollupEntry:
    """A rollup kept as a base file plus an optional delta file (etl/rollups.py), paths relative to
    the dataset folder. `fingerprint` None: written before fingerprints existed (taken as current).
    An entry from before deltas stored one file as its `path` and has no `base`: `legacy_file`."""

    path: str
    timezone: str
    fingerprint: str | None = None
    base: str | None = None
    base_rows: int = 0
    delta: str | None = None
    delta_rows: int = 0

    kind = "rollup"

    @property
    def legacy_file(self) -> str | None:
        """The one file of an entry written before deltas existed, else None."""
        return self.path if self.base is None and self.path.endswith(".parquet") else None

    @property
    def files(self) -> list[str]:
        """The stored files (base, then delta; or the legacy file)."""
        if self.legacy_file:
            return [self.legacy_file]
        return [f for f in (self.base, self.delta) if f]

    @property
    def pending_delta_rows(self) -> int:
        return self.delta_rows if self.delta else 0

    def holds(self, fingerprint: str, zone: str) -> bool:
        """Whether the entry holds what is declared today (`fingerprint`) in the city's `zone`."""
        return self.timezone == zone and (self.fingerprint or fingerprint) == fingerprint

    def to_dict(self) -> dict:
        if self.legacy_file:
            return {"path": self.path, "timezone": self.timezone}
        out = {"path": self.path, "timezone": self.timezone}
        if self.fingerprint is not None:
            out["fingerprint"] = self.fingerprint
        out.update(base=self.base, base_rows=self.base_rows)
        if self.delta:
            out.update(delta=self.delta, delta_rows=self.delta_rows)
        return out

    @classmethod
    def from_dict(cls, body: dict) -> RollupEntry:
        return cls(path=body["path"], timezone=body.get("timezone", ""), fingerprint=body.get("fingerprint"),
                   base=body.get("base"), base_rows=int(body.get("base_rows") or 0), delta=body.get("delta"),
                   delta_rows=int(body.get("delta_rows") or 0))


@dataclass(frozen=True)
class ProjectionEntry:
    """A projection kept as one file per data file (etl/projections.py): `files` maps a data file to
    its projection file, `path` is the folder they live in (publishing fsyncs it)."""

    path: str
    timezone: str
    fingerprint: str | None
    files_by_data_file: dict[str, str] = field(default_factory=dict)

    kind = "projection"

    @property
    def files(self) -> list[str]:
        return list(dict.fromkeys(self.files_by_data_file.values()))

    def holds(self, fingerprint: str, zone: str) -> bool:
        return self.timezone == zone and self.fingerprint == fingerprint

    def to_dict(self) -> dict:
        return {"kind": "projection", "path": self.path, "timezone": self.timezone, "fingerprint": self.fingerprint,
                "files": dict(self.files_by_data_file)}

    @classmethod
    def from_dict(cls, body: dict) -> ProjectionEntry:
        return cls(path=body["path"], timezone=body.get("timezone", ""), fingerprint=body.get("fingerprint"),
                   files_by_data_file=dict(body.get("files") or {}))

    def __hash__(self) -> int:
        return hash((self.path, self.timezone, self.fingerprint, tuple(sorted(self.files_by_data_file.items()))))


SummaryEntry = RollupEntry | ProjectionEntry


def entry_from_dict(body: dict) -> SummaryEntry:
    return ProjectionEntry.from_dict(body) if body.get("kind") == "projection" else RollupEntry.from_dict(body)


@dataclass(frozen=True)
class Manifest:
    dataset: str
    version: int
    published_at: str
    rows: int
    files: tuple[DataFile, ...]
    load: dict
    rollups: dict[str, SummaryEntry] = field(default_factory=dict)  # rollup or projection name -> entry

    def to_json(self) -> str:
        body = {
            "dataset": self.dataset,
            "version": self.version,
            "published_at": self.published_at,
            "rows": self.rows,
            "files": [f.__dict__ for f in self.files],
            "load": self.load,
            "rollups": {name: e.to_dict() for name, e in self.rollups.items()},
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
            rollups={name: entry_from_dict(e) for name, e in (body.get("rollups") or {}).items()},
        )

    def stored_files(self) -> set[str]:
        """Every file the version reads (relative to the dataset folder): data, rollup and projection files."""
        return {f.path for f in self.files} | {rel for entry in self.rollups.values() for rel in entry.files}

    def referenced(self) -> set[str]:
        """Every path the version needs (relative to the dataset folder): data files, and each
        rollup's and projection's folder and files. Retention keeps what any kept version lists."""
        out = {f.path for f in self.files}
        for entry in self.rollups.values():
            out.add(entry.path)
            out.update(entry.files)
        return out
