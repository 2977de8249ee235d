"""What a hostile review of the running portal found on input handling (issue 13), each a test: a
request body is capped; a filter value is capped before use and never echoed whole; public input
that was a 500 is a 4xx or a handled answer; a malformed callback body is a 400; the API's errors are
JSON for every status; DuckDB's words stay in the log. The Host header is test_public_url.py's, the
table of hostile inputs against every route test_public_routes_fuzz.py's."""
from __future__ import annotations

import base64
import json
import logging
import os

import pytest

import config
import lake
from etl.load import load_file
from portal import filters, panels, queries
from portal.reader import QueryTooBig, reader, reset_reader
from tests.conftest import demo_lake_at
from tests.helpers import callback_body, dash_portal, page_body, sr_row, write_csv

SR = "/api/v1/datasets/service_requests"
UPDATE = "/_dash-update-component"


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory):
    with demo_lake_at(tmp_path_factory.mktemp("hostile") / "data", scale=2000, seed=3) as data:
        yield data


@pytest.fixture(scope="module")
def portal(demo_lake):
    return dash_portal()


def sr_update(app, start=None, end=None, borough=None, agency=None, complaint_type=None, period="week") -> dict:
    return callback_body(app, "..sr-asof", [start, end, borough, agency, complaint_type, period, {}])


def summaries(resp) -> list[str]:
    """The panel summaries of a chart page's callback answer."""
    out = resp.get_json()["response"]
    return [props["children"] for cid, props in out.items() if cid.endswith("-summary")]


def filter_note(resp) -> list[str]:
    """The lines of the filter bar's message in a chart page's callback answer (portal/filter_messages.py)."""
    out = resp.get_json()["response"]
    return [p["props"]["children"] for cid, props in out.items() if cid.endswith("-filter-note") for p in props["children"]]


# ---- request size ------------------------------------------------------------------------------------
def test_a_body_past_the_limit_is_a_413_in_json_before_dash_reads_it(portal):
    # issue 13: a 60 MB callback POST took a worker to 3.9 GB for 34 s; nothing capped the body
    app, client = portal
    body = json.dumps(sr_update(app, complaint_type="x" * (20 << 20))).encode()  # the review's 20 MB `sr-type`
    resp = client.post(UPDATE, data=body, content_type="application/json")
    assert resp.status_code == 413 and resp.is_json
    assert resp.json == {"error": "the request body is larger than this portal accepts", "status": 413}


def test_the_limit_is_a_setting(portal, configure):
    app, client = portal
    body = json.dumps(sr_update(app, complaint_type="Noise")).encode()
    configure(max_request_bytes=len(body) - 1)
    assert client.post(UPDATE, data=body, content_type="application/json").status_code == 413
    configure(max_request_bytes=len(body))
    assert client.post(UPDATE, data=body, content_type="application/json").status_code == 200


def test_the_default_limit_is_far_above_the_largest_body_a_page_sends(portal):
    # The largest body measured in Chromium was 2.8 KB (the 311 page, a long complaint type typed); with
    # every text filter at the longest value a query takes it stays a small fraction of the limit.
    app, _ = portal
    longest = "x" * queries.MAX_VALUE_CHARS
    body = json.dumps(sr_update(app, "2026-01-01", "2026-03-31", longest, longest, longest, "month")).encode()
    assert len(body) * 100 < int(config.Settings.from_env({}).get("max_request_bytes"))


# ---- filter values: capped before use, never echoed whole ----------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("   ", None), (" Noise ", "Noise"),
    ("x" * queries.MAX_VALUE_CHARS, "x" * queries.MAX_VALUE_CHARS),
    ("x" * (queries.MAX_VALUE_CHARS + 1), filters.NO_SUCH_VALUE),
    (["BRONX"], filters.NO_SUCH_VALUE), ({"$ne": ""}, filters.NO_SUCH_VALUE), (5, filters.NO_SUCH_VALUE),
    (True, filters.NO_SUCH_VALUE),
])
def test_a_filter_value_is_text_of_at_most_the_longest_a_query_takes(value, expected):
    assert filters.text(value) == expected


def test_a_long_filter_value_is_no_such_value_and_is_not_repeated(portal):
    # issue 13: every panel's error message repeated the whole value: a 20 MB value answered 315 MB
    app, client = portal
    value = "Z" * 500_000  # under the body limit, over any value a query takes
    resp = client.post(UPDATE, json=sr_update(app, complaint_type=value))
    assert resp.status_code == 200
    assert "Z" * 1000 not in resp.get_data(as_text=True)
    assert len(resp.get_data()) < len(value) / 2
    assert set(summaries(resp)) == {panels.HELD}  # the charts wait for the filter to be fixed (issue 16)
    assert filter_note(resp) == ["Complaint type: What was typed is not a complaint type (too long, or not text). "
                                 "Choose one from the list, or leave the box empty for every type."]


