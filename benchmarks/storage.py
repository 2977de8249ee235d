"""The storage choice (docs/decisions/0001-lake-storage.md): publishing a 1,000-row upsert (500
updates of recent requests, 500 new) into an N-row service_requests table, Pulse's manifest of
Parquet files against Delta Lake's MERGE (deltalake), and a scan of each from DuckDB.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from benchmarks.measure import run_python

OUT = Path(__file__).resolve().parent / "out"

MAKE = """
import duckdb
con = duckdb.connect()
def rows(start, n, status):
    return f'''SELECT CAST(i AS VARCHAR) AS request_id, TIMESTAMPTZ '2023-01-01 00:00:00+00' + to_seconds((i - 1000000000) * 5) AS created,
      '{{status}}' AS status, 'DSNY' AS agency, 'type' || (i % 200) AS complaint_type, 'BROOKLYN' AS borough,
      40.6 + (i % 100) / 1000.0 AS latitude, -73.9 - (i % 100) / 1000.0 AS longitude
      FROM range({{start}}, {{start}} + {{n}}) t(i)'''
con.execute(f"COPY ({{rows(10**9, {n}, 'Open')}}) TO '{out}/base.parquet' (FORMAT parquet)")
con.execute(f"COPY ({{rows(10**9 + {n} - 500, 1000, 'Closed')}}) TO '{out}/batch.parquet' (FORMAT parquet)")
"""

PULSE = """
import time, json
from etl.load import load_file
load_file('service_requests', '{out}/base.parquet')
t = time.perf_counter()
r = load_file('service_requests', '{out}/batch.parquet')
upsert = time.perf_counter() - t
import lake
import duckdb
m = lake.manifest('service_requests')
t = time.perf_counter()
for _ in range(5):
    duckdb.connect().execute("SELECT complaint_type, count(*) FROM read_parquet(?) WHERE created >= TIMESTAMPTZ '2023-06-01' GROUP BY 1", [lake.file_paths('service_requests', m)]).fetchall()
print(json.dumps({{'upsert_s': upsert, 'scan_s': (time.perf_counter() - t) / 5, 'updated': r.updated, 'inserted': r.inserted, 'files': len(m.files)}}))
"""

DELTA = """
import time, json, duckdb, pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake
write_deltalake('{out}/delta', pq.read_table('{out}/base.parquet'), target_file_size=64 * 2**20)
batch = pq.read_table('{out}/batch.parquet')
t = time.perf_counter()
m = (DeltaTable('{out}/delta').merge(batch, predicate='t.request_id = s.request_id', source_alias='s', target_alias='t')
     .when_matched_update_all().when_not_matched_insert_all().execute())
upsert = time.perf_counter() - t
files = DeltaTable('{out}/delta').file_uris()
t = time.perf_counter()
for _ in range(5):
    duckdb.connect().execute("SELECT complaint_type, count(*) FROM read_parquet(?) WHERE created >= TIMESTAMPTZ '2023-06-01' GROUP BY 1", [files]).fetchall()
print(json.dumps({{'upsert_s': upsert, 'scan_s': (time.perf_counter() - t) / 5, 'updated': m['num_target_rows_updated'], 'inserted': m['num_target_rows_inserted'], 'files': len(files)}}))
"""


def run(rows: int = 5_000_000) -> dict:
    out = OUT / "storage"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    run_python("make", MAKE.format(n=rows, out=out))
    results = {"rows": rows}
    pulse = run_python("pulse", PULSE.format(out=out), env={"PULSE_DATA_DIR": str(out / "lake")})
    results["pulse_manifest"] = json.loads(pulse.stdout.strip().splitlines()[-1])
    try:
        delta = run_python("delta", DELTA.format(out=out))
        results["delta_merge"] = json.loads(delta.stdout.strip().splitlines()[-1])
    except RuntimeError as exc:
        results["delta_merge"] = {"error": str(exc)[:300]}
    shutil.rmtree(out, ignore_errors=True)
    return results
