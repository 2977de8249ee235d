"""Open311 GeoReport v2 (read only), as http://wiki.open311.org/GeoReport_v2/ specifies it: the exact
field names, W3C datetimes with the city's offset, the 90-day window, the spec's error shape, JSON and
XML with the same records, and a round trip through Pulse's own Open311 loader."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime

import duckdb
import flask
import pytest

import api.open311
import lake
from api.open311 import REQUEST_FIELDS, SERVICE_FIELDS, service_code
from etl import demo
from etl.load import load_file
from tests.helpers import sr_row, write_csv

BASE = "/open311/v2"
WINDOW = "start_date=2025-03-01T00:00:00-05:00&end_date=2025-04-01T00:00:00-04:00"
TYPES = [("Missed Collection", "DSNY", "Department of Sanitation"), ("Noise - Street/Sidewalk", "NYPD", ""),
         ("Elevator", "HPD", "Housing"), ("ELEVATOR", "HPD", "Housing")]  # same slug: NYC has both spellings
SPEC_REQUEST_KEYS = {"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                     "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                     "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"}
SPEC_SERVICE_KEYS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}


def _rows(n: int = 40) -> list[dict]:
    rows = []
    for i in range(n):
        name, agency, agency_name = TYPES[i % len(TYPES)]
        closed = f"2025-03-{1 + i % 28:02d}T20:00:00-05:00" if i % 3 == 0 else ""
        rows.append(sr_row(
            i, status="Closed" if closed else ["Open", "In Progress", "Assigned"][i % 3], closed=closed,
            created=f"2025-03-{1 + i % 28:02d}T{i % 12:02d}:15:00-05:00", complaint_type=name, agency=agency,
            agency_name=agency_name, descriptor="Tom & Jerry <loud> \"music\"" if i == 1 else f"detail {i}",
            incident_zip="11215", incident_address=f"{i} 5 AVENUE", resolution_description=f"note {i}" if closed else "",
            due="2025-04-15T17:00:00-04:00", reporter_phone=f"555-77{i:02d}",
        ))
    return rows


@pytest.fixture
def rows(lake_dir, tmp_path) -> list[dict]:
    data = _rows()
    load_file("service_requests", write_csv(tmp_path / "sr.csv", data))
    return data


@pytest.fixture
def client(rows):
    app = flask.Flask(__name__)
    app.register_blueprint(api.open311.bp)
    return app.test_client()


def _xml_records(data: bytes, tag: str) -> list[dict]:
    return [{child.tag: child.text or "" for child in node} for node in ET.fromstring(data).iter(tag)]


# --- services --------------------------------------------------------------------------------------

def test_services_are_the_distinct_complaint_types_with_the_spec_fields(client, rows):
    resp = client.get(f"{BASE}/services.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    services = resp.get_json()
    assert tuple(SERVICE_FIELDS) and set(SERVICE_FIELDS) == SPEC_SERVICE_KEYS
    assert all(set(s) == SPEC_SERVICE_KEYS for s in services)
    assert sorted(s["service_name"] for s in services) == sorted({r["complaint_type"] for r in rows})
    by_name = {s["service_name"]: s for s in services}
    assert by_name["Missed Collection"]["group"] == "DSNY"
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services)


def test_service_codes_are_stable_unique_slugs(client):
    services = client.get(f"{BASE}/services.json").get_json()
    codes = [s["service_code"] for s in services]
    assert len(set(codes)) == len(codes)  # "Elevator" and "ELEVATOR" stay apart
    assert service_code("Noise - Street/Sidewalk").startswith("noise-street-sidewalk-")
    assert service_code("Elevator") == service_code("Elevator") != service_code("ELEVATOR")
    assert {s["service_code"] for s in services} == {service_code(n) for n, _, _ in TYPES}


def test_services_xml_has_the_same_services(client):
    resp = client.get(f"{BASE}/services.xml")
    assert resp.status_code == 200 and resp.mimetype == "text/xml"
    assert ET.fromstring(resp.data).tag == "services"
    as_xml = _xml_records(resp.data, "service")
    as_json = client.get(f"{BASE}/services.json").get_json()
    assert as_xml == [{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in s.items()} for s in as_json]


# --- requests --------------------------------------------------------------------------------------

def test_requests_have_exactly_the_spec_fields_newest_first(client, rows):
    got = client.get(f"{BASE}/requests.json?{WINDOW}&page_size=1000").get_json()
    assert set(REQUEST_FIELDS) == SPEC_REQUEST_KEYS
    assert all(set(r) == SPEC_REQUEST_KEYS for r in got)
    assert len(got) == len(rows)
    stamps = [(r["requested_datetime"], r["service_request_id"]) for r in got]
    assert stamps == sorted(stamps, reverse=True)


def test_a_request_maps_pulse_columns_onto_spec_fields(client):
    (r,) = client.get(f"{BASE}/requests/1003.json").get_json()  # i=3: closed, "ELEVATOR"
    assert r == {
        "service_request_id": "1003", "status": "closed", "status_notes": "note 3", "service_name": "ELEVATOR",
        "service_code": service_code("ELEVATOR"), "description": "detail 3", "agency_responsible": "Housing",
        "service_notice": "", "requested_datetime": "2025-03-04T03:15:00-05:00",
        "updated_datetime": "2025-03-04T20:00:00-05:00", "expected_datetime": "2025-04-15T17:00:00-04:00",
        "address": "3 5 AVENUE", "address_id": "", "zipcode": "11215", "lat": 40.65, "long": -73.95, "media_url": "",
    }
    (r,) = client.get(f"{BASE}/requests/1001.json").get_json()  # no agency_name: the acronym
    assert r["agency_responsible"] == "NYPD" and r["status"] == "open" and r["status_notes"] is None


@pytest.mark.parametrize("status, expected", [("open", {"open"}), ("closed", {"closed"}),
                                              ("open,closed", {"open", "closed"})])
def test_status_filter_maps_pulse_statuses(client, rows, status, expected):
    got = client.get(f"{BASE}/requests.json?{WINDOW}&status={status}&page_size=1000").get_json()
    assert {r["status"] for r in got} == expected
    want = {r["request_id"] for r in rows if ("closed" if r["status"] == "Closed" else "open") in expected}
    assert {r["service_request_id"] for r in got} == want


def test_service_code_filter_takes_a_list(client, rows):
    codes = f"{service_code('Elevator')},{service_code('Missed Collection')}"
    got = client.get(f"{BASE}/requests.json?{WINDOW}&service_code={codes}&page_size=1000").get_json()
    want = {r["request_id"] for r in rows if r["complaint_type"] in ("Elevator", "Missed Collection")}
    assert {r["service_request_id"] for r in got} == want
    assert client.get(f"{BASE}/requests.json?{WINDOW}&service_code=nothing-like-it").get_json() == []


def test_service_request_id_overrides_the_other_filters(client):
    got = client.get(f"{BASE}/requests.json?service_request_id=1000,1001,999&status=closed"
                     "&start_date=2020-01-01T00:00:00Z&end_date=2020-01-02T00:00:00Z").get_json()
    assert sorted(r["service_request_id"] for r in got) == ["1000", "1001"]


def test_the_date_window_bounds_requested_datetime(client, rows):
    got = client.get(f"{BASE}/requests.json?start_date=2025-03-10T00:00:00-05:00"
                     "&end_date=2025-03-12T00:00:00-05:00&page_size=1000").get_json()
    assert {r["requested_datetime"][:10] for r in got} == {"2025-03-10", "2025-03-11"}
    assert len(got) == sum(r["created"][:10] in ("2025-03-10", "2025-03-11") for r in rows)


def test_default_window_is_the_last_90_days(client):
    assert client.get(f"{BASE}/requests.json").get_json() == []  # the rows are from March 2025


def test_pages_cover_every_row_once(client, rows):
    seen = []
    for page in range(1, 10):
        got = client.get(f"{BASE}/requests.json?{WINDOW}&page={page}&page_size=7").get_json()
        assert len(got) <= 7
        seen += [r["service_request_id"] for r in got]
    assert sorted(seen) == sorted(r["request_id"] for r in rows)
    assert client.get(f"{BASE}/requests.json?{WINDOW}").get_json().__len__() == 40  # default page of 50


def test_datetimes_carry_the_city_offset(client):
    got = client.get(f"{BASE}/requests.json?{WINDOW}&page_size=1000").get_json()
    for r in got:
        for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
            assert r[key].endswith(("-05:00", "-04:00")), (key, r[key])


def test_reporter_phone_never_appears(client, rows):
    for path in ("services.json", "services.xml", f"requests.json?{WINDOW}&page_size=1000",
                 f"requests.xml?{WINDOW}&page_size=1000", "requests/1000.json", "requests/1000.xml"):
        body = client.get(f"{BASE}/{path}").get_data(as_text=True)
        assert "reporter_phone" not in body and "555-77" not in body, path


# --- XML -------------------------------------------------------------------------------------------

def test_requests_xml_has_the_same_records_as_json(client):
    resp = client.get(f"{BASE}/requests.xml?{WINDOW}&page_size=1000")
    assert resp.status_code == 200 and resp.mimetype == "text/xml" and resp.data.startswith(b"<?xml")
    assert ET.fromstring(resp.data).tag == "service_requests"
    as_json = client.get(f"{BASE}/requests.json?{WINDOW}&page_size=1000").get_json()
    expected = [{k: "" if v is None else str(v) for k, v in r.items()} for r in as_json]
    assert _xml_records(resp.data, "request") == expected
    assert any(r["description"] == 'Tom & Jerry <loud> "music"' for r in expected)  # escaped, parsed back


def test_one_request_xml_is_a_list_of_one(client):
    records = _xml_records(client.get(f"{BASE}/requests/1001.xml").data, "request")
    assert [r["service_request_id"] for r in records] == ["1001"]


# --- errors in the spec's shape --------------------------------------------------------------------

@pytest.mark.parametrize("query, word", [
    ("start_date=2025-01-01T00:00:00Z&end_date=2025-04-02T00:00:00Z", "90"),
    ("start_date=yesterday", "start_date"),
    ("end_date=2025-02-30", "end_date"),
    ("start_date=2025-03-02T00:00:00Z&end_date=2025-03-01T00:00:00Z", "end_date"),
    ("status=pending", "status"),
    ("page_size=1001", "page_size"),
    ("page_size=0", "page_size"),
    ("page=0", "page"),
    ("page=x", "page"),
    ("page=99999999999999999999", "page"),
    ("start_date=9999-12-30T00:00:00Z", "start_date"),
    ("end_date=0001-01-02T00:00:00Z", "end_date"),
    ("borough=BROOKLYN", "borough"),
])
def test_bad_parameters_are_400_in_the_spec_error_shape(client, query, word):
    resp = client.get(f"{BASE}/requests.json?{query}")
    assert resp.status_code == 400
    ((error),) = resp.get_json()
    assert set(error) == {"code", "description"} and error["code"] == 400 and word in error["description"]
    resp = client.get(f"{BASE}/requests.xml?{query}")
    assert resp.status_code == 400 and resp.mimetype == "text/xml"
    root = ET.fromstring(resp.data)
    assert root.tag == "errors" and root.find("error/code").text == "400"
    assert word in root.find("error/description").text


def test_unknown_request_id_is_404_in_the_spec_error_shape(client):
    resp = client.get(f"{BASE}/requests/nope.json")
    assert resp.status_code == 404 and resp.get_json()[0]["code"] == 404
    resp = client.get(f"{BASE}/requests/nope.xml")
    assert resp.status_code == 404 and ET.fromstring(resp.data).find("error/code").text == "404"


def test_an_empty_lake_serves_empty_lists(lake_dir):
    app = flask.Flask(__name__)
    app.register_blueprint(api.open311.bp)
    c = app.test_client()
    assert c.get(f"{BASE}/services.json").get_json() == []
    assert c.get(f"{BASE}/requests.json?{WINDOW}").get_json() == []
    assert c.get(f"{BASE}/requests/1.json").status_code == 404


# --- an existing Open311 client reads Pulse --------------------------------------------------------

def _load_as_open311_client(body: bytes, tmp_path, configure) -> list[tuple]:
    """Save a response as a client would and load it with Pulse's Open311 format into an empty lake."""
    saved = tmp_path / "requests.json"
    saved.write_bytes(body)
    configure(data_dir=tmp_path / "second")
    result = load_file("service_requests", saved, format_name="open311_georeport_v2")
    assert result.outcome == "published" and result.rejected == 0, result
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute("SELECT request_id, status, created FROM read_parquet(?) ORDER BY request_id",
                           [lake.file_paths("service_requests", lake.manifest("service_requests"))]).fetchall()
    finally:
        con.close()


def test_round_trip_through_pulses_own_open311_loader(client, rows, tmp_path, configure):
    body = client.get(f"{BASE}/requests.json?{WINDOW}&status=open&page_size=1000").get_data()
    got = _load_as_open311_client(body, tmp_path, configure)
    want = sorted((r["request_id"], "Open", datetime.fromisoformat(r["created"])) for r in rows if r["status"] != "Closed")
    assert got == want and len(want) == 26


def test_round_trip_of_the_demo_city_keeps_ids_statuses_and_created_times(lake_dir, tmp_path, configure):
    demo.build(scale=2000, seed=1, end="2026-11-20")
    app = flask.Flask(__name__)
    app.register_blueprint(api.open311.bp)
    window = "start_date=2026-09-01T00:00:00Z&end_date=2026-11-20T00:00:00Z&page_size=1000"
    body = app.test_client().get(f"{BASE}/requests.json?{window}").get_data()
    served = json.loads(body)
    assert 100 < len(served) <= 1000 and {r["status"] for r in served} == {"open", "closed"}
    got = _load_as_open311_client(body, tmp_path, configure)
    assert got == sorted((r["service_request_id"], r["status"].title(), datetime.fromisoformat(r["requested_datetime"]))
                         for r in served)
