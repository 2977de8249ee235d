"""Requests per second of pages, Dash's own routes and API answers at 32 connections (issues 12 and 13),
beside a bare Flask JSON endpoint served by the same gunicorn configuration in the same run.

Both servers: gunicorn with production's configuration (`--config gunicorn.conf.py`: gthread, one
worker per CPU, 4 threads each; 2 x 4 on this machine; rate limits off, since wrk is one client) on a
loopback port, both up for the whole run, on the demo lake (`python -m etl demo`, built into a temporary PULSE_DATA_DIR;
default scale small, 50k requests). The load is wrk (`wrk -t2 -c32 -d3s --latency`, apt's `wrk`,
installed by `make bench`): for each portal route, ROUNDS runs of it each paired with a run of the
bare endpoint, in alternating order (`paired`); the ratio is the median of the pairs' ratios, the
other figures the medians of the route's runs. `home_floor` and `snow_floor` are bare Flask sending a
constant body as large as those pages' shells (75 KB as they are, most of it the validation layout
Dash embeds in every page), paired the same way: what gunicorn and Flask cost for those bytes. Beside requests/s, each run records the server's CPU
time per answer (its gunicorn master and workers, from psutil): `cpu_vs_bare` is the bare
endpoint's over the route's, a ratio that other tenants of the machine barely move. Every route gets one warm-up request first, so the figure is the steady state of a page many clients ask for. `revalidate_304`
sends the ETag the warm-up of `/api/v1/kpis` returned as `If-None-Match` (`wrk -H`): a client or a
proxy revalidating what it holds; `home_br` asks for the page shell as a browser does
(`Accept-Encoding: gzip, deflate, br`).
Goals (issue 13): page shell, `/_dash-layout` and `/api/v1/kpis` >= 0.7x the bare endpoint;
`/api/v1/version` and the 304 >= 0.8x; the rows API's first page (`?limit=50`) >= 0.2x, p99 under 300 ms.
"""
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from flask import Flask, Response, jsonify

from benchmarks.exports import free_port
from benchmarks.measure import ROOT, stop_group

GUNICORN = ["--config", "gunicorn.conf.py"]  # production's: one gthread worker per CPU (2 here), 4 threads each
WRK = ["-t2", "-c32", "-d3s", "--latency"]
ROUNDS = 3  # pairs of (bare, route) runs per route; the ratio is the median of the pairs
BROWSER = {"Accept-Encoding": "gzip, deflate, br"}
ROUTES = {  # name: (path, request headers); None: the ETag of that path's warm-up answer as If-None-Match
    "rows_first_page": ("/api/v1/datasets/service_requests/rows?limit=50", {}),
    "home": ("/", {}),
    "home_br": ("/", BROWSER),
    "snow": ("/snow", {}),
    "dash_layout": ("/_dash-layout", {}),
    "dash_dependencies": ("/_dash-dependencies", {}),
    "version": ("/api/v1/version", {}),
    "kpis": ("/api/v1/kpis", {}),
    "revalidate_304": ("/api/v1/kpis", None),
    "healthz": ("/healthz", {}),
}
FLOORS = ("home", "snow")  # routes also measured as bare Flask sending a body of their size (`<name>_floor`)
GOAL = {"home_vs_bare": 0.7, "dash_layout_vs_bare": 0.7, "kpis_vs_bare": 0.7, "version_vs_bare": 0.8,
        "revalidate_304_vs_bare": 0.8, "rows_first_page_vs_bare": 0.2, "rows_first_page_p99_ms": 300}
# Rate limits count per client address, and wrk is one client: off, to measure what the server can serve.
ENV = {"PULSE_CACHE_TYPE": "filesystem", "PULSE_SIMULATE": "0", "PULSE_RATE_LIMIT_ROWS": "", "PULSE_RATE_LIMIT_QUERIES": "",
       "PULSE_RATE_LIMIT_CALLBACKS": "", "PULSE_RATE_LIMIT_EXPORTS": ""}

bare = Flask(__name__)  # the baseline: what Flask itself costs per request under this gunicorn


@bare.get("/json")
def bare_json():
    return jsonify({"status": "ok", "answer": 42})


