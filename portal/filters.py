"""The dashboards' filters: their choices, their defaults, and turning a URL query into parameters.

Why here and not in layouts/: the defaults ("the last 90 days of data") and the choices (every
agency in the current version) are data questions, answered by cached named queries; the pages
only draw the controls.
"""
from __future__ import annotations

from datetime import date, timedelta

import datasets
from portal.panels import query_frame
from portal.queries import DATE_RANGE, MAX_VALUE_CHARS, TARGET_HOURS, Param, in_date_range
from portal.queries_snow import HOURS

SR_DAYS = 90
VOLUNTEER_DAYS = 365  # a year, so a day of service (MLK Day, 9/11) is in the default view
PERIODS = ("day", "week", "month")
# What a filter value that is not one becomes: a text that names nothing, so the panels say that
# nothing matches, as for any unknown value (issue 13).
NO_SUCH_VALUE = "(no such value)"


def text(value) -> str | None:
    """A typed filter value, stripped; None when blank. Anything a text box cannot send (a list, a
    number, a text longer than any value a query takes, such as the 20 MB `sr-type` of the hostile
    review) is NO_SUCH_VALUE: checked before it is compared, echoed or put in a link."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
        return NO_SUCH_VALUE
    return value.strip() or None


def _iso(value) -> str | None:
    """A date as YYYY-MM-DD, or None when blank, malformed or outside queries.DATE_RANGE."""
    if not isinstance(value, str) or not value or len(value) > 10:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day.isoformat() if in_date_range(day) else None


def typed_date(value, default: str) -> str:
    """The day a date box asks for: `default` when blank; a malformed or impossible date (2026-02-30) is
    kept as typed, so every panel says what is wrong with it, as the API's 400 does, instead of the page
    silently showing its default range (issue 15)."""
    if value is None or value == "":
        return default
    return _iso(value) or (text(value) or default)


def _range(query: dict, default_end: str, days: int) -> tuple[str, str]:
    end = typed_date(query.get("end"), default_end)
    valid_end = _iso(end) or default_end
    start = typed_date(query.get("start"), (date.fromisoformat(valid_end) - timedelta(days=days - 1)).isoformat())
    return ordered(start, end) if _iso(start) and _iso(end) else (start, end)


def canonical(value, choices) -> str | None:
    """`value` as the data spells it when it names one of `choices` in another case or with spaces
    around it (?borough=Brooklyn, "street condition" typed in the box); otherwise as given, so a
    panel can say that nothing matches. Every panel then filters on the same spelling."""
    value = text(value)
    if value is None:
        return None
    wanted = value.casefold()
    return next((c for c in choices if str(c).casefold() == wanted), value)


def ordered(start: str, end: str) -> tuple[str, str]:
    """A range typed the wrong way round means the days between the two dates: answered, not refused."""
    return (end, start) if start > end else (start, end)


def sr_choices() -> dict:
    df = query_frame("sr_filter_values")
    pick = {f: df[df["filter"] == f]["value"].tolist() for f in ("agency", "complaint_type", "first_day", "last_day")}
    return {
        "borough": list(datasets.get("service_requests").column("borough").allowed or ()),
        "agency": pick["agency"],
        "complaint_type": pick["complaint_type"],
        "first_day": pick["first_day"][0] if pick["first_day"] else None,
        "last_day": pick["last_day"][0] if pick["last_day"] else None,
    }


def sr_params(query: dict) -> dict:
    """The 311 page's parameters from its URL query; missing dates fall back to the last 90 days of data
    (a malformed date, an unknown borough or type is kept, so the panel says why it has no chart)."""
    choices = sr_choices()
    last = _iso(choices["last_day"]) or date.today().isoformat()
    start, end = _range(query, last, SR_DAYS)
    period = query.get("period") if query.get("period") in PERIODS else "week"
    return {"start": start, "end": end, "period": period,
            **{name: canonical(query.get(name), choices[name]) for name in ("borough", "agency", "complaint_type")}}


def storms() -> list[dict]:
    return query_frame("snow_storms").to_dict("records")


def storm_id(value, known: list[dict]) -> str | None:
    """The storm a typed value names: its id or its name ("storm cora"), in any case, or the label the
    storm box suggests ("Storm Cora (2026-01-22)"); otherwise the value as typed, so the page says
    there is no such storm."""
    value = text(value)
    if value is None:
        return None
    wanted = value.casefold()
    for s in known:
        names = {str(s["storm_id"]).casefold(), str(s.get("name") or "").casefold()}
        if wanted in names or wanted.split(" (")[0] in names - {""}:
            return s["storm_id"]
    return value


def whole(value, p: Param) -> int:
    """A typed whole number clamped into the query parameter's declared range; its default when blank or
    not a number, so the page and its chart CSVs open with what the query declares."""
    if isinstance(value, str) and len(value) > 40:  # int() reads up to 4,300 digits; no bound is that long
        return p.default
    try:
        return min(p.max, max(p.min, int(value)))
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(Infinity), which JSON bodies can carry
        return p.default


def snow_params(query: dict) -> dict:
    known = storms()
    storm = storm_id(query.get("storm_id"), known) or (known[0]["storm_id"] if known else None)
    return {"storm_id": storm, "hours": whole(query.get("hours"), HOURS),
            "target_hours": whole(query.get("target_hours"), TARGET_HOURS)}


def volunteer_last_day() -> str | None:
    df = query_frame("vol_by_day", start=DATE_RANGE[0].isoformat(), end=DATE_RANGE[1].isoformat())
    return None if df.empty else str(df["event_date"].max())


def volunteer_params(query: dict) -> dict:
    from portal.kpi_values import city_today

    today = city_today().isoformat()
    last = min(volunteer_last_day() or today, today)  # sign-ups for future events exist; default to today
    start, end = _range(query, last, VOLUNTEER_DAYS)
    return {"start": start, "end": end, "borough": canonical(query.get("borough"), volunteer_boroughs())}


def volunteer_boroughs() -> list[str]:
    """The boroughs a sign-up may name, as declared (datasets/volunteer_signups.yaml): the page's box
    offers exactly the values the queries accept."""
    return list(datasets.get("volunteer_signups").column("borough").allowed or ())


def named_values(page: str, given: dict) -> dict:
    """`given` with its borough, agency and complaint type spelled as the data spells them, the way the
    page reads its own boxes (canonical): a chart CSV link with ?complaint_type=heat/hot water answers
    what the page draws, not an empty file (issue 15)."""
    if page == "service_requests":
        choices = sr_choices()
    elif page == "volunteers":
        choices = {"borough": volunteer_boroughs()}
    else:
        return given
    def spelled(key, value):
        if key not in choices or not isinstance(value, str):
            return value
        return next((c for c in choices[key] if str(c).casefold() == value.strip().casefold()), value)
    return {k: spelled(k, v) for k, v in given.items()}
