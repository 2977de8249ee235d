"""Demo volunteering: ~300 opportunities and their sign-ups, with days of service that stand out.

MLK Day of Service (third Monday of January) and 9/11 Day (September 11) get their own events and
about ten times the usual sign-ups, the spike a volunteer dashboard should show. Seeded Python, as
in etl/demo_snow.py: small data, same seed, same bytes.
"""
from __future__ import annotations

import csv
import hashlib
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

from etl.demo_city import BOROUGHS, DISTRICTS, TZ

OPPORTUNITIES = 270  # plus the day-of-service events
SIGNUPS_PER_DAY = 14
DAY_OF_SERVICE_FACTOR = 10
SIGNUP_LINK_SHARE = 0.7  # opportunities whose organiser takes sign-ups on a web page
BOROUGH_SHARE = (0.30, 0.15, 0.25, 0.20, 0.10)
ORGANISATIONS = {
    "Education": ("Learning Leaders", "Reading Partners NYC", "Partnership with Children", "Big Brothers Big Sisters of NYC"),
    "Environment": ("GrowNYC", "MillionTrees NYC", "Prospect Park Alliance", "Central Park Conservancy", "Hudson River Park Trust"),
    "Health": ("God's Love We Deliver", "NYC Health + Hospitals Volunteers", "American Red Cross in Greater New York"),
    "Seniors": ("Citymeals on Wheels", "DOROT", "Encore Community Services"),
    "Hunger": ("City Harvest", "Food Bank For New York City", "Holy Apostles Soup Kitchen", "Part of the Solution"),
    "Strengthening Communities": ("New York Cares", "NYC Service", "Habitat for Humanity New York City", "Neighborhood Housing Services"),
    "Emergency Preparedness": ("NYC Emergency Management CERT", "American Red Cross in Greater New York", "NYC Medical Reserve Corps"),
}
CATEGORY_SHARE = (20, 18, 12, 12, 16, 15, 7)
TASKS = {
    "Education": ("Tutor elementary readers", "Mentor a high school student", "Help with homework club", "Lead a college essay workshop"),
    "Environment": ("Plant street trees", "Clean up the waterfront", "Care for a community garden", "Remove invasive plants"),
    "Health": ("Deliver meals to homebound neighbours", "Greet patients at the hospital", "Staff a blood drive"),
    "Seniors": ("Visit an isolated senior", "Deliver holiday meals to seniors", "Teach seniors to use a smartphone"),
    "Hunger": ("Sort donations at the food bank", "Serve lunch at a soup kitchen", "Pack groceries for families"),
    "Strengthening Communities": ("Paint a school mural", "Renovate a community centre", "Help at a neighbourhood street fair"),
    "Emergency Preparedness": ("Train as a CERT volunteer", "Staff a cooling centre", "Install smoke alarms"),
}


def mlk_day(year: int) -> date:
    first = date(year, 1, 1)
    return first + timedelta(days=(0 - first.weekday()) % 7 + 14)


def days_of_service(start: date, stop: date) -> dict[date, str]:
    days = {}
    for year in range(start.year, stop.year + 1):
        days[mlk_day(year)] = "MLK Day of Service"
        days[date(year, 9, 11)] = "9/11 Day of Service"
    return {d: name for d, name in days.items() if start <= d <= stop}


def _at(day: date, rng: random.Random, first_hour: int = 8, last_hour: int = 22) -> datetime:
    return datetime.combine(day, time(rng.randint(first_hour, last_hour - 1), rng.randint(0, 59), rng.randint(0, 59)))


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())[:24]