def test_a_filter_that_is_not_text_matches_nothing_rather_than_failing(portal):
    app, client = portal
    resp = client.post(UPDATE, json=sr_update(app, ["2026"], {"x": 1}, {"$ne": ""}, True, [1, 2], ["week"]))
    assert resp.status_code == 200
    assert set(summaries(resp)) == {panels.HELD} and len(filter_note(resp)) == 5  # dates, borough, agency, type
    body = resp.get_data(as_text=True)
    assert "$ne" not in body and "{'x': 1}" not in body  # not written out as a text and looked for


def test_a_panel_message_quotes_a_value_by_its_start_only(demo_lake):
    borough = "Q" * 150  # short enough to be used, and not a borough: the panel says so
    view = panels.render(panels.get("sr-volume"), {**filters.sr_params({}), "borough": borough})
    assert not view.ok and "Q" * 60 + "'\u2026" in view.summary and "Q" * 61 not in view.summary


# ---- 500s on public input -----------------------------------------------------------------------------
def test_a_chart_csv_past_the_date_range_is_a_400_naming_the_parameter(portal):
    # issue 13: ?end=9999-12-31 made DuckDB run out of memory, uncaught: a 500
    _, client = portal
    resp = client.get("/api/v1/charts/sr-backlog.csv?start=2026-01-01&end=9999-12-31")
    assert resp.status_code == 400 and resp.is_json
    assert "parameter 'end'" in resp.json["error"] and "from 1900-01-01 to 9000-12-31" in resp.json["error"]


def test_the_service_requests_page_past_the_date_range_says_so_once_beside_the_filters(portal):
    # issue 13: the same end date broke all six charts of /service-requests (a 500);
    # issue 15: opening on the default range instead hid the mistake;
    # issue 16: each chart then repeated the query's message: now it is said once, in words, by the filters
    app, client = portal
    resp = client.post(UPDATE, json=sr_update(app, "2026-01-01", "9999-12-31"))
    assert resp.status_code == 200
    assert filter_note(resp) == ["To: \u201c9999-12-31\u201d is outside the dates that can be asked for "
                                 "(1900-01-01 to 9000-12-31)."]
    assert summaries(resp) == [panels.HELD] * 6


@pytest.mark.parametrize("query", [{"end": "0001-01-01"}, {"start": "0001-01-01"}, {"end": "9999-12-31"}])
def test_a_date_outside_the_range_is_kept_for_the_charts_to_refuse(demo_lake, query):
    # end=0001-01-01 overflowed `end - 89 days`: the callback was a 500; now the default start is
    # computed from the default end, and the date is kept as typed
    for params in (filters.sr_params(query), filters.volunteer_params(query)):
        assert {k: params[k] for k in query} == query


def test_a_query_past_the_reader_s_memory_is_a_named_answer(demo_lake, configure):
    # DuckDB's OutOfMemoryException is QueryTooBig: a panel says so, the API answers 503, never a 500
    from app import server

    configure(reader_memory="30MB")
    reset_reader()
    try:
        with pytest.raises(QueryTooBig):
            reader().execute("SELECT list(range) FROM range(20000000)", name="too_big")
        backlog = panels.render(panels.get("sr-backlog"), {"start": "1900-01-01", "end": "9000-12-31"})
        assert not backlog.ok and backlog.summary.startswith("This chart needs more memory")
        resp = server.test_client().get("/api/v1/charts/sr-backlog.csv?start=1900-01-01&end=9000-12-31")
        assert resp.status_code == 503 and "more memory" in resp.json["error"]
    finally:
        reset_reader()


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", 20261120, ["2026-11-20"], "2026-13-45"])
@pytest.mark.parametrize("period", ["month", "decade", 5])
def test_the_scorecard_page_bounds_as_of_and_period_as_the_api_does(portal, as_of, period):
    # issue 13: 59 x 500 from the scorecard callback; the API bounded as_of, the page did not.
    # issue 15: and the page then silently showed the current month; now it says what the API says.
    app, client = portal
    resp = client.post(UPDATE, json=callback_body(app, "..sc-asof", [period], [as_of]))
    assert resp.status_code == 200
    body = resp.get_json()["response"]
    assert body["sc-tiles"]["children"] == []
    assert "as_of must be a date" in json.dumps(body["sc-overall"])
    if isinstance(as_of, str):
        api = client.get(f"/api/v1/kpis?as_of={as_of}")
        assert api.status_code == 400 and json.dumps(api.json["error"])[1:-1] in json.dumps(body["sc-overall"])


