"""GET /data.json (DCAT-US v1.1) and GET /datapackage.json (Frictionless): both derived from the
dataset declarations, complete enough for a harvester, and silent about personal columns."""
import json
import re

import flask
import frictionless
import pytest

import datasets
import lake
from api.standards import bp
from etl.load import load_file
from portal.catalog import data_package, dcat_catalog
from portal.reader import reset_reader
from tests.conftest import demo_lake_at
from tests.helpers import sr_row, write_csv

BASE = "https://data.city.example/"
PERSONAL = ("reporter_phone", "contact_email", "volunteer_id")
ALWAYS_REQUIRED = ("title", "description", "keyword", "modified", "publisher", "contactPoint", "identifier", "accessLevel")
WITH_COORDINATES = {"service_requests", "volunteer_opportunities", "snow_segments"}
# DCAT-US v1.1: an ISO 8601 date/time, or a repeating duration such as R/PT1H.
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")
REPEATING = re.compile(r"^R/P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$")


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory):
    """The demo lake (every dataset loaded once), shared by the read-only tests of this module."""
    with demo_lake_at(tmp_path_factory.mktemp("standards") / "data", scale=2000, seed=1) as data:
        yield data


@pytest.fixture(scope="module")
def client(demo_lake):
    app = flask.Flask(__name__)
    app.register_blueprint(bp)
    return app.test_client()


@pytest.fixture(scope="module")
def catalog(client):
    return client.get("/data.json", base_url=BASE.rstrip("/")).json


@pytest.fixture(scope="module")
def package(client):
    return client.get("/datapackage.json", base_url=BASE.rstrip("/")).json


def entry(catalog: dict, name: str) -> dict:
    (found,) = [d for d in catalog["dataset"] if d["landingPage"] == f"{BASE}data/{name}"]
    return found


# data.json


def test_the_catalog_names_the_dcat_us_v1_1_schema(catalog):
    assert catalog["@context"] == "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
    assert catalog["@type"] == "dcat:Catalog"
    assert catalog["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    assert catalog["describedBy"] == "https://project-open-data.cio.gov/v1.1/schema/catalog.json"
    assert [d["title"] for d in catalog["dataset"]] == [ds.title for ds in datasets.datasets().values()]


@pytest.mark.parametrize("name", list(datasets.datasets()))
def test_every_dataset_has_every_always_required_field(catalog, name):
    d = entry(catalog, name)
    assert all(d[k] for k in ALWAYS_REQUIRED)
    assert d["keyword"] and all(isinstance(k, str) and k for k in d["keyword"])
    assert d["publisher"] == {"@type": "org:Organization", "name": datasets.get(name).publisher}
    assert d["contactPoint"]["@type"] == "vcard:Contact" and d["contactPoint"]["fn"]
    assert d["contactPoint"]["hasEmail"] == f"mailto:{datasets.get(name).contact}"
    assert d["accessLevel"] == "public"
    assert d["identifier"] == f"{BASE}api/v1/datasets/{name}"
    assert ISO_8601.match(d["modified"])


@pytest.mark.parametrize("name", list(datasets.datasets()))
def test_every_dataset_links_its_licence_dictionary_and_landing_page(catalog, name):
    ds, d = datasets.get(name), entry(catalog, name)
    assert d["license"] == ds.licence_url
    assert d["describedBy"] == f"{BASE}api/v1/datasets/{name}"
    assert d["describedByType"] == "application/json"
    assert d["accrualPeriodicity"] == ds.accrual_periodicity and REPEATING.match(d["accrualPeriodicity"])
    assert d["theme"] == [ds.theme]
    assert d["spatial"] == "-74.27,40.47,-73.68,40.93"  # New York City (the default PULSE_CITY), W,S,E,N


def test_identifiers_are_unique(catalog):
    ids = [d["identifier"] for d in catalog["dataset"]]
    assert len(ids) == len(set(ids)) == len(datasets.datasets())


def test_federal_only_codes_are_left_out(catalog):
    # bureauCode and programCode are required only of US federal agencies.
    assert not any({"bureauCode", "programCode"} & set(d) for d in catalog["dataset"])


@pytest.mark.parametrize("name", list(datasets.datasets()))
def test_one_distribution_per_export_format_geojson_only_with_coordinates(catalog, name):
    dists = [d for d in entry(catalog, name)["distribution"] if "downloadURL" in d]
    expected = ["csv", "json", "ndjson", "parquet"] + (["geojson"] if name in WITH_COORDINATES else [])
    assert [d["downloadURL"] for d in dists] == [f"{BASE}api/v1/datasets/{name}/export.{f}" for f in expected]
    media = {"csv": "text/csv", "json": "application/json", "ndjson": "application/x-ndjson",
             "parquet": "application/vnd.apache.parquet", "geojson": "application/geo+json"}
    assert [d["mediaType"] for d in dists] == [media[f] for f in expected]
    assert all(d["@type"] == "dcat:Distribution" and d["format"] and d["title"] for d in dists)


@pytest.mark.parametrize("name", list(datasets.datasets()))
def test_the_soda_api_is_an_access_distribution_under_the_socrata_alias(catalog, name):
    # Issue 18: RSocrata's ls.socrata() and a reader of data.json find the SODA endpoint and its id.
    (api,) = [d for d in entry(catalog, name)["distribution"] if "accessURL" in d]
    alias = "erm2-nwe9" if name == "service_requests" else name
    assert api["accessURL"] == f"{BASE}resource/{alias}.json" and api["format"] == "API"
    assert api["describedBy"] == f"{BASE}api/views/{alias}.json" and alias in api["title"]


@pytest.mark.parametrize("name", list(datasets.datasets()))
def test_modified_is_when_the_current_version_was_published(catalog, name):
    assert entry(catalog, name)["modified"] == lake.manifest(name).published_at


def test_temporal_coverage_spans_the_time_column(catalog):
    assert entry(catalog, "service_requests")["temporal"].count("/") == 1
    assert "temporal" not in entry(catalog, "snow_segments")  # declares no time column


@pytest.fixture
def tiny_lake(lake_dir):
    reset_reader()
    yield lake_dir
    reset_reader()


def test_a_new_version_moves_modified_and_temporal(tiny_lake, tmp_path):
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(3)]))
    first = dcat_catalog(BASE)
    assert entry(first, "service_requests")["modified"] == lake.manifest("service_requests").published_at
    assert entry(first, "service_requests")["temporal"] == "2025-03-01T13:00:00Z/2025-03-03T13:00:00Z"

    load_file("service_requests", write_csv(tmp_path / "b.csv", [sr_row(i) for i in range(5)]))
    reset_reader()  # the reader notices a new version within its check interval; don't wait for it
    second = entry(dcat_catalog(BASE), "service_requests")
    assert lake.manifest("service_requests").version == 2
    assert second["modified"] == lake.manifest("service_requests").published_at != entry(first, "service_requests")["modified"]
    assert second["temporal"] == "2025-03-01T13:00:00Z/2025-03-05T13:00:00Z"


