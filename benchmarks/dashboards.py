"""The dashboards (issue 4) on the demo city at `python -m etl demo --scale medium` (1M 311 requests),
built into a temporary PULSE_DATA_DIR:

callbacks  server time of each page's callback (callbacks.<page>.update, called in-process with the
           page's default filters from portal/filters.py, exactly as Dash calls it), cold and warm:
           cold = an empty query cache (the filesystem cache under PULSE_DATA_DIR/cache, cleared) and a
           fresh lake reader (portal.reader.reset_reader()), as after a new data version or a worker
           start; warm = the same call again. After one untimed call of each, so Python's imports
           are not counted. Medians of REPEATS runs, wall time and the process's CPU time (which
           the other work on a shared machine does not inflate); with it each panel's
           portal.panels.render (the scorecard: each KPI's queries for its period and history), so a
           slow one shows. Goals: < 100 ms warm, < 300 ms cold.
http       the same callbacks through HTTP: POST /_dash-update-component to a real gunicorn
           (app:server, 2 workers), gzip accepted, time to the last byte; cold = the cache emptied
           (the workers' readers stay open), warm = the same request again.
lighthouse Lighthouse 12 (node_modules, `make node-deps`) desktop performance and accessibility of
           `/` and `/service-requests` on that gunicorn, LIGHTHOUSE_RUNS runs each, medians. Goals:
           accessibility 1.0, performance >= 0.9. Every page, beside a floor: `--only lighthouse`
           (benchmarks/lighthouse.py).
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.exports import free_port
from benchmarks.measure import ROOT, run_python, stop_group

REPEATS = 7
LIGHTHOUSE_RUNS = 3
LIGHTHOUSE_PAGES = ("/", "/service-requests")
GOALS = {"warm_ms": 100, "cold_ms": 300, "accessibility": 1.0, "performance": 0.9}
ENV = {"PULSE_CACHE_TYPE": "filesystem", "PULSE_QUERY_TIME_LIMIT_MS": "60000", "PULSE_SIMULATE": "0"}


# ---- in-process: the callback functions and their panels -------------------------------------------------

def _calls() -> tuple[dict, dict]:
    """Each page's callback with the arguments Dash sends on page load (the layout's default filters
    from portal/filters.py, the data versions the page starts from), and those filters per page."""
    import app  # noqa: F401  (the Dash pages must register before the callbacks are used)
    from callbacks import scorecard, service_requests, snow, volunteers
    from portal import filters, freshness

    sr, sn, vo = filters.sr_params({}), filters.snow_params({}), filters.volunteer_params({})
    versions = freshness.versions()
    return {
        "scorecard": lambda: scorecard.update("month", None),
        "service_requests": lambda: service_requests.update(sr["start"], sr["end"], "", "", "", sr["period"], versions),
        "snow": lambda: snow.update(sn["storm_id"], sn["hours"], sn["target_hours"], versions),
        "volunteers": lambda: volunteers.update(vo["start"], vo["end"], "", versions),
    }, {"service_requests": sr, "snow": sn, "volunteers": vo}


def _cold() -> None:
    from portal import cache, reader

    cache.backend().clear()
    reader.reset_reader()


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _stats(xs: list[float]) -> dict:
    return {"median": round(statistics.median(xs), 1), "min": round(min(xs), 1), "max": round(max(xs), 1)}


class Timer:
    """Wall time, and the CPU time of the whole process (every DuckDB thread included): on a shared
    machine the CPU time says how much work a call is when the wall time is inflated by waiting."""

    def __init__(self):
        self.wall, self.cpu = [], []

    def __enter__(self):
        self._t, self._c = time.perf_counter(), time.process_time()

    def __exit__(self, *exc):
        self.wall.append(_ms(self._t))
        self.cpu.append((time.process_time() - self._c) * 1000)

    def stats(self) -> dict:
        return {**_stats(self.wall), "cpu_median": round(statistics.median(self.cpu), 1)}


def callback_worker(repeats: int) -> None:
    """In a lake: cold and warm time of each page's callback, then of each panel. Prints one JSON line."""
    calls, params = _calls()  # imports app first: the pages register before layouts/ is imported
    from datasets import kpis as kpi_decls
    from layouts import scorecard as scorecard_page
    from portal import kpi_values, panels, reader, scoring

    for call in calls.values():  # imports and first use, not counted
        call()
    out = {"callbacks": {}, "panels": {}, "kpis": {}, "load_average": os.getloadavg()[0]}
    for page, call in calls.items():
        cold, warm = Timer(), Timer()
        for _ in range(repeats):
            _cold()
            with cold:
                call()
            with warm:
                call()
        out["callbacks"][page] = {"cold_ms": cold.stats(), "warm_ms": warm.stats()}
    opening = Timer()
    for page, p in params.items():
        for panel in panels.for_page(page):
            cold, warm = Timer(), Timer()
            for _ in range(repeats):
                _cold()
                with opening:  # opening the reader is counted once, here, not in every panel
                    reader.reader().versions()
                with cold:
                    view = panels.render(panel, p)
                with warm:
                    panels.render(panel, p)
            assert view.ok, (panel.id, view.summary)
            out["panels"][panel.id] = {"page": page, "rows": view.total_rows, "cold_ms": cold.stats(),
                                       "warm_ms": warm.stats()}
    out["reader_ms"] = opening.stats()
    # The scorecard's parts: each KPI's queries for the month and HISTORY months before it (uncached).
    as_of = kpi_values.default_as_of()
    bounds = [*scoring.previous_periods("month", as_of, scorecard_page.HISTORY), scoring.period_bounds("month", as_of)]
    for kpi_id, kpi in kpi_decls.kpis().items():
        timer = Timer()
        for _ in range(repeats):
            _cold()
            reader.reader().versions()
            with timer:
                kpi_values._actuals(kpi, bounds)
        out["kpis"][kpi_id] = {"query": kpi.query, "periods": len(bounds), "cold_ms": timer.stats()}
    out["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(out))


# ---- over HTTP: a real gunicorn ---------------------------------------------------------------------------

def http_worker(port: int, repeats: int) -> None:
    """POST each page's callback to the running server, as the browser does on page load."""
    import gzip

    from dash._callback import GLOBAL_CALLBACK_MAP

    import app  # noqa: F401  (registers the pages, then the callbacks)
    from callbacks import scorecard, service_requests, snow, volunteers
    from portal import cache, filters, freshness

    sr, sn, vo = filters.sr_params({}), filters.snow_params({}), filters.volunteer_params({})
    versions = freshness.versions()
    args = {scorecard: (["month"], [None]),
            service_requests: ([sr["start"], sr["end"], "", "", "", sr["period"], versions], []),
            snow: ([sn["storm_id"], sn["hours"], sn["target_hours"], versions], []),
            volunteers: ([vo["start"], vo["end"], "", versions], [])}
    bodies = {}
    for module, (inputs, state) in args.items():
        key, cb = next((k, v) for k, v in GLOBAL_CALLBACK_MAP.items() if k.startswith(f"..{module.page.ASOF}."))
        bodies[module.__name__.split(".")[-1]] = json.dumps({
            "output": key,
            "outputs": [{"id": o.component_id, "property": o.component_property} for o in cb["output"]],
            "inputs": [{**i, "value": v} for i, v in zip(cb["inputs"], inputs, strict=True)],
            "state": [{**s, "value": v} for s, v in zip(cb["state"], state, strict=True)],
            "changedPropIds": [],
        }).encode()

    def post(body: bytes) -> tuple[float, int]:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/_dash-update-component", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Accept-Encoding": "gzip"})
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=120) as resp:
            raw = resp.read()
            size = len(raw)
            if resp.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
        ms = _ms(t)
        assert json.loads(raw)["multi"], raw[:200]
        return ms, size

    for body in bodies.values():  # each worker's first requests (imports, reader) are not counted
        for _ in range(4):
            post(body)
    out = {}
    for page, body in bodies.items():
        cold, warm = [], []
        for _ in range(repeats):
            cache.backend().clear()
            ms, size = post(body)
            cold.append(ms)
            warm.append(post(body)[0])
        out[page] = {"cold_ms": _stats(cold), "warm_ms": _stats(warm), "response_kb_gzip": round(size / 1024, 1)}
    print(json.dumps(out))


