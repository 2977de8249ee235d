"""Real time (issue 6), over an N-row service_requests built once per run with the demo generator
(`python -m etl demo --scale N`) and hard-link cloned for each part (lake files are immutable):

publish   latency of a 1,000-row micro-batch (500 closures of the newest open requests + 500 new
          requests) through the ordinary load path — goal under 1 s at 10M rows;
freshness a request added to a local Open311 source until `/api/v1/datasets/service_requests/rows`
          served by a real gunicorn returns it, with `python -m etl poll open311 --every S` in
          between — goal p95 under S + 2 s;
queries   the dashboard's named queries (portal/queries.py) after 1,000 such micro-batches (with the
          automatic compaction the writers do) as a ratio to the same lake freshly compacted
          (`compact --full`) — goal at most 1.5x; plus files and bytes on disk, before and after
          retention. On a 1M-row lake by default (`--realtime-ratio-rows`): 1,000 publishes at 10M
          rows take too long to repeat each run.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.measure import ROOT, run_python

OUT = Path(__file__).resolve().parent / "out" / "realtime"
QUERIES = {  # the five 311 dashboard queries of the query benchmark (benchmarks/queries.py)
    "q1": ("sr_time_to_close", {"start": "2026-08-23", "end": "2026-11-20"}),
    "q2": ("sr_volume_by_borough", {"start": "2025-11-21", "end": "2026-11-20", "period": "week"}),
    "q3": ("sr_within_target", {"start": "2025-11-21", "end": "2026-11-20"}),
    "q4": ("sr_open_backlog", {"start": "2025-11-21", "end": "2026-11-20"}),
    "q5": ("sr_top_descriptors", {"start": "2026-01-01", "end": "2026-06-30", "complaint_type": "Noise - Residential",
                                  "borough": "BROOKLYN"}),
}


def base_lake(rows: int) -> Path:
    """The demo lake at `rows` 311 requests, built once and kept (its 311 CSV deleted) for later runs,
    and brought up to the rollups and projections declared today (`compact --full`) when code has
    changed them since: otherwise the first publish of each part would pay for that."""
    from benchmarks.queries import up_to_date

    data = OUT / f"base-{rows}"
    if not (data / "lake" / "service_requests" / "CURRENT").exists():
        shutil.rmtree(data, ignore_errors=True)
        run_python("demo", f"from etl import demo; demo.build(scale={rows}, seed=311)", env={"PULSE_DATA_DIR": str(data)})
        shutil.rmtree(data / "demo-src", ignore_errors=True)
    if not up_to_date(data):
        subprocess.run([sys.executable, "-m", "etl", "compact", "service_requests", "--full"], cwd=ROOT,
                       env={**os.environ, "PULSE_DATA_DIR": str(data)}, check=True, capture_output=True)
    return data


def clone(base: Path, name: str) -> Path:
    """A copy of the lake sharing its (immutable) data files: `cp -al`, instant at any size."""
    target = OUT / name
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(["cp", "-al", str(base), str(target)], check=True)
    for current in target.glob("lake/*/CURRENT"):  # CURRENT and OLDEST are replaced by rename, but be safe
        current.write_text(current.read_text())
    return target


# ---- micro-batches ---------------------------------------------------------------------------------

class Batches:
    """1,000-row micro-batches as a city's feed sends them, written as Parquet in the plain schema: 500
    closures of the newest requests still open (those the batch before opened; the lake's newest open
    ones for the first) and 500 new requests, their shapes sampled from the lake."""

    def __init__(self, folder: Path, closes: int = 500, new: int = 500):
        import duckdb

        import lake

        self.folder, self.closes, self.new = folder, closes, new
        folder.mkdir(parents=True, exist_ok=True)
        files = lake.file_paths("service_requests", lake.manifest("service_requests"))
        self.con = duckdb.connect(config={"memory_limit": "400MB"})
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"CREATE TABLE still_open AS SELECT * FROM read_parquet(?) WHERE status <> 'Closed' "
                         f"ORDER BY created DESC LIMIT {closes}", [files])
        self.con.execute("CREATE TABLE sample AS SELECT * FROM read_parquet(?) USING SAMPLE reservoir(5000 ROWS) "
                         "REPEATABLE (311)", [files])
        self.t0 = self.con.execute("SELECT max(created) FROM read_parquet(?)", [files]).fetchone()[0]
        self.i = 0

    def next(self) -> Path:
        i, path = self.i, self.folder / f"batch-{self.i:05d}.parquet"
        self.i += 1
        self.con.execute(f"""CREATE OR REPLACE TABLE opened AS
            SELECT * REPLACE ('B' || lpad(CAST({i * self.new} + n AS VARCHAR), 9, '0') AS request_id,
                              TIMESTAMPTZ '{self.t0}' + to_milliseconds(({i * self.new} + n) * 200) AS created,
                              TIMESTAMPTZ '{self.t0}' + to_milliseconds(({i * self.new} + n) * 200) + INTERVAL 7 DAY AS due,
                              NULL::TIMESTAMPTZ AS closed, 'Open' AS status, NULL AS resolution_description,
                              NULL::TIMESTAMPTZ AS resolution_updated)
            FROM (SELECT *, row_number() OVER () AS n FROM sample USING SAMPLE reservoir({self.new} ROWS) REPEATABLE ({i}))""")
        self.con.execute(f"""COPY (
            SELECT * REPLACE ('Closed' AS status, created + INTERVAL 1 HOUR AS closed,
                              created + INTERVAL 1 HOUR AS resolution_updated,
                              'The agency resolved the condition.' AS resolution_description)
            FROM (SELECT * FROM still_open ORDER BY created DESC LIMIT {self.closes})
            UNION ALL BY NAME SELECT * EXCLUDE (n) FROM opened) TO '{path}' (FORMAT parquet)""")
        self.con.execute("CREATE OR REPLACE TABLE still_open AS SELECT * EXCLUDE (n) FROM opened")
        return path


def publish_worker(n: int) -> None:
    """In a lake: time `load_file` of n micro-batches (batch writing not timed), and within it the
    rewrite of the version's rollups (etl/rollups.py), the part that grows with the table."""
    from etl import load, rollups

    spent = []
    real = rollups.materialise

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t)

    load.rollups.materialise = timed
    batches = Batches(Path(os.environ["PULSE_DATA_DIR"]) / "batches")
    load.load_file("service_requests", batches.next())  # the process's first load opens its libraries
    times, counts = [], []
    spent.clear()
    for _ in range(n):
        path = batches.next()
        t = time.perf_counter()
        r = load.load_file("service_requests", path)
        times.append(time.perf_counter() - t)
        counts.append((r.inserted, r.updated, r.rejected))
        path.unlink()
    print(json.dumps({"seconds": times, "rollups_seconds": spent, "counts": counts}))


