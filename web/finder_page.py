"""The volunteer finder as server-rendered HTML (issue 17, item 5): one fragment (the form, the weekly
count, the results) used by the embed's own small document and by the full page /volunteer.

Why server-rendered with no framework: the embed must stay under 100 KB and work with JavaScript off
(the form is a plain GET form; each field's error sits beside it, tied by aria-describedby); the
small script in web/finder/finder.js only makes it better (searches without a reload, the weekly count
kept live, the frame's height posted to the parent page). Everything written here is escaped.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from html import escape
from pathlib import Path

import config
from portal import embeds
from portal import volunteer_finder as finder
from portal.finder_feeds import needed, place, when
from portal.reader import reader

STATIC = Path(__file__).resolve().parent / "finder"
ASSETS = Path(__file__).resolve().parents[1] / "assets"
STATIC_FILES = {"finder.js": (STATIC / "finder.js", "text/javascript"), "finder.css": (STATIC / "finder.css", "text/css"),
                # Every embed's sizing script, at the address the finder's first snippets pasted (kept working)
                "embed.js": (ASSETS / "embed" / "resize.js", "text/javascript")}
STATIC_PREFIX = "/volunteer/static/"
EMBED_PATH = "/embed/volunteer-finder"
PAGE_PATH = "/volunteer"
FEED_PATH = "/volunteer/opportunities"
WATCHED = ("volunteer_opportunities", "volunteer_signups")  # a new version of these refreshes the finder
SHOWN = 50  # results listed on a page; the feeds carry them all


@dataclass(frozen=True)
class View:
    """What a finder page shows: the form's values as typed, the errors per field, and what was found
    (None when the search had errors)."""

    values: dict[str, str]
    errors: dict[str, str]
    found: object | None  # portal.volunteer_finder.Found
    boroughs: tuple[str, ...]
    categories: list[str]
    week_count: int
    week_start: date
    query: str  # the search as a canonical query string ('' when it has errors)
    versions: dict
    poll_seconds: int


def build_view(args) -> View:
    """What a finder page shows for `args` (its URL query): a bad search shows its errors, no results."""
    today = finder.city_today()
    errors, found, query = {}, None, ""
    try:
        search = finder.parse(args, today)
        found = finder.find(search, today)
        query = search.query_string(today)
    except finder.SearchError as exc:
        errors = exc.errors
    return View(values={k: str(args.get(k) or "") for k in finder.FIELDS}, errors=errors, found=found,
                boroughs=finder.boroughs(), categories=finder.categories(), week_count=finder.signups_this_week(today),
                week_start=finder.week_start(today), query=query, versions=reader().versions(),
                poll_seconds=config.get_int("live_poll_seconds"))


def static_url(name: str) -> str:
    """A static file's URL with its modification time, so it is served as immutable (api/httpcache.py)."""
    return f"{STATIC_PREFIX}{name}?m={int(STATIC_FILES[name][0].stat().st_mtime)}"


def document(view: View, root: str) -> str:
    """The embed: a minimal page holding the finder, framable by any site (web/headers.py)."""
    feeds = _feed_query(view)
    alternates = "" if view.errors else (
        f'<link rel="alternate" type="text/calendar" title="These opportunities (calendar)" href="{escape(FEED_PATH + ".ics" + feeds)}">'
        f'<link rel="alternate" type="application/feed+json" title="These opportunities (JSON Feed)" '
        f'href="{escape(FEED_PATH + ".json" + feeds)}">')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>Volunteer finder \u00b7 Pulse</title>"
            f'<link rel="stylesheet" href="{static_url("finder.css")}">{alternates}'
            f'<script src="{static_url("finder.js")}" defer></script></head>'
            f'<body class="finder-embed"><main>{fragment(view, EMBED_PATH, root)}</main></body></html>')


