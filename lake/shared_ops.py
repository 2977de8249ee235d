"""The writers' operational records (run log tails, real-time writer states) in the object store,
so every node's pipeline health sees every writer, whichever host it runs on.

Why copies and not the records themselves: the run log stays a local append-only file on the
writer's host (O_APPEND lines survive a crash; S3 has no append); after each append the writer puts
the file's last TAIL_BYTES as `_ops/runs/<host>.jsonl`, and each state file as
`_ops/realtime/<writer>.json`. A web node lists `_ops/` and reads the copies at most every
READ_EVERY_S. The state keeps the poller's watermark, so a writer restarted on another host resumes
where the last one stopped.
"""
from __future__ import annotations

import hashlib
import json
import socket
import time

import config
from lake import mirror, store

TAIL_BYTES = 256 << 10
READ_EVERY_S = 2.0
_seen: dict[tuple[str, str], tuple[float, list]] = {}


def host_key() -> str:
    """This writer host's name in the store: its hostname and its data folder (two writers' folders
    on one host are two logs)."""
    folder = hashlib.sha256(str(config.data_dir().resolve()).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}-{folder}"


def put_run_log_tail(data: bytes) -> None:
    """Store the last TAIL_BYTES of this host's run log (starting at a whole line)."""
    if len(data) > TAIL_BYTES:
        data = data[-TAIL_BYTES:]
        data = data[data.find(b"\n") + 1:]
    _put(f"_ops/runs/{host_key()}.jsonl", data)


def put_state(key: str, state: dict) -> None:
    _put(f"_ops/realtime/{key}.json", json.dumps(state, default=str, indent=1).encode())


def _put(key: str, body: bytes) -> None:
    """Best effort: an unreachable store must not fail the load or the writer whose record this is;
    its next record carries this one too (run log), or replaces it (state)."""
    try:
        store.remote().put(key, body)
    except store.StoreUnavailable as exc:
        mirror.failed(exc)


def state(key: str) -> dict | None:
    """A writer's stored state, or None (none stored, or the store does not answer)."""
    try:
        obj = store.remote().get(f"_ops/realtime/{key}.json")
    except store.StoreUnavailable:
        return None
    return json.loads(obj.body) if obj else None


def run_records() -> list[dict]:
    """Every host's stored run-log tail, merged in time order."""
    out = []
    for body in _bodies("_ops/runs/"):
        for line in body.splitlines():
            try:
                out.append(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
    return sorted(out, key=lambda r: str(r.get("started") or ""))


def states() -> list[dict]:
    out = []
    for body in _bodies("_ops/realtime/"):
        try:
            out.append(json.loads(body))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
    return out


def _bodies(prefix: str) -> list[bytes]:
    """The objects under `prefix`, read at most every READ_EVERY_S per process; while the store does
    not answer, the last read (or nothing)."""
    key = (store.url(), prefix)
    known = _seen.get(key)
    if known and time.monotonic() - known[0] < READ_EVERY_S:
        return known[1]
    try:
        s3 = store.remote()
        bodies = [obj.body for obj in (s3.get(o.key) for o in s3.list(prefix)) if obj]
    except store.StoreUnavailable as exc:
        mirror.failed(exc)
        bodies = known[1] if known else []
    _seen[key] = (time.monotonic(), bodies)
    return bodies
