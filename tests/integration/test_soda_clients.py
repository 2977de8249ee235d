"""Journalists' scripts run unchanged (issue 18): the real, unmodified sodapy (PyPI) and soda-js (npm)
against a running Pulse under gunicorn over TLS (they hard-code https), each answer checked against
DuckDB over the lake itself; get_all over many pages, and a publish in the middle of a pull."""
from __future__ import annotations

import json
import shutil
import subprocess

import pandas as pd
import pytest
import requests
from sodapy import Socrata

import lake
from etl.load import load_file
from tests.conftest import ROOT, demo_lake_at
from tests.helpers import service_requests_local as _lake
from tests.helpers import sr_row, write_csv
from tests.servers import Portal, portal_env, self_signed_certificate

ID = "erm2-nwe9"
PAGE = 2_000  # get_all's page: the 12,000-request lake is six of them
NO_LIMITS = {"rate_limit_rows": "", "rate_limit_exports": "", "rate_limit_queries": "", "rate_limit_callbacks": ""}


@pytest.fixture(scope="module")
def lake_path(tmp_path_factory):
    with demo_lake_at(tmp_path_factory.mktemp("soda-clients") / "data", scale=12_000, seed=18) as data:
        yield data


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def portal(lake_path, tls, tmp_path_factory):
    p = Portal(portal_env(data_dir=str(lake_path), cache_type="filesystem", **NO_LIMITS),
               tmp_path_factory.mktemp("soda-logs"), tls=tls)
    yield p
    p.stop()


@pytest.fixture
def sodapy(portal, tls, lake_path, configure, monkeypatch):
    """sodapy's classic Socrata client pointed at the portal; requests trusts the test certificate."""
    configure(data_dir=lake_path, cache_type="filesystem", city=None)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls[0]))
    with Socrata(f"127.0.0.1:{portal.port}", None, timeout=60) as client:
        yield client


# ---- sodapy -----------------------------------------------------------------------------------------

def test_get_with_every_kind_of_clause_equals_duckdb(sodapy):
    rows = sodapy.get(ID, select="unique_key, created_date, complaint_type", where="created_date >= '2025-01-01' "
                      "AND borough IN ('BRONX', 'QUEENS') AND closed_date IS NOT NULL", order="created_date DESC", limit=300)
    expected = _lake("SELECT request_id, strftime(created, '%Y-%m-%dT%H:%M:%S.000'), complaint_type FROM t "
                     "WHERE created >= TIMESTAMP '2025-01-01' AND borough IN ('BRONX', 'QUEENS') AND closed IS NOT NULL "
                     "ORDER BY created DESC, request_id LIMIT 300")
    assert [(r["unique_key"], r["created_date"], r["complaint_type"]) for r in rows] == expected
    groups = sodapy.get(ID, select="agency, count(*) AS n", group="agency", order="n DESC", limit=5)
    assert [(g["agency"], int(g["n"])) for g in groups] == _lake(
        "SELECT agency, count(*) FROM t GROUP BY agency ORDER BY 2 DESC, agency LIMIT 5")
    assert sodapy.get(ID, borough="STATEN ISLAND", select="count(*)") == [
        {"count": str(_lake("SELECT count(*) FROM t WHERE borough = 'STATEN ISLAND'")[0][0])}]
    query = sodapy.get(ID, query="SELECT borough, count(*) WHERE borough IS NOT NULL GROUP BY borough ORDER BY borough")
    assert [(q["borough"], int(q["count"])) for q in query] == _lake(
        "SELECT borough, count(*) FROM t WHERE borough IS NOT NULL GROUP BY borough ORDER BY borough")
    searched = sodapy.get(ID, q="heat", select="count(*)")
    assert int(searched[0]["count"]) > 0


def test_get_all_pages_through_every_row_once(sodapy):
    version = lake.current_version("service_requests")
    keys = [r["unique_key"] for r in sodapy.get_all(ID, select="unique_key", limit=PAGE)]
    assert len(keys) == len(set(keys)) == lake.manifest("service_requests", version).rows > 3 * PAGE
    assert keys == [k for (k,) in _lake("SELECT request_id FROM t ORDER BY request_id", version)]


def test_a_publish_in_the_middle_of_get_all_neither_duplicates_nor_drops_a_row(sodapy, tmp_path):
    before = lake.current_version("service_requests")
    pull = sodapy.get_all(ID, select="unique_key, status", limit=PAGE)
    seen = [next(pull) for _ in range(PAGE + 1)]  # the second page has been read
    # New requests sorting first, and the first page's requests closed: both would shift a naive pager.
    news = [sr_row(i, request_id=f"00000{i}") for i in range(7)]
    closed = [dict(sr_row(0, status="Closed", closed="2025-04-01T09:00:00-04:00"), request_id=r["unique_key"],
                   created="2025-03-01T08:00:00-05:00") for r in seen[:50]]
    load_file("service_requests", write_csv(tmp_path / "mid.csv", news + closed))
    assert lake.current_version("service_requests") == before + 1
    seen += list(pull)
    keys = [r["unique_key"] for r in seen]
    assert len(keys) == len(set(keys))
    assert keys == [k for (k,) in _lake("SELECT request_id FROM t ORDER BY request_id", before)]
    after = sodapy.get(ID, select="unique_key", limit=10)  # a new pull reads the new version
    assert [r["unique_key"] for r in after][:7] == [f"00000{i}" for i in range(7)]


