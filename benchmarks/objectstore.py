"""The lake on an S3 object store (issue 14, PULSE_LAKE_URL=s3://bucket/prefix) against the same lake
in a local folder, in the same run, on the same data: the demo lake built once
(benchmarks/realtime.py `base_lake`) and its files uploaded unchanged into a bucket of a real
SeaweedFS (`weed server -s3`, tests/servers.ObjectStore), started and stopped here.

warm     the five 311 dashboard queries (realtime.QUERIES, timed by realtime.query_worker: 7 runs of
         each after one warm-up, no result cache) on a warm node over the store (its PULSE_DATA_DIR
         already holds the files the queries read) and on the local-folder lake, each round one
         fresh process per contender, the order alternating; all runs pooled, medians and p90s, and
         the ratio store / local of the medians. Goal: at most 1.1x. A warm node still asks the store
         for the current pointer every PULSE_LAKE_POLL_SECONDS: that is part of what is measured.
cold     each query's first answer on a node with an empty PULSE_DATA_DIR (its own fresh process and
         folder per query): the pointer, the manifest and every file the query reads fetched from the
         store. Beside it the same first query of a fresh process on the local lake. Recorded, no goal.
publish  a 1,000-row micro-batch (realtime.Batches / publish_worker: 500 closures + 500 new requests)
         published into an N-row service_requests (`--objectstore-rows`, 10M by default) through the
         store — upload, manifest created if absent, pointer moved with If-Match — beside the same
         on a local-folder clone, in rounds with the order alternating. The writer's node holds the
         lake's files (Batches reads them all, untimed) before the first timed publish, as a writer
         that has run before does.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.realtime import QUERIES, base_lake, clone, worker

OUT = Path(__file__).resolve().parent / "out" / "objectstore"
BUCKET = "pulse-bench"
GOAL = {"warm_ratio": 1.1}


def upload(s3, lake_dir: Path, prefix: str) -> dict:
    """Every file of a local lake to s3://BUCKET/prefix/ under the same relative keys: the on-disk
    contract is the same in both places (docs/decisions/0016), so this is the lake, byte for byte."""
    files = [p for p in lake_dir.rglob("*") if p.is_file()]
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: s3.upload_file(str(p), BUCKET, f"{prefix}/{p.relative_to(lake_dir)}"), files))
    return {"files": len(files), "mb": round(sum(p.stat().st_size for p in files) / 2**20, 1),
            "seconds": round(time.perf_counter() - started, 1)}


def cold_worker(q: str) -> None:
    """The first answer of query q in this fresh process (imports not timed), and how many files the
    node's folder then holds (what the query fetched, over the store)."""
    import lake  # noqa: F401
    from portal import queries

    name, params = QUERIES[q]
    t = time.perf_counter()
    queries.run(name, **params)
    ms = (time.perf_counter() - t) * 1000
    held = [p for p in (Path(os.environ["PULSE_DATA_DIR"]) / "lake").rglob("*.parquet")]
    print(json.dumps({"ms": ms, "files": len(held), "mb": sum(p.stat().st_size for p in held) / 2**20}))


