"""Storm morning (issue 13): everyone opens /snow at once, every open page polls for new versions,
and the lake takes a new version every 5 s meanwhile.

`python -m benchmarks --only storm` (part of `make bench`; ~4 min): builds the demo lake in a
temporary PULSE_DATA_DIR, serves it with gunicorn (the serving benchmark's configuration), starts
`python -m etl simulate --every 5`, records one real visit of /snow with headless Chromium (every
request the browser makes, in order, with the callbacks' bodies), then runs locust (a second process
on loopback) with 200 concurrent visitors for 60 s (benchmarks/storm_visitor.py): each opens the
page as recorded, polls /api/v1/version 5 s later, leaves, and is replaced. Then the same through
deploy/nginx.conf (nginx from apt, in front of the same gunicorn). Reported: page views per second,
the 95th percentile time to a complete page, requests per second, failed requests.
Goals: zero failures either way; through nginx at least 5x the page views per second. `floor` runs
the same visitors against an nginx answering every request with one static file as large as the
proxied run's mean answer: the page views per second the load generator itself reaches on this
machine moving those bytes, the ceiling any server setup can show here.

The arrival model bounds page views per second at users / (poll interval + time to a page): 200 /
5 s = 40 when pages are instant. `--storm-polls 0` removes the poll (visitors arrive back to back):
that measures the capacity of each setup rather than the visitors' pace.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.exports import free_port
from benchmarks.measure import ROOT, stop_group
from benchmarks.serving import ENV, Gunicorn, build_lake

VISITOR = Path(__file__).resolve().parent / "storm_visitor.py"
GOAL = {"failures": 0, "nginx_page_views_vs_direct": 5.0}


def record_visit(base: str, path: str = "/snow") -> dict:
    """Every request headless Chromium makes to open `path` and let it settle, in order; the
    version poll the open page makes afterwards is left out (the visitor script makes it)."""
    from playwright.sync_api import sync_playwright

    steps: list[dict] = []

    def seen(req) -> None:
        if not req.url.startswith(base):
            return
        rel = req.url[len(base):]
        if rel.startswith("/api/v1/version"):
            return
        name = rel.split("?")[0] if rel.startswith(("/_dash-update-component", "/_dash-component-suites", "/assets")) else rel
        steps.append({"method": req.method, "path": rel, "body": req.post_data or "", "name": name})

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page()
        page.on("request", seen)
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(2000)
        browser.close()
    return {"path": path, "page": steps}


def locust(host: str, visit: Path, out: Path, users: int, seconds: int, polls: int) -> dict:
    """One headless locust run; its summary from the CSV statistics it writes."""
    exe = str(Path(sys.executable).with_name("locust"))
    subprocess.run([exe, "-f", str(VISITOR), "--headless", "--host", host, "-u", str(users), "-r", str(users),
                    "-t", f"{seconds}s", "--csv", str(out), "--only-summary", "--loglevel", "WARNING",
                    "--stop-timeout", "10"],
                   cwd=ROOT, env={**os.environ, "PULSE_STORM_VISIT": str(visit), "PULSE_STORM_POLLS": str(polls)},
                   check=False, capture_output=True, timeout=seconds + 120)
    rows = {r["Name"]: r for r in csv.DictReader(open(f"{out}_stats.csv"))}
    failures = [[r["Method"], r["Name"], r["Error"][:120], int(r["Occurrences"])]
                for r in csv.DictReader(open(f"{out}_failures.csv"))][:5]
    page, total = rows["page /snow"], rows["Aggregated"]
    return {
        "page_views": int(page["Request Count"]),
        "page_views_per_s": round(int(page["Request Count"]) / seconds, 2),
        "page_p50_ms": float(page["50%"]), "page_p95_ms": float(page["95%"]),
        "requests_per_s": round(float(total["Requests/s"]), 1),
        "requests": int(total["Request Count"]) - int(page["Request Count"]),
        "failed": int(total["Failure Count"]),
        "bytes_per_request": round(float(total["Average Content Size"])),
        "failures": failures,
        "version_p95_ms": float(rows["/api/v1/version"]["95%"]) if "/api/v1/version" in rows else None,
        # where the time goes: the requests that took the most of it, summed over the run
        "costliest": sorted(([n, int(r["Request Count"]), round(float(r["Average Response Time"]))]
                             for n, r in rows.items() if n not in ("Aggregated", "page /snow")),
                            key=lambda x: -x[1] * x[2])[:5],
    }


def _nginx(workdir: Path, conf: Path) -> subprocess.Popen:
    """nginx on `conf`, in its own process group; raises if it exits at once."""
    proc = subprocess.Popen(["nginx", "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(1)
    if proc.poll() is not None:
        raise RuntimeError("nginx did not start: " + (workdir / "error.log").read_text()[-2000:])
    return proc


def start_nginx(workdir: Path, upstream_port: int) -> tuple[subprocess.Popen, int]:
    from deploy.nginx import unprivileged

    port = free_port()
    return _nginx(workdir, unprivileged(workdir, f"127.0.0.1:{upstream_port}", f"127.0.0.1:{port}")), port


FLOOR_CONF = """user root;  # as the proxied run: the temporary folder is readable by its owner only
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    client_body_temp_path {dir}/body;
    server {{
        listen 127.0.0.1:{port};
        root {dir};
        location / {{ default_type application/octet-stream; try_files /blob =404; }}
        error_page 405 =200 $uri;
    }}
}}
"""


def floor(workdir: Path, visit: Path, users: int, seconds: int, polls: int, blob_bytes: int) -> dict:
    """The same visitors against an nginx that answers every request (POSTs too) with one static
    file of `blob_bytes` (the mean answer of the proxied run, so a page view moves as many bytes):
    the most page views per second this load generator reaches on this machine, whatever the server."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "body").mkdir(exist_ok=True)
    (workdir / "blob").write_bytes(os.urandom(max(2, blob_bytes)))
    port = free_port()
    (workdir / "nginx.conf").write_text(FLOOR_CONF.format(dir=workdir, port=port))
    proc = _nginx(workdir, workdir / "nginx.conf")
    try:
        return {"blob_bytes": blob_bytes, **locust(f"http://127.0.0.1:{port}", visit, workdir / "floor", users, seconds,
                                                   polls)}
    finally:
        stop_group(proc)