def test_get_metadata_types_make_frames_of_the_declared_types(sodapy):
    meta = sodapy.get_metadata(ID)
    types = {c["fieldName"]: c["dataTypeName"] for c in meta["columns"]}
    assert types["unique_key"] == "text" and types["created_date"] == "floating_timestamp"
    assert types["latitude"] == "number" and types["location"] == "point" and "reporter_phone" not in types
    frame = pd.DataFrame.from_records(sodapy.get(ID, select="unique_key, created_date, latitude", limit=500))
    for name in frame.columns:
        if types[name] == "number":
            frame[name] = pd.to_numeric(frame[name])
        elif types[name] == "floating_timestamp":
            frame[name] = pd.to_datetime(frame[name], format="%Y-%m-%dT%H:%M:%S.%f")
    assert str(frame["latitude"].dtype) == "float64" and str(frame["created_date"].dtype).startswith("datetime64")
    expected = _lake("SELECT request_id, created, latitude FROM t ORDER BY request_id LIMIT 500")
    assert list(frame.itertuples(index=False, name=None))[:3] == [(k, pd.Timestamp(c), la) for k, c, la in expected[:3]]


def test_datasets_lists_the_catalog_with_its_aliases(sodapy):
    found = sodapy.datasets()
    ids = {d["resource"]["id"] for d in found}
    assert ID in ids and "snow_segments" in ids and len(found) == 6


def test_csv_and_geojson_through_sodapy(sodapy):
    table = sodapy.get(ID, content_type="csv", select="unique_key, location", limit=3)
    assert table[0] == ["unique_key", "location"] and table[1][1].startswith("POINT (")
    geo = sodapy.get(ID, content_type="geojson", limit=3)
    assert geo["type"] == "FeatureCollection" and geo["features"][0]["geometry"]["type"] == "Point"


def test_a_bad_clause_reaches_the_script_as_sodapys_error_with_our_message(sodapy):
    with pytest.raises(requests.exceptions.HTTPError) as err:
        sodapy.get(ID, where="reporter_phone IS NOT NULL")
    assert "400 Client Error" in str(err.value) and "$where: no field 'reporter_phone'" in str(err.value)


# ---- soda-js ----------------------------------------------------------------------------------------

def _soda_js(portal, tls, spec: dict) -> tuple[int, object]:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "soda-js").exists():
        pytest.skip("node or soda-js is missing: run `make node-deps`")
    proc = subprocess.run([node, str(ROOT / "tests" / "integration" / "soda_js_query.js"), f"127.0.0.1:{portal.port}",
                           json.dumps(spec)], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"PATH": "/usr/bin:/bin", "NODE_EXTRA_CA_CERTS": str(tls[0])})
    return proc.returncode, json.loads(proc.stdout or "null")


def test_soda_js_where_objects_order_and_limit(portal, tls, lake_path, configure):
    configure(data_dir=lake_path, city=None)
    code, rows = _soda_js(portal, tls, {"dataset": ID, "select": ["unique_key", "borough"], "where": [{"borough": "BRONX"}],
                                        "order": ["unique_key"], "limit": 40, "offset": 3})
    assert code == 0, rows
    assert [(r["unique_key"], r["borough"]) for r in rows] == _lake(
        "SELECT request_id, borough FROM t WHERE borough = 'BRONX' ORDER BY request_id LIMIT 40 OFFSET 3")


def test_soda_js_groups_with_having_and_a_whole_statement(portal, tls, lake_path, configure):
    configure(data_dir=lake_path, city=None)
    code, rows = _soda_js(portal, tls, {"dataset": ID, "select": ["complaint_type", "count(*) AS n"],
                                        "group": ["complaint_type"], "having": ["n > 100"], "order": ["n desc"]})
    assert code == 0, rows
    assert [(r["complaint_type"], int(r["n"])) for r in rows] == _lake(
        "SELECT complaint_type, count(*) FROM t GROUP BY 1 HAVING count(*) > 100 ORDER BY 2 DESC, 1")
    code, rows = _soda_js(portal, tls, {"dataset": ID, "soql": "SELECT max(created_date) AS newest"})
    assert code == 0 and rows == [{"newest": _lake("SELECT strftime(max(created), '%Y-%m-%dT%H:%M:%S.000') FROM t")[0][0]}]


def test_soda_js_hears_the_error_message(portal, tls):
    code, body = _soda_js(portal, tls, {"dataset": ID, "where": ["nope(1) = 1"]})
    assert code == 1 and body["message"].startswith("$where: unknown function 'nope'")

