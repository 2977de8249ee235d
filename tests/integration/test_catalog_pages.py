"""The catalog pages /data and /data/<dataset> (issue 5): freshness against the declared cadence,
the data dictionary, the version history with what each load changed, downloads pinned to a
version, examples and a citation naming the version and the retrieval date."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

import datasets
from etl.load import load_file
from portal import catalog_page
from portal.reader import reset_reader
from tests.conftest import demo_lake_at
from tests.helpers import sr_row, write_csv


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory):
    import app  # noqa: F401  (pages register against the app)

    with demo_lake_at(tmp_path_factory.mktemp("catalog") / "data", scale=2000, seed=3) as data:
        yield data


def test_the_dictionary_lists_every_public_column_and_no_private_one(demo_lake):
    names = [c["name"] for c in catalog_page.dictionary("service_requests")]
    assert names == [c.name for c in datasets.get("service_requests").public_columns]
    assert "reporter_phone" not in names
    borough = next(c for c in catalog_page.dictionary("service_requests") if c["name"] == "borough")
    assert "BROOKLYN" in borough["allowed"]


def test_freshness_is_judged_against_the_declared_cadence(demo_lake):
    fresh = catalog_page.freshness("service_requests")
    assert fresh["overdue"] is False and "on schedule (continuous)" in fresh["words"]
    later = datetime.now(UTC) + timedelta(hours=2)
    assert catalog_page.freshness("service_requests", now=later)["overdue"] is True  # continuous: 1 hour
    assert catalog_page.freshness("snow_segments", now=later)["overdue"] is False  # annually


def test_the_history_says_what_each_load_changed(demo_lake, tmp_path):
    rows = [sr_row(i, created="2026-11-10T09:00:00-05:00") for i in range(3)]
    load_file("service_requests", write_csv(tmp_path / "more.csv", rows))
    reset_reader()
    newest, first = catalog_page.history("service_requests")[:2]
    assert newest["version"] == first["version"] + 1
    assert (newest["inserted"], newest["updated"], newest["rejected"], newest["rows_in"]) == (3, 0, 0, 3)
    assert newest["rows"] == first["rows"] + 3


def test_downloads_examples_and_citation_name_the_version(demo_lake):
    links = catalog_page.downloads("service_requests", 1)
    assert {d["format"] for d in links} == {"csv", "json", "ndjson", "parquet", "geojson"}
    assert all(d["url"].endswith("?version=1") for d in links)
    assert "geojson" not in {d["format"] for d in catalog_page.downloads("snow_storms", 1)}
    ex = catalog_page.examples("service_requests", 1, "https://data.city.example/")
    assert 'pd.read_parquet("https://data.city.example/api/v1/datasets/service_requests/export.parquet?version=1")' in ex["pandas"]
    assert ex["curl"].startswith("curl") and "read.csv(" in ex["R"]
    cite = catalog_page.citation("service_requests", "https://data.city.example/", today=date(2026, 11, 25))
    version = catalog_page.history("service_requests")[0]["version"]
    assert f"version {version}" in cite and "Retrieved 2026-11-25" in cite
    assert f"https://data.city.example/data/service_requests?version={version}" in cite


def test_the_pages_render_for_every_dataset_and_say_so_for_an_unknown_one(demo_lake):
    from layouts import data_catalog, data_dataset

    catalog = str(data_catalog.layout())
    for name in datasets.datasets():
        assert f"/data/{name}" in catalog
        page = str(data_dataset.layout(dataset_id=name))
        assert "Data dictionary" in page and "Version history" in page and "Cite this" in page
    assert "No such dataset" in str(data_dataset.layout(dataset_id="nope"))
    pinned = str(data_dataset.layout(dataset_id="service_requests", version="1"))
    assert "pinned to version 1; the current version is" in pinned
