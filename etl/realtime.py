"""The lifecycle every real-time writer (poller, watcher, simulator) shares: its saved state, the
heartbeat that tells pipeline health it is alive, the run loop that stops cleanly on a signal, loads
made as this writer (written to a temp file in the inbox first when the rows come from memory), and
compaction after each publish.

Why one place: the three writers are different sources with one contract towards the lake and
pipeline health (docs/decisions/0006-realtime-ingest.md). Every load a writer makes is logged with
its key as `writer`, so health knows which failures the writer already counted (portal/pipeline_health.py).
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from etl import compact
from lake import writerstate


def writer_key(prefix: str, identity: str) -> str:
    """A writer's key (its state file's name): `prefix` and a short digest of what it reads, so a new
    feed or folder starts its own state and watermark."""
    return f"{prefix}-{hashlib.sha256(identity.encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class Pause:
    """What the loop does after a step: wait `seconds`, promising the next state write within
    `promise` seconds (past it, health calls the writer stale), in `status`."""

    seconds: float
    promise: float
    status: str = "running"


class Lifecycle:
    """One writer's state under PULSE_DATA_DIR/realtime/<key>.json, and what it does with it."""

    def __init__(self, key: str, stop: threading.Event | None = None):
        self.key = key
        self.stop = stop if stop is not None else threading.Event()
        self.state: dict = writerstate.load(key)

    def started(self, kind: str, **identity) -> None:
        """Mark the writer running in this process, keeping what it saved before (watermark, counters, errors)."""
        writerstate.started(self.state, kind, key=self.key, **identity)

    def save(self) -> None:
        writerstate.save(self.key, self.state)

    def beat(self, within: float, status: str = "running") -> None:
        """Promise the next state write within `within` seconds, and save."""
        writerstate.heartbeat(self.state, within, status)
        self.save()

    def error(self, message: str, dataset: str | None = None) -> None:
        """Count an error against this writer (health's error count and last error), and save."""
        writerstate.record_error(self.state, message, dataset)
        self.save()

    def load(self, dataset: str, path: Path, format_name: str | None = None,
             on_loaded: Callable[[dict], None] | None = None) -> dict:
        """Load `path` as this writer; count the load, let `on_loaded` note it (a ledger), then compact."""
        from etl.load import load_file

        result = load_file(dataset, path, format_name, writer=self.key).to_dict()
        writerstate.record_success(self.state, dataset, result)
        if on_loaded:
            on_loaded(result)
        compact.after_publish(dataset)
        return result

    def load_written(self, dataset: str, name: str, format_name: str, write: Callable[[TextIO], None]) -> dict:
        """Load rows held in memory: `write` fills a temp file `name-<time>` in the inbox, removed afterwards."""
        inbox = writerstate.folder() / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        stem, dot, suffix = name.rpartition(".")
        path = inbox / f"{stem}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}{dot}{suffix}"
        try:
            with open(path, "w", newline="", encoding="utf-8") as fh:
                write(fh)
            return self.load(dataset, path, format_name)
        finally:
            path.unlink(missing_ok=True)

    def run(self, step: Callable[[], dict], pause: Callable[[dict, float], Pause],
            on_result: Callable[[dict], None] | None = None, limit: int | None = None) -> None:
        """Call `step` until stopped (a signal or `stop`) or `limit` steps, pausing as `pause(result,
        seconds the step took)` says; the state is saved as stopped however the loop ends."""
        steps = 0
        try:
            while not self.stop.is_set():
                began = time.monotonic()
                result = step()
                steps += 1
                wait = pause(result, time.monotonic() - began)
                self.beat(wait.promise, wait.status)
                if on_result:
                    on_result(result)
                if (limit is not None and steps >= limit) or self.stop.is_set():
                    break
                if self.stop.wait(wait.seconds):
                    break
        finally:
            self.finished()

    def finished(self) -> None:
        self.state["state"] = "stopped"
        self.state["stopped_at"] = writerstate.now_iso()
        self.save()
