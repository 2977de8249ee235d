"""`python -m benchmarks --only embed`: what a partner's reader downloads for one embedded chart (and a KPI
tile), beside the full dashboard page the chart comes from (issue 17, "What it must show").

Measured in Debian's Chromium through the DevTools protocol (every response's encoded bytes, as sent
on the wire: compressed), each page opened in a fresh browser context (an empty browser cache) after
one warm-up load (the server's caches full): the baseline is the dashboard page in the same run.
Chromium offers gzip, not brotli, over plain http, so the bytes are gzip's; behind TLS they shrink.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.dashboards import Gunicorn, build_lake

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
PAGES = {  # name -> (path, a selector present once the view is drawn)
    "chart_embed": ("/embed/sr-volume", "#embed-chart .main-svg"),
    "kpi_embed": ("/embed/kpi-sr_open_backlog", ".tile .value"),
    "dashboard_page": ("/service-requests", "#sr-volume-graph .main-svg"),
}
RUNS = 3


def _load(browser, url: str, ready: str) -> dict:
    ctx = browser.new_context()
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    seen = {"bytes": 0, "requests": 0}

    def finished(event):
        seen["bytes"] += event["encodedDataLength"]
        seen["requests"] += 1

    cdp.on("Network.loadingFinished", finished)
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(ready, timeout=60_000)
    drawn_ms = (time.perf_counter() - started) * 1000
    page.wait_for_load_state("networkidle")
    ctx.close()
    return {**seen, "drawn_ms": round(drawn_ms)}


def measure(server: Gunicorn, runs: int = RUNS) -> dict:
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        try:
            for name, (path, ready) in PAGES.items():
                _load(browser, server.url(path), ready)  # warm-up: the server's caches hold the answers
                loads = [_load(browser, server.url(path), ready) for _ in range(runs)]
                out[name] = {"path": path, "transfer_bytes": statistics.median(x["bytes"] for x in loads),
                             "requests": statistics.median(x["requests"] for x in loads),
                             "drawn_ms": statistics.median(x["drawn_ms"] for x in loads)}
        finally:
            browser.close()
    page = out["dashboard_page"]["transfer_bytes"]
    out["chart_embed_share_of_page"] = round(out["chart_embed"]["transfer_bytes"] / page, 3)
    out["kpi_embed_share_of_page"] = round(out["kpi_embed"]["transfer_bytes"] / page, 3)
    return out


def run(scale: str = "small", runs: int = RUNS) -> dict:
    with tempfile.TemporaryDirectory(prefix="pulse-bench-embed-") as tmp:
        data = Path(tmp) / "data"
        results = {"scale": scale, "build_s": round(build_lake(data, scale), 1), "runs": runs}
        server = Gunicorn(data)
        try:
            results.update(measure(server, runs))
        finally:
            server.stop()
    return results