class Gunicorn:
    """`gunicorn <app> -w 2` (default Pulse's app:server, from this checkout) on a free loopback port,
    in its own process group; ready when `ready` answers."""

    def __init__(self, data: Path, workers: int = 2, app: str = "app:server", root: Path = ROOT, ready: str = "/healthz"):
        self.port = free_port()
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.proc = subprocess.Popen([gunicorn, app, "--workers", str(workers), "--bind",
                                      f"127.0.0.1:{self.port}", "--timeout", "120"], cwd=root,
                                     env={**os.environ, **ENV, "PULSE_DATA_DIR": str(data), "PYTHONPATH": str(root)},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(self.url(ready), timeout=5) as resp:
                    resp.read()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        stop_group(self.proc)


# ---- Lighthouse -------------------------------------------------------------------------------------------

METRICS = {"first-contentful-paint": "fcp_ms", "largest-contentful-paint": "lcp_ms", "total-blocking-time": "tbt_ms",
           "speed-index": "speed_index_ms", "cumulative-layout-shift": "cls", "total-byte-weight": "transfer_bytes"}


def lighthouse(url: str, out: Path) -> dict:
    binary = ROOT / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        raise RuntimeError("Lighthouse is not installed: run `make node-deps`")
    # --ignore-status-code: the not-found page is audited too; its 404 is what it should answer.
    proc = subprocess.run([str(binary), url, "--preset=desktop", "--only-categories=performance,accessibility", "--ignore-status-code",
                           "--output=json", f"--output-path={out}", "--quiet",
                           "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"],
                          cwd=ROOT, env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")},
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"lighthouse failed: {proc.stderr[-1500:]}")
    report = json.loads(out.read_text())
    audits = report["audits"]
    result = {c: report["categories"][c]["score"] for c in ("performance", "accessibility")}
    result.update({name: audits[a].get("numericValue") for a, name in METRICS.items()})
    result["requests"] = len(audits["network-requests"]["details"]["items"])
    result["accessibility_failures"] = sorted(a["id"] for a in report["categories"]["accessibility"]["auditRefs"]
                                              if audits[a["id"]].get("score") not in (None, 1) and a["weight"])
    origin = "/".join(url.split("/")[:3])
    result["largest_resources"] = [{"url": i["url"].replace(origin, "")[:100], "bytes": i["totalBytes"]}
                                   for i in audits["total-byte-weight"]["details"]["items"][:6]]
    return result


def lighthouse_runs(server: Gunicorn, work: Path, runs: int) -> dict:
    out = {}
    for path in LIGHTHOUSE_PAGES:
        reports = [lighthouse(server.url(path), work / f"lh-{path.strip('/') or 'home'}-{i}.json") for i in range(runs)]
        summary = {"runs": runs, "scores": [{k: r[k] for k in ("performance", "accessibility")} for r in reports]}
        for key in ("performance", "accessibility", *METRICS.values(), "requests"):
            summary[key] = statistics.median(r[key] for r in reports)
        summary["accessibility_failures"] = sorted({f for r in reports for f in r["accessibility_failures"]})
        summary["largest_resources"] = reports[0]["largest_resources"]
        out[path] = summary
    return out


# ---- the benchmark ----------------------------------------------------------------------------------------

def _worker(code: str, data: Path) -> dict:
    run = run_python("dashboards", code, env={**ENV, "PULSE_DATA_DIR": str(data)})
    return json.loads(run.stdout.strip().splitlines()[-1])


def build_lake(data: Path, scale: str = "medium") -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "etl", "demo", "--scale", scale], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "PULSE_DATA_DIR": str(data)})
    shutil.rmtree(data / "demo-src", ignore_errors=True)
    return time.perf_counter() - started


def measure(data: Path, work: Path, repeats: int = REPEATS, runs: int = LIGHTHOUSE_RUNS) -> dict:
    """Every part over an existing lake (`data`); `work` holds the Lighthouse reports."""
    results = {"goals": GOALS, "repeats": repeats}
    results["in_process"] = _worker(f"from benchmarks.dashboards import callback_worker; callback_worker({repeats})", data)
    server = Gunicorn(data)
    try:
        results["http"] = _worker(f"from benchmarks.dashboards import http_worker; http_worker({server.port}, {repeats})",
                                  data)
        results["lighthouse"] = lighthouse_runs(server, work, runs)
    finally:
        server.stop()
    return results


def run(scale: str = "medium", repeats: int = REPEATS, runs: int = LIGHTHOUSE_RUNS) -> dict:
    with tempfile.TemporaryDirectory(prefix="pulse-bench-dashboards-") as tmp:
        data = Path(tmp) / "data"
        build_s = build_lake(data, scale)
        results = {"scale": scale, "build_s": round(build_s, 1)}
        results.update(measure(data, Path(tmp), repeats, runs))
    return results
