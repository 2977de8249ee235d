"""311 service-request queries: volume, time to close, on-time share, open backlog, descriptors, KPIs.

Times are compared as instants (`created >= timezone($tz, local midnight)`), so the date filter can
skip row groups of the created-sorted files; only grouping converts to local wall-clock time.
Hours and days are exact: epoch_us differences, not interval arithmetic.
"""
from __future__ import annotations

from portal.queries import AGENCY, END, PERIOD_END, PERIOD_START, SR_BOROUGH, START, Param, limit, named

PERIOD = Param("period", "choice", default="day", choices=("day", "week", "month"),
               help="Bucket size: local day, ISO week (Monday start) or calendar month.")
COMPLAINT_TYPE = Param("complaint_type", "value", column=("service_requests", "complaint_type"),
                       help="Only requests of this complaint type.")
KPI_START = Param("start", "date", help="Accepted for symmetry with the other KPIs; the backlog is a level at `end`.")

# Over a rollup read from Parquet, a key may come twice, from its base and its delta (lake/model.py):
# measures are summed, and a group whose sum is 0 (a request that moved to another borough, channel
# or day since the base was written) is dropped, as a fresh aggregate would not have it.
def _created_per_period(by: str, filters: tuple[str, ...]) -> str:
    """Requests created per period and `by`, from the created-per-day rollup (datasets/rollups.yaml):
    exact counts, thousands of rows read. `by` and `filters` are column names written here, not input."""
    where = "".join(f"\n  AND (${f} IS NULL OR {f} = ${f})" for f in filters)
    return f"""
SELECT CAST(date_trunc($period, day) AS DATE) AS period_start,
       {by},
       CAST(sum(requests) AS BIGINT) AS requests
FROM {{sr_created_daily}}
WHERE day >= $start AND day <= $end{where}
GROUP BY period_start, {by}
HAVING sum(requests) <> 0
ORDER BY period_start, {by}
"""


SR_VOLUME = _created_per_period("channel", ("borough", "agency", "complaint_type"))
SR_VOLUME_BY_BOROUGH = _created_per_period("borough", ("agency", "complaint_type"))

# Exact quantiles cannot be summed from daily parts, so this reads every closed request of the range,
# from the close-times projection (datasets/rollups.yaml): five narrow columns sorted by day, type and
# duration, so the range reads only its row groups and each type's durations arrive in order. The
# same answer, to the last bit, as over the raw rows with created in [local midnight of start, local
# midnight after end) (tests/integration/test_projections.py). Both quantiles come from one state.
SR_TIME_TO_CLOSE = """
SELECT complaint_type, closed_requests, q[1] AS median_hours, q[2] AS p90_hours
FROM (
    SELECT complaint_type,
           count(*) AS closed_requests,
           quantile_cont(close_us / 3.6e9, [0.5, 0.9]) AS q
    FROM {sr_close_times}
    WHERE day >= $start AND day <= $end
      AND ($borough IS NULL OR borough = $borough)
      AND ($agency IS NULL OR agency = $agency)
      AND ($complaint_type IS NULL OR complaint_type = $complaint_type)
    GROUP BY complaint_type
)
ORDER BY closed_requests DESC, complaint_type
"""

# The instant the data describes: its newest created or closed time, bound by queries.run as
# $data_as_of (computed once per version: as a subquery it cost 20 to 50 ms of every query using it at
# 1M rows). A request still open has been open at least from its creation to then (an open request is
# "at least this long", not left out: issue 15).
DATA_AS_OF = "CAST($data_as_of AS TIMESTAMPTZ)"
_FILTERS = """
      AND ($borough IS NULL OR borough = $borough)
      AND ($agency IS NULL OR agency = $agency)
      AND ($complaint_type IS NULL OR complaint_type = $complaint_type)"""


def _km_known(q: float, t: str = "hours") -> str:
    """The Kaplan-Meier q-quantile of time to close: the first time the estimated share still open falls
    to 1 - q or below (1e-9 absorbs the rounding of a product that is exactly 1 - q, e.g. 18 of 36);
    NULL when it never does."""
    return f"min({t}) FILTER (WHERE still_open_share <= {1 - q} + 1e-9)"


def _km_quantile(q: float, name: str) -> str:
    """The quantile, or, when the estimate never reaches it, "more than" the longest time observed."""
    known = _km_known(q)
    return f"coalesce({known}, max(hours)) AS {name}_hours, {known} IS NULL AS {name}_more_than"


