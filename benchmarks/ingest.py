"""Ingest of an NYC-311-format export CSV into the lake, validation and upsert included, beside
two baselines in the same run (issue 2):
  - duckdb_copy: DuckDB's bare COPY (SELECT * FROM read_csv(...)) TO parquet, the ceiling of this stack;
  - pandas: pandas.read_csv + DataFrame.to_parquet.
Goal: Pulse >= 0.7x duckdb_copy rows/s, faster than pandas, peak RSS < 1 GiB at 20M rows.
Ratios are medians of per-round ratios (see run()).
"""
from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

from benchmarks.measure import run_python

OUT = Path(__file__).resolve().parent / "out"

DUCKDB_COPY = """
import time, duckdb
t = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("COPY (SELECT * FROM read_csv('{csv}')) TO '{out}' (FORMAT parquet)")
print(time.perf_counter() - t)
"""

PANDAS = """
import time, pandas as pd
t = time.perf_counter()
pd.read_csv('{csv}', low_memory=False).to_parquet('{out}')
print(time.perf_counter() - t)
"""

PULSE = """
import time, json
from etl.load import load_file
t = time.perf_counter()
r = load_file('service_requests', '{csv}')
print(json.dumps({{'seconds': time.perf_counter() - t, **r.to_dict()}}))
"""


def source_csv(rows: int) -> Path:
    from etl.demo import write_nyc311_csv

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"nyc311_{rows}.csv"
    if not path.exists():
        write_nyc311_csv(path, rows)
    return path


def _seconds(run) -> float:
    return float(run.stdout.strip().splitlines()[-1])


def run(rows: int = 1_000_000, repeats: int = 2) -> dict:
    """`repeats` rounds, each running every contender once, back to back.

    Why rounds and medians rather than the best of each: on a shared machine a contender's best and
    another's can come from different moments; a round's ratio compares runs made under the same load.
    """
    csv = source_csv(rows)
    work = OUT / "ingest-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with_pandas = rows <= 5_000_000  # pandas needs 6.7 GB at 20M rows (issue 2)
    rounds = []
    for i in range(repeats):
        copy = run_python("duckdb_copy", DUCKDB_COPY.format(csv=csv, out=work / "copy.parquet"))
        pandas_run = run_python("pandas", PANDAS.format(csv=csv, out=work / "pandas.parquet")) if with_pandas else None
        lake = work / f"lake{i}"
        pulse = run_python("pulse", PULSE.format(csv=csv), env={"PULSE_DATA_DIR": str(lake)})
        shutil.rmtree(lake, ignore_errors=True)
        rounds.append({"duckdb_copy": copy, "pandas": pandas_run, "pulse": pulse,
                       "report": json.loads(pulse.stdout.strip().splitlines()[-1])})
    results = {"rows": rows, "csv_mb": round(csv.stat().st_size / 2**20, 1), "rounds": repeats}

    def summary(name: str, seconds: list[float]) -> dict:
        s = statistics.median(seconds)
        return {"seconds": round(s, 3), "rows_per_s": round(rows / s), "all_seconds": [round(x, 2) for x in seconds],
                "peak_rss_mb": round(max(r[name].peak_rss_mb for r in rounds))}

    copy_s = [_seconds(r["duckdb_copy"]) for r in rounds]
    pulse_s = [r["report"]["seconds"] for r in rounds]
    results["duckdb_copy"] = summary("duckdb_copy", copy_s)
    if with_pandas:
        pandas_s = [_seconds(r["pandas"]) for r in rounds]
        results["pandas"] = summary("pandas", pandas_s)
    report = rounds[-1]["report"]
    results["pulse"] = {**summary("pulse", pulse_s), "inserted": report["inserted"], "rejected": report["rejected"]}
    results["pulse_vs_duckdb_copy"] = round(statistics.median(c / p for c, p in zip(copy_s, pulse_s, strict=True)), 2)
    if with_pandas:
        results["pulse_vs_pandas"] = round(statistics.median(c / p for c, p in zip(pandas_s, pulse_s, strict=True)), 2)
    shutil.rmtree(work, ignore_errors=True)
    return results
