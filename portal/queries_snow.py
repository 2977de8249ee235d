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
HOURS = Param("hours", "int", default=48, min=1, max=336, help="Hours after the storm's start to chart, 1 to 336.")

# One row per segment for storm $storm_id: priority, district, length x lanes, first pass (NULL when no
# plow reached it) and hours from the start to the first pass. Empty when the storm does not exist.
STORM_SEGMENTS = """
WITH storm AS (
    SELECT storm_id, started FROM {snow_storms} WHERE storm_id = $storm_id
),
first_pass AS (
    SELECT a.segment_id, min(a.last_serviced) AS first_serviced
    FROM {plow_activity} a JOIN storm s ON a.storm_id = s.storm_id
    WHERE a.last_serviced >= s.started
    GROUP BY a.segment_id
),
segments AS (
    SELECT g.segment_id, g.route_priority, g.district,
           g.length_miles * coalesce(g.lanes, 1) AS lane_miles,
           s.started, f.first_serviced,
           (epoch_us(f.first_serviced) - epoch_us(s.started)) / 3.6e9 AS hours_to_first_pass
    FROM {snow_segments} g
    CROSS JOIN storm s
    LEFT JOIN first_pass f ON f.segment_id = g.segment_id
)
"""

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
hours AS (SELECT range AS hour FROM range(0, $hours + 1))
SELECT t.route_priority, h.hour,
       count(s.segment_id) AS segments_serviced,
       t.segments,
       100.0 * count(s.segment_id) / t.segments AS pct_segments,
       100.0 * coalesce(sum(s.lane_miles), 0) / nullif(t.lane_miles, 0) AS pct_lane_miles
FROM totals t
CROSS JOIN hours h
LEFT JOIN segments s
       ON s.route_priority IS NOT DISTINCT FROM t.route_priority
      AND s.first_serviced <= s.started + to_hours(h.hour)
GROUP BY t.route_priority, h.hour, t.segments, t.lane_miles
ORDER BY t.route_priority, h.hour
"""

SNOW_TIME_TO_FIRST_PASS = STORM_SEGMENTS + """
SELECT route_priority,
       count(*) AS segments,
       count(first_serviced) AS serviced,
       quantile_cont(hours_to_first_pass, 0.5) AS median_hours,
       quantile_cont(hours_to_first_pass, 0.9) AS p90_hours,
       count(*) FILTER (WHERE first_serviced <= started + to_hours($target_hours)) AS within_target,
       100.0 * count(*) FILTER (WHERE first_serviced <= started + to_hours($target_hours)) / count(*) AS pct_within_target
FROM segments
GROUP BY route_priority
ORDER BY route_priority
"""

SNOW_BY_DISTRICT = STORM_SEGMENTS + """
SELECT district, route_priority,
       count(*) AS segments,
       count(*) FILTER (WHERE first_serviced <= started + to_hours($target_hours)) AS serviced_within_target,
       100.0 * count(*) FILTER (WHERE first_serviced <= started + to_hours($target_hours)) / count(*) AS pct_within_target
FROM segments
GROUP BY district, route_priority
ORDER BY district, route_priority
"""

# Pooled over every (storm started in the period, priority-1 segment) pair.
KPI_P1_SERVICED_WITHIN_TARGET = """
WITH storms AS (
    SELECT storm_id, started FROM {snow_storms}
    WHERE started >= timezone($tz, CAST($start AS TIMESTAMP))
      AND started < timezone($tz, CAST($end AS TIMESTAMP))
),
p1 AS (SELECT segment_id FROM {snow_segments} WHERE route_priority = 1),
first_pass AS (
    SELECT a.storm_id, a.segment_id, min(a.last_serviced) AS first_serviced
    FROM {plow_activity} a JOIN storms s ON a.storm_id = s.storm_id
    WHERE a.last_serviced >= s.started
    GROUP BY a.storm_id, a.segment_id
),
pairs AS (
    SELECT f.first_serviced <= s.started + to_hours($target_hours) AS within
    FROM storms s
    CROSS JOIN p1
    LEFT JOIN first_pass f ON f.storm_id = s.storm_id AND f.segment_id = p1.segment_id
)
SELECT 100.0 * count(*) FILTER (WHERE within) / nullif(count(*), 0) AS value,
       count(*) FILTER (WHERE within) AS numerator,
       count(*) AS denominator
FROM pairs
"""

# Hours since last service are measured at the storm's "as of": `hours` after its start, or the newest
# observation of it in this version if that is earlier (an active storm), else its end (deterministic per version, so the answer can be cached and cited).
SNOW_SEGMENT_STATUS = """
WITH storm AS (
    SELECT s.storm_id, s.started,
           least(s.started + to_hours($hours),
                 coalesce((SELECT max(observed_at) FROM {plow_activity} WHERE storm_id = $storm_id), s.ended, s.started)) AS as_of
    FROM {snow_storms} s WHERE s.storm_id = $storm_id
),
last AS (
    SELECT a.segment_id, max(a.last_serviced) AS last_serviced
    FROM {plow_activity} a JOIN storm s ON a.storm_id = s.storm_id
    WHERE a.last_serviced >= s.started AND a.last_serviced <= s.as_of
    GROUP BY a.segment_id
)
SELECT g.segment_id, g.street, g.route_priority, g.district, l.last_serviced, s.as_of,
       (epoch_us(s.as_of) - epoch_us(l.last_serviced)) / 3.6e9 AS hours_since_service,
       g.geometry
FROM {snow_segments} g
CROSS JOIN storm s
LEFT JOIN last l ON l.segment_id = g.segment_id
ORDER BY g.route_priority, g.segment_id
"""

QUERIES = (
    named("snow_segment_status", """For one storm, every segment with when a plow last serviced it during the
          storm up to its as-of time (`hours` after its start, or the newest observation if earlier; empty: not
          yet) and the hours from then to the as-of time, with the segment's GeoJSON centre line.""",
          SNOW_SEGMENT_STATUS, STORM_ID, HOURS),
    named("snow_storms", "Every storm the city responded to, newest first.", SNOW_STORMS),
    named("snow_progress", """For one storm, per route priority and each hour 0..`hours` since its start: how
          many segments had their first pass by then, as a percentage of the priority's segments and of its
          length x lanes (length_miles x coalesce(lanes, 1)).""",
          SNOW_PROGRESS, STORM_ID, HOURS),
    named("snow_time_to_first_pass", """For one storm, per route priority: segments, segments reached, median and
          90th-percentile hours from the storm's start to the first pass, and how many (and what percentage of
          all segments) were reached within target_hours.""",
          SNOW_TIME_TO_FIRST_PASS, STORM_ID, TARGET_HOURS),
    named("snow_by_district", """For one storm, per district and route priority: segments, segments first
          reached within target_hours of the start, and the percentage.""",
          SNOW_BY_DISTRICT, STORM_ID, TARGET_HOURS),
    named("kpi_snow_p1_serviced_within_target", """KPI: over the storms started in [start, end), 100 x priority-1
          segments first reached within target_hours of the storm's start / priority-1 segments, pooled.
          NULL value when no storm started.""",
          KPI_P1_SERVICED_WITHIN_TARGET, PERIOD_START, PERIOD_END, TARGET_HOURS),
)
