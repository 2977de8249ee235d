"""The volunteer finder's embed (issue 17, item 5) in real Chromium over loopback, on the demo city
(`--serving-scale`, default small), served by gunicorn (app:server, 2 workers):

transfer  bytes over the wire for /embed/volunteer-finder?<search> with everything it loads (the page,
          finder.css, finder.js), as Chromium received them (brotli), headers included: each
          navigation's and resource's transferSize, in a fresh browser context (nothing cached).
          Goal: under 100 KB.
render    milliseconds from navigation start to the result list drawn: an init script notes when the
          first `.finder-list li` is in the document and the frame after it has painted (two animation
          frames), read against the navigation's time origin. Median of RUNS fresh contexts, after one
          untimed navigation per search (the server's cache then holds the answer, as it does for
          every visitor after the first of a data version). Goal: under 500 ms.
baseline  the same, for a bare static HTML page holding the same finder markup without its stylesheet
          and script, served by gunicorn too (a ten-line WSGI app below): what a page with that list
          costs this browser on this machine, so `render_over_baseline` is the finder's own cost.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.dashboards import ENV, Gunicorn, build_lake
from benchmarks.exports import free_port
from benchmarks.measure import ROOT, stop_group

RUNS = 9
SEARCHES = ("", "borough=Brooklyn", "zip=11235&miles=5", "category=Education")
GOALS = {"transfer_kb": 100, "render_ms": 500}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
DRAWN = """
new MutationObserver(function (_, observer) {
  if (document.querySelector('.finder-list li')) {
    observer.disconnect();
    requestAnimationFrame(function () { requestAnimationFrame(function () { window.__drawn = performance.now(); }); });
  }
}).observe(document, {childList: true, subtree: true});
"""
SIZES = """() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
  .map(e => ({url: e.name, transfer: e.transferSize, body: e.decodedBodySize}))"""


def static_app(environ, start_response):
    """The baseline: one static HTML file (PULSE_BENCH_STATIC_HTML), as bare as a page can be served."""
    body = Path(os.environ["PULSE_BENCH_STATIC_HTML"]).read_bytes()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def _bare(html: str) -> str:
    """The finder's markup without its stylesheet and script."""
    import re

    return re.sub(r"<script[^>]*></script>|<link[^>]*>", "", html)


def _navigate(browser, url: str) -> dict:
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.add_init_script(DRAWN)
        page.goto(url)
        page.wait_for_function("() => window.__drawn !== undefined", timeout=30_000)
        drawn = page.evaluate("() => window.__drawn")
        entries = page.evaluate(SIZES)
        return {"drawn_ms": drawn, "transfer_bytes": sum(e["transfer"] for e in entries),
                "body_bytes": sum(e["body"] for e in entries), "requests": len(entries)}
    finally:
        ctx.close()


def measure(data: Path, work: Path, runs: int = RUNS) -> dict:
    from playwright.sync_api import sync_playwright

    server = Gunicorn(data)
    baseline_proc = None
    try:
        out = {"goals": GOALS, "runs": runs, "searches": {}}
        with urllib.request.urlopen(server.url("/embed/volunteer-finder?borough=Brooklyn"), timeout=60) as r:
            html = r.read().decode()
        static = work / "baseline.html"
        static.write_text(_bare(html))
        port = free_port()
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        baseline_proc = subprocess.Popen([gunicorn, "benchmarks.finder:static_app", "--workers", "2", "--bind",
                                          f"127.0.0.1:{port}"], cwd=ROOT, start_new_session=True,
                                         env={**os.environ, "PULSE_BENCH_STATIC_HTML": str(static)},
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(f"http://127.0.0.1:{port}/", baseline_proc)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            try:
                baseline_url = f"http://127.0.0.1:{port}/"
                _navigate(browser, baseline_url)
                base = [_navigate(browser, baseline_url) for _ in range(runs)]
                out["baseline"] = {"render_ms": round(statistics.median(b["drawn_ms"] for b in base), 1),
                                   "transfer_kb": round(base[0]["transfer_bytes"] / 1024, 1)}
                for search in SEARCHES:
                    url = server.url("/embed/volunteer-finder" + (f"?{search}" if search else ""))
                    _navigate(browser, url)  # the server computes and stores the answer once
                    got = [_navigate(browser, url) for _ in range(runs)]
                    render = statistics.median(g["drawn_ms"] for g in got)
                    out["searches"][search or "(default)"] = {
                        "render_ms": round(render, 1), "render_max_ms": round(max(g["drawn_ms"] for g in got), 1),
                        "transfer_kb": round(got[0]["transfer_bytes"] / 1024, 1),
                        "uncompressed_kb": round(got[0]["body_bytes"] / 1024, 1), "requests": got[0]["requests"],
                        "render_over_baseline": round(render / out["baseline"]["render_ms"], 2)}
            finally:
                browser.close()
        worst = max(out["searches"].values(), key=lambda s: s["render_ms"])
        out["transfer_kb_max"] = max(s["transfer_kb"] for s in out["searches"].values())
        out["render_ms_worst_search"] = worst["render_ms"]
        out["load_average"] = os.getloadavg()[0]
        return out
    finally:
        server.stop()
        if baseline_proc is not None:
            stop_group(baseline_proc)


def _wait(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                r.read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the baseline server did not start") from None
            time.sleep(0.1)


def run(scale: str = "small", runs: int = RUNS) -> dict:
    with tempfile.TemporaryDirectory(prefix="pulse-bench-finder-") as tmp:
        data = Path(tmp) / "data"
        build_s = build_lake(data, scale)
        return {"scale": scale, "build_s": round(build_s, 1), "env": ENV, **measure(data, Path(tmp), runs)}
