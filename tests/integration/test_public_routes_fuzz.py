"""A table of hostile values against every public route (issue 13): each documented parameter of each
API route, each filter of each page (through its URL, as the page router reads it, and through its
callback, as a hand-made POST sends it) gets each value. Never a 5xx; under /api and /open311 an
error is always JSON (an Open311 .xml URL's in the spec's XML shape), never Flask's HTML page. (Schemathesis, in test_openapi.py, generates requests from the description;
this table holds the inputs the hostile review found, which a generator is unlikely to draw.)"""
from __future__ import annotations

from urllib.parse import quote

import pytest

import datasets
from tests.conftest import demo_lake_at
from tests.helpers import callback_body, dash_portal, page_body

HOSTILE = [
    "\u00b2",  # a digit to str.isdigit(), not to int()
    "9999-12-31", "0001-01-01", "-1", "1e999", "NaN", "Infinity", "99999999999999999999",
    "' OR '1'='1", "\x00", "%", "\u202e", "\U0001d7d8", "[]", "{}", "true", " ", "x" * 5000,
]
PAGE_VALUES = ["\u00b2", "9999-12-31", "0001-01-01", "1e999", "\x00", "x" * 5000, 12345, float("inf"), ["a"],
               {"$ne": ""}, None]  # float("inf"): JSON bodies may carry Infinity, which int() cannot take
# Column filters: one column of each declared type of service_requests, with and without a suffix;
# every other column of every dataset is parsed by the same code for its type.
FILTER_SUFFIXES = ("", "__in", "__gte")


def _columns_by_type() -> list[str]:
    seen: dict[str, str] = {}
    for c in datasets.get("service_requests").public_columns:
        if c.type != "geojson":
            seen.setdefault(c.type, c.name)
    return [name + suffix for name in seen.values() for suffix in FILTER_SUFFIXES]


ROUTES = {  # a route with its path filled in -> the parameters it documents (the filters: a sample, above)
    "/api/v1/version": [],
    "/api/v1/kpis": ["period", "as_of"],
    "/api/v1/kpis/sr_open_backlog": ["period", "as_of", "history"],
    "/api/v1/datasets": [],
    "/api/v1/datasets/service_requests": ["versions_limit", "versions_before"],
    "/api/v1/datasets/service_requests/rows": ["version", "columns", "sort", "bbox", "limit", "cursor"],
    "/api/v1/datasets/service_requests/export.csv": ["version", "columns", "sort", "bbox"],
    "/api/v1/charts/sr-backlog.csv": ["start", "end", "borough", "agency"],
    "/api/v1/charts/sr-volume.csv": ["start", "end", "period", "complaint_type"],
    "/api/v1/charts/snow-progress.csv": ["storm_id", "hours", "target_hours"],
    "/api/v1/charts/vol-by-day.csv": ["start", "end", "borough"],
    "/open311/v2/services.json": ["jurisdiction_id"],
    "/open311/v2/requests.json": ["start_date", "end_date", "status", "service_code", "service_request_id", "page",
                                  "page_size"],
    "/open311/v2/requests.xml": ["start_date", "status", "page"],
    "/data.json": [], "/datapackage.json": [], "/healthz": [],
    # The SODA API (issue 18): every clause, and a simple field filter, takes every hostile value.
    "/resource/erm2-nwe9.json": ["$select", "$where", "$order", "$group", "$having", "$limit", "$offset", "$q",
                                 "$query", "$$exclude_system_fields", "borough", "latitude", "created_date"],
    "/resource/erm2-nwe9.geojson": ["$select", "$where"],
    "/resource/snow_segments.csv": ["$select", "$where", "$order"],
    "/api/views/erm2-nwe9.json": [],
    "/api/catalog/v1": ["ids", "domains", "q", "limit", "offset"],
}
PATH_VALUES = ["/resource/{}.json", "/resource/erm2-nwe9/{}.json", "/api/views/{}.json", "/api/v1/datasets/{}", "/api/v1/datasets/service_requests/export.{}", "/api/v1/kpis/{}",
               "/api/v1/charts/{}.csv", "/open311/v2/requests/{}.json", "/data/{}"]


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    with demo_lake_at(tmp_path_factory.mktemp("fuzz") / "data", scale=2000, seed=3):
        yield dash_portal()


def check(resp, path: str) -> None:
    """Below 500; an API error is JSON (an Open311 .xml URL's, the spec's XML), never Flask's HTML page."""
    assert resp.status_code < 500, (path[:200], resp.status_code, resp.get_data()[:300])
    if path.startswith(("/api/", "/open311/", "/resource/")) and resp.status_code >= 400:
        xml = path.startswith("/open311/") and path.split("?")[0].endswith(".xml")
        assert resp.mimetype == ("text/xml" if xml else "application/json"), (path[:200], resp.status_code, resp.mimetype)


def _cases() -> list[tuple[str, str]]:
    filters = _columns_by_type()
    return [(route, param) for route, params in ROUTES.items()
            for param in (params + filters if route.endswith(("/rows", "/export.csv")) else params) or [""]]


@pytest.mark.parametrize("route, param", _cases())
def test_no_api_parameter_value_is_a_server_error(portal, route, param):
    _, client = portal
    for value in HOSTILE:
        path = f"{route}?{param}={quote(value, safe='')}" if param else f"{route}?{quote(value, safe='')}"
        check(client.get(path), path)


@pytest.mark.parametrize("template", PATH_VALUES)
def test_no_path_value_is_a_server_error(portal, template):
    _, client = portal
    for value in HOSTILE:
        path = template.format(quote(value, safe=""))
        check(client.get(path), path)


def _page_controls() -> list[tuple[str, str, str, str]]:
    """(page path, URL query name, callback output prefix, component id) of every filter of every page."""
    import app  # noqa: F401  (pages register with the Dash app, which must exist first)
    from layouts import scorecard, service_requests, snow, volunteers

    out = [("/", "as_of", "..sc-asof", scorecard.AS_OF)]
    for path, module, prefix in (("/", scorecard, "..sc-asof"), ("/service-requests", service_requests, "..sr-asof"),
                                 ("/snow", snow, "..snow-asof"), ("/volunteers", volunteers, "..vol-asof")):
        out += [(path, name, prefix, cid) for name, (cid, _) in module.CONTROLS.items()]
    return out + [("/data/service_requests", "version", None, None)]


@pytest.mark.parametrize("path, name, prefix, component", _page_controls())
def test_no_page_filter_value_is_a_server_error(portal, path, name, prefix, component):
    app, client = portal
    for value in PAGE_VALUES:
        if isinstance(value, str) or value is None:  # through the URL, as the page router reads it
            search = f"?{name}={quote(value or '', safe='')}"
            resp = client.post("/_dash-update-component", json=page_body(app, path, search))
            check(resp, path + search)
        if prefix:  # through the page's callback, as a hand-made POST sends it
            resp = client.post("/_dash-update-component", json=callback_body(app, prefix, {component: value},
                                                                           {component: value}))
            check(resp, f"{prefix} {name}={str(value)[:40]}")
