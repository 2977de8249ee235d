"""GET /openapi.json and GET /api: a valid OpenAPI description of every route, generated from the
declarations, that the API keeps to. Schemathesis generates requests from the description and checks
every answer: no 5xx, status codes and bodies as documented."""
from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

import config
import datasets
from api import datasets as api_datasets
from api import v1
from api.rowquery import OPS
from datasets import kpis as kpi_decls
from portal import filters, queries, queries_snow
from tests.conftest import demo_lake_at


def errors_are_json(ctx, response, case) -> None:
    """Issue 13: an API error is JSON whatever its status (an Open311 .xml URL's, the spec's XML),
    never Flask's HTML error page."""
    if response.status_code >= 400:
        path = case.formatted_path
        xml = path.startswith("/open311/") and path.endswith(".xml")
        wanted = "text/xml" if xml else "application/json"
        got = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()  # lower-case names, lists
        assert got == wanted, f"{case.method} {path}: a {response.status_code} answered {got}, not {wanted}"


CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, errors_are_json]
MAX_EXAMPLES = 12  # per operation and generation phase: the whole file stays well under a minute


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory):
    """The demo lake in a tmp PULSE_DATA_DIR (every dataset loaded once), shared by this module."""
    with demo_lake_at(tmp_path_factory.mktemp("openapi") / "data", scale=2000, seed=3) as data:
        yield data


@pytest.fixture(scope="module")
def server(demo_lake):
    from app import server

    return server