@bare.get("/bytes/<int:size>")
def bare_bytes(size: int):
    """A constant body of `size` bytes: what gunicorn and Flask cost to send an answer that large."""
    return Response(b"x" * size, mimetype="text/html")


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

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict]:
        """Status and headers of one GET (the body is read and dropped)."""
        with urllib.request.urlopen(urllib.request.Request(self.url(path), headers=headers or {}), timeout=30) as resp:
            resp.read()
            return resp.status, dict(resp.headers)

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master and its workers."""
        import psutil

        procs = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        return sum(t.user + t.system for t in (p.cpu_times() for p in procs))

    def stop(self) -> None:
        stop_group(self.proc)


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return round(float(value) * _UNIT_MS[unit], 2)


def wrk(url: str, headers: dict | None = None) -> dict:
    """One wrk run: requests/s, p50 and p99 latency, and how many answers were not 2xx or 3xx."""
    extra = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    out = subprocess.run(["wrk", *WRK, *extra, url], capture_output=True, text=True, check=True).stdout
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


def run(scale: str = "small", rounds: int = ROUNDS) -> dict:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    result: dict = {"scale": scale, "gunicorn": " ".join(GUNICORN), "wrk": " ".join(WRK), "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="pulse-bench-serving-") as tmp:
        data = Path(tmp) / "data"
        build_lake(data, scale)
        bare_server = Gunicorn("benchmarks.serving:bare", {}, "/json")
        server = None
        try:
            server = Gunicorn("app:server", {**ENV, "PULSE_DATA_DIR": str(data)}, "/healthz")
            bare_runs = []
            for name, (path, headers) in ROUTES.items():
                _, warm = server.get(path, headers)  # warm-up: imports, the reader's views, the first computation
                entry = {"path": path, "bytes": int(warm.get("Content-Length", 0))}
                if headers is None:  # a revalidation: the client holds the answer and sends its ETag
                    if "ETag" not in warm:
                        result[name] = {**entry, "skipped": "the answer carries no ETag"}
                        continue
                    headers = {"If-None-Match": warm["ETag"]}
                    entry["status"] = _status(server, path, headers)
                runs, bares = paired(bare_server, server, path, headers, rounds)
                bare_runs += bares
                result[name] = {**entry, "headers": headers, **_median(runs), **_ratios(runs, bares)}
            for name in FLOORS:  # the same bytes from bare Flask: the most the route could reach
                path = f"/bytes/{result[name]['bytes']}"
                runs, bares = paired(bare_server, bare_server, path, {}, rounds)
                result[f"{name}_floor"] = {"path": path, **_median(runs), **_ratios(runs, bares)}
            result["bare_flask"] = _median(bare_runs)
        finally:
            bare_server.stop()
            if server is not None:
                server.stop()
    return result


def paired(bare: Gunicorn, server: Gunicorn, path: str, headers: dict, rounds: int) -> tuple[list[dict], list[dict]]:
    """`rounds` short wrk runs of the route, each beside one of the bare endpoint, in alternating
    order: the machine is shared, and its load moves by half within a minute, so a ratio is only
    meaningful between runs a few seconds apart (issue 13)."""
    runs, bares = [], []
    for i in range(rounds):
        pair = [(bares, bare, "/json", {}), (runs, server, path, headers)]
        for out, srv, p, h in pair if i % 2 == 0 else pair[::-1]:
            out.append(_measured(srv, p, h))
    return runs, bares


def _measured(server: Gunicorn, path: str, headers: dict) -> dict:
    """One wrk run, with the server's CPU time per answer: unlike requests/s, it hardly moves with
    what else runs on the machine, so it says what a route costs the server beside the bare one."""
    before = server.cpu_seconds()
    result = wrk(server.url(path), headers)
    result["cpu_us_per_request"] = round((server.cpu_seconds() - before) / max(result["requests"], 1) * 1e6, 1)
    return result


def _ratios(runs: list[dict], bares: list[dict]) -> dict:
    """Each pair's requests/s ratio, their median, and the median ratio of CPU per answer."""
    pairs = list(zip(runs, bares, strict=True))
    ratios = [round(r["requests_per_s"] / b["requests_per_s"], 3) for r, b in pairs]
    cpu = statistics.median(b["cpu_us_per_request"] / r["cpu_us_per_request"] for r, b in pairs)
    return {"ratios": ratios, "vs_bare": round(statistics.median(ratios), 3), "cpu_vs_bare": round(cpu, 3)}


def _median(runs: list[dict]) -> dict:
    """Each figure's median over the runs; answers other than 2xx or 3xx summed."""
    out = {k: round(statistics.median(r[k] for r in runs), 2)
           for k in ("requests_per_s", "p50_ms", "p99_ms", "cpu_us_per_request")}
    return {**out, "requests": sum(r["requests"] for r in runs), "non_2xx": sum(r["non_2xx"] for r in runs)}


def _status(server: Gunicorn, path: str, headers: dict) -> int:
    """The status of one request (urllib raises on a 304: it is not a success to it)."""
    try:
        return server.get(path, headers)[0]
    except urllib.error.HTTPError as exc:
        return exc.code


if __name__ == "__main__":
    import json

    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "small"), indent=1))