def km_steps(part: str, t: str) -> str:
    """The Kaplan-Meier estimate per `part` over a CTE `obs(part, t, closed)` (closed 1: an event at t;
    0: censored at t): CTEs `steps`, `risk` and `km`, whose `still_open_share` is the estimated share
    still open just after each distinct t. At each t, of the n observations still in the risk set
    (time >= t) d closed: the share is the running product of (1 - d / n).
    Counts as DOUBLE: summed integers become 128-bit, and the windows over them were most of the time.
    The running product is exp(running sum of logs) over the default frame (t is distinct within a
    part after the GROUP BY, so RANGE is ROWS). A step that closes every request still at risk takes
    the share to 0: its log is floored at ln(1e-300), a share of about 1e-300."""
    return f"""steps AS (
    SELECT {part}, {t}, CAST(sum(closed) AS DOUBLE) AS d, CAST(count(*) AS DOUBLE) AS leaving
    FROM obs GROUP BY {part}, {t}
),
risk AS (
    SELECT {part}, {t}, d, leaving,
           sum(leaving) OVER (PARTITION BY {part} ORDER BY {t} DESC) AS at_risk
    FROM steps
),
km AS (
    SELECT {part}, {t}, d, leaving,
           exp(sum(ln(greatest(1 - d / at_risk, 1e-300))) OVER (PARTITION BY {part} ORDER BY {t}))
               AS still_open_share
    FROM risk
)"""


# Kaplan-Meier over the requests created in the range: a closed request is an event at its time to close,
# an open one is censored at its age at DATA_AS_OF (km_steps). Closed requests come from the close-times
# projection, open ones (a few thousand) from the table.
SR_CLOSE_SURVIVAL = f"""
WITH obs AS (
    SELECT complaint_type, close_us / 3.6e9 AS hours, 1 AS closed
    FROM {{sr_close_times}}
    WHERE day >= $start AND day <= $end{_FILTERS}
    UNION ALL
    SELECT complaint_type, (epoch_us({DATA_AS_OF}) - epoch_us(created)) / 3.6e9, 0
    FROM {{service_requests}}
    WHERE created >= timezone($tz, CAST($start AS TIMESTAMP))
      AND created < timezone($tz, CAST($end + 1 AS TIMESTAMP))
      AND closed IS NULL{_FILTERS}
),
{km_steps("complaint_type", "hours")}
SELECT complaint_type,
       CAST(sum(leaving) AS BIGINT) AS requests,
       CAST(sum(leaving) - sum(d) AS BIGINT) AS still_open,
       max(hours) FILTER (WHERE leaving > d) AS oldest_open_hours,
       {_km_quantile(0.5, "median")},
       {_km_quantile(0.9, "p90")}
FROM km
GROUP BY complaint_type
ORDER BY requests DESC, complaint_type
"""

# Late means late (issue 15, finding 4): a request with a due time still open past it is a miss from
# that moment, not left out until it closes. Closed counts come from the created-per-day rollup; the
# open requests with a due time (a few thousand) from the table, past due when due < DATA_AS_OF.
SR_WITHIN_TARGET = f"""
WITH closed AS (
    SELECT agency, CAST(date_trunc('month', day) AS DATE) AS month,
           CAST(sum(closed_with_due) AS BIGINT) AS closed_with_due,
           CAST(sum(closed_within_due) AS BIGINT) AS closed_within_target
    FROM {{sr_created_daily}}
    WHERE day >= $start AND day <= $end{_FILTERS}
    GROUP BY agency, month
),
still_open AS (
    SELECT agency, CAST(date_trunc('month', timezone($tz, created)) AS DATE) AS month,
           count(*) AS open_with_due,
           count(*) FILTER (WHERE due < {DATA_AS_OF}) AS open_past_due
    FROM {{service_requests}}
    WHERE created >= timezone($tz, CAST($start AS TIMESTAMP))
      AND created < timezone($tz, CAST($end + 1 AS TIMESTAMP))
      AND closed IS NULL AND due IS NOT NULL{_FILTERS}
    GROUP BY agency, month
),
joined AS (
    SELECT coalesce(c.agency, o.agency) AS agency, coalesce(c.month, o.month) AS month,
           coalesce(c.closed_with_due, 0) AS closed_with_due,
           coalesce(c.closed_within_target, 0) AS closed_within_target,
           coalesce(o.open_with_due, 0) AS open_with_due,
           coalesce(o.open_past_due, 0) AS open_past_due
    FROM closed c FULL JOIN still_open o ON c.agency IS NOT DISTINCT FROM o.agency AND c.month = o.month
)
SELECT agency, month, closed_with_due, closed_within_target, open_with_due, open_past_due,
       100.0 * closed_within_target / (closed_with_due + open_past_due) AS pct_within_target,
       100.0 * closed_within_target / nullif(closed_with_due, 0) AS pct_closed_only
FROM joined
WHERE closed_with_due + open_past_due > 0
ORDER BY agency, month
"""

