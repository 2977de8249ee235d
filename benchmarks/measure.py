"""Run a contender as its own process and measure its wall time and peak RSS.

Why a subprocess each: peak RSS is per process, and a cold process is what a scheduled load or a
fresh worker really is. The child reports its own peak resident set as its last line of stderr:
VmHWM from /proc/self/status, the high-water mark of its own address space. Not ru_maxrss: Linux
carries the parent's high-water mark into a child across fork and exec, so a child of a large
benchmark process (one that has just generated a CSV, say) would report the parent's peak.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_TRAILER = ("\nimport sys as _s\nprint('__RSS_KB__', next(int(l.split()[1]) for l in open('/proc/self/status') "
            "if l.startswith('VmHWM:')), file=_s.stderr)\n")


@dataclass
class Run:
    name: str
    seconds: float
    peak_rss_mb: float
    stdout: str


def run_python(name: str, code: str, env: dict | None = None) -> Run:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code + _TRAILER], cwd=ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed: {proc.stderr[-2000:]}")
    rss_kb = int(proc.stderr.strip().splitlines()[-1].split()[-1])
    return Run(name=name, seconds=seconds, peak_rss_mb=rss_kb / 1024, stdout=proc.stdout)


def best_of(n: int, name: str, code: str, env: dict | None = None) -> Run:
    """The fastest of n runs (least disturbed by other work on the machine), with the largest RSS seen."""
    runs = [run_python(name, code, env) for _ in range(n)]
    fastest = min(runs, key=lambda r: r.seconds)
    fastest.peak_rss_mb = max(r.peak_rss_mb for r in runs)
    return fastest


def stop_group(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a server started with start_new_session=True and everything it forked (gunicorn's workers):
    SIGTERM to the process group, SIGKILL if it has not gone within `timeout`."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