def test_a_superscript_version_on_the_dataset_page_is_no_version(portal):
    # issue 13: /data/service_requests?version=² ('²'.isdigit() is True, int('²') is not a number): a 500
    app, client = portal
    resp = client.post(UPDATE, json=page_body(app, "/data/service_requests", "?version=%C2%B2"))
    current = lake.current_version("service_requests")
    assert resp.status_code == 200 and f"These links are pinned to version {current}" in resp.get_data(as_text=True)


def test_a_long_unknown_dataset_is_named_by_its_start(portal):
    app, client = portal
    resp = client.post(UPDATE, json=page_body(app, "/data/" + "d" * 100_000))
    assert resp.status_code == 200 and "No such dataset" in resp.get_data(as_text=True)
    assert len(resp.get_data()) < 5_000  # the page and its title name it by 60 characters


def _cursor(body) -> str:
    text = body if isinstance(body, str) else json.dumps(body)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    _cursor("[" * 5000 + "]" * 5000),  # issue 13: RecursionError, a 500
    _cursor({"v": 1, "s": "", "k": [["1000"]]}),  # a list where a key value goes
    _cursor({"v": 1, "s": "", "k": [{"a": 1}]}),
])
def test_a_cursor_that_is_not_one_the_api_issued_is_a_400(portal, cursor):
    _, client = portal
    resp = client.get(f"{SR}/rows?version=1&cursor={cursor}")
    assert resp.status_code == 400 and resp.json["parameter"] == "cursor"


@pytest.mark.parametrize("path", ["/_dash-component-suites/nope/x.js", "/_dash-component-suites/dash/nope.min.js"])
def test_an_unknown_component_file_is_a_404(portal, path):
    # issue 13: Dash's DependencyException, a 500
    _, client = portal
    resp = client.get(path)
    assert resp.status_code == 404 and resp.is_json


# ---- malformed callback bodies --------------------------------------------------------------------------
def _malformed(app) -> dict[str, dict | bytes | list]:
    good = sr_update(app, complaint_type="Noise")
    return {
        "not JSON": b"{output: nope",
        "JSON nested too deeply": b"[" * 100_000 + b"]" * 100_000,
        "a list": [good],
        "no output": {k: v for k, v in good.items() if k != "output"},
        "an unknown output": {**good, "output": "nope.children"},
        "a clientside callback's output": {**good, "output": "sr-url-sync.data"},
        "too few inputs": {**good, "inputs": good["inputs"][:3]},
        "inputs in another order": {**good, "inputs": good["inputs"][::-1]},
        "an input that is not an object": {**good, "inputs": ["x"] * len(good["inputs"])},
        "outputs of another callback": {**good, "outputs": good["outputs"][:2]},
        "changedPropIds that are not texts": {**good, "changedPropIds": [[1]]},
        "a page path that is not text": page_body(app, "/data", "") | {"inputs": [
            {"id": "_pages_location", "property": "pathname", "value": 5},
            {"id": "_pages_location", "property": "search", "value": ""}]},
    }


@pytest.mark.parametrize("case", ["not JSON", "JSON nested too deeply", "a list", "no output", "an unknown output",
                                  "a clientside callback's output", "too few inputs", "inputs in another order",
                                  "an input that is not an object", "outputs of another callback",
                                  "changedPropIds that are not texts", "a page path that is not text"])
def test_a_malformed_callback_body_is_a_400_in_json(portal, case):
    # issue 13: Dash's KeyError, AttributeError or TypeError: a 500 with Flask's HTML page
    app, client = portal
    body = _malformed(app)[case]
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp = client.post(UPDATE, data=data, content_type="application/json")
    assert resp.status_code == 400 and resp.is_json
    assert resp.json["error"].startswith("not a callback request this portal answers")


# ---- the API's errors are JSON, for every status ----------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/v1/version", "/api/v1/nope", f"{SR}/rows", "/open311/v2/services.json",
                                  "/open311/v2/nope"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_method_other_than_get_is_a_405_in_json_with_allow(portal, path, method):
    # issue 13: the /api/ catch-all answered 404 ("no such endpoint") to a PUT on a real endpoint
    _, client = portal
    resp = getattr(client, method)(path)
    assert resp.status_code == 405 and resp.is_json and resp.json["status"] == 405
    allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert {"GET", "HEAD"} <= allowed and not allowed & {"POST", "PUT", "PATCH", "DELETE"}


