"""`python -m etl watch DIR`: a drop folder. Each new file is loaded exactly once, then moved to
DIR/processed/ or, with its report, to DIR/failed/.

Which dataset and format: the file's extension picks the reader and its header picks the format
(etl/formats.py), tried against every dataset; a file in DIR/<dataset>/ or `--dataset` skips the
guess. A file is picked up only when it is not hidden (a leading '.'), has no partial-download
suffix (.part, .tmp, .crdownload, ...), and its size and modification time stayed the same across
two scans and for PULSE_WATCH_QUIET_SECONDS: a writer that is still appending is left alone.
Writers that can should write `name.part` and rename it when done.

Exactly once: the SHA-256 of every loaded file is kept in a ledger under PULSE_DATA_DIR/realtime/,
written after the version is published and before the file is moved, so a watcher killed between
the two moves the file on restart without loading it again (and a re-load would change nothing:
loads upsert). One watcher per folder: a second one exits with a clear error.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import config
import datasets
from etl import formats
from etl.errors import InputError
from etl.log import logger as log_for
from etl.realtime import Lifecycle, Pause, writer_key
from lake import writerstate
from lake.errors import LakeBusy

PARTIAL = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".filepart", ".swp", "~")
DONE = ("processed", "failed")
MAX_REPORTED_REJECTS = 1000
log = log_for("watch")


def guess_dataset(path: Path) -> tuple[str, str]:
    """(dataset, format) for a file: the dataset whose formats match its header best."""
    matches = []
    for name in datasets.datasets():
        try:
            fmt = formats.detect(name, path)
        except InputError as exc:
            if "unknown header" not in str(exc):
                raise  # unreadable, empty or an unsupported type: the same for every dataset
            continue
        matches.append((len(fmt.detect), name, fmt.name))
    if not matches:
        raise InputError(f"{path.name}: its header matches no format of any dataset; see `python -m etl formats`, "
                         "or put it in a folder named after its dataset")
    matches.sort(reverse=True)
    if len(matches) > 1 and matches[0][0] == matches[1][0]:
        raise InputError(f"{path.name}: its header fits {matches[0][1]} and {matches[1][1]} equally; "
                         "put it in a folder named after its dataset")
    return matches[0][1], matches[0][2]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    if not target.exists():
        return target
    stem, dot, suffix = name.partition(".")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return folder / f"{stem}-{stamp}{dot}{suffix}"


@dataclass
class Watcher:
    folder: Path
    dataset: str | None = None
    format: str | None = None
    quiet: float = 2.0
    every: float = 1.0
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self.folder = Path(self.folder).resolve()
        if not self.folder.is_dir():
            raise InputError(f"{self.folder}: no such folder")
        if self.dataset:
            datasets.get(self.dataset)
        self.key = writer_key("watch", str(self.folder))
        self.ledger = writerstate.folder() / f"{self.key}.ledger"
        self.life = Lifecycle(self.key, self.stop)
        self.life.started("watch", name=f"watch {self.folder}", dir=str(self.folder), every=self.every)
        self.state.setdefault("files", {"processed": 0, "failed": 0})
        self._seen: dict[Path, tuple[int, int]] | None = None
        self._lock_fh = None

    @property
    def state(self) -> dict:
        """The saved state: files processed and failed, the last file, errors."""
        return self.life.state

    def _claim(self) -> None:
        """One watcher per folder: an flock the kernel drops if this process dies."""
        writerstate.folder().mkdir(parents=True, exist_ok=True)
        self._lock_fh = open(writerstate.folder() / f"{self.key}.lock", "a+")
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"{self.folder} is already watched by another process") from None

    def _loaded(self) -> set[str]:
        try:
            return {json.loads(line)["sha256"] for line in self.ledger.read_text().splitlines() if line.strip()}
        except FileNotFoundError:
            return set()

    def candidates(self) -> list[tuple[Path, str | None]]:
        """Visible, complete-looking files at the top of the folder or in a folder named after a dataset."""
        out = []
        for entry in sorted(self.folder.iterdir()):
            if entry.name.startswith(".") or entry.name in DONE:
                continue
            if entry.is_dir() and entry.name in datasets.datasets():
                out += [(p, entry.name) for p in sorted(entry.iterdir()) if p.is_file() and self._visible(p)]
            elif entry.is_file() and self._visible(entry):
                out.append((entry, self.dataset))
        return out

    @staticmethod
    def _visible(p: Path) -> bool:
        return not p.name.startswith(".") and not p.name.lower().endswith(PARTIAL)

    def ready(self) -> list[tuple[Path, str | None]]:
        """This scan's files that are unchanged since the previous scan and quiet for long enough."""
        now, out, seen = time.time(), [], {}
        for path, dataset in self.candidates():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            sig = (st.st_size, st.st_mtime_ns)
            seen[path] = sig
            if (self._seen or {}).get(path) == sig and now - st.st_mtime >= self.quiet and st.st_size > 0:
                out.append((path, dataset))
        self._seen = seen
        return out

    def process(self, path: Path, dataset: str | None) -> dict:
        """Load one file and move it; returns what happened."""
        started = time.monotonic()
        out = {"file": path.name, "dataset": dataset, "outcome": None, "version": None, "rejected": 0}
        digest = _sha256(path)
        if digest in self._loaded():
            out["outcome"] = "already_loaded"
            return self._finish(path, "processed", out, None, started)
        ledgered = []
        try:
            fmt = self.format
            if dataset is None:
                dataset, fmt = guess_dataset(path)
                out["dataset"] = dataset
            result = self.life.load(dataset, path, fmt, on_loaded=lambda r: ledgered.append(self._note(digest, path, r)))
        except LakeBusy:
            raise
        except Exception as exc:  # InputError (unreadable file) or anything else: the file fails, we go on
            if ledgered:
                raise  # the file is loaded and in the ledger: what failed after it (compaction) is not the file
            message = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
            out.update(outcome="failed", error=message)
            return self._finish(path, "failed", out, {"error": message}, started)
        out.update(outcome=result["outcome"], version=result["version"], rejected=result["rejected"],
                   inserted=result["inserted"], updated=result["updated"], unchanged=result["unchanged"],
                   format=result["format"], run_id=result["run_id"])
        nothing_loaded = result["rows_in"] == result["rejected"]
        return self._finish(path, "failed" if nothing_loaded else "processed", out, self._report(result), started)

    def _note(self, digest: str, path: Path, result: dict) -> bool:
        """Add a loaded file to the ledger, before it is moved: a restart then moves it without loading it again."""
        with open(self.ledger, "a") as fh:
            fh.write(json.dumps({"sha256": digest, "file": path.name, "dataset": result["dataset"], "run_id": result["run_id"],
                                 "version": result["version"], "at": writerstate.now_iso()}) + "\n")
        return True

    @staticmethod
    def _report(result: dict) -> dict | None:
        """The report written beside a file with rejects: the first MAX_REPORTED_REJECTS and how to see all."""
        if not result["rejected"]:
            return None
        from etl.load import rejects

        dataset = result["dataset"]
        rows = rejects(dataset, result["run_id"])
        return {"rejected": result["rejected"], "rejects": rows[:MAX_REPORTED_REJECTS],
                "see": f"python -m etl rejects {dataset} --run {result['run_id']}"}

    def _finish(self, path: Path, where: str, out: dict, report: dict | None, started: float) -> dict:
        folder = self.folder / where
        folder.mkdir(exist_ok=True)
        target = _free_name(folder, path.name)
        path.replace(target)
        if report is not None:
            body = {"file": target.name, "dataset": out["dataset"], "at": writerstate.now_iso(), **report}
            (folder / f"{target.name}.report.json").write_text(json.dumps(body, indent=1, default=str))
        self.state["files"][where] += 1
        self.state["last_file"] = {"file": target.name, "outcome": out["outcome"], "at": writerstate.now_iso()}
        if where == "failed":
            writerstate.record_error(self.state, f"{path.name}: {out.get('error') or 'every row was rejected'}",
                                     out["dataset"])  # saved with the next heartbeat
        out.update(moved_to=str(target.relative_to(self.folder)), seconds=round(time.monotonic() - started, 3))
        log.info("%s -> %s (%s%s)", path.name, out["moved_to"], out["outcome"],
                 f", version {out['version']}" if out.get("version") else "")
        return out

    def scan_once(self) -> list[dict]:
        done = []
        for path, dataset in self.ready():
            if self.stop.is_set():
                break
            try:
                done.append(self.process(path, dataset))
            except LakeBusy as exc:  # another writer holds the dataset: try again next scan
                writerstate.record_error(self.state, str(exc), dataset)
            self.life.beat(self.every + 60)
        return done

    def _step(self) -> list[dict]:
        """The first step only notes sizes (a file must be unchanged across two scans); later ones load."""
        if self._seen is None:
            self.ready()
            return []
        done = self.scan_once()
        self.state["last_scan_at"] = writerstate.now_iso()
        return done

    def run(self, once: bool = False, on_file=None) -> dict:
        """Scan every `every` seconds until stopped; with `once`, two scans a quiet period apart (a file
        must be unchanged across them) and load what is ready then."""
        self._claim()
        totals = {"dir": str(self.folder), "processed": 0, "failed": 0, "files": []}

        def add(done: list[dict]) -> None:
            for result in done:
                totals["failed" if result["moved_to"].startswith("failed") else "processed"] += 1
                totals["files"].append(result)
                if on_file:
                    on_file(result)

        wait = max(self.every, self.quiet) if once else self.every
        try:
            self.life.run(self._step, lambda _done, _seconds: Pause(wait, self.every + 60), add, limit=2 if once else None)
        finally:
            if self._lock_fh:
                self._lock_fh.close()
        return totals


def default_quiet() -> float:
    return float(config.get("watch_quiet_seconds"))