def microbatch_worker(n: int) -> None:
    """n micro-batches with the automatic compaction the real-time writers do (etl/compact.py)."""
    import lake
    from etl import compact
    from etl.load import load_file

    batches = Batches(Path(os.environ["PULSE_DATA_DIR"]) / "batches")
    publish, compactions = [], []
    for _ in range(n):
        path = batches.next()
        t = time.perf_counter()
        load_file("service_requests", path)
        publish.append(time.perf_counter() - t)
        t = time.perf_counter()
        if compact.after_publish("service_requests"):
            compactions.append(time.perf_counter() - t)
        path.unlink()
    m = lake.manifest("service_requests")
    print(json.dumps({"publish_s": publish, "compactions_s": compactions, "files": len(m.files), "version": m.version,
                      "disk": compact.disk_usage("service_requests")}))


def query_worker() -> None:
    """Median of 7 uncached runs of each dashboard query (after one warm-up), in this fresh process;
    under "times" every run, for benchmarks that pool several processes' runs (benchmarks/objectstore.py)."""
    import lake
    from portal import queries

    out: dict = {"times": {}}
    for q, (name, params) in QUERIES.items():
        queries.run(name, **params)
        times = []
        for _ in range(7):
            t = time.perf_counter()
            queries.run(name, **params)
            times.append((time.perf_counter() - t) * 1000)
        out[q] = statistics.median(times)
        out["times"][q] = times
    out["files"] = len(lake.manifest("service_requests").files)
    print(json.dumps(out))


def worker(name: str, *args, env: dict, module: str = "benchmarks.realtime") -> dict:
    """Run function `name` of `module` in its own process with `env`; its last line of output, as JSON."""
    code = f"from {module} import {name}; {name}(*{args!r})"
    run = run_python(name, code, env={"PULSE_QUERY_TIME_LIMIT_MS": "60000", "PULSE_CACHE_TYPE": "null", **env})
    return json.loads(run.stdout.strip().splitlines()[-1])


def _disk(base: Path) -> dict:
    files = size = 0
    for root, _, names in os.walk(base):
        for name in names:
            if name.endswith(".parquet"):
                files += 1
                size += os.path.getsize(os.path.join(root, name))
    return {"files": files, "mb": round(size / 2**20, 1)}