def test_a_body_too_large_for_the_api_is_a_413_in_json(portal):
    _, client = portal
    resp = client.post("/api/v1/version", data=b"x" * (2 << 20))
    assert resp.status_code == 413 and resp.is_json


@pytest.fixture
def broken_lake(lake_dir, tmp_path):
    """A lake whose current version lost a data file: every read of it fails inside DuckDB, whose error
    names the missing file's path on this machine."""
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(5)]))
    _first_request()
    for path in lake.file_paths("service_requests", lake.manifest("service_requests")):
        os.remove(path)
    return lake_dir


def _first_request() -> None:
    """Dash draws the whole page layout at a server's first request, whatever its route: done on the
    sound lake, so each test below meets the broken file in the route it asks for."""
    from app import server

    server.test_client().get("/healthz")


def test_a_server_error_under_the_api_is_json_and_names_no_path(broken_lake, caplog):
    from app import server

    with caplog.at_level(logging.ERROR):
        resp = server.test_client().get(f"{SR}/rows?version=1")
    assert resp.status_code == 500 and resp.is_json
    assert resp.json == {"error": "the server failed to answer; the error has been logged", "status": 500}
    assert str(broken_lake) not in resp.get_data(as_text=True)
    assert str(broken_lake) in caplog.text  # the detail is in the log


@pytest.fixture
def garbled_lake(lake_dir, tmp_path):
    """A lake whose current version's data file has its pages overwritten, its footer intact: the
    columns it holds are known, its rows fail to read once the download has begun."""
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(5)]))
    _first_request()
    for path in lake.file_paths("service_requests", lake.manifest("service_requests")):
        with open(path, "r+b") as f:
            f.seek(4)
            f.write(b"\xff" * 64)
    return lake_dir


def test_a_download_that_fails_ends_with_a_fixed_line_and_names_no_path(garbled_lake, caplog):
    from app import server

    with caplog.at_level(logging.ERROR):
        body = server.test_client().get(f"{SR}/export.csv?version=1").get_data(as_text=True)
    assert body.endswith("error: the download stopped because of an error on the server; it has been logged\n")
    assert str(garbled_lake) not in body and "Exception" not in body and "know what" not in body
    assert "export stopped: /api/v1/datasets/service_requests/export.csv" in caplog.text  # DuckDB's words: the log's


def test_a_download_whose_file_is_gone_is_a_json_500_naming_no_path(broken_lake, caplog):
    from app import server

    with caplog.at_level(logging.ERROR):
        resp = server.test_client().get(f"{SR}/export.csv?version=1")
    assert resp.status_code == 500 and resp.json["error"] == "the server failed to answer; the error has been logged"
    assert str(broken_lake) not in resp.get_data(as_text=True) and str(broken_lake) in caplog.text


# ---- DuckDB's words stay in the log ------------------------------------------------------------------------
def test_a_tampered_cursor_is_answered_in_fixed_words_not_duckdb_s(portal, caplog):
    # issue 13: a cursor whose key does not fit its column showed DuckDB's message with generated SQL
    _, client = portal
    cursor = _cursor({"v": 1, "s": "created", "k": [False, "not a time", "1000"]})
    with caplog.at_level(logging.INFO, logger="portal.reader"):
        resp = client.get(f"{SR}/rows?version=1&sort=created&cursor={cursor}")
    assert resp.status_code == 400
    assert resp.json["error"] == "a value does not fit its column's type or range (query 'rows')"
    assert "Conversion" in caplog.text  # DuckDB's own words, for whoever reads the log


def test_a_chart_csv_reads_names_and_dates_as_its_page_does(portal):
    """Issue 15: complaint_type=heat/hot water gave an empty CSV while the page drew the type; an impossible
    date silently became the page's default range while the CSV answered 400. Now the CSV spells names as
    the page does, and the page says what is wrong with the date."""
    app, client = portal
    base = "/api/v1/charts/sr-time-to-close.csv?start=2026-10-01&end=2026-11-20&complaint_type="
    lower, exact = client.get(base + "heat/hot%20water"), client.get(base + "HEAT/HOT%20WATER")
    assert lower.status_code == exact.status_code == 200 and lower.data == exact.data and b"HEAT/HOT WATER" in lower.data
    assert client.get("/api/v1/charts/sr-volume.csv?start=2026-02-30&end=2026-03-10").status_code == 400
    view = panels.render(panels.get("sr-volume"), filters.sr_params({"start": "2026-02-30", "end": "2026-03-10"}))
    assert not view.ok and "2026-02-30" in view.summary
