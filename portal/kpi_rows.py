"""The rows behind a KPI's value for one period: exactly the rows its named query reads, with the
columns that decide each row's part in the value (days to close, on time, within the window), so
counting, summing or taking the median of the download reproduces the number (issue 15: "the rows
behind this number" was the whole dataset for the backlog and snow KPIs, and no filter of the rows
API can say "closed empty or after the period's end").

Each SQL uses the same predicates and bound values as the KPI's named query (portal/queries_*.py);
tests/integration/test_api_kpis.py recomputes every value from these rows."""
from __future__ import annotations

import re
from datetime import date

import config
from portal import queries
from portal.queries_311 import DATA_AS_OF, DECIDED
from portal.queries_snow import STORM_WINDOWS
from portal.reader import Results, reader

START = "timezone($tz, CAST($start AS TIMESTAMP))"
END = "timezone($tz, CAST($end AS TIMESTAMP))"

INPUT_ROWS = {
    # every request created in the period, with what Kaplan-Meier reads of it: its days observed (to its
    # close, or to the cut: the period's end or the data's newest time) and whether it closed in time
    "kpi_311_median_days_to_close": f"""
SELECT *, (epoch_us(CASE WHEN closed_by_cut THEN closed ELSE cut END) - epoch_us(created)) / 8.64e10 AS days_observed
FROM (SELECT *, least({END}, {DATA_AS_OF}) AS cut, coalesce(closed < {END}, false) AS closed_by_cut
      FROM {{service_requests}} WHERE created >= {START} AND created < {END})
ORDER BY created, request_id""",
    "kpi_311_pct_closed_within_target": f"""
SELECT * FROM (SELECT *, {DECIDED} FROM {{service_requests}} WHERE due IS NOT NULL)
WHERE decided >= {START} AND decided < {END} AND decided <= {DATA_AS_OF}
ORDER BY decided, request_id""",
    "kpi_311_open_backlog": f"""
SELECT * FROM {{service_requests}} WHERE created < {END} AND (closed IS NULL OR closed >= {END})
ORDER BY created, request_id""",
    "kpi_snow_p1_serviced_within_target": f"""
WITH storms AS ({STORM_WINDOWS}
    FROM {{snow_storms}} s WHERE s.started >= {START} AND s.started < {END}
),
first_pass AS (
    SELECT a.storm_id, a.segment_id, min(a.last_serviced) AS first_serviced
    FROM {{plow_activity}} a JOIN storms s ON a.storm_id = s.storm_id
    WHERE a.last_serviced >= s.started AND s.window_closed
    GROUP BY a.storm_id, a.segment_id
)
SELECT s.storm_id, g.segment_id, g.street, g.district, s.started, s.window_ends, f.first_serviced,
       coalesce(f.first_serviced <= s.window_ends, false) AS within_target
FROM storms s
CROSS JOIN (SELECT * FROM {{snow_segments}} WHERE route_priority = 1) g
LEFT JOIN first_pass f ON f.storm_id = s.storm_id AND f.segment_id = g.segment_id
WHERE s.window_closed
ORDER BY s.started, g.segment_id""",
    "kpi_volunteer_signups": """
SELECT * FROM {volunteer_signups} WHERE event_date >= $start AND event_date < $end
ORDER BY event_date, signup_id""",
    "kpi_volunteer_hours": """
SELECT * FROM {volunteer_signups} WHERE event_date >= $start AND event_date < $end AND attended AND hours IS NOT NULL
ORDER BY event_date, signup_id""",
}


def rows(kpi, start: date, end: date) -> Results:
    """The KPI's input rows for the period [start, end) (end: the day after as_of in a running period),
    capped like every web read (PULSE_QUERY_MAX_ROWS; `truncated` says when the cap cut them)."""
    sql = INPUT_ROWS[kpi.query]
    names = set(re.findall(r"\$(\w+)", sql))
    params = {"start": start, "end": end, **queries.automatic(names),
              **{k: int(v) if float(v).is_integer() else v for k, v in kpi.parameters.items()}}
    used = {k: v for k, v in params.items() if k in names}
    return reader().query(sql, used, name=f"{kpi.query}:rows", time_limit_ms=config.get_int("query_time_limit_ms"),
                          max_rows=config.get_int("query_max_rows"))