def _opportunity(rng: random.Random, start: date, end: datetime, category: str, onetime: bool, title: str | None = None,
                 needed: int | None = None) -> dict:
    org = rng.choice(ORGANISATIONS[category])
    b = rng.choices(range(5), weights=BOROUGH_SHARE)[0]
    lat, lon, radius, _, _ = DISTRICTS[rng.choice([c for c in sorted(DISTRICTS) if c // 100 == b + 1])]
    task = rng.choice(TASKS[category])
    created = min(_at(start - timedelta(days=rng.randint(7, 60)), rng, 9, 18), end - timedelta(hours=rng.randint(1, 48)))
    hours = rng.choice((2, 2.5, 3, 4, 5, 6)) if onetime else rng.choice((2, 3, 4))
    return {
        "title": title or f"{task} with {org}", "organisation": org, "category": category, "borough": BOROUGHS[b],
        "start_date": start, "end_date": start if onetime else start + timedelta(days=rng.randint(60, 365)),
        "recurrence": "onetime" if onetime else "ongoing",
        "volunteers_needed": needed or max(2, min(400, round(rng.lognormvariate(2.7 if onetime else 2.1, 0.6)))),
        "hours": hours, "latitude": round(lat + rng.uniform(-1, 1) * radius, 6), "longitude": round(lon + rng.uniform(-1.3, 1.3) * radius, 6),
        "created": created, "summary": f"{task}. {org} provides training and supplies; no experience needed.",
        "contact_email": f"volunteer@{_slug(org)}.example.org",
    }


def opportunities(rng: random.Random, end: datetime) -> list[dict]:
    first, last = end.date() - timedelta(days=730), end.date() + timedelta(days=60)
    out = []
    for _ in range(OPPORTUNITIES):
        category = rng.choices(list(ORGANISATIONS), weights=CATEGORY_SHARE)[0]
        out.append(_opportunity(rng, first + timedelta(days=rng.randint(0, (last - first).days)), end, category, rng.random() < 0.25))
    for day, name in days_of_service(first, last).items():
        for _ in range(8):
            category = rng.choices(list(ORGANISATIONS), weights=CATEGORY_SHARE)[0]
            task = rng.choice(TASKS[category])
            out.append(_opportunity(rng, day, end, category, True, title=f"{name}: {task}", needed=rng.randint(50, 300)))
    out.sort(key=lambda o: (o["start_date"], o["created"], o["title"]))
    for n, o in enumerate(out, start=1):
        o["opportunity_id"] = f"OPP-{n:04d}"
        o["signup_url"] = signup_url(o["opportunity_id"], o["organisation"])
    return out


def signup_url(opportunity_id: str, organisation: str) -> str:
    """The organiser's sign-up page for about SIGNUP_LINK_SHARE of the opportunities, empty for the rest
    (a sign-up by phone or in person, as in real listings). Chosen by a hash of the id rather than by the
    generator's random stream, so the other demo values stay what they were before the column existed."""
    if int(hashlib.sha1(opportunity_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF >= SIGNUP_LINK_SHARE:
        return ""
    return f"https://{_slug(organisation)}.example.org/volunteer/{opportunity_id.lower()}"


def signups(rng: random.Random, opps: list[dict], end: datetime) -> list[list]:
    """Sign-ups day by day for events from two years back to a month ahead; days of service x10."""
    first, last = end.date() - timedelta(days=730), end.date() + timedelta(days=30)
    special = days_of_service(first, last)
    rows = []
    day = first
    while day <= last:
        onetime = [o for o in opps if o["recurrence"] == "onetime" and o["start_date"] == day]
        ongoing = [o for o in opps if o["recurrence"] == "ongoing" and o["start_date"] <= day <= o["end_date"]]
        rate = SIGNUPS_PER_DAY * (1.3 if day.weekday() >= 5 else 1.0) * (1.2 if day.month in (6, 7, 11, 12) else 1.0)
        if day in special:
            rate *= DAY_OF_SERVICE_FACTOR
        for _ in range(round(rate * rng.uniform(0.7, 1.3))):
            pool = onetime if onetime and (day in special or rng.random() < 0.4) else ongoing or onetime
            if not pool:
                break
            o = rng.choice(pool)
            lead = timedelta(days=rng.randint(0, 21 if o["recurrence"] == "onetime" else 7))
            signed = max(o["created"] + timedelta(minutes=rng.randint(5, 600)), _at(day - lead, rng, 7, 23))
            signed = max(min(signed, end - timedelta(minutes=rng.randint(1, 600))), o["created"] + timedelta(minutes=1))
            past = day < end.date()
            attended = (rng.random() < 0.82) if past else None
            hours = round(o["hours"] * rng.uniform(0.75, 1.1) * 4) / 4 if attended else (0 if past else None)
            volunteer = hashlib.sha1(f"{rng.random() ** 2 * 6000:.0f}".encode()).hexdigest()[:12]
            rows.append([signed, o["opportunity_id"], day, o["borough"], attended, hours, f"vol-{volunteer}"])
        day += timedelta(days=1)
    rows.sort(key=lambda r: (r[0], r[1]))
    fmt = lambda v: "" if v is None else ("true" if v is True else "false" if v is False else v)  # noqa: E731
    return [[f"SU-{n:06d}", opp, signed.replace(tzinfo=TZ).isoformat(sep=" "), day.isoformat(), borough, fmt(att), fmt(hrs), vol]
            for n, (signed, opp, day, borough, att, hrs, vol) in enumerate(rows, start=1)]


def write_volunteers(src: Path, seed: int, end: datetime) -> dict[str, Path]:
    """Write volunteer_opportunities and volunteer_signups in their plain schema as CSV under `src`."""
    rng = random.Random(f"pulse-demo-volunteers:{seed}")
    opps = opportunities(rng, end)
    cols = ["opportunity_id", "title", "organisation", "category", "borough", "start_date", "end_date", "recurrence",
            "volunteers_needed", "hours", "latitude", "longitude", "created", "summary", "signup_url", "contact_email"]
    out = {"volunteer_opportunities": src / "volunteer_opportunities.csv", "volunteer_signups": src / "volunteer_signups.csv"}
    with open(out["volunteer_opportunities"], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for o in opps:
            w.writerow([o[c].replace(tzinfo=TZ).isoformat(sep=" ") if c == "created" else o[c] for c in cols])
    with open(out["volunteer_signups"], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["signup_id", "opportunity_id", "signed_up_at", "event_date", "borough", "attended", "hours", "volunteer_id"])
        w.writerows(signups(rng, opps, end))
    return out