# Open at the end of local day D = created before the next local midnight E and closed empty or at or
# after E. A running sum of +1 (local day created) and -1 (local day closed) over the whole history
# counts exactly that; the zero events make every day of the range appear.
SR_OPEN_BACKLOG = """
WITH flow AS (
    -- The daily flow rollup (datasets/rollups.yaml): thousands of rows, whatever the history's length.
    SELECT day, sum(opened) - sum(closed) AS delta
    FROM {sr_daily_flow}
    WHERE ($borough IS NULL OR borough = $borough) AND ($agency IS NULL OR agency = $agency)
    GROUP BY day
    UNION ALL
    SELECT CAST(d AS DATE) AS day, 0 AS delta
    FROM generate_series(CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP), INTERVAL 1 DAY) AS days(d)
),
running AS (
    SELECT day, sum(sum(delta)) OVER (ORDER BY day) AS open_requests
    FROM flow
    GROUP BY day
)
SELECT day, CAST(open_requests AS BIGINT) AS open_requests
FROM running
WHERE day >= $start AND day <= $end
  -- no backlog drawn for days the data has not reached (issue 15): up to its newest day with a request
  -- created or closed
  AND day <= (SELECT max(day) FILTER (WHERE opened > 0 OR closed > 0) FROM {sr_daily_flow})
ORDER BY day
"""

SR_TOP_DESCRIPTORS = """
SELECT descriptor, CAST(sum(requests) AS BIGINT) AS requests
FROM {sr_descriptor_daily}
WHERE complaint_type = $complaint_type
  AND day >= $start AND day <= $end
  AND ($borough IS NULL OR borough = $borough)
GROUP BY descriptor
HAVING sum(requests) <> 0
ORDER BY requests DESC, descriptor
LIMIT $limit
"""

SR_BY_AREA = """
-- Per borough and community district (as 311 writes it, e.g. '09 MANHATTAN'); empty values are kept so
-- the borough totals count every request.
SELECT borough, community_board, count(*) AS requests
FROM {service_requests}
WHERE created >= timezone($tz, CAST($start AS TIMESTAMP))
  AND created < timezone($tz, CAST($end + 1 AS TIMESTAMP))
  AND ($borough IS NULL OR borough = $borough)
  AND ($agency IS NULL OR agency = $agency)
  AND ($complaint_type IS NULL OR complaint_type = $complaint_type)
GROUP BY borough, community_board
ORDER BY borough, community_board
"""

SR_FILTER_VALUES = """
-- Every agency and complaint type in the data, busiest first (the dashboard's filter choices), and the
-- range of local days covered. A rollup read from Parquet may hold a key twice (base and delta,
-- lake/model.py), so counts are summed and kept only when positive; the days come from the
-- in-memory daily flow, one row per key, where a day with requests created has opened > 0.
SELECT 'agency' AS filter, agency AS value, CAST(sum(requests) AS BIGINT) AS requests
FROM {sr_created_daily} WHERE agency IS NOT NULL GROUP BY agency HAVING sum(requests) > 0
UNION ALL
SELECT 'complaint_type', complaint_type, CAST(sum(requests) AS BIGINT)
FROM {sr_created_daily} WHERE complaint_type IS NOT NULL GROUP BY complaint_type HAVING sum(requests) > 0
UNION ALL
SELECT 'first_day', CAST(min(day) FILTER (WHERE opened > 0) AS VARCHAR), 0 FROM {sr_daily_flow}
UNION ALL
SELECT 'last_day', CAST(max(day) FILTER (WHERE opened > 0) AS VARCHAR), 0 FROM {sr_daily_flow}
ORDER BY filter, requests DESC, value
"""

