"""Heavy reads at once (issue 13), on the demo lake under production's gunicorn (gunicorn.conf.py,
2 workers x 4 threads here), each case a fresh server:

- memory (`python -m benchmarks --only memory`): 20 clients download the whole service_requests CSV at
  the same time. Per worker: resident memory when idle (after warm-up requests), and its peak (VmHWM,
  the kernel's high-water mark, so no sample can miss it) once every download ended; the bound is
  idle + PULSE_READER_MEMORY (the DuckDB reader's limit). Cases: the defaults (PULSE_EXPORT_SLOTS=2
  per worker, a 1 s wait, then 503) and every download at once (20 slots, no wait: what the reader's
  limit alone gives, as before issue 13).
- queue (`--only queue`): 32 clients ask for 32 different, uncached rows pages at once, five rounds.
  Latency of each answer (p50, p95, max) and how many were 503: with the defaults (PULSE_READ_SLOTS=2,
  1 s wait) and with every read let in at once (32 slots).
Clients are threads of this process reading over loopback (urllib), so the numbers include the
client's own Python; the comparison is between cases of the same run.
"""
from __future__ import annotations

import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from benchmarks.serving import ENV, Gunicorn, build_lake

EXPORT = "/api/v1/datasets/service_requests/export.csv"
READER_MEMORY = "200MB"  # the setting's default, set explicitly so the bound is the one measured against
CASES_MEMORY = {"defaults": {}, "all_at_once": {"PULSE_EXPORT_SLOTS": "20", "PULSE_READ_QUEUE_MS": "600000"}}
CASES_QUEUE = {"defaults": {}, "all_at_once": {"PULSE_READ_SLOTS": "32", "PULSE_READ_QUEUE_MS": "600000"}}


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def _status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def _get(server: Gunicorn, path: str) -> tuple[int, int, float]:
    """(status, bytes, seconds) of one request, its body read in 1 MB pieces and dropped."""
    started, size = time.perf_counter(), 0
    try:
        with urllib.request.urlopen(server.url(path), timeout=600) as resp:
            while chunk := resp.read(1 << 20):
                size += len(chunk)
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, size, time.perf_counter() - started


def _at_once(server: Gunicorn, paths: list[str]) -> list[tuple[int, int, float]]:
    out: list = [None] * len(paths)
    start = threading.Barrier(len(paths))

    def one(i: int) -> None:
        start.wait()
        out[i] = _get(server, paths[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(paths))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _serve(data: Path, env: dict) -> Gunicorn:
    server = Gunicorn("app:server", {**ENV, "PULSE_DATA_DIR": str(data), "PULSE_READER_MEMORY": READER_MEMORY,
                                     "PULSE_RATE_LIMIT_EXPORTS": "", **env}, "/healthz")
    for n in range(1, 13):  # warm-up: both workers open their reader and read the lake once
        server.get(f"/api/v1/datasets/service_requests/rows?limit={n}")
    return server


def memory(scale: str = "small", clients: int = 20) -> dict:
    result: dict = {"scale": scale, "clients": clients, "reader_memory": READER_MEMORY}
    with tempfile.TemporaryDirectory(prefix="pulse-bench-memory-") as tmp:
        data = Path(tmp) / "data"
        build_lake(data, scale)
        for case, env in CASES_MEMORY.items():
            server = _serve(data, env)
            try:
                workers = [p.pid for p in psutil.Process(server.proc.pid).children()]
                idle = {pid: _status_kb(pid, "VmRSS") for pid in workers}
                started = time.perf_counter()
                answers = _at_once(server, [EXPORT] * clients)
                seconds = time.perf_counter() - started
                peak = {pid: _status_kb(pid, "VmHWM") for pid in workers}
            finally:
                server.stop()
            bound_kb = int(READER_MEMORY.removesuffix("MB")) * 1024
            result[case] = {
                "env": env, "seconds": round(seconds, 2),
                "statuses": {str(s): sum(1 for a in answers if a[0] == s) for s in sorted({a[0] for a in answers})},
                "mb_sent": round(sum(a[1] for a in answers) / 1e6, 1),
                "workers": [{"idle_mb": _mb(idle[p]), "peak_mb": _mb(peak[p]), "growth_mb": _mb(peak[p] - idle[p]),
                             "bound_mb": _mb(idle[p] + bound_kb), "within_bound": peak[p] <= idle[p] + bound_kb}
                            for p in workers],
            }
    return result


def queue(scale: str = "small", clients: int = 32, rounds: int = 5) -> dict:
    result: dict = {"scale": scale, "clients": clients, "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="pulse-bench-queue-") as tmp:
        data = Path(tmp) / "data"
        build_lake(data, scale)
        for case, env in CASES_QUEUE.items():
            server = _serve(data, {**env, "PULSE_CACHE_TYPE": "null"})  # every page a real read
            try:
                answers = [a for r in range(rounds) for a in _at_once(
                    server, [f"/api/v1/datasets/service_requests/rows?limit={100 + i}&sort=created&complaint_type__gte="
                             f"{'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[(r + i) % 26]}" for i in range(clients)])]
            finally:
                server.stop()
            ms = sorted(a[2] * 1000 for a in answers)
            result[case] = {"env": env, "answers": len(ms),
                            "statuses": {str(s): sum(1 for a in answers if a[0] == s) for s in sorted({a[0] for a in answers})},
                            "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(ms[int(len(ms) * 0.95) - 1], 1),
                            "max_ms": round(ms[-1], 1)}
    return result
