"""The volunteer finder's routes (issue 17, item 5): the embed `/embed/volunteer-finder` (a minimal page
any site may frame, web/headers.py), the feeds `/volunteer/opportunities.ics|json` of the same search,
and the finder's static files. The full page /volunteer is a Dash page (layouts/volunteer.py) showing
the same fragment (web/finder_page.py).

Caching as every other read (decision 0015): an answer is a function of the query string, the data
versions and the city's day (the default window starts today, and what is past drops out), stored
already compressed. A bad search in a feed is a 400 whose JSON names each field; the embed, read by a
person, is the form again with each message beside its field (a 200 page, as a form shown again is:
every 4xx the portal answers stays JSON, tests/integration/test_openapi.py).
"""
from __future__ import annotations

import json
from datetime import datetime

from flask import Response, abort, request, send_from_directory

from api import httpcache
from api.errors import ApiError, blueprint, check_params, read_errors
from portal import admission, finder_feeds
from portal import volunteer_finder as finder
from portal.reader import reader
from web import finder_page as page

bp = blueprint("volunteer", __name__)

TYPES = {"ics": "text/calendar; charset=utf-8", "json": "application/feed+json; charset=utf-8"}


@bp.get(page.EMBED_PATH)
@httpcache.cached(clock=httpcache.city_day, url=True)
def embed():
    """The finder alone on a small page, for an iframe on any site (README, "Volunteer finder")."""
    with read_errors(), admission.read_slot():
        shown = page.build_view(request.args)
    return Response(page.document(shown, request.url_root), content_type="text/html; charset=utf-8")


@bp.get(page.FEED_PATH + ".ics", defaults={"fmt": "ics"})
@bp.get(page.FEED_PATH + ".json", defaults={"fmt": "json"})
@httpcache.cached(clock=httpcache.city_day, url=True)
def opportunities(fmt: str):
    """The open opportunities of a search as iCalendar or JSON Feed 1.1; a bad search: 400 with its errors."""
    check_params(finder.FIELDS)
    today = finder.city_today()
    try:
        with read_errors(), admission.read_slot():
            search = finder.parse(request.args, today)
            found = finder.find(search, today)
            week = finder.signups_this_week(today)
    except finder.SearchError as exc:
        field = next(iter(exc.errors))
        raise ApiError(400, f"bad search: {exc}", parameter=field, errors=exc.errors) from None
    query = search.query_string(today)
    suffix = f"?{query}" if query else ""
    page_url = request.url_root + page.PAGE_PATH[1:] + suffix
    if fmt == "ics":
        published = [p for n, p in reader().published_at().items() if n in page.WATCHED and p]
        body = finder_feeds.ics(found, page_url, datetime.fromisoformat(max(published)) if published else None)
    else:
        feed_url = request.url_root + page.FEED_PATH[1:] + ".json" + suffix
        body = json.dumps(finder_feeds.json_feed(found, page_url, feed_url, week, reader().versions()),
                          ensure_ascii=False).encode()
    return Response(body, content_type=TYPES[fmt])


@bp.get(page.STATIC_PREFIX + "<name>")
@httpcache.cached(httpcache.no_data, pinned=lambda: "m" in request.args)
def static(name: str):
    """The finder's script and stylesheet, and embed.js for the partner's page (immutable with ?m=)."""
    if name not in page.STATIC_FILES:
        abort(404)
    path, mimetype = page.STATIC_FILES[name]
    return send_from_directory(path.parent, path.name, mimetype=mimetype)

