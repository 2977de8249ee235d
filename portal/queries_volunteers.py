"""Volunteering queries: sign-ups and hours by day and by borough and category, open opportunities, KPIs.

event_date is already a local calendar date, so its ranges need no time zone. Hours count only
sign-ups marked attended, as the volunteer_hours KPI declares (datasets/kpis.yaml).
"""
from __future__ import annotations

from portal.queries import END, PERIOD_END, PERIOD_START, START, TODAY, Param, limit, named

SIGNUP_BOROUGH = Param("borough", "value", column=("volunteer_signups", "borough"), help="Only events in this borough.")
OPPORTUNITY_BOROUGH = Param("borough", "value", column=("volunteer_opportunities", "borough"),
                            help="Only opportunities in this borough.")
AS_OF = Param("as_of", "date", default=TODAY, help="Local day the opportunities must still be open on (default today).")

VOL_BY_DAY = """
SELECT event_date,
       count(*) AS signups,
       count(*) FILTER (WHERE attended) AS attended,
       coalesce(sum(hours) FILTER (WHERE attended), 0) AS hours
FROM {volunteer_signups}
WHERE event_date >= $start AND event_date <= $end
  AND ($borough IS NULL OR borough = $borough)
GROUP BY event_date
ORDER BY event_date
"""

VOL_BY_BOROUGH_CATEGORY = """
SELECT s.borough, o.category,
       count(*) AS signups,
       coalesce(sum(s.hours) FILTER (WHERE s.attended), 0) AS hours
FROM {volunteer_signups} s
LEFT JOIN {volunteer_opportunities} o ON o.opportunity_id = s.opportunity_id
WHERE s.event_date >= $start AND s.event_date <= $end
GROUP BY s.borough, o.category
ORDER BY s.borough, o.category
"""

# Sign-ups "so far" are those made before the end of the as_of day, so a past as_of shows that day's view.
# A one-time event needs its volunteers once: all its sign-ups count. An ongoing opportunity needs
# volunteers_needed at every session (issue 15: a homework club needing 6 a session, with 62 sign-ups over
# the year and sessions ahead, vanished): it counts the sign-ups for its next session, the earliest
# event_date on or after as_of that has any (none yet: 0). The totals over every open opportunity come
# before the LIMIT cuts the list, so a summary can say "the 20 most in need of 25". OPEN_COUNTED is the
# counting alone, shared with the volunteer finder (portal/queries_finder.py), so both agree on who is full.
OPEN_COUNTED = """
WITH made AS (
    SELECT opportunity_id, event_date FROM {volunteer_signups}
    WHERE signed_up_at < timezone($tz, CAST($as_of + 1 AS TIMESTAMP))
),
signed AS (SELECT opportunity_id, count(*) AS signed_up FROM made GROUP BY opportunity_id),
next_session AS (
    SELECT opportunity_id, min(event_date) AS next_session FROM made WHERE event_date >= $as_of GROUP BY opportunity_id
),
session_signed AS (
    SELECT m.opportunity_id, count(*) AS signed_up
    FROM made m JOIN next_session n ON n.opportunity_id = m.opportunity_id AND m.event_date = n.next_session
    GROUP BY m.opportunity_id
),
counted AS (
    SELECT o.opportunity_id, o.title, o.organisation, o.category, o.borough, o.start_date, o.end_date, o.recurrence,
           CASE WHEN o.recurrence = 'ongoing' THEN n.next_session END AS next_session,
           o.volunteers_needed,
           CASE WHEN o.recurrence = 'ongoing' THEN coalesce(ss.signed_up, 0) ELSE coalesce(s.signed_up, 0) END AS signed_up
    FROM {volunteer_opportunities} o
    LEFT JOIN signed s ON s.opportunity_id = o.opportunity_id
    LEFT JOIN next_session n ON n.opportunity_id = o.opportunity_id
    LEFT JOIN session_signed ss ON ss.opportunity_id = o.opportunity_id
    WHERE o.end_date >= $as_of
      AND ($borough IS NULL OR o.borough = $borough)
)
"""
VOL_OPEN_OPPORTUNITIES = OPEN_COUNTED + """
SELECT *, volunteers_needed - signed_up AS still_needed,
       count(*) OVER () AS open_opportunities,
       sum(volunteers_needed - signed_up) OVER () AS needed_in_all
FROM counted
WHERE volunteers_needed > signed_up
ORDER BY still_needed DESC, end_date, opportunity_id
LIMIT $limit
"""

# ---- KPIs: one row with `value`; periods are half-open [start, end) of event_date ----------------------
KPI_SIGNUPS = """
SELECT count(*) AS value
FROM {volunteer_signups}
WHERE event_date >= $start AND event_date < $end
"""

KPI_HOURS = """
SELECT coalesce(sum(hours) FILTER (WHERE attended), 0) AS value
FROM {volunteer_signups}
WHERE event_date >= $start AND event_date < $end
"""

QUERIES = (
    named("vol_by_day", """Per event day with sign-ups in the range: sign-ups, how many attended, and the hours
          they served.""", VOL_BY_DAY, START, END, SIGNUP_BOROUGH),
    named("vol_by_borough_category", "Sign-ups and hours served for events in the range, by borough and opportunity category.",
          VOL_BY_BOROUGH_CATEGORY, START, END),
    named("vol_open_opportunities", """Opportunities still open on `as_of` (end_date on or after it) that need more
          volunteers than have signed up by the end of that day, counted per event for a one-time opportunity and
          per next session (the earliest event_date on or after as_of with sign-ups) for an ongoing one: needed,
          signed up, still needed, and over every such opportunity (before `limit` cuts the list) how many there
          are and how many volunteers they need in all. Most needed first.""",
          VOL_OPEN_OPPORTUNITIES, AS_OF, OPPORTUNITY_BOROUGH, limit()),
    named("kpi_volunteer_signups", "KPI: sign-ups for events with event_date in [start, end).",
          KPI_SIGNUPS, PERIOD_START, PERIOD_END),
    named("kpi_volunteer_hours", "KPI: hours served by attended sign-ups for events with event_date in [start, end); 0 when none.",
          KPI_HOURS, PERIOD_START, PERIOD_END),
)
