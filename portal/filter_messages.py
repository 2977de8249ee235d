"""What is wrong with a page's filters, in words, once, beside the filters (issue 16).

Why not the query's own message: `?borough=Bronxx` made every panel of /service-requests say
"parameter 'borough' of query 'sr_volume' expects one of ...", six times, naming queries a reader
never sees. A page checks its parameters here first; when something is wrong the filter bar says what
and how to fix it, and the panels wait (callbacks/_panels.py). The API keeps its precise 400s.
"""
from __future__ import annotations

from datetime import date

from portal import filters
from portal.queries import DATE_RANGE, in_date_range
from portal.quoting import clipped

SHOWN_CHARS = 60  # a typed value is echoed at most this long
LABELS = {"start": "From", "end": "To", "borough": "Borough", "agency": "Agency", "complaint_type": "Complaint type",
          "storm_id": "Storm"}


def _typed(value) -> str:
    return f"\u201c{clipped(str(value), SHOWN_CHARS)}\u201d"


def date_problem(value) -> str | None:
    """Why a date box's value is not a day the data can be asked about, or None."""
    if value in (None, ""):
        return None
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return f"{_typed(value)} is not a date. Write it as year-month-day, for example 2026-11-19."
    if not in_date_range(day):
        return f"{_typed(value)} is outside the dates that can be asked for ({DATE_RANGE[0]} to {DATE_RANGE[1]})."
    return None


def choice_problem(value, choices: list, what: str, all_words: str, spell_out: bool = True) -> str | None:
    """Why a typed value names none of `choices`, or None. Case and spaces around it do not matter
    (filters.canonical has spelled a known value as the data does); the choices are named when they
    are few and `spell_out`, else the box's list is pointed to."""
    if value in (None, "") or value in choices:
        return None
    if value == filters.NO_SUCH_VALUE:  # not text, or longer than any value: not echoed (issue 13)
        return f"What was typed is not a{'n' if what[0] in 'aeiou' else ''} {what.split(' with ')[0]} (too long, or not text). " \
               f"Choose one from the list, or leave the box empty for {all_words}."
    if spell_out and len(choices) <= 8:
        options = [str(c).title() if str(c).isupper() else str(c) for c in choices]
        pick = f"Choose {', '.join(options[:-1])} or {options[-1]}" if len(options) > 1 else f"Choose {options[0]}"
    else:
        pick = "Choose one from the list"
    return f"No {what} is called {_typed(value)}. {pick}, or leave the box empty for {all_words}."


def problems(page: str, params: dict) -> dict[str, str]:
    """Filter name -> what is wrong with its value, for one page's parameters (empty when all is well)."""
    found: dict[str, str | None] = {}
    if page in ("service_requests", "volunteers"):
        found["start"] = date_problem(params.get("start"))
        found["end"] = date_problem(params.get("end"))
    if page == "service_requests":
        choices = filters.sr_choices()
        found["borough"] = choice_problem(params.get("borough"), choices["borough"], "borough", "every borough")
        found["agency"] = choice_problem(params.get("agency"), choices["agency"], "agency with 311 requests",
                                         "every agency")
        found["complaint_type"] = choice_problem(params.get("complaint_type"), choices["complaint_type"],
                                                 "complaint type", "every type")
    elif page == "volunteers":
        found["borough"] = choice_problem(params.get("borough"), filters.volunteer_boroughs(), "borough",
                                          "every borough")
    elif page == "snow":
        known = [s["storm_id"] for s in filters.storms()]
        found["storm_id"] = choice_problem(params.get("storm_id"), known, "storm", "the latest storm",
                                           spell_out=False) if known else None
    return {name: text for name, text in found.items() if text}


def note(page: str, params: dict) -> list[str]:
    """The filter bar's lines: each problem under its box's label."""
    return [f"{LABELS[name]}: {text}" for name, text in problems(page, params).items()]