def fragment(view: View, action: str, root: str) -> str:
    """The finder itself: heading, weekly count, GET form, results and feed links."""
    data = escape(json.dumps({"versions": {n: view.versions.get(n) for n in WATCHED}, "poll": view.poll_seconds}))
    week = (f'<p class="finder-week"><span id="finder-week" aria-live="polite">{view.week_count:,} '
            f'{"sign-up" if view.week_count == 1 else "sign-ups"} for volunteering this week</span> '
            f'(since Monday {view.week_start.isoformat()})</p>')
    return (f'<div class="finder" id="finder" data-finder="{data}">'
            '<h1>Find a way to volunteer</h1>' + week + _form(view, action) + _results(view, root, action == EMBED_PATH)
            + "</div>")


def _form(view: View, action: str) -> str:
    v, e = view.values, view.errors
    summary = ""
    if e:
        summary = (f'<p class="finder-problem" role="alert">Please correct {len(e)} '
                   f'{"field" if len(e) == 1 else "fields"} below.</p>')
    boroughs = [("", "Any borough"), *((b.title(), b.title()) for b in view.boroughs)]
    categories = [("", "Any kind of work"), *((c, c) for c in view.categories)]
    return (f'<form class="finder-form" method="get" action="{escape(action)}" novalidate>{summary}'
            '<fieldset><legend>Where</legend>'
            + _field("zip", "ZIP code", _input("zip", v, e, inputmode="numeric", autocomplete="postal-code",
                                               maxlength="5", size="6"), e, "Five digits, such as 10027.")
            + _field("miles", "Within (miles)", _input("miles", v, e, type="number", min="1", max="50", size="4"), e,
                     "Used with a ZIP code; 3 when left empty.")
            + _field("borough", "Borough", _select("borough", boroughs, v.get("borough", ""), e), e)
            + '</fieldset><fieldset><legend>When and what</legend>'
            + _field("from", "From", _input("from", v, e, type="date"), e, "Today when left empty.")
            + _field("to", "To", _input("to", v, e, type="date"), e, "Two months on when left empty.")
            + _field("category", "Kind of work", _select("category", categories, v.get("category", ""), e), e)
            + '</fieldset><button type="submit" id="f-submit">Search</button></form>')


def _field(name: str, label: str, control: str, errors: dict, hint: str = "") -> str:
    parts = [f'<div class="finder-field"><label for="f-{name}">{escape(label)}</label>', control]
    if hint:
        parts.append(f'<small id="f-{name}-hint">{escape(hint)}</small>')
    if name in errors:
        parts.append(f'<p class="finder-error" id="f-{name}-error">{escape(errors[name])}</p>')
    return "".join(parts) + "</div>"


def _described(name: str, errors: dict, hint: bool) -> str:
    ids = ([f"f-{name}-error"] if name in errors else []) + ([f"f-{name}-hint"] if hint else [])
    invalid = ' aria-invalid="true"' if name in errors else ""
    return (f' aria-describedby="{" ".join(ids)}"' if ids else "") + invalid


def _input(name: str, values: dict, errors: dict, **attrs) -> str:
    attrs.setdefault("type", "text")
    extra = "".join(f' {k}="{escape(v)}"' for k, v in attrs.items())
    return (f'<input id="f-{name}" name="{name}" value="{escape(values.get(name, ""))}"{extra}'
            f'{_described(name, errors, True)} />')


def _select(name: str, options: list[tuple[str, str]], chosen: str, errors: dict) -> str:
    body = "".join(f'<option value="{escape(value)}"{" selected" if value.casefold() == chosen.casefold() else ""}>'
                   f"{escape(label)}</option>" for value, label in options)
    return f'<select id="f-{name}" name="{name}"{_described(name, errors, False)}>{body}</select>'


