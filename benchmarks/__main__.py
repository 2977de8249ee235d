"""`python -m benchmarks [--rows N] [--only NAME]`: run the benchmarks, print and save the results.

Results land in benchmarks/out/results.json; docs/benchmarks.md quotes them with this command.
"""
from __future__ import annotations

import argparse
import json
import platform
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import (
    columns,
    dashboards,
    embed,
    exports,
    finder,
    heavy,
    ingest,
    lighthouse,
    numbers,
    objectstore,
    queries,
    realtime,
    serving,
    soda,
    storage,
    storm,
)
from benchmarks.ingest import OUT

BENCHES = {
    "ingest": lambda a: ingest.run(rows=a.rows, repeats=a.rounds or (1 if a.rows > 5_000_000 else 2)),
    "storage": lambda a: storage.run(rows=a.storage_rows),
    "queries": lambda a: queries.run(rows=a.rows),
    "exports": lambda a: exports.run(rows=a.rows),
    "realtime": lambda a: realtime.run(rows=a.realtime_rows, batches=a.realtime_batches, ratio_rows=a.realtime_ratio_rows),
    "dashboards": lambda a: dashboards.run(scale="medium" if a.rows == 1_000_000 else str(a.rows)),
    "lighthouse": lambda a: lighthouse.run(scale="medium" if a.rows == 1_000_000 else str(a.rows), runs=a.lighthouse_runs,
                                           before=a.lighthouse_before, only=a.lighthouse_page),
    "numbers": lambda a: numbers.run(scale="medium" if a.rows == 1_000_000 else str(a.rows)),
    "serving": lambda a: serving.run(scale=a.serving_scale),
    "storm": lambda a: storm.run(scale=a.serving_scale, users=a.storm_users, seconds=a.storm_seconds, polls=a.storm_polls),
    "objectstore": lambda a: objectstore.run(rows=a.objectstore_rows, query_rows=a.objectstore_query_rows),
    "memory": lambda a: heavy.memory(scale=a.serving_scale),
    "queue": lambda a: heavy.queue(scale=a.serving_scale),
    "soda": lambda a: soda.run(rows=a.rows),
    "finder": lambda a: finder.run(scale=a.serving_scale),
    "embed": lambda a: embed.run(scale=a.serving_scale),
    "columns": lambda a: columns.run(rows=a.rows),
}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks")
    p.add_argument("--rows", type=int, default=1_000_000, help="311 rows for the ingest benchmark")
    p.add_argument("--rounds", type=int, help="ingest rounds (each runs every contender once); default 2, 1 above 5M rows")
    p.add_argument("--storage-rows", type=int, default=5_000_000, help="table size for the storage benchmark")
    p.add_argument("--realtime-rows", type=int, default=10_000_000, help="service_requests size for the realtime benchmark")
    p.add_argument("--realtime-batches", type=int, default=1000, help="micro-batches before the realtime query ratio")
    p.add_argument("--realtime-ratio-rows", type=int, default=1_000_000, help="service_requests size for that ratio")
    p.add_argument("--objectstore-rows", type=int, default=10_000_000, help="service_requests size for the object-store publish")
    p.add_argument("--objectstore-query-rows", type=int, default=1_000_000, help="demo lake size for the object-store query ratio")
    p.add_argument("--serving-scale", default="small", help="demo lake scale for the serving, memory, queue and storm benchmarks")
    p.add_argument("--storm-users", type=int, default=200, help="concurrent visitors of the storm-morning benchmark")
    p.add_argument("--storm-seconds", type=int, default=60, help="how long each storm-morning run lasts")
    p.add_argument("--storm-polls", type=int, default=1, help="version polls (5 s apart) a storm visitor makes before leaving")
    p.add_argument("--lighthouse-runs", type=int, default=lighthouse.LIGHTHOUSE_RUNS, help="Lighthouse runs per page")
    p.add_argument("--lighthouse-before", type=Path, help="a checkout of the code to audit beside this one, page by page")
    p.add_argument("--lighthouse-page", action="append", help="audit only this page (repeatable; default every page)")
    p.add_argument("--only", choices=sorted(BENCHES), action="append")
    args = p.parse_args()
    results = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform()}
    for name in args.only or BENCHES:
        print(f"running {name} ...", flush=True)
        results[name] = BENCHES[name](args)
        print(json.dumps(results[name], indent=1), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"results-{'-'.join(args.only or BENCHES)}-{args.rows}.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
