"""Pipeline health per dataset: current version, last successful load, last poll, lag, errors and
the state of each real-time writer feeding it. Read by GET /api/v1/status and the /data/<dataset>
catalog page; no Dash here.

Sources: the lake (version), the tail of the run log (loads, failed ones included; lake/runlog.py)
and the writers' state files (lake/writerstate.py). Only small files and the last RUNLOG_TAIL bytes
of the run log are read, so the answer stays fast however long the pipeline has been running.
"""
from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

import datasets
import lake
from lake import runlog, writerstate

RUNLOG_TAIL = 1 << 20  # bytes of the run log read: a few thousand loads
ERROR_WINDOW = timedelta(hours=24)
WRITER_FIELDS = ("kind", "name", "state", "started_at", "heartbeat_at", "last_poll_at", "last_success_at",
                 "last_scan_at", "watermark", "simulated_to", "every")


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    t = datetime.fromisoformat(ts)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _alive(state: dict) -> str:
    """A writer's state as saved, corrected when its process is gone or overdue."""
    status = state.get("state", "unknown")
    if status in ("running", "backing_off"):
        if state.get("host") == socket.gethostname() and isinstance(state.get("pid"), int):
            try:
                os.kill(state["pid"], 0)
            except ProcessLookupError:
                return "dead"
            except PermissionError:
                pass
        expect = _parse(state.get("expect_by"))
        if expect and datetime.now(UTC) > expect:
            return "stale"
    return status


def _writer(state: dict, now: datetime) -> dict:
    errors = state.get("errors") or {}
    recent = [t for t in errors.get("recent", []) if (_parse(t) or now) > now - ERROR_WINDOW]
    out = {k: state.get(k) for k in WRITER_FIELDS if state.get(k) is not None}
    out["state"] = _alive(state)
    out["error_count"] = len(recent)
    out["last_error"] = errors.get("last")
    return out


def _feeds(state: dict, dataset: str) -> bool:
    if state.get("kind") == "poll":
        return state.get("dataset") == dataset
    return dataset in (state.get("datasets") or {})


def status(dataset_id: str, *, _records: list[dict] | None = None, _states: list[dict] | None = None) -> dict:
    """Health of one dataset (KeyError for an unknown one)."""
    datasets.get(dataset_id)
    now = datetime.now(UTC)
    records = [r for r in (runlog.tail(RUNLOG_TAIL) if _records is None else _records) if r.get("dataset") == dataset_id]
    states = [s for s in (writerstate.every_state() if _states is None else _states) if _feeds(s, dataset_id)]
    m = lake.manifest(dataset_id)
    ok = [r for r in records if r.get("outcome") in ("published", "no_change")]
    failed = [r for r in records if r.get("outcome") == "failed"]
    last = ok[-1] if ok else None
    writers = [_writer(s, now) for s in states]

    errors = [{"at": r.get("started"), "message": r.get("error"), "source": r.get("source")} for r in failed]
    errors += [{"at": w["last_error"]["at"], "message": w["last_error"]["message"], "source": w.get("name")}
               for w in writers if w.get("last_error")]
    errors.sort(key=lambda e: _parse(e["at"]) or now)
    # A writer shown here counts the failed loads it made itself (the run log names it: `writer`,
    # etl/realtime.py); the run log adds those nobody here counted: loads by hand, by a writer that
    # feeds the dataset nothing yet, and lines logged before loads named their writer.
    counted = {s["key"] for s in states if s.get("key")}
    error_count = sum(1 for r in failed if (_parse(r.get("started")) or now) > now - ERROR_WINDOW
                      and r.get("writer") not in counted)
    error_count += sum(w["error_count"] for w in writers)

    polls = [s for s in states if s.get("kind") == "poll"]
    last_poll = max((s["last_poll_at"] for s in polls if s.get("last_poll_at")), default=None)
    confirmed = max((s["last_success_at"] for s in polls if s.get("last_success_at")), default=None)
    if confirmed is None and not polls and last:
        confirmed = _finished(last)
    lag = round((now - _parse(confirmed)).total_seconds(), 1) if confirmed else None
    return {
        "dataset": dataset_id,
        "version": m.version if m else None,
        "rows": m.rows if m else 0,
        "published_at": m.published_at if m else None,
        "last_load": {"at": _finished(last), "outcome": last.get("outcome"), "version": last.get("version"),
                      "source": os.path.basename(str(last.get("source") or "")) or None} if last else None,
        "last_poll": last_poll,
        "lag_seconds": lag,
        "last_error": errors[-1] if errors else None,
        "error_count": error_count,
        "state": _overall([w["state"] for w in writers]),
        "writers": writers,
    }


def _overall(states: list[str]) -> str:
    """failing (a writer died or is overdue), degraded (one is backing off after errors), live, or idle."""
    if any(s in ("dead", "stale") for s in states):
        return "failing"
    if "backing_off" in states:
        return "degraded"
    return "live" if "running" in states else "idle"


def _finished(record: dict | None) -> str | None:
    """When a load ended: its start plus its duration."""
    if not record or not record.get("started"):
        return None
    t = _parse(record["started"]) + timedelta(seconds=float(record.get("seconds") or 0))
    return t.isoformat(timespec="seconds")


def status_all() -> dict[str, dict]:
    """Every dataset's health, reading the run log and the state files once."""
    records, states = runlog.tail(RUNLOG_TAIL), writerstate.every_state()
    return {name: status(name, _records=records, _states=states) for name in datasets.datasets()}
