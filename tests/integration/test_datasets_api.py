"""The dataset API (issue 5, sections 2, 3 and 6): catalog, metadata, rows with filters and keyset
pages, streamed exports. Every expectation is checked against DuckDB over the lake itself."""
from __future__ import annotations

import csv
import io
import json

import duckdb
import flask
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import api.datasets
import datasets
import lake
from etl import demo
from etl.load import load_file
from tests.helpers import sr_row, watch_cache, write_csv

FORMATS = ["csv", "parquet", "json", "ndjson", "geojson"]
PRIVATE = ("reporter_phone", "volunteer_id", "contact_email")
BOROUGHS = ["MANHATTAN", "BRONX", "BROOKLYN", "QUEENS", "STATEN ISLAND"]
TRICKY = ["=1+1", "+x", "-x", "@x"]  # spreadsheet formulas a CSV must not run
SR = "/api/v1/datasets/service_requests"


def _client():
    app = flask.Flask(__name__)
    app.register_blueprint(api.datasets.bp)
    return app.test_client()


def _sr_rows(n: int = 60, offset: int = 0) -> list[dict]:
    rows = []
    for i in range(offset, offset + n):
        closed = "" if i % 4 == 0 else f"2025-04-{1 + i % 27:02d}T09:30:00-04:00"
        rows.append(sr_row(
            i, status="Open" if not closed else "Closed", closed=closed,
            created=f"2025-03-{1 + i % 28:02d}T{i % 24:02d}:00:00-05:00",
            borough=BOROUGHS[i % 5], latitude=f"{40.55 + (i % 8) * 0.05:.2f}", longitude=f"{-74.2 + (i % 7) * 0.08:.2f}",
            descriptor=TRICKY[i % 4] if i < 8 else f"plain {i}", reporter_phone=f"555-01{i:02d}",
        ))
    return rows


@pytest.fixture
def sr_lake(lake_dir, tmp_path):
    """service_requests with 60 rows (v1), then 10 updated and 5 added (v2)."""
    load_file("service_requests", write_csv(tmp_path / "v1.csv", _sr_rows(60)))
    v2 = [dict(r, status="Closed", closed="2025-04-28T10:00:00-04:00") for r in _sr_rows(10)] + _sr_rows(5, offset=60)
    load_file("service_requests", write_csv(tmp_path / "v2.csv", v2))
    return lake_dir


@pytest.fixture
def client(sr_lake):
    return _client()


def _expected(sql: str, version: int | None = None) -> list:
    """Rows of `SELECT ... FROM t WHERE ...` over the lake version itself, for comparison."""
    m = lake.manifest("service_requests", version)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet({lake.file_paths('service_requests', m)!r})")
    return con.execute(sql).fetchall()


def _ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.json
    return [r["request_id"] for r in resp.json["rows"]]


# --- catalog and metadata ----------------------------------------------------------------------

def test_catalog_lists_every_declared_dataset_with_version_rows_and_links(client):
    body = client.get("/api/v1/datasets").json
    assert [d["name"] for d in body["datasets"]] == list(datasets.datasets())
    sr = next(d for d in body["datasets"] if d["name"] == "service_requests")
    assert (sr["version"], sr["rows"], sr["publisher"]) == (2, 65, "City 311 Customer Service Center")
    assert sr["links"]["rows"] == f"{SR}/rows"
    assert set(sr["links"]["exports"]) == set(FORMATS)
    assert sr["licence"]["url"].startswith("https://") and sr["update_cadence"] == "continuous"
    storms = next(d for d in body["datasets"] if d["name"] == "snow_storms")
    assert storms["version"] is None and "geojson" not in storms["links"]["exports"]


def test_metadata_has_version_rows_schema_and_each_versions_load_counts(client):
    body = client.get(SR).json
    assert (body["version"], body["rows"]) == (2, 65)
    assert [c["name"] for c in body["schema"]] == [c.name for c in datasets.get("service_requests").public_columns]
    status = next(c for c in body["schema"] if c["name"] == "status")
    assert status["required"] is True and "Closed" in status["allowed"] and status["type"] == "string"
    assert [(v["version"], v["rows"], v["rows_in"], v["inserted"], v["updated"], v["unchanged"], v["rejected"])
            for v in body["versions"]] == [(1, 60, 60, 60, 0, 0, 0), (2, 65, 15, 5, 10, 0, 0)]
    assert body["versions_total"] == 2 and "versions_next" not in body


