"""Requests per second of small API answers at 32 connections (issue 12), beside a bare Flask JSON
endpoint served by the same gunicorn configuration in the same run.

Both servers: gunicorn with production's configuration (`--config gunicorn.conf.py`: gthread, one worker per
CPU, 4 threads each; 2 x 4 on this machine) on a loopback port. The load
is wrk (`wrk -t2 -c32 -d10s --latency`, apt's `wrk`, installed by `make bench`): the bare endpoint
first, then each portal route, one after the other, on the demo lake (`python -m etl demo`, built
into a temporary PULSE_DATA_DIR; default scale small, 50k requests). Every route gets one warm-up
request first, so the figure is the steady state of a page many clients ask for.
Goal: the rows API's first page (`?limit=50`) >= 0.2x the bare endpoint, p99 under 300 ms.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from flask import Flask, jsonify

from benchmarks.exports import free_port
from benchmarks.measure import ROOT, stop_group

GUNICORN = ["--config", "gunicorn.conf.py"]  # production's: one gthread worker per CPU (2 here), 4 threads each
WRK = ["-t2", "-c32", "-d10s", "--latency"]
ROUTES = {
    "rows_first_page": "/api/v1/datasets/service_requests/rows?limit=50",
    "home": "/",
    "version": "/api/v1/version",
    "kpis": "/api/v1/kpis",
    "healthz": "/healthz",
}
GOAL = {"rows_first_page_vs_bare": 0.2, "rows_first_page_p99_ms": 300}
# Rate limits count per client address, and wrk is one client: off, to measure what the server can serve.
ENV = {"PULSE_CACHE_TYPE": "filesystem", "PULSE_SIMULATE": "0", "PULSE_RATE_LIMIT_ROWS": "", "PULSE_RATE_LIMIT_QUERIES": ""}

bare = Flask(__name__)  # the baseline: what Flask itself costs per request under this gunicorn


@bare.get("/json")
def bare_json():
    return jsonify({"status": "ok", "answer": 42})


class Gunicorn:
    """A gunicorn serving `app` on a free loopback port, in its own process group."""

    def __init__(self, app: str, env: dict, ready: str):
        self.port = free_port()
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.proc = subprocess.Popen([gunicorn, app, *GUNICORN, "--bind", f"127.0.0.1:{self.port}"],
                                     cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                self.get(ready)
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"gunicorn {app} did not start") from None
                time.sleep(0.2)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> int:
        with urllib.request.urlopen(self.url(path), timeout=30) as resp:
            resp.read()
            return resp.status

    def stop(self) -> None:
        stop_group(self.proc)


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return round(float(value) * _UNIT_MS[unit], 2)


def wrk(url: str) -> dict:
    """One wrk run: requests/s, p50 and p99 latency, and how many answers were not 2xx or 3xx."""
    out = subprocess.run(["wrk", *WRK, url], capture_output=True, text=True, check=True).stdout
    result = {"requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), 1),
              "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
              "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
              "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(errors.group(1)) if errors else 0
    return result


def build_lake(data: Path, scale: str) -> None:
    subprocess.run([sys.executable, "-m", "etl", "demo", "--scale", scale], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "PULSE_DATA_DIR": str(data)})
    shutil.rmtree(data / "demo-src", ignore_errors=True)


def run(scale: str = "small") -> dict:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    result: dict = {"scale": scale, "gunicorn": " ".join(GUNICORN), "wrk": " ".join(WRK)}
    with tempfile.TemporaryDirectory(prefix="pulse-bench-serving-") as tmp:
        data = Path(tmp) / "data"
        build_lake(data, scale)
        server = Gunicorn("benchmarks.serving:bare", {}, "/json")
        try:
            result["bare_flask"] = wrk(server.url("/json"))
        finally:
            server.stop()
        server = Gunicorn("app:server", {**ENV, "PULSE_DATA_DIR": str(data)}, "/healthz")
        try:
            for name, path in ROUTES.items():
                server.get(path)  # warm-up: imports, the reader's views, the first computation
                result[name] = {"path": path, **wrk(server.url(path))}
        finally:
            server.stop()
    base = result["bare_flask"]["requests_per_s"]
    for name in ROUTES:
        result[name]["vs_bare"] = round(result[name]["requests_per_s"] / base, 3)
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "small"), indent=1))
