"""Ingest of an NYC-311-format export CSV into the lake, validation and upsert included, beside
two baselines in the same run (issue 2):
  - duckdb_copy: DuckDB's bare COPY (SELECT * FROM read_csv(...)) TO parquet, the ceiling of this stack;
  - pandas: pandas.read_csv + DataFrame.to_parquet.
Goal: Pulse >= 0.7x duckdb_copy rows/s, faster than pandas, peak RSS < 1 GiB at 20M rows.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks.measure import best_of

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


def run(rows: int = 1_000_000, repeats: int = 2) -> dict:
    csv = source_csv(rows)
    work = OUT / "ingest-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    results = {"rows": rows, "csv_mb": round(csv.stat().st_size / 2**20, 1)}
    copy = best_of(repeats, "duckdb_copy", DUCKDB_COPY.format(csv=csv, out=work / "copy.parquet"))
    copy_s = float(copy.stdout.strip().splitlines()[-1])
    pandas_run = best_of(1 if rows > 5_000_000 else repeats, "pandas", PANDAS.format(csv=csv, out=work / "pandas.parquet")) \
        if rows <= 5_000_000 else None
    pulse_runs = []
    for i in range(repeats):
        lake = work / f"lake{i}"
        pulse_runs.append(best_of(1, "pulse", PULSE.format(csv=csv), env={"PULSE_DATA_DIR": str(lake)}))
        shutil.rmtree(lake, ignore_errors=True)
    pulse = min(pulse_runs, key=lambda r: json.loads(r.stdout.strip().splitlines()[-1])["seconds"])
    report = json.loads(pulse.stdout.strip().splitlines()[-1])
    pulse_s = report["seconds"]
    results["duckdb_copy"] = {"seconds": round(copy_s, 3), "rows_per_s": round(rows / copy_s), "peak_rss_mb": round(copy.peak_rss_mb)}
    if pandas_run:
        pandas_s = float(pandas_run.stdout.strip().splitlines()[-1])
        results["pandas"] = {"seconds": round(pandas_s, 3), "rows_per_s": round(rows / pandas_s), "peak_rss_mb": round(pandas_run.peak_rss_mb)}
    results["pulse"] = {
        "seconds": round(pulse_s, 3), "rows_per_s": round(rows / pulse_s), "peak_rss_mb": round(max(r.peak_rss_mb for r in pulse_runs)),
        "inserted": report["inserted"], "rejected": report["rejected"],
    }
    results["pulse_vs_duckdb_copy"] = round(copy_s / pulse_s, 2)
    if pandas_run:
        results["pulse_vs_pandas"] = round(pandas_s / pulse_s, 2)
    shutil.rmtree(work, ignore_errors=True)
    return results