def _results(view: View, root: str, framed: bool) -> str:
    found = view.found
    head = '<section class="finder-results" aria-labelledby="finder-results-heading"><h2 id="finder-results-heading">Open opportunities</h2>'
    if found is None:
        return head + '<p id="finder-count" role="status" aria-live="polite">No search yet: correct the fields above.</p></section>'
    total = len(found.opportunities)
    count = (f"{total:,} open {'opportunity' if total == 1 else 'opportunities'} still need volunteers"
             if total else "No open opportunity matches this search; try a wider distance or later dates")
    notes = []
    if total > SHOWN:
        notes.append(f"The first {SHOWN} are listed here; the feeds below have all {total:,}.")
    if found.without_location:
        notes.append(f"{found.without_location:,} more match but have no location to measure a distance from; "
                     "search by borough to see them.")
    if found.truncated:
        notes.append("The search matched more than one query returns: narrow it.")
    items = "".join(_item(opp, framed) for opp in found.opportunities[:SHOWN])
    listing = f'<ol class="finder-list">{items}</ol>' if items else ""
    feeds = _feed_query(view)
    return (head + f'<p id="finder-count" role="status" aria-live="polite">{count}.</p>'
            + "".join(f'<p class="finder-note">{escape(n)}</p>' for n in notes) + listing
            + f'<p class="finder-feeds">Subscribe to this search: <a href="{escape(root + FEED_PATH[1:] + ".ics" + feeds)}">'
            f'calendar (iCalendar)</a> \u00b7 <a href="{escape(root + FEED_PATH[1:] + ".json" + feeds)}">JSON Feed</a>. '
            f'<a href="{escape(root + PAGE_PATH[1:] + feeds)}" target="_top">Open in Pulse</a>.</p></section>')


def _item(opp: dict, framed: bool) -> str:
    where = place(opp) + (f", {opp['miles']:.1f} miles away" if "miles" in opp else "")
    rows = [("Organisation", opp.get("organisation") or "Not given"), ("Place", where), ("Date", when(opp)),
            ("Volunteers", needed(opp))]
    if opp.get("category"):
        rows.append(("Kind of work", opp["category"]))
    details = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows)
    summary = f'<p>{escape(opp["summary"])}</p>' if opp.get("summary") else ""
    oid = escape(str(opp["opportunity_id"]))
    return (f'<li id="opp-{oid}"><article aria-labelledby="opp-{oid}-title"><h3 id="opp-{oid}-title">{escape(opp["title"])}</h3>'
            f'<dl>{details}</dl>{summary}{_signup(opp, framed)}</article></li>')


def _signup(opp: dict, framed: bool) -> str:
    """The organiser's sign-up page, where the data gives one (validated as http(s) at load, decision
    0026). Its accessible name names the opportunity: a list of links all called "Sign up" says nothing
    to a screen reader's links list. From an embed it opens a new tab (a partner's page stays; the frame
    is no place for a sign-up form), without giving that page a handle on the frame (`noopener`)."""
    if not opp.get("signup_url"):
        return ""
    away = ' target="_blank" rel="noopener"' if framed else ""
    said = " (opens in a new tab)" if framed else ""
    return (f'<p class="finder-signup"><a href="{escape(opp["signup_url"])}"{away}>Sign up'
            f'<span class="finder-hidden"> for {escape(opp["title"])}{said}</span></a></p>')


def _feed_query(view: View) -> str:
    return f"?{view.query}" if view.query else ""


def snippet(root: str, query: str = "", height: int = 900) -> str:
    """The HTML a partner pastes: the framed finder and the script that sizes it to its content, the
    same one every Pulse embed's snippet loads (portal/embeds.RESIZE_SCRIPT)."""
    src = root + EMBED_PATH[1:] + (f"?{query}" if query else "")
    return (f'<iframe src="{escape(src)}" title="Volunteer finder (Pulse)" data-pulse-embed '
            f'style="width:100%;border:0" height="{height}" loading="lazy"></iframe>\n'
            f'<script async src="{escape(root + embeds.RESIZE_SCRIPT[1:])}"></script>')

