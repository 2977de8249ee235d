"""Snow-operations queries: storms, progress of one storm's plowing, time to first pass, KPI.

A segment's first pass in a storm is the earliest last_serviced among its plow_activity rows of that
storm at or after the storm's start: plow_activity is a series of observations of a running counter,
and a last_serviced before the start is left over from an earlier storm. Shares count every segment
of snow_segments, reached or not.
"""
from __future__ import annotations

from portal.queries import PERIOD_END, PERIOD_START, TARGET_HOURS, Param, named

STORM_ID = Param("storm_id", "value", required=True, column=("snow_storms", "storm_id"),
                 help="The storm (snow_storms.storm_id), e.g. from the snow_storms query.")
# 0: the storm at its very start (nothing reached yet, every window open), the first view of a storm.
HOURS = Param("hours", "int", min=0, max=336,
              help="View the storm as it stood this many hours after its start, 0 to 336; empty: as of its newest "
                   "observation (now, for a storm in progress).")

# The storm as it stood at its "as of": `hours` after its start, or its newest plow observation in this
# version if that is earlier or `hours` is empty (now, for an active storm; else its end, or its start
# when nothing was observed). Every panel of a storm reads this one moment, so they agree (issue 15).
# One row per segment: priority, district, length x lanes, first pass up to the as-of (NULL: not reached
# by then), hours from the start to the first pass and to the as-of. Empty when the storm does not exist.
STORM_AT = """
WITH storm AS (
    SELECT s.storm_id, s.started,
           coalesce((SELECT max(observed_at) FROM {plow_activity} WHERE storm_id = $storm_id), s.ended, s.started) AS newest
    FROM {snow_storms} s WHERE s.storm_id = $storm_id
),
storm_at AS (
    SELECT storm_id, started,
           CASE WHEN CAST($hours AS INTEGER) IS NULL THEN newest
                ELSE least(started + to_hours(CAST($hours AS INTEGER)), newest) END AS as_of
    FROM storm
)"""

STORM_SEGMENTS = STORM_AT + """,
first_pass AS (
    SELECT a.segment_id, min(a.last_serviced) AS first_serviced
    FROM {plow_activity} a JOIN storm_at s ON a.storm_id = s.storm_id
    WHERE a.last_serviced >= s.started AND a.last_serviced <= s.as_of
    GROUP BY a.segment_id
),
segments AS (
    SELECT g.segment_id, g.route_priority, g.district,
           g.length_miles * coalesce(g.lanes, 1) AS lane_miles,
           s.started, s.as_of, f.first_serviced,
           (epoch_us(s.as_of) - epoch_us(s.started)) / 3.6e9 AS elapsed_hours,
           (epoch_us(f.first_serviced) - epoch_us(s.started)) / 3.6e9 AS hours_to_first_pass
    FROM {snow_segments} g
    CROSS JOIN storm_at s
    LEFT JOIN first_pass f ON f.segment_id = g.segment_id
)
"""


def _quantile_over_all(q: float, name: str) -> str:
    """The q-quantile of hours to first pass over every segment, the unreached ranked above the elapsed
    time (every segment starts together, so one not reached by the as-of takes longer than that: it
    ranks as infinity). When the interpolation reads an unreached segment the quantile is only "more
    than the elapsed hours": `{name}_hours` is then the elapsed hours and `{name}_more_than` true.
    Never the quantile of the reached alone: that was survivor bias (issue 15)."""
    quantile = f"quantile_cont(coalesce(hours_to_first_pass, 'infinity'::DOUBLE), {q})"
    return (f"CASE WHEN isinf({quantile}) THEN any_value(elapsed_hours) ELSE {quantile} END AS {name}_hours, "
            f"isinf({quantile}) AS {name}_more_than")


# A segment's outcome against the target is decided once it is reached or its window (target_hours after
# the start) has passed. While the window is open the share within target is NULL ("in progress"), never a
# failure: every segment reached so far is within it, and the others may still be.
WITHIN = "count(*) FILTER (WHERE first_serviced <= started + to_hours($target_hours))"
WINDOW = """any_value(started + to_hours($target_hours)) AS window_ends,
       any_value(as_of >= started + to_hours($target_hours)) AS window_closed"""
