"""The SODA 2.1 read API (issue 18): every clause against DuckDB over the lake version itself, Socrata's
answer conventions and headers, stable pages pinned to one version, and hostile SoQL answered with
a 400 naming the clause, never a 500 and never a non-public column."""
from __future__ import annotations

import csv
import io
import json

import flask
import pytest

import api.soda
import lake
from etl import demo
from etl.load import load_file
from tests.helpers import service_requests_local as _lake
from tests.helpers import sr_row, write_csv

SR = "/resource/erm2-nwe9"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A demo lake of 3,000 service requests (and every other dataset), built once for the module."""
    from config import active, install, installed

    data = tmp_path_factory.mktemp("soda") / "data"
    before = installed()
    install(active().replace(data_dir=data, city=None))
    try:
        demo.build(scale=3000, seed=311)
    finally:
        install(before)
    return data


@pytest.fixture
def client(built, configure):
    configure(data_dir=built, city=None)
    app = flask.Flask(__name__)
    app.register_blueprint(api.soda.bp)
    return app.test_client()


def _get(client, path: str, **params):
    resp = client.get(path, query_string=params)
    return resp, (resp.get_json() if resp.mimetype.endswith("json") else resp.get_data(as_text=True))


# ---- answers ----------------------------------------------------------------------------------------

def test_default_page_is_a_thousand_rows_in_id_order_with_socratas_conventions(client):
    resp, rows = _get(client, f"{SR}.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert [r["unique_key"] for r in rows] == [k for (k,) in _lake("SELECT request_id FROM t ORDER BY request_id LIMIT 1000")]
    first = rows[0]
    assert all(isinstance(v, (str, dict, bool)) for r in rows for v in r.values())  # numbers as strings
    assert "reporter_phone" not in first and all(v is not None for r in rows for v in r.values())  # nulls left out
    created, lat, lon = _lake(f"SELECT strftime(created, '%Y-%m-%dT%H:%M:%S.000'), latitude, longitude FROM t "
                              f"WHERE request_id = '{first['unique_key']}'")[0]
    assert first["created_date"] == created
    assert first["location"] == {"type": "Point", "coordinates": [lon, lat]}
    assert float(first["latitude"]) == lat


def test_headers_name_fields_types_version_and_revalidate(client):
    resp, rows = _get(client, f"{SR}.json", **{"$select": "unique_key, created_date, latitude, location", "$limit": "3"})
    assert json.loads(resp.headers["X-SODA2-Fields"]) == ["unique_key", "created_date", "latitude", "location"]
    assert json.loads(resp.headers["X-SODA2-Types"]) == ["text", "floating_timestamp", "number", "point"]
    assert resp.headers["X-Pulse-Version"] == str(lake.current_version("service_requests"))
    assert resp.headers["Last-Modified"].endswith("GMT")
    again = client.get(f"{SR}.json", query_string={"$select": "unique_key, created_date, latitude, location", "$limit": "3"},
                       headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("params, sql", [
    ({"$where": "created_date > '2025-06-01' AND borough = 'BRONX'", "$order": "created_date DESC", "$limit": "50"},
     "SELECT request_id FROM t WHERE created > TIMESTAMP '2025-06-01' AND borough = 'BRONX' ORDER BY created DESC, request_id LIMIT 50"),
    ({"$where": "closed_date IS NULL AND complaint_type like 'Noise%'"},
     "SELECT request_id FROM t WHERE closed IS NULL AND complaint_type LIKE 'Noise%' ORDER BY request_id"),
    ({"$where": "created_date between '2025-01-01' and '2025-01-31T23:59:59' and not (borough in ('QUEENS', 'BRONX'))"},
     "SELECT request_id FROM t WHERE created BETWEEN TIMESTAMP '2025-01-01' AND TIMESTAMP '2025-01-31 23:59:59' "
     "AND NOT borough IN ('QUEENS', 'BRONX') ORDER BY request_id"),
    ({"$where": "starts_with(incident_zip, '104') or latitude > 40.8", "$order": ":id DESC", "$limit": "20", "$offset": "5"},
     "SELECT request_id FROM t WHERE starts_with(incident_zip, '104') OR latitude > 40.8 ORDER BY request_id DESC LIMIT 20 OFFSET 5"),
    ({"borough": "QUEENS", "agency": "NYPD"},
     "SELECT request_id FROM t WHERE borough = 'QUEENS' AND agency = 'NYPD' ORDER BY request_id"),
    ({"$where": "within_box(location, 40.8, -74.0, 40.7, -73.9)"},
     "SELECT request_id FROM t WHERE latitude BETWEEN 40.7 AND 40.8 AND longitude BETWEEN -74.0 AND -73.9 ORDER BY request_id"),
])
def test_where_order_limit_offset_and_simple_filters_match_duckdb(client, params, sql):
    resp, rows = _get(client, f"{SR}.json", **{"$select": "unique_key", **params})
    assert resp.status_code == 200, rows
    assert [r["unique_key"] for r in rows] == [k for (k,) in _lake(sql)]


def test_within_circle_is_a_great_circle_distance(client):
    _, rows = _get(client, f"{SR}.json", **{"$select": "count(*)", "$where": "within_circle(location, 40.75, -73.95, 3000)"})
    expected = _lake("SELECT count(*) FROM t WHERE 2 * 6371008.8 * asin(sqrt(pow(sin(radians(latitude - 40.75) / 2), 2) "
                     "+ cos(radians(40.75)) * cos(radians(latitude)) * pow(sin(radians(longitude + 73.95) / 2), 2))) <= 3000")
    assert rows == [{"count": str(expected[0][0])}] and expected[0][0] > 0


def test_aggregates_groups_having_and_aliases(client):
    _, rows = _get(client, f"{SR}.json", **{
        "$select": "borough, count(*) AS n, avg(latitude), min(created_date), max(closed_date)",
        "$where": "borough IS NOT NULL", "$group": "borough", "$having": "n > 10", "$order": "n DESC"})
    expected = _lake("SELECT borough, count(*), avg(latitude), min(created), max(closed) FROM t WHERE borough IS NOT NULL "
                     "GROUP BY borough HAVING count(*) > 10 ORDER BY count(*) DESC, borough")
    assert [(r["borough"], int(r["n"]), float(r["avg_latitude"])) for r in rows] == [(b, n, pytest.approx(a)) for b, n, a, _, _ in expected]
    assert rows[0]["min_created_date"] == expected[0][3].strftime("%Y-%m-%dT%H:%M:%S.000")


def test_date_functions_case_and_distinct(client):
    _, months = _get(client, f"{SR}.json", **{"$select": "date_trunc_ym(created_date) AS month, count(*)",
                                               "$group": "date_trunc_ym(created_date)", "$order": "month"})
    expected = _lake("SELECT date_trunc('month', created), count(*) FROM t GROUP BY 1 ORDER BY 1")
    assert [(m["month"], int(m["count"])) for m in months] == [(d.strftime("%Y-%m-%dT00:00:00.000"), n) for d, n in expected]
    _, hours = _get(client, f"{SR}.json", **{"$select": "date_extract_hh(created_date) AS h, count(*)", "$group": "h"})
    assert sum(int(h["count"]) for h in hours) == _lake("SELECT count(*) FROM t")[0][0]
    _, kinds = _get(client, f"{SR}.json", **{"$select": "case(borough = 'BRONX', 'bx', true, 'other') AS b, count(*)",
                                              "$group": "case(borough = 'BRONX', 'bx', true, 'other')"})
    assert {k["b"]: int(k["count"]) for k in kinds}["bx"] == _lake("SELECT count(*) FROM t WHERE borough = 'BRONX'")[0][0]
    _, distinct = _get(client, f"{SR}.json", **{"$select": "distinct borough"})
    assert [d.get("borough") for d in distinct] == [b for (b,) in _lake("SELECT DISTINCT borough FROM t ORDER BY borough")]


def test_full_text_search_and_a_whole_query_statement(client):
    _, found = _get(client, f"{SR}.json", **{"$q": "noise", "$select": "count(*)"})
    texts = " OR ".join(f"contains(lower({c}), 'noise')" for c in ("request_id", "status", "agency", "agency_name", "complaint_type",
                        "descriptor", "location_type", "incident_zip", "incident_address", "resolution_description",
                        "community_board", "borough", "channel"))
    assert found == [{"count": str(_lake(f"SELECT count(*) FROM t WHERE {texts}")[0][0])}]
    _, rows = _get(client, f"{SR}.json", **{"$query": "SELECT agency, count(*) AS n WHERE borough = 'BRONX' GROUP BY agency "
                                                     "ORDER BY n DESC LIMIT 3 OFFSET 1"})
    expected = _lake("SELECT agency, count(*) FROM t WHERE borough = 'BRONX' GROUP BY agency ORDER BY 2 DESC, agency LIMIT 3 OFFSET 1")
    assert [(r["agency"], int(r["n"])) for r in rows] == expected


def test_csv_geojson_and_one_row(client):
    resp, text = _get(client, f"{SR}.csv", **{"$select": "unique_key, complaint_type, location", "$limit": "5"})
    assert resp.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["unique_key", "complaint_type", "location"] and len(table) == 6
    assert table[1][2].startswith("POINT (-7")
    resp, geo = _get(client, f"{SR}.geojson", **{"$limit": "5"})
    assert resp.mimetype == "application/vnd.geo+json" and geo["type"] == "FeatureCollection"
    assert geo["features"][0]["geometry"]["type"] == "Point" and "unique_key" in geo["features"][0]["properties"]
    key = geo["features"][0]["properties"]["unique_key"]
    resp, one = _get(client, f"{SR}/{key}.json")
    assert resp.status_code == 200 and one["unique_key"] == key
    assert client.get(f"{SR}/no-such-row.json").status_code == 404


def test_the_pulse_name_works_too_and_other_datasets_keep_their_column_names(client):
    _, by_name = _get(client, "/resource/service_requests.json", **{"$limit": "2"})
    _, by_alias = _get(client, f"{SR}.json", **{"$limit": "2"})
    assert by_name == by_alias
    resp, segments = _get(client, "/resource/snow_segments.json", **{"$limit": "1"})
    assert json.loads(resp.headers["X-SODA2-Types"])[-1] == "line" and segments[0]["geometry"]["type"] == "LineString"


def test_limit_up_to_the_maximum_is_honoured_and_above_it_refused(client, configure):
    configure(soda_max_limit="2000")
    _, rows = _get(client, f"{SR}.json", **{"$limit": "2000"})
    assert len(rows) == 2000  # the lake holds 3,000: never silently fewer
    resp, body = _get(client, f"{SR}.json", **{"$limit": "2001"})
    assert resp.status_code == 400 and "$limit" in body["message"] and "2,000" in body["message"]


# ---- stable paging ----------------------------------------------------------------------------------

def test_a_pull_paging_with_offset_keeps_its_first_pages_version_through_a_publish(client, tmp_path):
    first_version = lake.current_version("service_requests")
    first, page1 = _get(client, f"{SR}.json", **{"$limit": "1000", "$offset": "0", "$select": "unique_key, status"})
    # A publish between two pages: 5 new requests with the smallest keys, 20 requests changed.
    changed = [sr_row(i, request_id=f"0{i:04d}") for i in range(5)]
    load_file("service_requests", write_csv(tmp_path / "new.csv", changed))
    assert lake.current_version("service_requests") == first_version + 1
    second, page2 = _get(client, f"{SR}.json", **{"$limit": "1000", "$offset": "1000", "$select": "unique_key, status"})
    retried, again = _get(client, f"{SR}.json", **{"$limit": "1000", "$offset": "1000", "$select": "unique_key, status"})
    third, page3 = _get(client, f"{SR}.json", **{"$limit": "1000", "$offset": "2000", "$select": "unique_key, status"})
    assert {r.headers["X-Pulse-Version"] for r in (first, second, retried, third)} == {str(first_version)}
    assert again == page2  # a page asked for again (a client's retry) is the same page
    keys = [r["unique_key"] for r in page1 + page2 + page3]
    assert len(keys) == len(set(keys)) == 3000
    assert keys == [k for (k,) in _lake("SELECT request_id FROM t ORDER BY request_id", first_version)]
    fresh, _ = _get(client, f"{SR}.json", **{"$limit": "1000", "$offset": "0", "$select": "unique_key, status"})
    assert fresh.headers["X-Pulse-Version"] == str(first_version + 1)  # a new pull reads the new version


# ---- catalog ----------------------------------------------------------------------------------------

def test_views_and_the_discovery_api_in_socratas_shapes(client):
    resp, view = _get(client, "/api/views/erm2-nwe9.json")
    assert resp.status_code == 200 and view["id"] == "erm2-nwe9"
    names = [c["fieldName"] for c in view["columns"]]
    assert "created_date" in names and "location" in names and "reporter_phone" not in names
    assert {c["fieldName"]: c["dataTypeName"] for c in view["columns"]}["location"] == "point"
    _, found = _get(client, "/api/catalog/v1", ids="erm2-nwe9")
    assert found["resultSetSize"] == 1 and found["results"][0]["resource"]["id"] == "erm2-nwe9"
    _, everything = _get(client, "/api/catalog/v1", limit="2", offset="1")
    assert everything["resultSetSize"] == 6 and len(everything["results"]) == 2
    _, elsewhere = _get(client, "/api/catalog/v1", domains="data.cityofnewyork.us")
    assert elsewhere == {"results": [], "resultSetSize": 0, "timings": elsewhere["timings"]}
    _, snow = _get(client, "/api/catalog/v1", q="snow plow")
    assert {r["resource"]["id"] for r in snow["results"]} >= {"plow_activity"}


# ---- hostile SoQL -----------------------------------------------------------------------------------

HOSTILE = [
    ("$where", "1=1; DROP TABLE t", "$where"),
    ("$where", "unique_key = '' OR 1=1 --'", "$where"),
    ("$where", "reporter_phone IS NOT NULL", "reporter_phone"),
    ("$select", "reporter_phone", "reporter_phone"),
    ("$select", "`reporter_phone`", "reporter_phone"),
    ("$order", "reporter_phone", "reporter_phone"),
    ("$group", "reporter_phone", "reporter_phone"),
    ("$select", "read_parquet('/etc/passwd')", "read_parquet"),
    ("$where", "getenv('HOME') = 'x'", "getenv"),
    ("$select", "unique_key FROM t", "$select"),
    ("$order", "created_date; SELECT 1", "$order"),
    ("$select", "borough, count(*)", "$group"),
    ("$where", "count(*) > 1", "$having"),
    ("$having", "count(*) > 1", "must be in $group"),
    ("$where", "created_date > 'not a time'", "floating_timestamp"),
    ("$where", "latitude > 'north'", "number"),
    ("$where", "location > 1", "point"),
    ("$where", "borough", "checkbox"),
    ("$where", "sum(sum(latitude)) > 1", "aggregate"),
    ("$where", "not " * 500 + "true", "deeper"),
    ("$where", "unique_key IN (" + ",".join(f"'{i}'" for i in range(1001)) + ")", "1,000"),
    ("$where", "unique_key = '" + "x" * 100_000 + "'", "characters"),
    ("$where", "1e999 > 1", "finite"),
    ("$limit", "-1", "$limit"),
    ("$limit", "1e3", "$limit"),
    ("$offset", "x", "$offset"),
    ("$q", "", "$q"),
    ("$select", "", "empty"),
    ("$bogus", "1", "$bogus"),
    ("nosuchfield", "1", "nosuchfield"),
    ("latitude", "north", "number"),
    ("$where", "upper(1, 2)", "arguments"),
    ("$where", "'\u0000' = unique_key", None),
]


@pytest.mark.parametrize("key, value, named", HOSTILE)
def test_hostile_soql_is_a_400_with_a_message(client, key, value, named):
    resp, body = _get(client, f"{SR}.json", **{key: value})
    if named is None:  # harmless after all: bound as a value
        assert resp.status_code == 200
        return
    assert resp.status_code == 400, body
    assert named in body["message"] and body["message"] == body["error"]
    assert "555-" not in json.dumps(body)


def test_query_with_other_clauses_is_refused_as_socrata_does(client):
    resp, body = _get(client, f"{SR}.json", **{"$query": "SELECT *", "$limit": "3"})
    assert resp.status_code == 400 and body["message"] == "$query: cannot be combined with $limit"


def test_an_error_names_the_position_in_the_clause(client):
    resp, body = _get(client, f"{SR}.json", **{"$where": "borough = 'BRONX' AND nope > 1"})
    assert body["clause"] == "$where" and body["position"] == 23
    assert body["message"] == "$where: no field 'nope' in this dataset at position 23"


def test_an_app_token_is_accepted_never_required_and_system_fields_come_when_asked(client):
    plain, rows = _get(client, f"{SR}.json", **{"$limit": "3"})
    token = client.get(f"{SR}.json", query_string={"$limit": "3", "$$app_token": "abc"}, headers={"X-App-Token": "abc"})
    assert plain.status_code == token.status_code == 200 and token.get_json() == rows
    assert ":id" not in rows[0]
    _, with_system = _get(client, f"{SR}.json", **{"$limit": "3", "$$exclude_system_fields": "false"})
    assert [r[":id"] for r in with_system] == [r["unique_key"] for r in rows]
    _, chosen = _get(client, f"{SR}.json", **{"$select": ":id, borough", "$order": ":id DESC", "$limit": "2"})
    assert [r[":id"] for r in chosen] == [k for (k,) in _lake("SELECT request_id FROM t ORDER BY request_id DESC LIMIT 2")]


def test_an_error_inside_a_whole_statement_names_query_and_the_position_in_it(client):
    resp, body = _get(client, f"{SR}.json", **{"$query": "SELECT borough, count(*) WHERE nope = 1 GROUP BY borough"})
    assert resp.status_code == 400 and body["message"] == "$query: no field 'nope' in this dataset at position 32"
