"""The volunteer finder's feeds (issue 17, item 5): the same search as an iCalendar (RFC 5545) a
calendar subscribes to, and as a JSON Feed 1.1 a partner site reads. Plain functions of a Found.

Why all-day events (DTSTART;VALUE=DATE) rather than times with a TZID: the data gives days (start_date,
end_date), never an hour, and a DATE value is RFC 5545's own form for "on this day" wherever the
reader is; a time would be made up (decision 0023). Why the UID is the opportunity id at the site's
host and DTSTART/DTEND are the opportunity's own first and last day (not the search window's): a
calendar subscribed to the feed sees one event per opportunity that keeps its identity and its dates
across data versions and days, and only its description (volunteers still needed) moves.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import icalendar

import config
import datasets
from portal.volunteer_finder import Found, Search

JSON_FEED = "https://jsonfeed.org/version/1.1"
PRODID = "-//Pulse//Volunteer finder//EN"


def title(search: Search) -> str:
    """A search in words: "Volunteer opportunities within 3 miles of 10027, Education, 2026-12-04 to 2027-02-02"."""
    where = [f"within {search.miles} miles of {search.zip}" if search.zip else "",
             f"in {search.borough.title()}" if search.borough else "", search.category or ""]
    said = ", ".join(w for w in where if w)
    return f"Volunteer opportunities{' ' + said if said else ''}, {search.start.isoformat()} to {search.end.isoformat()}"


def place(opp: dict) -> str:
    city = datasets.city(config.get("city")).name
    return f"{opp['borough'].title()}, {city}" if opp.get("borough") else city


def needed(opp: dict) -> str:
    """What an opportunity still needs, per session when it is ongoing (as the query counts it)."""
    if opp["recurrence"] == "ongoing":
        session = f"the next session ({opp['next_session'].isoformat()})" if opp.get("next_session") else "each session"
        return f"{opp['still_needed']} of {opp['volunteers_needed']} volunteers still needed for {session}"
    return f"{opp['still_needed']} of {opp['volunteers_needed']} volunteers still needed"


def when(opp: dict) -> str:
    if opp["start_date"] == opp["end_date"]:
        return opp["start_date"].isoformat()
    return f"ongoing, {opp['start_date'].isoformat()} to {opp['end_date'].isoformat()}"


def item_url(page_url: str, opp: dict) -> str:
    return f"{page_url}#opp-{opp['opportunity_id']}"


def ics(found: Found, page_url: str, published: datetime | None) -> bytes:
    """The search as a VCALENDAR: one all-day VEVENT per open opportunity (module docstring)."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", title(found.search))
    cal.add("x-wr-timezone", _zone())
    host = urlsplit(page_url).hostname or "pulse"
    stamp = (published or datetime(1970, 1, 1, tzinfo=UTC)).astimezone(UTC)
    for opp in found.opportunities:
        event = icalendar.Event()
        event.add("uid", f"{opp['opportunity_id']}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", opp["start_date"])
        event.add("dtend", opp["end_date"] + timedelta(days=1))  # DATE ends are exclusive (RFC 5545 3.6.1)
        event.add("summary", opp["title"])
        event.add("location", place(opp))
        if opp.get("latitude") is not None and opp.get("longitude") is not None:
            event.add("geo", (opp["latitude"], opp["longitude"]))
        event.add("url", opp.get("signup_url") or item_url(page_url, opp))  # one URL an event: where to sign up, if given
        event.add("description", description(opp))
        if opp.get("category"):
            event.add("categories", [opp["category"]])
        event.add("transp", "TRANSPARENT")  # a chance to help, not a busy day
        cal.add_component(event)
    return cal.to_ical()


def description(opp: dict) -> str:
    lines = [needed(opp) + ".", f"Organisation: {opp.get('organisation') or 'not given'}.", f"When: {when(opp)}."]
    if opp.get("hours"):
        lines.append(f"About {opp['hours']:g} hours of service.")
    if opp.get("summary"):
        lines.append(opp["summary"])
    if opp.get("signup_url"):
        lines.append(f"Sign up: {opp['signup_url']}")
    return "\n".join(lines)


def json_feed(found: Found, page_url: str, feed_url: str, signed_up_this_week: int, versions: dict) -> dict:
    """The search as a JSON Feed 1.1; each item's `_pulse` holds the opportunity's fields (README, "Volunteer finder")."""
    items = []
    for opp in found.opportunities:
        extra = {k: _plain(opp.get(k)) for k in ("organisation", "category", "borough", "start_date", "end_date",
                                                  "recurrence", "next_session", "volunteers_needed", "signed_up",
                                                  "still_needed", "hours", "latitude", "longitude")}
        extra["place"] = place(opp)
        extra["miles"] = round(opp["miles"], 2) if "miles" in opp else None
        item = {"id": opp["opportunity_id"], "url": item_url(page_url, opp), "title": opp["title"],
                "content_text": description(opp), "tags": [opp["category"]] if opp.get("category") else [],
                "_pulse": extra}
        if opp.get("signup_url"):  # JSON Feed 1.1: "the URL of a page elsewhere" this item is about
            item["external_url"] = opp["signup_url"]
        items.append(item)
    s = found.search
    return {
        "version": JSON_FEED, "title": title(s), "home_page_url": page_url, "feed_url": feed_url,
        "description": "Open volunteer opportunities that still need volunteers; past and full ones drop out.",
        "language": "en", "items": items,
        "_pulse": {"as_of": found.today.isoformat(), "search": {"zip": s.zip, "borough": s.borough, "miles": s.miles,
                                                               "from": s.start.isoformat(), "to": s.end.isoformat(),
                                                               "category": s.category},
                   "signed_up_this_week": signed_up_this_week, "without_location": found.without_location,
                   "truncated": found.truncated, "versions": versions},
    }


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def _zone() -> str:
    return datasets.city(config.get("city")).timezone
