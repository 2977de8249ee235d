"""The state of each real-time writer (poller, watcher, simulator) as a small JSON file under
PULSE_DATA_DIR/realtime/, rewritten atomically: the poller's watermark lives here, and pipeline
health (portal/pipeline_health.py, GET /api/v1/status) reads these files to say what each one is
doing, when it last succeeded and what went wrong.

Why files and not a database: the writers and the web workers are separate processes that already
share the data folder; a rename is atomic, so a reader never sees half a state, and a writer killed
at any moment leaves its last complete state (and watermark) behind. Over an object store
(PULSE_LAKE_URL) each save is copied to the store too (lake/shared_ops.py): every node's health
reads it, and a writer started on another host resumes from the stored watermark.
"""
from __future__ import annotations

import json
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import config
from lake import shared_ops, store

RECENT_ERRORS = 50  # error times kept per writer, for the "errors in the last 24 hours" count
DAY = 86_400


def folder() -> Path:
    return config.data_dir() / "realtime"


def path(key: str) -> Path:
    return folder() / f"{key}.json"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def load(key: str) -> dict:
    """The saved state of writer `key`, or {} if it never ran (or its file is unreadable); over an
    object store the stored one first, wherever it last ran."""
    if store.is_remote():
        stored = shared_ops.state(key)
        if stored is not None:
            return stored
    try:
        return json.loads(path(key).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def save(key: str, state: dict) -> None:
    """Write the whole state atomically (temp file, fsync, rename)."""
    p = path(key)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        fh.write(json.dumps(state, default=str, indent=1))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, p)
    if store.is_remote():
        shared_ops.put_state(key, state)


def every_state() -> list[dict]:
    """Every writer's saved state (pipeline health)."""
    if store.is_remote():
        return shared_ops.states()
    out = []
    for p in sorted(folder().glob("*.json")) if folder().exists() else ():
        try:
            out.append(json.loads(p.read_text()))
        except (FileNotFoundError, json.JSONDecodeError):
            continue
    return out


def started(state: dict, kind: str, **identity) -> dict:
    """Mark a writer as running in this process (keeping its watermark, counters and errors)."""
    state.update(kind=kind, **identity, pid=os.getpid(), host=socket.gethostname(), state="running",
                 started_at=now_iso())
    state.setdefault("errors", {"count": 0, "recent": [], "last": None})
    state.setdefault("datasets", {})
    return state


def heartbeat(state: dict, expect_within: float, status: str = "running") -> None:
    """Promise the next state write within `expect_within` seconds; past it, health calls the writer stale."""
    state["state"] = status
    state["heartbeat_at"] = now_iso()
    state["expect_by"] = datetime.fromtimestamp(time.time() + expect_within, UTC).isoformat(timespec="seconds")


def record_error(state: dict, message: str, dataset: str | None = None) -> None:
    errors = state.setdefault("errors", {"count": 0, "recent": [], "last": None})
    at = now_iso()
    errors["count"] = errors.get("count", 0) + 1
    errors["recent"] = [*errors.get("recent", [])[-(RECENT_ERRORS - 1):], at]
    errors["last"] = {"at": at, "message": message[:2000], "dataset": dataset}


def record_success(state: dict, dataset: str, result: dict) -> None:
    """A load this writer made: its outcome and version, under the dataset it went to."""
    entry = state.setdefault("datasets", {}).setdefault(dataset, {"loads": 0})
    entry["loads"] = entry.get("loads", 0) + 1
    entry["last_load_at"] = now_iso()
    entry["last_outcome"] = result.get("outcome")
    entry["last_version"] = result.get("version")
    entry["last_source"] = result.get("source")
