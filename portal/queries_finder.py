"""The volunteer finder's SQL (issue 17, item 5): open opportunities in a date window, a ZIP code's
point, the categories there are, and the sign-ups made this week.

Who is full is counted exactly as the volunteers page counts it (queries_volunteers.OPEN_COUNTED:
a one-time event by all its sign-ups, an ongoing one by its next session's), so the finder and the
dashboard never disagree. These are not named queries of the registry: they take parameters the
registry has no kind for (a search is validated as a whole in portal/volunteer_finder.py) and serve
no chart or KPI; they run through the same reader, limits and cache (`run` below).
"""
from __future__ import annotations

import config
from portal import cache, queries
from portal.queries_volunteers import OPEN_COUNTED
from portal.reader import Results, reader

# Open on $as_of and not full (OPEN_COUNTED), with an occurrence in [$start, $end]: a one-time event
# on its day, an ongoing opportunity whose span overlaps the window. first_day is the first day of it
# inside the window (a calendar's DTSTART). A stated need that was a placeholder (NULL) never matches.
FINDER = OPEN_COUNTED + """
SELECT c.opportunity_id, c.title, c.organisation, c.category, c.borough, c.start_date, c.end_date, c.recurrence,
       c.next_session, c.volunteers_needed, c.signed_up, c.volunteers_needed - c.signed_up AS still_needed,
       o.hours, o.summary, o.signup_url, o.latitude, o.longitude, greatest(c.start_date, CAST($start AS DATE)) AS first_day
FROM counted c JOIN {volunteer_opportunities} o ON o.opportunity_id = c.opportunity_id
WHERE c.volunteers_needed > c.signed_up
  AND c.start_date <= $end AND c.end_date >= $start
  AND ($category IS NULL OR c.category = $category)
ORDER BY first_day, c.opportunity_id
"""

# A ZIP code's point: the median of the 311 requests located in it (the only data that pairs ZIP codes
# with coordinates; the median shrugs off the odd misplaced request). No request located there: NULLs.
ZIP_POINT = """
SELECT median(latitude) AS latitude, median(longitude) AS longitude, count(*) AS located
FROM {service_requests}
WHERE incident_zip = $zip AND latitude IS NOT NULL AND longitude IS NOT NULL
"""

CATEGORIES = """
SELECT DISTINCT category FROM {volunteer_opportunities} WHERE category IS NOT NULL ORDER BY category
"""

# Sign-ups made from local midnight starting $start to local midnight after $end.
SIGNUPS_MADE = """
SELECT count(*) AS signups FROM {volunteer_signups}
WHERE signed_up_at >= timezone($tz, CAST($start AS TIMESTAMP))
  AND signed_up_at < timezone($tz, CAST($end + 1 AS TIMESTAMP))
"""


def run(name: str, sql: str, **params) -> Results:
    """`sql` over the current versions through the shared cache, keyed by its parameters and the
    versions of the datasets it reads (as queries.cached keys a named query)."""
    bound = {k: v for k, v in params.items() if f"${k}" in sql}
    if "$tz" in sql:
        bound["tz"] = queries.city_timezone()
    versions = reader().versions()
    used = {n: versions.get(n) for n in queries.datasets_of(sql)}

    def compute() -> Results:
        return reader().query(sql, bound, name=name, time_limit_ms=config.get_int("query_time_limit_ms"),
                              max_rows=config.get_int("query_max_rows"))

    results, _ = cache.get_or_compute(f"finder:{name}", bound, used, compute)
    return results
