"""The volunteer finder's search (issue 17, item 5): a URL query parsed into a Search, checked as a
whole, and run against the current data.

Why one parser for every face of the finder: the embed, the full page and both feeds take the same
query string, so a search a partner copies from one works in the others, and a bad value gets the
same message everywhere (beside its field on a page, in a 400's JSON in a feed). Past and full
opportunities drop out in SQL at query time (portal/queries_finder.py); distance is measured here,
from the ZIP code's point, because the data's coordinates are per opportunity and few (the real NYC
Service export locates 383 of 665), and an opportunity with none cannot be near anything.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import datasets
from portal import queries
from portal import queries_finder as sql

FIELDS = ("zip", "borough", "miles", "from", "to", "category")
DEFAULT_DAYS = 60  # the window when no end is given: the next two months
LONGEST_DAYS = 366  # the widest window a search may ask for
MILES = (1, 50)  # the distances a search may ask for
DEFAULT_MILES = 3
EARTH_MILES = 3958.8
# ASCII digits only: \d and str.isdigit() also take "²" and "𝟘", which int() and dates refuse.
_ZIP = re.compile(r"^[0-9]{5}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MILES = re.compile(r"^[0-9]{1,3}$")


class SearchError(ValueError):
    """What was wrong with a search, per field (FIELDS): each message says what the field takes."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Search:
    start: date
    end: date
    zip: str | None = None
    borough: str | None = None
    miles: int | None = None
    category: str | None = None

    def query(self, today: date) -> dict[str, str]:
        """The search as URL parameters, defaults left out, so equal searches have one URL."""
        out = {"zip": self.zip, "borough": self.borough.title() if self.borough else None,
               "miles": str(self.miles) if self.zip and self.miles != DEFAULT_MILES else None,
               "from": self.start.isoformat() if self.start != today else None,
               "to": self.end.isoformat() if self.end != self.start + timedelta(days=DEFAULT_DAYS) else None,
               "category": self.category}
        return {k: v for k, v in out.items() if v}

    def query_string(self, today: date) -> str:
        return urlencode(self.query(today))


@dataclass(frozen=True)
class Found:
    """What a search found: the open opportunities (soonest first, nearest first on a day), those that
    matched but have no location when searching by distance, and whether the row cap cut the list."""

    search: Search
    today: date
    opportunities: list[dict] = field(default_factory=list)
    without_location: int = 0
    origin: tuple[float, float] | None = None
    truncated: bool = False


def city_today() -> date:
    return datetime.now(ZoneInfo(queries.city_timezone())).date()


def boroughs() -> tuple[str, ...]:
    return tuple(datasets.get("volunteer_opportunities").column("borough").allowed or ())


def categories() -> list[str]:
    """The categories opportunities have had (a search may ask for any of them)."""
    return [row[0] for row in sql.run("categories", sql.CATEGORIES).rows]


def parse(args: Mapping[str, str], today: date) -> Search:
    """The Search in `args` (a URL's query), or SearchError naming each bad field. A window starting
    before `today` starts today: past opportunities are never open."""
    errors: dict[str, str] = {}
    value = {k: (args.get(k) or "").strip() for k in FIELDS}
    zip_code = value["zip"] or None
    if zip_code and not _ZIP.match(zip_code):
        errors["zip"] = "Enter a ZIP code of five digits, such as 10027."
    borough = None
    if value["borough"]:
        borough = next((b for b in boroughs() if b.casefold() == value["borough"].casefold()), None)
        if borough is None:
            errors["borough"] = f"Choose one of {', '.join(b.title() for b in boroughs())}."
    miles = None
    if value["miles"]:
        if not _MILES.match(value["miles"]) or not MILES[0] <= int(value["miles"]) <= MILES[1]:
            errors["miles"] = f"Enter a whole number of miles from {MILES[0]} to {MILES[1]}."
        elif not zip_code:
            errors["miles"] = "A distance needs a ZIP code to measure from."
        else:
            miles = int(value["miles"])
    if zip_code and miles is None and "miles" not in errors:
        miles = DEFAULT_MILES
    start = _day(value["from"], "from", errors) or today
    start = max(start, today)
    end = _day(value["to"], "to", errors) or start + timedelta(days=DEFAULT_DAYS)
    if "from" not in errors and "to" not in errors:
        if end < start:
            errors["to"] = f"The last day must be on or after the first ({start.isoformat()})."
        elif (end - start).days > LONGEST_DAYS:
            errors["to"] = f"Search at most {LONGEST_DAYS} days at a time."
    category = None
    if value["category"]:
        category = next((c for c in categories() if c.casefold() == value["category"].casefold()), None)
        if category is None:
            errors["category"] = f"Choose one of {', '.join(categories())}."
    if errors:
        raise SearchError(errors)
    return Search(start=start, end=end, zip=zip_code, borough=borough, miles=miles, category=category)


def _day(text: str, name: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        if _DATE.match(text):
            day = date.fromisoformat(text)
            if queries.in_date_range(day):
                return day
    except ValueError:
        pass
    errors[name] = "Enter a date as YYYY-MM-DD, such as 2026-01-19."
    return None


def zip_point(zip_code: str) -> tuple[float, float] | None:
    """Where a ZIP code is, from the 311 requests located in it (queries_finder.ZIP_POINT); None if none are."""
    row = sql.run("zip_point", sql.ZIP_POINT, zip=zip_code).rows[0]
    return None if row[0] is None else (float(row[0]), float(row[1]))


def miles_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in miles (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_MILES * math.asin(math.sqrt(h))


def find(search: Search, today: date) -> Found:
    """The open opportunities `search` asks for, as of `today`. SearchError if its ZIP code has no
    known point."""
    origin = None
    if search.zip:
        origin = zip_point(search.zip)
        if origin is None:
            raise SearchError({"zip": f"No located records in ZIP code {search.zip}, so distances from it are "
                                      "unknown; try a nearby ZIP code or search by borough."})
    results = sql.run("search", sql.FINDER, as_of=today, start=search.start, end=search.end,
                      borough=search.borough, category=search.category)
    rows, without = [], 0
    for row in results.dicts():
        if origin is not None:
            if row["latitude"] is None or row["longitude"] is None:
                without += 1
                continue
            row["miles"] = miles_between(origin, (row["latitude"], row["longitude"]))
            if row["miles"] > search.miles:
                continue
        rows.append(row)
    if origin is not None:
        rows.sort(key=lambda r: (r["first_day"], r["miles"], r["opportunity_id"]))
    return Found(search, today, rows, without, origin, results.truncated)


def week_start(today: date) -> date:
    """Monday of `today`'s week: "this week" runs Monday to today."""
    return today - timedelta(days=today.weekday())


def signups_this_week(today: date) -> int:
    """Sign-ups made since local midnight starting this week's Monday, up to the end of `today`."""
    return int(sql.run("signups_made", sql.SIGNUPS_MADE, start=week_start(today), end=today).rows[0][0])