def _stats(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {"n": len(xs), "median": round(statistics.median(xs), 3), "p95": round(xs[int(0.95 * (len(xs) - 1))], 3),
            "max": round(xs[-1], 3)}


# ---- freshness: a local Open311 source -> poller -> lake -> gunicorn -> the rows API ---------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())
    except OSError:
        return None


def freshness(data: Path, samples: int, interval: float) -> dict:
    from tests.open311_source import Open311Source, request

    env = {**os.environ, "PULSE_DATA_DIR": str(data), "PULSE_CACHE_TYPE": "null"}
    port = _free_port()
    web = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "app:server", "--workers", "2", "--bind",
                            f"127.0.0.1:{port}", "--timeout", "120"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/api/v1/datasets/service_requests/rows?limit=1&columns=request_id&request_id="
    latencies = []
    with Open311Source() as src:
        src.add(request(0, datetime.now(UTC)))
        poller = subprocess.Popen([sys.executable, "-m", "etl", "poll", "open311", src.url, "--every", str(interval)],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 300
            while not (_get_json(api + "R0000000") or {}).get("rows"):  # the server is up and the first poll landed
                if time.monotonic() > deadline:
                    raise RuntimeError("freshness: the portal never served the first request")
                time.sleep(0.2)
            rng = random.Random(6)
            for n in range(1, samples + 1):
                time.sleep(rng.uniform(0, interval))  # arrive at any moment of the poll cycle
                t0 = time.monotonic()
                src.add(request(n, datetime.now(UTC)))
                while not (_get_json(api + f"R{n:07d}") or {}).get("rows"):
                    if time.monotonic() - t0 > 10 * interval + 60:
                        raise RuntimeError(f"freshness: request {n} never appeared")
                    time.sleep(0.05)
                latencies.append(time.monotonic() - t0)
        finally:
            poller.terminate()
            web.terminate()
            poller.wait(30)
            web.wait(30)
    return {"interval_s": interval, **_stats(latencies), "goal_p95_s": interval + 2}


# ---- the benchmark ---------------------------------------------------------------------------------

def run(rows: int = 10_000_000, batches: int = 1000, latency_batches: int = 30, samples: int = 20,
        interval: float = 5.0, ratio_rows: int = 1_000_000) -> dict:
    """Publish latency and freshness at `rows`; the 1,000-batch query ratio at `ratio_rows` (a 10M-row
    publish spends seconds rewriting rollups, which would make 1,000 of them hours: see docs/benchmarks-history.md)."""
    started = time.perf_counter()
    base = base_lake(rows)
    results = {"rows": rows, "build_s": round(time.perf_counter() - started, 1)}

    lake_dir = clone(base, "publish")
    pub = worker("publish_worker", latency_batches, env={"PULSE_DATA_DIR": str(lake_dir)})
    results["publish"] = {**_stats(pub["seconds"]), "batch": "500 closures + 500 new", "goal_s": 1.0,
                          "counts": pub["counts"][0], "of_which_rollups": _stats(pub["rollups_seconds"]),
                          "without_rollups": _stats([a - b for a, b in zip(pub["seconds"], pub["rollups_seconds"], strict=True)])}
    shutil.rmtree(lake_dir)

    lake_dir = clone(base, "fresh")
    results["freshness"] = freshness(lake_dir, samples, interval)
    shutil.rmtree(lake_dir)

    lake_dir = clone(base_lake(ratio_rows), "queries")
    env = {"PULSE_DATA_DIR": str(lake_dir)}
    fresh_base = worker("query_worker", env=env)
    micro = worker("microbatch_worker", batches, env=env)
    after = worker("query_worker", env=env)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "etl", "compact", "service_requests", "--full"], cwd=ROOT,
                   env={**os.environ, **env}, check=True, capture_output=True)
    full_s = time.perf_counter() - t
    compacted = worker("query_worker", env=env)
    t = time.perf_counter()
    retention = subprocess.run([sys.executable, "-m", "etl", "compact", "service_requests", "--retention-only", "--json"],
                               cwd=ROOT, env={**os.environ, **env, "PULSE_KEEP_HOURS": "0"}, check=True,
                               capture_output=True, text=True)
    retention_s = time.perf_counter() - t
    kept = json.loads(retention.stdout.strip().splitlines()[-1])["datasets"][0]
    results["queries"] = {
        "rows": ratio_rows, "batches": batches,
        "per_query_ms": {q: {"base_lake": round(fresh_base[q], 2), "after_batches": round(after[q], 2),
                             "freshly_compacted": round(compacted[q], 2), "ratio": round(after[q] / compacted[q], 2)}
                         for q in QUERIES},
        "ratio_total": round(sum(after[q] for q in QUERIES) / sum(compacted[q] for q in QUERIES), 2),
        "files_after_batches": micro["files"], "files_compacted": compacted["files"], "goal_ratio": 1.5,
        "publish_during": _stats(micro["publish_s"]),
        "auto_compactions": _stats(micro["compactions_s"]) if micro["compactions_s"] else None,
        "full_compaction_s": round(full_s, 1),
        "disk_after_batches": {"files": micro["disk"]["files"], "mb": round(micro["disk"]["bytes"] / 2**20, 1)},
        "retention_keep_100_versions": {
            "kept_from_version": kept["oldest"], "snapshots": kept["snapshots"], "versions_pruned": kept["versions_pruned"],
            "files_deleted": kept["files_deleted"], "mb_freed": round(kept["bytes_freed"] / 2**20, 1),
            "seconds": round(retention_s, 2), "disk_after": _disk(lake_dir / "lake" / "service_requests")},
    }
    shutil.rmtree(lake_dir)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results