PCT_WITHIN = f"CASE WHEN any_value(as_of >= started + to_hours($target_hours)) THEN 100.0 * {WITHIN} / count(*) END"

SNOW_STORMS = """
SELECT storm_id, name, started, ended, snowfall_inches
FROM {snow_storms}
ORDER BY started DESC, storm_id
"""

SNOW_PROGRESS = STORM_SEGMENTS + """,
totals AS (
    SELECT route_priority, count(*) AS segments, sum(lane_miles) AS lane_miles
    FROM segments
    GROUP BY route_priority
),
-- every whole hour from the start up to the as-of (rounded up): no line into hours not yet seen
hours AS (SELECT unnest(range(0, CAST(ceil(max(elapsed_hours)) AS BIGINT) + 1)) AS hour FROM segments)
SELECT t.route_priority, h.hour,
       count(s.segment_id) AS segments_serviced,
       t.segments,
       100.0 * count(s.segment_id) / t.segments AS pct_segments,
       100.0 * coalesce(sum(s.lane_miles), 0) / nullif(t.lane_miles, 0) AS pct_lane_miles,
       any_value(e.elapsed_hours) AS elapsed_hours
FROM totals t
CROSS JOIN hours h
CROSS JOIN (SELECT any_value(elapsed_hours) AS elapsed_hours FROM segments) e
LEFT JOIN segments s
       ON s.route_priority IS NOT DISTINCT FROM t.route_priority
      AND s.first_serviced <= s.started + to_hours(h.hour)
GROUP BY t.route_priority, h.hour, t.segments, t.lane_miles
ORDER BY t.route_priority, h.hour
"""

SNOW_TIME_TO_FIRST_PASS = STORM_SEGMENTS + f"""
SELECT route_priority,
       count(*) AS segments,
       count(first_serviced) AS serviced,
       count(*) - count(first_serviced) AS unreached,
       any_value(elapsed_hours) AS elapsed_hours,
       {_quantile_over_all(0.5, "median")},
       {_quantile_over_all(0.9, "p90")},
       {WINDOW},
       {WITHIN} AS within_target,
       {PCT_WITHIN} AS pct_within_target
FROM segments
GROUP BY route_priority
ORDER BY route_priority
"""

SNOW_BY_DISTRICT = STORM_SEGMENTS + f"""
SELECT district, route_priority,
       count(*) AS segments,
       count(first_serviced) AS serviced,
       {WINDOW},
       {WITHIN} AS serviced_within_target,
       {PCT_WITHIN} AS pct_within_target
FROM segments
GROUP BY district, route_priority
ORDER BY district, route_priority
"""

# Pooled over every (storm started in the period, priority-1 segment) pair, for the storms whose target
# window has passed by their newest observation (else their end or start, as STORM_AT). A storm still
# inside its window is in progress: out of the value (it would read as a failure, issue 15), counted in
# storms_in_progress with the earliest such window's end.
STORM_WINDOWS = """
    SELECT s.storm_id, s.started, s.started + to_hours($target_hours) AS window_ends,
           coalesce((SELECT max(a.observed_at) FROM {plow_activity} a WHERE a.storm_id = s.storm_id), s.ended, s.started)
               >= s.started + to_hours($target_hours) AS window_closed"""