# ---- KPIs: one row, `value` plus the counts behind it; periods are half-open [start, end) -------------
# Beside the value, the requests created in the period still open at its end (or at DATA_AS_OF): what a
# median over closed requests leaves out (issue 15), for the tile to say.
# The KPI's median time to close (issue 15: it left out the requests still open, the slowest ones):
# Kaplan-Meier over the requests CREATED in the period, each observed up to the period's end or the
# data's newest time, whichever is first (the cut). Closed before the period's end: an event at its
# time to close; otherwise censored at its age at the cut. Fewer than half closed by then: no value yet (the
# median is only "more than" the longest time observed, `more_than_days`), as a storm in progress.
# One builder for the named query and the scorecard's all-periods form (portal/kpi_values.py), so
# both compute each period's value by the same arithmetic.
def km_median_days(period: str, end: str, where: str) -> str:
    """CTEs up to `km`, partitioned by `period` (an expression over created) whose end is `end` (an
    expression over period). A close before the end is seen (the data's newest time is never before
    a close); a request not closed by then is censored at the end or the newest time, the earlier."""
    return f"""
WITH cohort AS (
    SELECT created, closed, {period} AS period FROM {{service_requests}} WHERE {where}
),
observed AS (
    SELECT created, closed, period, least({end}, {DATA_AS_OF}) AS cut, coalesce(closed < {end}, false) AS by_cut
    FROM cohort
),
obs AS (
    SELECT period, (epoch_us(CASE WHEN by_cut THEN closed ELSE cut END) - epoch_us(created)) / 8.64e10 AS days,
           CAST(by_cut AS INTEGER) AS closed
    FROM observed
),
{km_steps("period", "days")}"""


KM_MEDIAN_DAYS = _km_known(0.5, "days")
KPI_MEDIAN_DAYS_TO_CLOSE = km_median_days(
    "0", "timezone($tz, CAST($end AS TIMESTAMP))",
    "created >= timezone($tz, CAST($start AS TIMESTAMP)) AND created < timezone($tz, CAST($end AS TIMESTAMP))") + f"""
SELECT {KM_MEDIAN_DAYS} AS value,
       CAST(coalesce(sum(leaving), 0) AS BIGINT) AS denominator,
       CAST(coalesce(sum(d), 0) AS BIGINT) AS closed,
       CAST(coalesce(sum(leaving) - sum(d), 0) AS BIGINT) AS created_still_open,
       CASE WHEN {KM_MEDIAN_DAYS} IS NULL THEN max(days) END AS more_than_days
FROM km
"""

# A request with a due time is decided on time when it closes by its due time (at that close), late when
# its due time passes before it closes (at the due time, whether it closed later or is still open). The
# KPI counts the requests decided in the period, up to DATA_AS_OF; beside it, the figure over closed
# requests only (what it used to be), and how many of the misses are still open.
DECIDED = """CASE WHEN closed <= due THEN closed ELSE due END AS decided, coalesce(closed <= due, false) AS on_time"""
KPI_PCT_CLOSED_WITHIN_TARGET = f"""
WITH decided AS (
    SELECT closed, {DECIDED}
    FROM {{service_requests}}
    WHERE due IS NOT NULL
),
in_period AS (
    SELECT * FROM decided
    WHERE decided >= timezone($tz, CAST($start AS TIMESTAMP))
      AND decided < timezone($tz, CAST($end AS TIMESTAMP))
      AND decided <= {DATA_AS_OF}
),
closed_only AS (
    SELECT 100.0 * count(*) FILTER (WHERE closed <= due) / nullif(count(*), 0) AS value, count(*) AS requests
    FROM {{service_requests}}
    WHERE closed >= timezone($tz, CAST($start AS TIMESTAMP))
      AND closed < timezone($tz, CAST($end AS TIMESTAMP))
      AND due IS NOT NULL
)
SELECT 100.0 * count(*) FILTER (WHERE on_time) / nullif(count(*), 0) AS value,
       count(*) FILTER (WHERE on_time) AS numerator,
       count(*) AS denominator,
       count(*) FILTER (WHERE closed IS NULL) AS open_past_due,
       (SELECT value FROM closed_only) AS closed_only_value,
       (SELECT requests FROM closed_only) AS closed_only_requests
FROM in_period
"""