def test_a_dataset_never_loaded_is_listed_with_its_update_cadence_as_modified(tiny_lake):
    d = entry(dcat_catalog(BASE), "snow_storms")
    assert d["modified"] == "R/PT1H"  # DCAT-US allows a repeating duration here
    assert "temporal" not in d


def test_spatial_is_the_bounding_box_of_the_configured_city(tiny_lake, configure):
    configure(city="syracuse")
    assert {d["spatial"] for d in dcat_catalog(BASE)["dataset"]} == {"-76.21,42.98,-76.07,43.09"}


# datapackage.json


def test_the_data_package_validates_with_frictionless(package):
    # Metadata only: the resource paths are the portal's own URLs, which the test does not fetch.
    report = frictionless.Package.validate_descriptor(package)
    assert report.valid, report.flatten(["type", "note"])
    assert package["name"] == "pulse-city-data" and package["title"]
    assert package["licenses"] == [{"path": "https://opendatacommons.org/licenses/pddl/1-0/",
                                    "title": "Open Data Commons Public Domain Dedication and License (PDDL)"}]


@pytest.mark.parametrize("name", list(datasets.datasets()))
def test_one_csv_resource_per_dataset_with_a_valid_table_schema(package, name):
    (res,) = [r for r in package["resources"] if r["name"] == name]
    assert res["path"] == f"{BASE}api/v1/datasets/{name}/export.csv"
    assert (res["format"], res["mediatype"], res["encoding"], res["profile"]) == ("csv", "text/csv", "utf-8", "tabular-data-resource")
    report = frictionless.Schema.validate_descriptor(res["schema"])
    assert report.valid, report.flatten(["type", "note"])
    ds = datasets.get(name)
    assert [(f["name"], f["type"]) for f in res["schema"]["fields"]] == [(c.name, c.type) for c in ds.public_columns]
    assert res["schema"]["primaryKey"] == list(ds.primary_key)
    assert res["schema"]["missingValues"] == [""]


def test_constraints_and_units_come_from_the_declaration(package):
    (res,) = [r for r in package["resources"] if r["name"] == "service_requests"]
    fields = {f["name"]: f for f in res["schema"]["fields"]}
    assert fields["request_id"]["constraints"] == {"required": True}
    assert fields["status"]["constraints"]["enum"][0] == "Open" and fields["status"]["constraints"]["required"] is True
    assert fields["incident_zip"]["constraints"] == {"pattern": "^[0-9]{5}$"}
    assert fields["latitude"] == {"name": "latitude", "type": "number", "description": "Latitude of the incident.",
                                  "constraints": {"minimum": -90, "maximum": 90}, "unit": "degrees (WGS84)"}
    assert "constraints" not in fields["descriptor"]
    assert fields["created"]["type"] == "datetime"


def test_a_geojson_column_stays_geojson(package):
    (res,) = [r for r in package["resources"] if r["name"] == "snow_segments"]
    assert {f["name"]: f["type"] for f in res["schema"]["fields"]}["geometry"] == "geojson"


def test_the_package_is_the_same_whether_built_directly_or_served(package):
    assert json.loads(json.dumps(data_package(BASE))) == package


# Privacy


@pytest.mark.parametrize("path", ["/data.json", "/datapackage.json"])
def test_personal_columns_appear_nowhere(client, path):
    declared = {c.name for ds in datasets.datasets().values() for c in ds.columns if not c.public}
    assert declared == set(PERSONAL)  # a new personal column belongs in this list too
    text = client.get(path, base_url=BASE.rstrip("/")).get_data(as_text=True)
    assert not [p for p in PERSONAL if p in text]
