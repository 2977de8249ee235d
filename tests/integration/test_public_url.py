"""PULSE_PUBLIC_URL: every public URL the portal writes (citations, code examples, data.json,
datapackage.json, the OpenAPI servers, page metadata) is built from it, never from the Host header a
request sends (issue 13: `Host: evil.example.com` was written into all of them)."""
from __future__ import annotations

import json

import pytest

from api import public_url
from tests.conftest import demo_lake_at
from tests.helpers import dash_portal, page_body

PUBLIC = "https://data.city.example"
EVIL = {"Host": "evil.example.com"}
# Every GET whose body holds an absolute URL, or could: the page shells, the catalogs, the API.
PATHS = ["/", "/service-requests", "/snow", "/volunteers", "/data", "/data/service_requests", "/data.json",
         "/datapackage.json", "/openapi.json", "/api", "/api/v1/datasets", "/api/v1/datasets/service_requests",
         "/api/v1/datasets/service_requests/rows?limit=2", "/api/v1/kpis", "/_dash-layout", "/healthz"]


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    with demo_lake_at(tmp_path_factory.mktemp("public_url") / "data", scale=2000, seed=3):
        yield dash_portal()


def dataset_page(app, client, headers: dict) -> str:
    """The body of /data/service_requests as the browser gets it: the page router's callback answer
    (the citation and the code examples are built there, in a POST)."""
    resp = client.post("/_dash-update-component", json=page_body(app, "/data/service_requests"), headers=headers)
    assert resp.status_code == 200
    return json.dumps(resp.get_json())  # decoded: Dash writes "/" as \u002f


@pytest.mark.parametrize("path", PATHS)
def test_a_forged_host_appears_in_no_body_when_the_public_url_is_set(portal, configure, path):
    _, client = portal
    configure(public_url=PUBLIC)
    resp = client.get(path, headers=EVIL)
    assert resp.status_code == 200
    assert "evil.example.com" not in resp.get_data(as_text=True)


def test_citations_examples_and_catalogs_name_the_public_url(portal, configure):
    app, client = portal
    configure(public_url=PUBLIC)
    page = dataset_page(app, client, EVIL)
    assert "evil.example.com" not in page
    assert f"{PUBLIC}/data/service_requests?version=" in page  # the citation
    assert f"{PUBLIC}/api/v1/datasets/service_requests/export.csv" in page  # the curl example
    assert client.get("/data.json", headers=EVIL).json["@id"] == f"{PUBLIC}/data.json"
    assert client.get("/datapackage.json", headers=EVIL).json["homepage"] == f"{PUBLIC}/"
    assert client.get("/openapi.json", headers=EVIL).json["servers"] == [{"url": PUBLIC}]
    shell = client.get("/data", headers=EVIL).get_data(as_text=True)
    assert f'content="{PUBLIC}/data"' in shell  # Dash's twitter:url meta tag


def test_without_a_public_url_each_request_s_own_address_is_used(portal, configure):
    # the default, for `make run`: a portal reached at http://127.0.0.1:8050 cites that address
    app, client = portal
    configure(public_url=None)
    assert "http://127.0.0.1:8050/data/service_requests?version=" in dataset_page(app, client, {"Host": "127.0.0.1:8050"})
    assert client.get("/data.json", base_url="http://localhost:8050").json["@id"] == "http://localhost:8050/data.json"


@pytest.mark.parametrize("value", ["data.city.example", "ftp://data.city.example", "https://", "https://x.example/pulse",
                                   "https://x.example/?a=1", "https://user:pw@x.example"])
def test_a_malformed_public_url_is_refused_naming_the_setting(value):
    with pytest.raises(ValueError, match="PULSE_PUBLIC_URL must be like https://"):
        public_url.parse(value)


@pytest.mark.parametrize("value, parsed", [("https://data.city.example", ("https", "data.city.example")),
                                           ("http://127.0.0.1:8050/", ("http", "127.0.0.1:8050"))])
def test_a_public_url_is_a_scheme_and_a_host(value, parsed):
    assert public_url.parse(value) == parsed