KPI_OPEN_BACKLOG = """
SELECT count(*) AS value
FROM {service_requests}
WHERE created < timezone($tz, CAST($end AS TIMESTAMP))
  AND (closed IS NULL OR closed >= timezone($tz, CAST($end AS TIMESTAMP)))
"""

QUERIES = (
    named("sr_volume", """311 requests created in the range per local day, ISO week or month and channel; the first
          and last week or month may be partial (the bucket is labelled by its first day, which can precede start).""",
          SR_VOLUME, START, END, PERIOD, SR_BOROUGH, AGENCY, COMPLAINT_TYPE),
    named("sr_volume_by_borough", """311 requests created in the range per local day, ISO week or month and
          borough (empty borough: the source gave none).""",
          SR_VOLUME_BY_BOROUGH, START, END, PERIOD, AGENCY, COMPLAINT_TYPE),
    named("sr_time_to_close", """Per complaint type, the requests created in the range and since closed:
          how many, and the median and 90th-percentile hours from created to closed. Largest first.""",
          SR_TIME_TO_CLOSE, START, END, SR_BOROUGH, AGENCY, COMPLAINT_TYPE),
    named("sr_close_survival", """Per complaint type, every request created in the range, closed or not: how many,
          how many are still open and the oldest open one's age in hours, and the Kaplan-Meier median and 90th
          percentile of hours from created to closed, counting each open request as open at least until the
          data's newest created or closed time (*_more_than true: the estimate never reached that share, so
          the quantile is only more than the longest time observed). Largest first.""",
          SR_CLOSE_SURVIVAL, START, END, SR_BOROUGH, AGENCY, COMPLAINT_TYPE),
    named("sr_within_target", """Per agency and local month of creation, the requests created in the range
          that have a due time: how many are closed and how many of those closed at or before due, how many are
          still open and how many of those are past due (at the data's newest created or closed time); the
          percentage on time counting the open past due as late, and the percentage over closed ones only.""",
          SR_WITHIN_TARGET, START, END, SR_BOROUGH, AGENCY, COMPLAINT_TYPE),
    named("sr_open_backlog", """Per local day of the range up to the data's newest day with a request created or
          closed, the requests
          open at the end of that day (created before the next local midnight, closed empty or at or after it),
          counted over the whole history.""",
          SR_OPEN_BACKLOG, START, END, SR_BOROUGH, AGENCY),
    named("sr_top_descriptors", "The most frequent descriptors of one complaint type among requests created in the range.",
          SR_TOP_DESCRIPTORS, START, END,
          Param("complaint_type", "value", required=True, column=("service_requests", "complaint_type"),
                help="The complaint type whose descriptors are counted."),
          SR_BOROUGH, limit()),
    named("sr_by_area", """311 requests created in the range per borough and community district (the
          maps); empty borough or district: the source gave none.""",
          SR_BY_AREA, START, END, SR_BOROUGH, AGENCY, COMPLAINT_TYPE),
    named("sr_filter_values", """Every agency and complaint type with its request count, busiest first, and
          the first and last local day with requests (filter = first_day / last_day).""", SR_FILTER_VALUES),
    named("kpi_311_median_days_to_close", """KPI: the Kaplan-Meier median of days from created to closed over the
          requests created in [start, end) (`denominator`), each observed up to the period's end or the data's newest
          created or closed time, whichever is first: `closed` of them closed by then, `created_still_open` still open
          and counted as open at least that long. NULL value while fewer than half have closed (the median is then
          more than `more_than_days`).""",
          KPI_MEDIAN_DAYS_TO_CLOSE, PERIOD_START, PERIOD_END),
    named("kpi_311_pct_closed_within_target", """KPI: among requests with a due time decided in [start, end) (on
          time when closed at or before due, at the close; late when due passed first, at the due time, open or
          not), up to the data's newest created or closed time: 100 x on time / decided. NULL value when there are
          none. Also how many of the late are still open, and the share over requests closed in the period only.""",
          KPI_PCT_CLOSED_WITHIN_TARGET, PERIOD_START, PERIOD_END),
    named("kpi_311_open_backlog", """KPI: requests open at local midnight starting `end` (the end of the
          period [start, end)): created before it, closed empty or at or after it.""",
          KPI_OPEN_BACKLOG, KPI_START, PERIOD_END),
)