KPI_P1_SERVICED_WITHIN_TARGET = f"""
WITH storms AS ({STORM_WINDOWS}
    FROM {{snow_storms}} s
    WHERE s.started >= timezone($tz, CAST($start AS TIMESTAMP))
      AND s.started < timezone($tz, CAST($end AS TIMESTAMP))
),
p1 AS (SELECT segment_id FROM {{snow_segments}} WHERE route_priority = 1),
first_pass AS (
    SELECT a.storm_id, a.segment_id, min(a.last_serviced) AS first_serviced
    FROM {{plow_activity}} a JOIN storms s ON a.storm_id = s.storm_id
    WHERE a.last_serviced >= s.started AND s.window_closed
    GROUP BY a.storm_id, a.segment_id
),
pairs AS (
    SELECT f.first_serviced <= s.started + to_hours($target_hours) AS within
    FROM storms s
    CROSS JOIN p1
    LEFT JOIN first_pass f ON f.storm_id = s.storm_id AND f.segment_id = p1.segment_id
    WHERE s.window_closed
)
SELECT 100.0 * count(*) FILTER (WHERE within) / nullif(count(*), 0) AS value,
       count(*) FILTER (WHERE within) AS numerator,
       count(*) AS denominator,
       (SELECT count(*) FROM storms WHERE NOT window_closed) AS storms_in_progress,
       (SELECT min(window_ends) FROM storms WHERE NOT window_closed) AS window_ends
FROM pairs
"""

# Hours since last service are measured at the storm's as-of (STORM_AT), deterministic per version, so
# the answer can be cached and cited.
SNOW_SEGMENT_STATUS = STORM_AT + """,
last AS (
    SELECT a.segment_id, max(a.last_serviced) AS last_serviced
    FROM {plow_activity} a JOIN storm_at s ON a.storm_id = s.storm_id
    WHERE a.last_serviced >= s.started AND a.last_serviced <= s.as_of
    GROUP BY a.segment_id
)
SELECT g.segment_id, g.street, g.route_priority, g.district, l.last_serviced, s.as_of,
       (epoch_us(s.as_of) - epoch_us(l.last_serviced)) / 3.6e9 AS hours_since_service,
       g.geometry
FROM {snow_segments} g
CROSS JOIN storm_at s
LEFT JOIN last l ON l.segment_id = g.segment_id
ORDER BY g.route_priority, g.segment_id
"""

AS_OF_WORDS = "as of `hours` after its start, or its newest observation if earlier or `hours` is empty"
QUERIES = (
    named("snow_segment_status", f"""For one storm {AS_OF_WORDS}: every segment with when a plow last serviced
          it during the storm up to then (empty: not yet) and the hours from then to the as-of time, with the
          segment's GeoJSON centre line.""",
          SNOW_SEGMENT_STATUS, STORM_ID, HOURS),
    named("snow_storms", "Every storm the city responded to, newest first.", SNOW_STORMS),
    named("snow_progress", f"""For one storm {AS_OF_WORDS}: per route priority and each whole hour from its
          start up to then, how many segments had their first pass by that hour, as a percentage of the priority's
          segments and of its length x lanes (length_miles x coalesce(lanes, 1)), and the hours from its start to
          the as-of (the last hour is that, rounded up).""",
          SNOW_PROGRESS, STORM_ID, HOURS),
    named("snow_time_to_first_pass", f"""For one storm {AS_OF_WORDS}: per route priority, segments, segments
          reached and not yet reached, hours elapsed, the median and 90th-percentile hours from the start to the
          first pass over every segment (the unreached ranked above the elapsed hours; *_more_than true when the
          quantile is only known to exceed the elapsed hours), the target window's end and whether it has
          passed, segments reached within target_hours, and their percentage of all segments (NULL while the
          window is still open: in progress).""",
          SNOW_TIME_TO_FIRST_PASS, STORM_ID, HOURS, TARGET_HOURS),
    named("snow_by_district", f"""For one storm {AS_OF_WORDS}: per district and route priority, segments,
          segments reached, the target window's end and whether it has passed, segments first reached within
          target_hours of the start, and their percentage (NULL while the window is open).""",
          SNOW_BY_DISTRICT, STORM_ID, HOURS, TARGET_HOURS),
    named("kpi_snow_p1_serviced_within_target", """KPI: over the storms started in [start, end) whose target window
          (target_hours from the start) has passed by their newest observation, 100 x priority-1 segments first
          reached within the window / priority-1 segments, pooled. NULL value when no such storm; storms still
          inside their window are counted apart (storms_in_progress, the earliest window_ends).""",
          KPI_P1_SERVICED_WITHIN_TARGET, PERIOD_START, PERIOD_END, TARGET_HOURS),
)
