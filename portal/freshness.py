"""What every page says about its data's time, in one meaning each (issue 16):

- **data through**: the newest record's own time (the newest value of the columns a dataset declares
  as `recorded_at`), which is what a reader takes "as of" for;
- **published**: when the version a page reads was published, always labelled so;
- the versions themselves, for the "Data and sources" line below the charts (never the first screen).

Every time is in the city's zone (datasets/cities.yaml) with the zone named: one clock on a page,
never UTC beside local time. The dashboards poll /api/v1/version for a change; these read the
reader's state, so what a page says it shows is what its queries read. No Dash here.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import config
import datasets
from portal import cache
from portal.reader import UNREADABLE, QueryTimeout, QueryTooBig, reader

log = logging.getLogger(__name__)
_left_out: set[tuple[str, int]] = set()  # (dataset, version) whose scan failed, logged once


def zone_name() -> str:
    """The city's IANA zone (America/New_York): the browser formats its clock in it too."""
    return datasets.city(config.get("city")).timezone


def local_time(value, *, today: date | None = None) -> str:
    """An instant in the city's zone with the zone named: "04:22 EST" today, "2026-11-20 04:22 EST"
    another day, "unknown" for none. ISO strings and naive datetimes are taken as UTC."""
    if value is None or value == "":
        return "unknown"
    t = datetime.fromisoformat(value) if isinstance(value, str) else value
    t = (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone_name()))
    today = today or datetime.now(ZoneInfo(zone_name())).date()
    return t.strftime("%H:%M %Z") if t.date() == today else t.strftime("%Y-%m-%d %H:%M %Z")


def local_day(value) -> str:
    """The city's calendar day of an instant (a storm that began at 19:00 EST on the 7th began on the
    7th, though it was the 8th in UTC)."""
    t = datetime.fromisoformat(value) if isinstance(value, str) else value
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    return t.astimezone(ZoneInfo(zone_name())).date().isoformat()


def local_stamp(value) -> str:
    """Always with the day (tables of versions, where "today" would read ambiguously in a column)."""
    return local_time(value, today=date.min)


def versions() -> dict[str, int | None]:
    return dict(reader().versions())


def catch_up(seen: Mapping | None) -> None:
    """A page redrawing for versions it was told of (by /api/v1/version, possibly answered by another
    worker) reads at least those: this worker's reader looks at once if it is behind them, rather than
    up to half a second later, after the page has been redrawn from the older data and its live poll
    has gone quiet (304s) for good."""
    if isinstance(seen, Mapping):
        reader().versions(at_least=seen)


def data_through(names=None) -> dict[str, datetime]:
    """Dataset -> the newest instant among its `recorded_at` columns, in the current version.
    One scan per dataset version across workers (cached by that dataset's version alone, STYLE habit
    10: a plow batch does not rescan the 311 requests); a scan past the query time limit leaves the
    dataset out rather than failing the page (habit 4), and so does a dataset whose files cannot be read
    (a file lost, an object store that did not answer): every page's header says this, so one dataset's
    fault must not take down the pages of the others (logged once per version, tried again at each request)."""
    r = reader()
    current = r.versions()
    out = {}
    for ds in datasets.datasets().values():
        if not ds.recorded_at or (names is not None and ds.name not in names) or current.get(ds.name) is None:
            continue
        sql = (f"SELECT greatest({', '.join(f'max({c})' for c in ds.recorded_at)}) "  # identifiers: the declaration
               f"FROM {{{ds.name}}}")

        def compute(sql=sql) -> str | None:
            rows = r.query(sql, name="data_through", time_limit_ms=config.get_int("query_time_limit_ms")).rows
            return rows[0][0].isoformat() if rows and rows[0][0] is not None else None

        try:
            value, _ = cache.get_or_compute("data_through", {"name": ds.name}, {ds.name: current[ds.name]}, compute)
        except (QueryTimeout, QueryTooBig):
            continue
        except UNREADABLE as exc:
            if (ds.name, current[ds.name]) not in _left_out:
                _left_out.add((ds.name, current[ds.name]))
                log.error("data through of %s v%s left out: its files could not be read: %s", ds.name, current[ds.name], exc)
            continue
        if value:
            out[ds.name] = datetime.fromisoformat(value)
    return out


def _newest(values) -> str | datetime | None:
    known = [v for v in values if v]
    return max(known) if known else None


def headline() -> str:
    """The live bar's line: the newest record across every dataset ("Data through 04:22 EST")."""
    newest = _newest(data_through().values())
    if newest is None:
        return "No data loaded yet" if not _newest(reader().published_at().values()) else "Data loaded"
    return f"Data through {local_time(newest)}"


def data_words(names) -> str:
    """A page's first-screen line: its own data's time and its publish time, each labelled
    ("Data through 2026-11-20 04:22 EST; published 09:32 EST.")."""
    through = _newest(data_through(names).values())
    published = _newest(p for n, p in reader().published_at().items() if n in names)
    if published is None:
        return "No data loaded yet."
    head = f"Data through {local_time(through)}" if through else "Data"
    return f"{head}; published {local_time(published)}."


def sources(names) -> list[dict]:
    """The "Data and sources" line: each dataset a page reads with its title, version and publish
    time, and the catalog page that says how to cite it."""
    current, published = reader().versions(), reader().published_at()
    out = []
    for name in names:
        v = current.get(name)
        out.append({"name": name, "title": datasets.get(name).title, "version": v,
                    "published": local_stamp(published.get(name)) if v else None,
                    "href": f"/data/{name}?version={v}" if v else f"/data/{name}"})
    return out
