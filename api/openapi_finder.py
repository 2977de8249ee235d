"""The volunteer finder's routes in the OpenAPI description (api/volunteer.py; README, "Volunteer finder")."""
from __future__ import annotations

from api.openapi import STR, _errors, _get, _param
from portal.volunteer_finder import DEFAULT_DAYS, DEFAULT_MILES, LONGEST_DAYS, MILES
from web import finder_page


def _search() -> list[dict]:
    date = {"type": "string", "format": "date"}
    return [
        _param("zip", "query", {"type": "string", "pattern": "^[0-9]{5}$"},
               "A ZIP code to measure distance from (its point: the median of the 311 requests located in it)."),
        _param("miles", "query", {"type": "integer", "minimum": MILES[0], "maximum": MILES[1]},
               f"How far from the ZIP code (needs zip; default {DEFAULT_MILES})."),
        _param("borough", "query", STR, "One borough, any case."),
        _param("from", "query", date, "First day of the window (default today; an earlier day means today)."),
        _param("to", "query", date, f"Last day of the window (default {DEFAULT_DAYS} days on; at most {LONGEST_DAYS} days)."),
        _param("category", "query", STR, "One kind of work, any case, as the opportunities name it."),
    ]


def finder_paths() -> dict:
    html = {"text/html": {"schema": STR}}
    feeds = {}
    for kind, content in (("ics", {"text/calendar": {"schema": STR}}), ("json", {"application/feed+json": {"schema": {"type": "object"}}})):
        feeds[f"{finder_page.FEED_PATH}.{kind}"] = _get(
            f"Open volunteer opportunities ({'iCalendar' if kind == 'ics' else 'JSON Feed 1.1'})",
            "The volunteer finder's search as a feed: open opportunities that still need volunteers (past and full "
            "ones drop out), soonest first. A bad or unknown parameter is a 400 naming it, with every field's error.",
            {"200": {"description": "The feed.", "content": content}, **_errors(400, 429, 503)}, _search(),
            example=f"{finder_page.FEED_PATH}.{kind}?borough=Brooklyn", tag="portal")
    return {
        finder_page.EMBED_PATH: _get(
            "Volunteer finder (embed)", "The finder on a minimal page any site may frame; a bad search shows the form "
            "again with each message beside its field.",
            {"200": {"description": "The page.", "content": html}, **_errors(429, 503)},
            _search(), example=f"{finder_page.EMBED_PATH}?borough=Brooklyn", tag="portal"),
        **feeds,
        finder_page.STATIC_PREFIX + "{name}": _get(
            "Volunteer finder files", "The finder's script and stylesheet, and embed.js: the script that sizes a "
            "partner page's Pulse iframes, /assets/embed/resize.js, also served here for finder snippets pasted before "
            "every embed shared that one script.",
            {"200": {"description": "The file.", "content": {"text/javascript": {"schema": STR}, "text/css": {"schema": STR}}},
             **_errors(404)},
            [_param("name", "path", {"type": "string", "enum": sorted(finder_page.STATIC_FILES)}, "The file.")],
            example=finder_page.STATIC_PREFIX + "embed.js", tag="portal"),
    }