def test_versions_come_in_pages_from_the_newest_with_a_link_to_the_older_ones(client):
    """A real-time feed publishes every few seconds: the metadata lists a page of versions, not thousands."""
    first = client.get(f"{SR}?versions_limit=1").json
    assert [v["version"] for v in first["versions"]] == [2] and first["versions_total"] == 2
    older = client.get(first["versions_next"]).json
    assert [v["version"] for v in older["versions"]] == [1] and "versions_next" not in older
    assert older["versions"][0]["inserted"] == 60


@pytest.mark.parametrize("query, parameter", [("versions_limit=0", "versions_limit"), ("versions_limit=1001", "versions_limit"),
                                              ("versions_limit=ten", "versions_limit"), ("versions_before=-3", "versions_before"),
                                              ("versions_limit=1_0", "versions_limit"), ("versions_limit=+3", "versions_limit"),
                                              ("version=1", "version")])
def test_bad_version_paging_is_a_400_naming_the_parameter(client, query, parameter):
    r = client.get(f"{SR}?{query}")
    assert r.status_code == 400 and r.json["parameter"] == parameter and parameter in r.json["error"]


@pytest.mark.parametrize("path", ["", "/rows", "/export.csv"])
def test_unknown_dataset_is_a_404_listing_the_known_ones(client, path):
    resp = client.get(f"/api/v1/datasets/no_such{path}")
    assert resp.status_code == 404 and "service_requests" in resp.json["allowed"]


# --- rows: filters -----------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "where"), [
    ("borough=BRONX", "borough = 'BRONX'"),
    ("borough__in=BRONX,QUEENS", "borough IN ('BRONX', 'QUEENS')"),
    ("status=Open", "status = 'Open'"),
    ("latitude__gte=40.7&latitude__lt=40.85", "latitude >= 40.7 AND latitude < 40.85"),
    ("longitude__gt=-74.0&longitude__lte=-73.8", "longitude > -74.0 AND longitude <= -73.8"),
    ("created__gte=2025-03-10T00:00:00-05:00&created__lt=2025-03-20T00:00:00-05:00",
     "created >= TIMESTAMPTZ '2025-03-10 05:00:00+00' AND created < TIMESTAMPTZ '2025-03-20 05:00:00+00'"),
    ("created__gte=2025-03-25", "created >= TIMESTAMPTZ '2025-03-25 04:00:00+00'"),  # a date: midnight in New York
    ("closed__lt=2025-04-05T00:00:00Z", "closed < TIMESTAMPTZ '2025-04-05 00:00:00+00'"),
    ("bbox=-74.1,40.6,-73.8,40.8", "longitude BETWEEN -74.1 AND -73.8 AND latitude BETWEEN 40.6 AND 40.8"),
    ("borough=BROOKLYN&bbox=-74.25,40.4,-73.0,41.0&status__in=Open,Closed",
     "borough = 'BROOKLYN' AND longitude BETWEEN -74.25 AND -73.0 AND latitude BETWEEN 40.4 AND 41.0"),
])
def test_rows_filters_match_the_same_filter_in_duckdb(client, query, where):
    got = _ids(client.get(f"{SR}/rows?limit=10000&{query}"))
    assert sorted(got) == sorted(r for (r,) in _expected(f"SELECT request_id FROM t WHERE {where}"))
    assert got  # every case selects something, so an always-empty answer cannot pass


def test_rows_carry_dataset_version_and_json_safe_values(client):
    body = client.get(f"{SR}/rows?request_id=1001").json
    assert (body["dataset"], body["version"]) == ("service_requests", 2)
    [row] = body["rows"]
    assert row["created"] == "2025-03-02T06:00:00+00:00" and row["closed"] == "2025-04-28T14:00:00+00:00"
    assert row["latitude"] == 40.6 and "reporter_phone" not in row


def test_columns_selects_and_orders_the_columns(client):
    body = client.get(f"{SR}/rows?columns=borough,request_id&limit=3").json
    assert body["columns"] == ["borough", "request_id"]
    assert all(list(r) == ["borough", "request_id"] for r in body["rows"])


@pytest.mark.parametrize(("sort", "order"), [
    ("created", "created, request_id"),
    ("-created", "created DESC, request_id DESC"),
    ("latitude", "latitude, request_id"),
    ("-closed", "closed DESC NULLS LAST, request_id DESC"),
    ("closed", "closed NULLS LAST, request_id"),
])
def test_sort_orders_by_the_column_then_the_primary_key(client, sort, order):
    got = _ids(client.get(f"{SR}/rows?sort={sort}&limit=10000"))
    assert got == [r for (r,) in _expected(f"SELECT request_id FROM t ORDER BY {order}")]