def run(scale: str = "small", users: int = 200, seconds: int = 60, polls: int = 1) -> dict:
    for tool in ("nginx", "chromium"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise RuntimeError(f"{tool} is not installed: `make bench` installs it")
    result: dict = {"scale": scale, "users": users, "seconds": seconds, "polls_per_visit": polls,
                    "simulate_every_s": 5}
    with tempfile.TemporaryDirectory(prefix="pulse-bench-storm-") as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        build_lake(data, scale)
        # Rate limits off, as in the serving benchmark: locust's 200 visitors share one address.
        env = {**ENV, "PULSE_RATE_LIMIT_CALLBACKS": "", "PULSE_RATE_LIMIT_EXPORTS": "", "PULSE_DATA_DIR": str(data)}
        server = Gunicorn("app:server", env, "/healthz")
        simulate = subprocess.Popen([sys.executable, "-m", "etl", "simulate", "--every", "5"], cwd=ROOT,
                                    env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
        nginx = None
        try:
            visit = record_visit(server.url(""))
            (tmp / "visit.json").write_text(json.dumps(visit))
            result["page_requests"] = len(visit["page"])
            result["direct"] = locust(server.url(""), tmp / "visit.json", tmp / "direct", users, seconds, polls)
            nginx, port = start_nginx(tmp / "nginx", server.port)
            result["nginx"] = locust(f"http://127.0.0.1:{port}", tmp / "visit.json", tmp / "nginx", users, seconds,
                                     polls)
            cache = [json.loads(line)["cache"] for line in (tmp / "nginx" / "access.log").read_text().splitlines()]
            result["nginx"]["cache_hit_share"] = round(cache.count("HIT") / max(1, len(cache)), 3)
            stop_group(nginx)
            nginx = None
            result["floor"] = floor(tmp / "floor", tmp / "visit.json", users, seconds, polls,
                                    result["nginx"]["bytes_per_request"])
        finally:
            if nginx is not None:
                stop_group(nginx)
            stop_group(simulate)
            server.stop()
    direct = result["direct"]["page_views_per_s"]
    result["nginx_page_views_vs_direct"] = round(result["nginx"]["page_views_per_s"] / direct, 2) if direct else None
    # The most any server could show here: the load generator's own ceiling over the direct figure.
    result["floor_page_views_vs_direct"] = round(result["floor"]["page_views_per_s"] / direct, 2) if direct else None
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
