"""What counting the unfinished costs (issue 15), on the demo city at `--scale medium` (1M 311 requests),
as ratios against what the same panels cost before, in the same run and process:

km        Kaplan-Meier time to close over every request created in 90 days (sr_close_survival)
          / the closed-only quantiles it replaced on the 311 page (sr_time_to_close, the projection)
on_time   on time by agency with open past-due requests counted late (sr_within_target)
          / the rollup-only, closed-only form it replaced (OLD_WITHIN_TARGET below)
snow      time to first pass with the unreached counted, 5 hours into the newest storm
          / the same query over the storm as of its end (what a finished storm costs)
scorecard one month's scorecard with 8 earlier periods, computed (no cache): milliseconds, and
          the share of it the new per-KPI detail queries and first-day query take
"""
from __future__ import annotations

import json
import shutil

from benchmarks.dashboards import build_lake
from benchmarks.ingest import OUT
from benchmarks.measure import run_python

OLD_WITHIN_TARGET = """
SELECT agency, CAST(date_trunc('month', day) AS DATE) AS month,
       CAST(sum(closed_with_due) AS BIGINT) AS closed_with_due,
       CAST(sum(closed_within_due) AS BIGINT) AS closed_within_target,
       100.0 * CAST(sum(closed_within_due) AS BIGINT) / CAST(sum(closed_with_due) AS BIGINT) AS pct_within_target
FROM {sr_created_daily}
WHERE day >= $start AND day <= $end
GROUP BY agency, month HAVING sum(closed_with_due) > 0 ORDER BY agency, month
"""

CODE = """
import json, time, statistics
from datetime import date, timedelta
from portal import kpi_values, queries
from portal.reader import reader
OLD = {old!r}
end = kpi_values.default_as_of(); start = end - timedelta(days=89)
storm = queries.run("snow_storms").rows[0][0]

def ms(fn, n=7):
    fn()  # warm: files opened once
    times = []
    for _ in range(n):
        t = time.perf_counter(); fn(); times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)

out = {{}}
out["km_ms"] = ms(lambda: queries.run("sr_close_survival", start=start, end=end))
out["closed_only_ms"] = ms(lambda: queries.run("sr_time_to_close", start=start, end=end))
out["on_time_ms"] = ms(lambda: queries.run("sr_within_target", start=start, end=end))
out["old_on_time_ms"] = ms(lambda: reader().query(OLD, {{"start": start, "end": end}}, name="old", time_limit_ms=60000))
out["snow_5h_ms"] = ms(lambda: queries.run("snow_time_to_first_pass", storm_id=storm, hours=5))
out["snow_end_ms"] = ms(lambda: queries.run("snow_time_to_first_pass", storm_id=storm))
out["scorecard_ms"] = ms(lambda: kpi_values._compute("month", end, 8, None), n=3)
from datasets import kpis
s, c, _ = kpi_values.period_of("month", end)
out["details_ms"] = ms(lambda: [kpi_values.detail(k, s, c) for k in kpis.kpis().values()], n=3)
out["first_days_ms"] = ms(kpi_values.first_days, n=3)
print(json.dumps(out))
"""


def run(scale: str = "medium") -> dict:
    data = OUT / f"numbers-{scale}" / "data"
    if not (data / "lake" / "service_requests" / "CURRENT").exists():
        shutil.rmtree(data.parent, ignore_errors=True)
        build_lake(data, scale)
    env = {"PULSE_DATA_DIR": str(data), "PULSE_CACHE_TYPE": "null", "PULSE_QUERY_TIME_LIMIT_MS": "60000"}
    r = json.loads(run_python("numbers", CODE.format(old=OLD_WITHIN_TARGET), env=env).stdout.splitlines()[-1])
    return {
        "scale": scale,
        **{k: round(v, 2) for k, v in r.items()},
        "km_over_closed_only": round(r["km_ms"] / r["closed_only_ms"], 2),
        "on_time_over_old": round(r["on_time_ms"] / r["old_on_time_ms"], 2),
        "snow_5h_over_end": round(r["snow_5h_ms"] / r["snow_end_ms"], 2),
        "scorecard_new_share": round((r["details_ms"] + r["first_days_ms"]) / r["scorecard_ms"], 2),
    }
