"""One sentence per KPI tile saying what its number leaves open: requests still open past due, a storm
whose window has not closed, the counts behind a share. Computed here from the KPI query's own columns
(portal/kpi_values.detail), so the page and the API say the same; the page only shows it (issue 15)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import config
import datasets
from portal import wording


def _n(x) -> str:
    return f"{int(x or 0):,}"


def _pct(x) -> str:
    return "no data" if x is None else wording.percent(x)


def _local_time(iso: str) -> str:
    zone = ZoneInfo(datasets.city(config.get("city")).timezone)
    return f"{datetime.fromisoformat(iso).astimezone(zone):%Y-%m-%d %H:%M %Z}"


def _on_time(actual, d: dict) -> str:
    return (f"{_n(d.get('numerator'))} of {_n(d.get('denominator'))} requests with a due time were on time; the "
            f"{_n(d.get('open_past_due'))} still open past their due time count as late. Over the "
            f"{_n(d.get('closed_only_requests'))} requests closed in the period alone it would read "
            f"{_pct(d.get('closed_only_value'))}.")


def _snow(actual, d: dict) -> str:
    pending = int(d.get("storms_in_progress") or 0)
    done = f"{_n(d.get('numerator'))} of {_n(d.get('denominator'))} priority-1 segments reached within target"
    if not pending:
        return done + "." if d.get("denominator") else "No storm began in this period."
    words = (f"In progress: {pending} storm{'s' if pending > 1 else ''} still inside the target window (it ends "
             f"{_local_time(d['window_ends'])}), left out of the score until it closes")
    return f"{words}; {done} in the storms whose window has closed." if d.get("denominator") else words + "."


def _median(actual, d: dict) -> str:
    counted = (f"Over the {_n(d.get('denominator'))} requests created in the period: {_n(d.get('closed'))} closed, "
               f"{_n(d.get('created_still_open'))} not closed by the period's end (or by now), each counted as open at least that "
               f"long (Kaplan-Meier)")
    if actual is None and d.get("denominator"):
        return (f"{counted}. Fewer than half have closed yet, so the median is "
                f"{wording.duration(float(d.get('more_than_days') or 0) * 24, more_than=True)}: no score until half "
                f"have closed.")
    return counted + "." if d.get("denominator") else "No requests were created in this period."


NOTES = {
    "sr_pct_closed_within_target": _on_time,
    "snow_p1_serviced_within_target": _snow,
    "sr_median_days_to_close": _median,
}


def note(kpi_id: str, actual, detail: dict) -> str:
    """The tile's sentence, or "" for a KPI whose number needs none."""
    build = NOTES.get(kpi_id)
    return build(actual, detail) if build and detail else ""