@pytest.fixture(scope="module")
def spec(server) -> dict:
    resp = server.test_client().get("/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return resp.json


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_wsgi("/openapi.json", server)


def _shape(path: str) -> str:
    """A route with its variables blanked: Flask's <conv:name> and OpenAPI's {name} both become {}."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def _flask_routes(server) -> set[str]:
    """The portal's own routes: those of its blueprints (Dash's internal and page routes have none),
    less the JSON 404 for unknown API paths (api/not_found.py), which is no endpoint, and the embed
    pages and images (issue 17): pages like the dashboards, described in the README, not the API."""
    ours = set(server.blueprints) - {"_dash_assets", "api_not_found", "embed_pages"}
    return {_shape(r.rule) for r in server.url_map.iter_rules() if r.endpoint.split(".")[0] in ours}


# --- the description itself ---------------------------------------------------------------------

def test_the_description_is_valid_openapi(api_schema, spec):
    api_schema.validate()  # against the OpenAPI 3.0 meta-schema; raises on any error
    assert spec["openapi"] == "3.0.3"


def test_every_route_is_described_and_every_described_path_is_a_route(server, spec):
    assert {_shape(p) for p in spec["paths"]} == _flask_routes(server)


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/openapi.json", "/api/v2/kpis", "/open311/v2/nope.json"])
def test_an_unknown_api_path_is_a_json_404_not_the_portal_s_html_page(server, path):
    resp = server.test_client().get(path)
    assert resp.status_code == 404 and resp.mimetype == "application/json"
    assert resp.json["docs"] == "/openapi.json" and "no such API endpoint" in resp.json["error"]
    # issue 13: any other method is a 405 naming what is allowed, not a 404 (tests/integration/test_hostile_input.py)
    resp = server.test_client().post(path)
    assert resp.status_code == 405 and resp.mimetype == "application/json" and "GET" in resp.headers["Allow"]


def test_a_page_that_does_not_exist_says_so_with_a_404_status(server):
    import dash

    client = server.test_client()
    for page in dash.page_registry.values():  # every page the portal has still answers 200
        path = page["path"] if not page.get("path_template") else "/data/service_requests"
        assert client.get(path).status_code == (404 if path == "/404" else 200), path
    for path in ("/nope", "/data/nope", "/snow/extra"):
        resp = client.get(path)
        assert resp.status_code == 404 and resp.mimetype == "text/html"  # Dash's page, which says "not found"
    assert client.get("/service-requests?borough=BRONX").status_code == 200


def test_real_endpoints_still_answer_beside_the_catch_all(server, spec):
    client = server.test_client()
    assert client.get("/api/v1/version").status_code == 200 and client.get("/api").mimetype == "text/html"
    assert client.get("/api/v1/kpis/nope").json["error"].startswith("no KPI")  # the endpoint's own 404


def test_only_get_is_described(spec):
    assert {m for item in spec["paths"].values() for m in item} == {"get"}


def _params(spec: dict, path: str) -> dict[str, dict]:
    return {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}


def test_path_parameters_are_enums_from_the_declarations(spec):
    assert _params(spec, "/api/v1/datasets/{dataset}")["dataset"]["schema"]["enum"] == list(datasets.datasets())
    assert _params(spec, "/api/v1/kpis/{kpi_id}")["kpi_id"]["schema"]["enum"] == list(kpi_decls.kpis())
    export = _params(spec, "/api/v1/datasets/{dataset}/export.{format}")
    assert export["format"]["schema"]["enum"] == ["csv", "json", "ndjson", "geojson", "parquet"]


@pytest.mark.parametrize("path", ["/api/v1/datasets/{dataset}/rows", "/api/v1/datasets/{dataset}/export.{format}"])
def test_every_public_column_has_every_filter_and_no_private_column_any(spec, path):
    params = _params(spec, path)
    for ds in datasets.datasets().values():
        for col in ds.columns:
            names = {f"{col.name}__{s}" if s else col.name for s in OPS}
            if col.public and col.type != "geojson":
                assert names <= set(params), (ds.name, col.name)
            elif not any(c.name == col.name and c.public for d in datasets.datasets().values() for c in d.columns):
                assert not names & set(params), (ds.name, col.name)


def test_rows_filters_carry_the_declared_type_and_allowed_values(spec):
    params = _params(spec, "/api/v1/datasets/{dataset}/rows")
    assert params["created__gte"]["schema"] == {"type": "string", "format": "date-time"}
    assert params["passes__lt"]["schema"] == {"type": "integer", "format": "int64"}
    assert params["status"]["schema"]["enum"] == list(datasets.get("service_requests").column("status").allowed)
    assert params["borough__in"]["schema"]["type"] == "array" and params["borough__in"]["explode"] is False


def test_private_columns_cannot_appear_in_a_documented_row(spec):
    row = spec["components"]["schemas"]["Row"]
    assert row["additionalProperties"] is False
    public = {c.name for d in datasets.datasets().values() for c in d.public_columns}
    assert set(row["properties"]) == public


# --- the human-readable page --------------------------------------------------------------------

def test_the_docs_page_is_english_html_listing_every_path(server, spec):
    resp = server.test_client().get("/api")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert '<html lang="en">' in page
    for path in spec["paths"]:
        assert f"<code>GET {path}</code>" in page, path
    assert "curl 'http://localhost/api/v1/datasets/" in page
    assert "<script" not in page and "http" not in page.split("<body>")[0]  # nothing from a CDN


# --- bounds: every number the description states is the one the code enforces ---------------------
# Issue 12: these were hand-copied (history 0..60, versions_limit <= 1000, hours 1..336, target_hours
# 1..168) beside a docstring saying the description "cannot drift".

def _schema(spec: dict, path: str, name: str) -> dict:
    return next(p["schema"] for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name)


@pytest.mark.parametrize("path, name, url, default", [
    ("/api/v1/kpis/{kpi_id}", "history", "/api/v1/kpis/sr_open_backlog?period=day&history={}", v1.HISTORY_DEFAULT),
    ("/api/v1/datasets/{dataset}", "versions_limit", "/api/v1/datasets/plow_activity?versions_limit={}",
     api_datasets.VERSIONS_PAGE),
])
def test_an_api_bound_the_description_states_is_the_one_the_api_enforces(server, spec, demo_lake, path, name, url,
                                                                          default):
    schema, client = _schema(spec, path, name), server.test_client()
    for value, status in ((schema["minimum"], 200), (schema["maximum"], 200),
                          (schema["minimum"] - 1, 400), (schema["maximum"] + 1, 400)):
        assert client.get(url.format(value)).status_code == status, (name, value)
    assert schema["default"] == default


def test_the_kpi_history_default_is_what_an_answer_without_it_holds(server, spec, demo_lake):
    resp = server.test_client().get("/api/v1/kpis/sr_open_backlog?period=day")
    assert len(resp.json["history"]) == _schema(spec, "/api/v1/kpis/{kpi_id}", "history")["default"]


@pytest.mark.parametrize("param", [queries_snow.HOURS, queries.TARGET_HOURS], ids=lambda p: p.name)
def test_a_chart_bound_the_description_states_is_the_query_parameter_s(spec, demo_lake, param):
    schema = _schema(spec, "/api/v1/charts/{panel_id}.csv", param.name)
    assert (schema["minimum"], schema["maximum"], schema.get("default")) == (param.min, param.max, param.default)
    query = next(n for n in queries.names() if param in queries.get(n).params)
    takes = {p.name for p in queries.get(query).params}
    base = {k: v for k, v in {"storm_id": "S1", "start": "2026-01-01", "end": "2026-02-01"}.items() if k in takes}
    for value in (schema["minimum"], schema["maximum"]):
        assert queries.validate(query, {**base, param.name: value})[param.name] == value
    for value in (schema["minimum"] - 1, schema["maximum"] + 1):
        with pytest.raises(queries.QueryError):
            queries.validate(query, {**base, param.name: value})
    assert filters.snow_params({})[param.name] == schema.get("default")  # what a chart CSV without it charts


# --- regressions found while fuzzing: each was a 500 (or a 200 whose body ended in an error) --------

@pytest.mark.parametrize("url, parameter", [
    # '²'.isdigit() is True but int('²') raises: these were 500s
    ("/api/v1/datasets/plow_activity/rows?limit=%C2%B2", "limit"),
    ("/api/v1/datasets/plow_activity/rows?version=%C2%B2", "version"),
    ("/api/v1/kpis/sr_open_backlog?history=%C2%B2", "history"),
    # past BIGINT DuckDB failed the cast: a 400 quoting SQL from /rows, an error inside a 200 download
    ("/api/v1/datasets/plow_activity/rows?passes=99999999999999999999", "passes"),
    ("/api/v1/datasets/plow_activity/export.json?passes=99999999999999999999", "passes"),
    ("/api/v1/datasets/plow_activity/rows?passes__in=1,-9223372036854775809", "passes__in"),
    # the period arithmetic overflowed date's range (year 10000, or before year 1 in the history)
    ("/api/v1/kpis?as_of=9999-12-31", "as_of"),
    ("/api/v1/kpis/sr_open_backlog?as_of=0001-01-05&history=60&period=quarter", "as_of"),
])
def test_out_of_range_values_are_a_400_naming_the_parameter(server, demo_lake, url, parameter):
    resp = server.test_client().get(url)
    assert (resp.status_code, resp.json["status"], resp.json["parameter"]) == (400, 400, parameter)


def test_the_ends_of_the_accepted_ranges_still_answer(server, demo_lake):
    client = server.test_client()
    assert client.get("/api/v1/datasets/plow_activity/rows?passes=-9223372036854775808").status_code == 200
    assert client.get("/api/v1/kpis/sr_open_backlog?as_of=1900-01-01&history=60&period=quarter").status_code == 200
    future = client.get("/api/v1/kpis/sr_open_backlog?as_of=9000-12-31&period=quarter")
    assert future.status_code == 400 and "in the future" in future.json["error"]  # issue 15: no score for what has not happened


# --- schemathesis: the API keeps to its description ---------------------------------------------

# Loaded at collection: the description depends only on the declarations, not on the lake. (The
# lazy `schemathesis.pytest.from_fixture` loader does not run under pytest 9.)
from app import server as _server  # noqa: E402

schema = schemathesis.openapi.from_wsgi("/openapi.json", _server)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_description(case, demo_lake):
    # identity: the WSGI client does not undo Flask-Compress, and schemathesis would read gzip as text.
    # A generous time limit: this is about the answers' shape; on a loaded machine a cold chart
    # query may pass the dashboards' 3 s, and its 503 (documented) is tested on its own.
    with config.using(config.active().replace(query_time_limit_ms="60000")):
        case.call_and_validate(checks=CHECKS, headers={"Accept-Encoding": "identity"})
