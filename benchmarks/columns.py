"""What reading a version through lake/relation.py costs (decision 0026): the five 311 dashboard
queries computed from the rows (benchmarks/queries.py's raw SQL) over the same N-row lake, through the
reader's view as it was (`SELECT <declared> FROM read_parquet(files)`, "plain"), as it is now
(`relation.columns`: straight when every file holds every column, as here, "view") and through the
fill a lake with older files gets (the files read by name and joined BY NAME with a typed empty
relation, "filled"), alternated in one process so all meet the same machine. The ratios to plain are
the cost of the check and of the fill.
"""
from __future__ import annotations

import json

from benchmarks.measure import run_python
from benchmarks.queries import QUERIES, lake_for, raw_sql

ROUNDS = 11  # alternated rounds per query; medians (7 were too few on a shared machine)

CODE = """
import json, math, statistics, time, duckdb
import datasets, lake
from lake import relation
from lake.sql import ident, lit
from portal import queries
Q = json.loads({queries!r})
RAW = {raw!r}
typed = datasets.get('service_requests').public_typed
listed = '[' + ', '.join(lit(f) for f in lake.file_paths('service_requests', lake.manifest('service_requests'))) + ']'
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("SET TimeZone = 'UTC'")
files = lake.file_paths('service_requests', lake.manifest('service_requests'))
names = ', '.join(ident(n) for n in typed)
con.execute(f"CREATE VIEW plain AS SELECT {{names}} FROM read_parquet({{listed}})")
con.execute(f"CREATE VIEW view AS {{relation.columns(files, typed)}}")
con.execute(f"CREATE VIEW filled AS SELECT {{names}} FROM {{relation.files(listed, typed)}}")
out = {{}}
for q, (name, params) in Q.items():
    cleaned = queries.validate(name, params)
    sql = RAW[name]
    used = set(queries._BOUND.findall(sql))
    bound = {{k: v for k, v in cleaned.items() if k in used}}
    bound['tz'] = 'America/New_York'
    times = {{'plain': [], 'view': [], 'filled': []}}
    answers = {{}}
    for _ in range({rounds}):
        for view in times:  # alternated: all meet the same moment of the machine
            t = time.perf_counter()
            answers[view] = con.execute(sql.replace('{{service_requests}}', view), bound).fetchall()
            times[view].append((time.perf_counter() - t) * 1000)
    assert answers['plain'] == answers['view'] == answers['filled'], q
    out[q] = {{v: statistics.median(ts) for v, ts in times.items()}}
out['geomean'] = {{v: math.exp(statistics.fmean(math.log(r[v] / r['plain']) for r in out.values())) for v in ('view', 'filled')}}
print(json.dumps(out))
"""


def run(rows: int = 1_000_000) -> dict:
    data = lake_for(rows)
    done = run_python("columns", CODE.format(queries=json.dumps(QUERIES), raw=raw_sql(), rounds=ROUNDS),
                      env={"PULSE_DATA_DIR": str(data)})
    got = json.loads(done.stdout.splitlines()[-1])
    geomean = got.pop("geomean")
    return {"rows": rows, "rounds": ROUNDS,
            "queries": {q: {"plain_ms": round(r["plain"], 2), "view_ms": round(r["view"], 2), "filled_ms": round(r["filled"], 2),
                            "view_ratio": round(r["view"] / r["plain"], 3), "filled_ratio": round(r["filled"] / r["plain"], 3)}
                        for q, r in got.items()},
            "geomean_ratio": {v: round(x, 3) for v, x in geomean.items()}}
