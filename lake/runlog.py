"""The run log: one JSON line per load, failed ones included, which the portal shows as pipeline health.

Why a JSON-lines file: appends of one short line with O_APPEND do not interleave between
processes, it survives a crashed loader, and `tail` reads it. Over an object store
(PULSE_LAKE_URL) each host's log stays local and its tail is copied to the store after each
append (lake/shared_ops.py), so every node's pipeline health reads every host's loads.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import config
from lake import shared_ops, store


def path() -> Path:
    return config.data_dir() / "runs.jsonl"


def append(record: dict) -> None:
    p = path()
    p.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode()
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    if store.is_remote():
        with open(p, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - shared_ops.TAIL_BYTES))
            shared_ops.put_run_log_tail(fh.read())


def records(dataset: str | None = None) -> list[dict]:
    """Every logged load (oldest first), optionally of one dataset; a torn last line is skipped.
    Over an object store: the recent loads of every host."""
    if store.is_remote():
        return [rec for rec in shared_ops.run_records() if dataset is None or rec.get("dataset") == dataset]
    try:
        lines = path().read_bytes().splitlines()
    except FileNotFoundError:
        return []
    return [rec for rec in _parsed(lines) if dataset is None or rec.get("dataset") == dataset]


def tail(max_bytes: int) -> list[dict]:
    """The records in the log's last `max_bytes` (oldest first): what pipeline health reads, fast
    however long the pipeline has run. The first line, probably cut, is dropped. Over an object
    store: every host's stored tail."""
    if store.is_remote():
        return shared_ops.run_records()
    try:
        with open(path(), "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except FileNotFoundError:
        return []
    lines = data.split(b"\n")
    return _parsed(lines[1:] if size > max_bytes else lines)


def _parsed(lines) -> list[dict]:
    """Each line as a record; a torn or unreadable line is skipped."""
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
    return out


def last(dataset: str) -> dict | None:
    recs = records(dataset)
    return recs[-1] if recs else None
