"""Lighthouse 12 (node_modules, `make node-deps`) desktop performance and accessibility of every page
(issue 16: performance >= 0.9 and accessibility 1.0 on each), on the demo city at
`python -m etl demo --scale medium` served by `gunicorn app:server -w 2`:

pages      `/`, `/?mode=meeting`, the three chart pages, `/data`, `/data/<dataset>` for every declared
           dataset, `/api` and the not-found page, LIGHTHOUSE_RUNS runs each, medians, with the
           metrics that make the score (LCP, TBT, CLS, speed index) and what blocked the main thread
           longest (bootup-time by script), so a slow page says why.
floor      the same audit of a bare Dash app drawing one plotly chart from the same plotly.js bundle
           (benchmarks/floor_app.py), served the same way in the same run: what the renderer and one
           chart cost on this machine, below which no page of ours can go.
before     with `--lighthouse-before DIR` (a checkout of the code to compare with, e.g.
           `git archive <commit> | tar -x -C DIR`), that code served over the same lake and audited
           in turn with ours, page by page, so both see the same load on a shared machine.
           `--lighthouse-page PATH` (repeatable) audits those pages alone, for a quicker A/B.

Each server answers every page once in a real browser before it is audited (a worker's first
query is not what a visitor's page view costs). Scores are noisy on a shared machine: compare with
the floor and the before figures of the same run, and re-run on a quiet machine.
"""
from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path

from benchmarks.dashboards import METRICS, Gunicorn, build_lake, lighthouse

LIGHTHOUSE_RUNS = 3
GOALS = {"performance": 0.9, "accessibility": 1.0}
NOT_FOUND = "/no-such-page"


def pages() -> list[str]:
    import datasets

    return ["/", "/?mode=meeting", "/service-requests", "/snow", "/volunteers", "/data",
            *[f"/data/{name}" for name in datasets.datasets()], "/api", NOT_FOUND]


def warm(server: Gunicorn, paths: list[str]) -> None:
    """Open every page once in Chromium and wait for its callbacks: the workers' readers, query
    caches and HTTP caches are then as a visitor's page view finds them."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=os.environ.get("CHROME_PATH", "/usr/bin/chromium"),
                                     args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1350, "height": 940})
        for path in paths:
            page.goto(server.url(path))
            page.wait_for_load_state("networkidle", timeout=120_000)
        browser.close()


def _bootup(report_path: Path) -> list[dict]:
    import json

    audits = json.loads(report_path.read_text())["audits"]
    return [{"script": i["url"].rsplit("/", 1)[-1].split("?")[0][:60], "ms": round(i["total"])}
            for i in audits["bootup-time"]["details"]["items"][:4]]


def summarise(reports: list[dict], bootup: list[dict]) -> dict:
    out = {"scores": [{k: r[k] for k in ("performance", "accessibility")} for r in reports]}
    for key in ("performance", "accessibility", *METRICS.values(), "requests"):
        out[key] = statistics.median(r[key] for r in reports)
    out["accessibility_failures"] = sorted({f for r in reports for f in r["accessibility_failures"]})
    out["bootup"] = bootup
    return out


def audit(targets: dict[str, tuple[Gunicorn, list[str]]], work: Path, runs: int) -> dict:
    """Every path of every server, `runs` rounds, taking the servers in turn page by page so that
    each sees the same load: {server: {path: summary}}."""
    reports = {name: {p: [] for p in paths} for name, (_, paths) in targets.items()}
    boot: dict[str, dict] = {name: {} for name in targets}
    order = list(dict.fromkeys(p for _, paths in targets.values() for p in paths))
    for i in range(runs):
        for path in order:
            for name, (server, paths) in targets.items():
                if path not in paths:
                    continue
                out = work / f"lh-{name}-{path.strip('/').replace('/', '_').replace('?', '_') or 'home'}-{i}.json"
                reports[name][path].append(lighthouse(server.url(path), out))
                boot[name].setdefault(path, _bootup(out))
    return {name: {p: summarise(rs, boot[name][p]) for p, rs in by_path.items()} for name, by_path in reports.items()}


def goals_met(results: dict) -> dict:
    """Which pages meet issue 16's goals, by their medians."""
    return {p: {"performance": r["performance"] >= GOALS["performance"],
                "accessibility": r["accessibility"] >= GOALS["accessibility"]} for p, r in results.items()}


def run(scale: str = "medium", runs: int = LIGHTHOUSE_RUNS, before: Path | None = None,
        only: list[str] | None = None) -> dict:
    """`only`: these pages alone (an A/B of a change to a few pages, `--lighthouse-page`), with the floor."""
    paths = only or pages()
    with tempfile.TemporaryDirectory(prefix="pulse-bench-lighthouse-") as tmp:
        data, work = Path(tmp) / "data", Path(tmp)
        results = {"scale": scale, "runs": runs, "goals": GOALS, "build_s": round(build_lake(data, scale), 1),
                   "load_average_before": os.getloadavg()[0]}
        targets: dict[str, tuple[Gunicorn, list[str]]] = {}
        try:
            targets["pulse"] = (Gunicorn(data), paths)
            targets["floor"] = (Gunicorn(data, app="benchmarks.floor_app:server", ready="/"), ["/"])
            if before is not None:
                targets["before"] = (Gunicorn(data, root=before.resolve()), paths)
            for server, server_paths in targets.values():
                warm(server, server_paths)
            measured = audit(targets, work, runs)
        finally:
            for server, _ in targets.values():
                server.stop()
        results["pages"] = measured["pulse"]
        results["floor"] = measured["floor"]["/"]
        if before is not None:
            results["before"] = measured["before"]
        results["goals_met"] = goals_met(measured["pulse"])
        results["load_average_after"] = os.getloadavg()[0]
    return results