# --- rows: keyset pages ------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["", "sort=created", "sort=-closed", "sort=borough&status=Closed", "sort=-latitude"])
def test_pages_walk_every_row_exactly_once_following_next(client, query):
    url, seen, pages = f"{SR}/rows?limit=7&{query}", [], 0
    while url:
        body = client.get(url).json
        assert body["version"] == 2 and len(body["rows"]) <= 7
        seen += [r["request_id"] for r in body["rows"]]
        url, pages = body.get("next"), pages + 1
        assert url is None or "version=2" in url
    where = " WHERE status = 'Closed'" if "status" in query else ""
    expected = [r for (r,) in _expected(f"SELECT request_id FROM t{where}")]
    assert len(seen) == len(set(seen)) == len(expected) and set(seen) == set(expected)
    assert pages == -(-len(expected) // 7)


def test_the_last_page_has_no_next_link(client):
    body = client.get(f"{SR}/rows?limit=65").json
    assert len(body["rows"]) == 65 and "next" not in body


def test_pages_use_keyset_not_offset(client):
    """Deep pages cost what the first does: WHERE (keyset) > (last) ORDER BY ... LIMIT, never OFFSET."""
    sql, _ = api.datasets.parse(datasets.get("service_requests"), _args("sort=created&cursor=" + _cursor(client)),
                                paged=True).sql(paged=True)
    assert "OFFSET" not in sql.upper() and ") > (" in sql and "LIMIT 101" in sql


def _args(query: str):
    from werkzeug.datastructures import MultiDict

    return MultiDict(q.split("=", 1) for q in query.split("&"))


def _cursor(client, query: str = "sort=created&limit=5") -> str:
    nxt = client.get(f"{SR}/rows?{query}").json["next"]
    return nxt.split("cursor=")[1].split("&")[0]


# --- rows: bad input is a 4xx naming the parameter ---------------------------------------------

@pytest.mark.parametrize(("query", "status", "parameter"), [
    ("limit=10001", 400, "limit"),
    ("limit=0", 400, "limit"),
    ("limit=ten", 400, "limit"),
    ("colour=red", 400, "colour"),
    ("reporter_phone=555-0101", 400, "reporter_phone"),  # a non-public column is not a column here
    ("borough__like=BR", 400, "borough__like"),
    ("created__gte=2025-13-45", 400, "created__gte"),
    ("created=yesterday", 400, "created"),
    ("latitude__gt=north", 400, "latitude__gt"),
    ("status=Shut", 400, "status"),
    ("sort=reporter_phone", 400, "sort"),
    ("columns=request_id,reporter_phone", 400, "columns"),
    ("bbox=1,2,3", 400, "bbox"),
    ("bbox=10,50,0,40", 400, "bbox"),
    ("cursor=not-a-cursor", 400, "cursor"),
    ("cursor=eyJ2IjoyfQ", 400, "cursor"),  # valid base64 JSON, wrong shape
    ("version=9", 404, "version"),
    ("version=latest", 400, "version"),
])
def test_bad_parameters_are_4xx_json_naming_the_parameter(client, query, status, parameter):
    resp = client.get(f"{SR}/rows?{query}")
    assert resp.status_code == status, resp.json
    assert resp.json["parameter"] == parameter and parameter.split("__")[0] in resp.json["error"]


def test_an_unknown_parameter_error_lists_what_is_allowed(client):
    body = client.get(f"{SR}/rows?colour=red").json
    assert {"limit", "cursor", "sort", "borough", "created"} <= set(body["allowed"])
    assert "reporter_phone" not in body["allowed"]


def test_bbox_on_a_dataset_without_coordinates_is_a_400(client):
    assert client.get("/api/v1/datasets/snow_storms/rows?bbox=-75,40,-73,41").json["parameter"] == "bbox"


def test_a_cursor_from_another_version_or_sort_is_a_400(client):
    cursor = _cursor(client)  # issued for version 2, sort=created
    assert client.get(f"{SR}/rows?sort=created&limit=5&version=1&cursor={cursor}").status_code == 400
    assert client.get(f"{SR}/rows?sort=-created&limit=5&cursor={cursor}").json["parameter"] == "cursor"
    assert client.get(f"{SR}/rows?sort=created&limit=5&cursor={cursor}").status_code == 200


def test_version_serves_an_older_version(client):
    old = client.get(f"{SR}/rows?version=1&limit=10000&status=Open").json
    assert old["version"] == 1
    assert sorted(r["request_id"] for r in old["rows"]) == sorted(
        r for (r,) in _expected("SELECT request_id FROM t WHERE status = 'Open'", version=1))
    assert len(old["rows"]) == 15 and len(_ids(client.get(f"{SR}/rows?limit=10000&status=Open"))) == 14


# --- exports -----------------------------------------------------------------------------------

def _count(fmt: str, data: bytes) -> int:
    if fmt == "csv":
        return len(list(csv.reader(io.StringIO(data.decode())))) - 1
    if fmt == "parquet":
        return pq.read_table(io.BytesIO(data)).num_rows
    if fmt == "json":
        return len(json.loads(data))
    if fmt == "ndjson":
        return len([line for line in data.splitlines() if line.strip()])
    return len(json.loads(data)["features"])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("query", ["", "borough__in=BRONX,QUEENS&created__gte=2025-03-05", "status=Open&version=1",
                                   "bbox=-74.1,40.6,-73.8,40.8&columns=request_id"])
def test_every_export_has_as_many_rows_as_the_rows_api(client, fmt, query):
    resp = client.get(f"{SR}/export.{fmt}?{query}")
    assert resp.status_code == 200, resp.data[:300]
    assert _count(fmt, resp.data) == len(_ids(client.get(f"{SR}/rows?limit=10000&{query}")))


@pytest.mark.parametrize(("fmt", "content_type"), [
    ("csv", "text/csv; charset=utf-8"), ("parquet", "application/vnd.apache.parquet"),
    ("json", "application/json"), ("ndjson", "application/x-ndjson"), ("geojson", "application/geo+json"),
])
def test_export_headers_name_dataset_and_version_and_allow_caching(client, fmt, content_type):
    resp, old = client.get(f"{SR}/export.{fmt}", buffered=True), client.get(f"{SR}/export.{fmt}?version=1", buffered=True)
    assert resp.headers["Content-Type"] == content_type
    assert resp.headers["Content-Disposition"] == f'attachment; filename="service_requests-v2.{fmt}"'
    # issue 13: the HTTP cache's policy (decision 0015): the current version moves, so a few seconds
    # (bounded by PULSE_LIVE_POLL_SECONDS); a version never changes, so a year, immutable
    assert resp.headers["Cache-Control"] == "public, max-age=5, stale-while-revalidate=5"
    assert old.headers["Content-Disposition"] == f'attachment; filename="service_requests-v1.{fmt}"'
    assert old.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_etag_gives_304_and_changes_with_the_query_and_the_version(client, tmp_path):
    etag = client.get(f"{SR}/export.csv?borough=BRONX", buffered=True).headers["ETag"]
    again = client.get(f"{SR}/export.csv?borough=BRONX", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(f"{SR}/export.csv?borough=QUEENS", buffered=True).headers["ETag"] != etag
    load_file("service_requests", write_csv(tmp_path / "v3.csv", _sr_rows(1, offset=90)))
    assert client.get(f"{SR}/export.csv?borough=BRONX", headers={"If-None-Match": etag}, buffered=True).status_code == 200


def test_parquet_export_reads_back_with_the_declared_types(client):
    schema = pq.read_table(io.BytesIO(client.get(f"{SR}/export.parquet").data)).schema
    assert pa.types.is_timestamp(schema.field("created").type) and schema.field("created").type.tz
    assert schema.field("latitude").type == pa.float64() and schema.field("request_id").type == pa.string()
    vol = _client().get("/api/v1/datasets/volunteer_opportunities/export.parquet")
    assert vol.status_code == 200  # no version yet: an empty file with the declared types
    vschema = pq.read_table(io.BytesIO(vol.data)).schema
    assert vschema.field("volunteers_needed").type == pa.int64() and vschema.field("start_date").type == pa.date32()
    assert vschema.field("hours").type == pa.float64() and "contact_email" not in vschema.names


def test_csv_export_neutralises_formulas_but_not_negative_numbers(client):
    text = client.get(f"{SR}/export.csv?columns=request_id,descriptor,longitude&request_id__in=1000,1001,1002,1003").data
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    assert sorted(r["descriptor"] for r in rows) == sorted("'" + v for v in TRICKY)
    assert all(r["longitude"].startswith("-7") for r in rows)  # numbers stay numbers
    assert text.startswith(b"request_id,descriptor,longitude\r\n")


def test_csv_quotes_per_rfc_4180(lake_dir, tmp_path):
    load_file("service_requests", write_csv(tmp_path / "q.csv", [sr_row(1, descriptor='say "hi", then\nleave')]))
    data = _client().get(f"{SR}/export.csv?columns=descriptor").data
    assert data == b'descriptor\r\n"say ""hi"", then\nleave"\r\n'


def test_a_download_started_before_a_load_publishes_returns_the_old_version(lake_dir, tmp_path):
    load_file("service_requests", write_csv(tmp_path / "a.csv", _sr_rows(30_000)))
    resp = _client().get(f"{SR}/export.ndjson", buffered=False)
    chunks = iter(resp.response)
    first = next(chunks)  # headers sent and the first batch read: the download is under way
    load_file("service_requests", write_csv(tmp_path / "b.csv", [sr_row(i, borough="QUEENS") for i in range(40_000)]))
    assert lake.current_version("service_requests") == 2
    lines = (first + b"".join(chunks)).splitlines()
    resp.close()
    assert len(lines) == 30_000 and resp.headers["Content-Disposition"].endswith('-v1.ndjson"')
    assert sum(json.loads(line)["borough"] == "QUEENS" for line in lines) == 6_000  # v1's fifth, not v2's all


def test_a_download_past_the_export_time_limit_ends_with_an_error_line(lake_dir, tmp_path, configure):
    # issue 12: exports had no time limit at all; a slow reader past PULSE_EXPORT_TIME_LIMIT_S is stopped
    import time

    load_file("service_requests", write_csv(tmp_path / "big.csv", _sr_rows(200_000)))
    configure(export_time_limit_s="0.5", query_time_limit_ms=1)  # the dashboards' limit is not the one used
    resp = _client().get(f"{SR}/export.ndjson", buffered=False)
    chunks = iter(resp.response)
    first = next(chunks)
    time.sleep(1.0)  # a client that reads slowly: DuckDB is waiting on its buffer when the limit passes
    body = first + b"".join(chunks)
    resp.close()
    assert resp.status_code == 200
    assert body.endswith(b"error: the download stopped: QueryTimeout: query 'export' was stopped after its time "
                         b"limit of 500 ms\n")
    assert body.count(b"\n") < 200_000


def test_a_first_page_is_cached_by_version_and_never_served_stale(client, tmp_path, monkeypatch):
    # issue 12: a page of the current version is cached across workers, keyed by the version it read;
    # issue 13: by the HTTP cache, so the second request is this worker's hit and reaches no cache door
    from api import httpcache

    httpcache.local.clear()
    seen = watch_cache(monkeypatch)
    first, again = client.get(f"{SR}/rows?limit=5"), client.get(f"{SR}/rows?limit=5")
    assert again.data == first.data and first.json["version"] == 2 and first.mimetype == "application/json"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert seen == [("api_datasets.rows", {"service_requests": 2}, False)]
    load_file("service_requests", write_csv(tmp_path / "v3.csv", _sr_rows(3, offset=100)))
    third = client.get(f"{SR}/rows?limit=5")
    assert third.json["version"] == 3 and third.headers["ETag"] != first.headers["ETag"]
    assert seen[-1] == ("api_datasets.rows", {"service_requests": 3}, False)
    pinned = client.get(f"{SR}/rows?limit=5&version=2")
    assert pinned.json["rows"] == first.json["rows"] and pinned.json["version"] == 2
    assert pinned.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_exports_stream_in_chunks_with_flat_memory(lake_dir, tmp_path):
    import os

    import psutil

    load_file("service_requests", write_csv(tmp_path / "big.csv", _sr_rows(200_000)))
    proc = psutil.Process(os.getpid())
    for fmt in ("csv", "parquet"):
        resp = _client().get(f"{SR}/export.{fmt}", buffered=False)
        assert resp.is_streamed
        before, chunks, size = proc.memory_info().rss, 0, 0
        for chunk in resp.response:
            chunks, size = chunks + 1, size + len(chunk)
        resp.close()
        growth = proc.memory_info().rss - before
        assert chunks >= 20 and growth < max(size // 2, 64 * 2**20), (fmt, chunks, size, growth)


def test_geojson_points_from_coordinates_and_lines_from_a_geometry_column(lake_dir):
    demo.build(scale=300, seed=5)
    client = _client()
    point = client.get(f"{SR}/export.geojson?columns=request_id").json
    feature = point["features"][0]
    assert feature["geometry"]["type"] == "Point" and "request_id" in feature["properties"]
    lines = client.get("/api/v1/datasets/snow_segments/export.geojson").json
    assert {f["geometry"]["type"] for f in lines["features"]} == {"LineString"}
    assert "geometry" not in lines["features"][0]["properties"]
    assert client.get("/api/v1/datasets/snow_storms/export.geojson").status_code == 404
    assert client.get(f"{SR}/export.xlsx").status_code == 404


def test_no_private_column_leaves_through_any_endpoint_or_format(lake_dir):
    demo.build(scale=300, seed=7)
    client = _client()
    bodies = [client.get("/api/v1/datasets").data]
    for name in datasets.datasets():
        base = f"/api/v1/datasets/{name}"
        bodies += [client.get(base).data, client.get(f"{base}/rows?limit=10000").data]
        for fmt in client.get(base).json["links"]["exports"]:
            resp = client.get(f"{base}/export.{fmt}")
            assert resp.status_code == 200, (name, fmt)
            bodies.append(resp.data if fmt != "parquet" else ",".join(pq.read_table(io.BytesIO(resp.data)).schema.names).encode())
    for body in bodies:
        assert not any(p.encode() in body for p in PRIVATE)
    con = duckdb.connect()
    m = lake.manifest("volunteer_signups")
    ids = [v for (v,) in con.execute(f"SELECT volunteer_id FROM read_parquet({lake.file_paths('volunteer_signups', m)!r}) "
                                     "WHERE volunteer_id IS NOT NULL LIMIT 5").fetchall()]
    assert ids and not any(v.encode() in body for body in bodies for v in ids)


# ---- issue 15: one reading of filters ------------------------------------------------------------------
def test_a_bare_date_lte_includes_that_whole_local_day(client):
    """The page's "To 2026-11-20" includes that day; created__lte=2026-11-20 meant midnight at its start
    (4,316 rows against the chart's 4,328). Now both are the whole day, and __gt starts after it."""
    day, after = "2025-03-10", "2025-03-11T00:00:00-04:00"
    whole = client.get(f"/api/v1/datasets/service_requests/rows?created__lt={after}&limit=1000&columns=request_id").json
    bare = client.get(f"/api/v1/datasets/service_requests/rows?created__lte={day}&limit=1000&columns=request_id").json
    assert bare["rows"] == whole["rows"]
    start_of_day = client.get(f"/api/v1/datasets/service_requests/rows?created__lt={day}&limit=1000&columns=request_id").json
    assert len(bare["rows"]) > len(start_of_day["rows"])  # the day's own requests are in
    gt = client.get(f"/api/v1/datasets/service_requests/rows?created__gt={day}&limit=5&columns=created&sort=created").json
    assert gt["rows"][0]["created"] >= after.replace("-04:00", "")[:10]


def test_a_declared_name_matches_in_any_case_as_on_the_page(client):
    upper = client.get("/api/v1/datasets/service_requests/rows?borough=BRONX&limit=3&columns=request_id").json
    mixed = client.get("/api/v1/datasets/service_requests/rows?borough=Bronx&limit=3&columns=request_id")
    assert mixed.status_code == 200 and mixed.json["rows"] == upper["rows"]


def test_a_named_thing_matches_in_any_case_as_the_page_and_chart_csv_read_it(client):
    """Issue 15: complaint_type=heat/hot water answered 200 with 0 rows while the page drew the type."""
    rows = "/api/v1/datasets/service_requests/rows?limit=1000&columns=request_id,complaint_type&complaint_type"
    exact = client.get(f"{rows}=Missed Collection").json["rows"]
    assert exact and {r["complaint_type"] for r in exact} == {"Missed Collection"}
    for spelled in ("missed collection", "MISSED COLLECTION", "mIsSeD cOlLeCtIoN"):
        assert client.get(f"{rows}={spelled}").json["rows"] == exact
    assert client.get(f"{rows}__in=missed collection,NO SUCH TYPE").json["rows"] == exact
    assert client.get(f"{rows}__gt=missed").json["rows"] == []  # comparisons stay exact: 'M' sorts before 'm'


def test_an_impossible_date_is_a_400_naming_it(client):
    resp = client.get("/api/v1/datasets/service_requests/rows?created__gte=2026-02-30")
    assert resp.status_code == 400 and resp.json["parameter"] == "created__gte"