def _pooled(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {"median": round(statistics.median(xs), 2), "p90": round(xs[int(0.9 * (len(xs) - 1))], 2), "n": len(xs)}


def warm(local_env: dict, s3_env: dict, rounds: int) -> dict:
    worker("query_worker", env=s3_env)  # fills the node's folder: from here on it is a warm node
    runs: dict[str, dict[str, list[float]]] = {"local": {q: [] for q in QUERIES}, "s3": {q: [] for q in QUERIES}}
    for r in range(rounds):
        order = [("local", local_env), ("s3", s3_env)]
        for who, env in order if r % 2 == 0 else reversed(order):
            out = worker("query_worker", env=env)
            for q in QUERIES:
                runs[who][q] += out["times"][q]
    per_query = {}
    for q, (name, _) in QUERIES.items():
        local, s3 = _pooled(runs["local"][q]), _pooled(runs["s3"][q])
        per_query[q] = {"query": name, "local_ms": local, "s3_ms": s3, "ratio": round(s3["median"] / local["median"], 2)}
    total = {who: sum(statistics.median(runs[who][q]) for q in QUERIES) for who in runs}
    return {"rounds": rounds, "runs_per_query": len(runs["local"]["q1"]), "per_query": per_query,
            "local_total_ms": round(total["local"], 2), "s3_total_ms": round(total["s3"], 2),
            "ratio_total": round(total["s3"] / total["local"], 2), "goal_ratio": GOAL["warm_ratio"]}


def cold(local_env: dict, s3_env: dict, node_root: Path) -> dict:
    out = {}
    for q, (name, _) in QUERIES.items():
        node = node_root / f"cold-{q}"
        shutil.rmtree(node, ignore_errors=True)
        first = worker("cold_worker", q, env={**s3_env, "PULSE_DATA_DIR": str(node)}, module="benchmarks.objectstore")
        local = worker("cold_worker", q, env=local_env, module="benchmarks.objectstore")
        out[q] = {"query": name, "s3_empty_node_ms": round(first["ms"], 1), "fetched_files": first["files"],
                  "fetched_mb": round(first["mb"], 1), "local_fresh_process_ms": round(local["ms"], 1)}
        shutil.rmtree(node, ignore_errors=True)
    return out


def publish(s3, rows: int, batches: int, rounds: int) -> dict:
    """Each round: a fresh local clone and a fresh copy in the store (its own prefix, a writer node
    with an empty folder), batches // rounds publishes on each, the order alternating, so both meet
    the same load of a shared machine."""
    base = base_lake(rows)
    out: dict = {"rows": rows, "rounds": rounds}
    runs: dict[str, dict[str, list[float]]] = {who: {"seconds": [], "rollups_seconds": []} for who in ("local", "s3")}
    for r in range(rounds):
        prefix, node = f"publish-{rows}-{r}", OUT / "publish-node"
        sent = upload(s3.client(), base / "lake", prefix)
        out.setdefault("uploaded", sent)
        local_dir = clone(base, "objectstore-publish")
        shutil.rmtree(node, ignore_errors=True)
        order = [("local", {"PULSE_DATA_DIR": str(local_dir)}),
                 ("s3", {**s3.env, "PULSE_LAKE_URL": f"s3://{BUCKET}/{prefix}", "PULSE_DATA_DIR": str(node)})]
        for who, env in order if r % 2 == 0 else reversed(order):
            run = worker("publish_worker", batches // rounds, env=env)
            for k in runs[who]:
                runs[who][k] += run[k]
            out["counts"] = run["counts"][0]
        shutil.rmtree(local_dir)
        shutil.rmtree(node, ignore_errors=True)
    for who, got in runs.items():
        out[who] = {"seconds": _pooled(got["seconds"]), "of_which_rollups": _pooled(got["rollups_seconds"])}
    out["ratio_median"] = round(out["s3"]["seconds"]["median"] / out["local"]["seconds"]["median"], 2)
    return out


def run(rows: int = 10_000_000, query_rows: int = 1_000_000, rounds: int = 5, batches: int = 30,
        publish_rounds: int = 3) -> dict:
    from tests.servers import ObjectStore

    started = time.perf_counter()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    s3 = ObjectStore(OUT / "seaweedfs")
    try:
        s3.bucket(BUCKET)
        base = base_lake(query_rows)
        prefix = f"queries-{query_rows}"
        results = {"query_rows": query_rows, "uploaded": upload(s3.client(), base / "lake", prefix)}
        local_dir = clone(base, "objectstore-queries")
        local_env = {"PULSE_DATA_DIR": str(local_dir)}
        s3_env = {**s3.env, "PULSE_LAKE_URL": f"s3://{BUCKET}/{prefix}", "PULSE_DATA_DIR": str(OUT / "warm-node")}
        results["cold"] = cold(local_env, s3_env, OUT)
        results["warm"] = warm(local_env, s3_env, rounds)
        shutil.rmtree(local_dir)
        results["publish"] = publish(s3, rows, batches, publish_rounds)
    finally:
        s3.stop()
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results
