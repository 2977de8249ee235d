"""The catalog pages /data and /data/<dataset> (issue 5): freshness against the declared cadence,
the data dictionary, the version history with what each load changed, downloads pinned to a
version, examples and a citation naming the version and the retrieval date."""
from __future__ import annotations

import time
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


def test_freshness_is_judged_against_the_declared_cadence(demo_lake, tmp_path):
    just_now = (datetime.now(UTC) - timedelta(minutes=10)).isoformat(timespec="seconds")
    load_file("service_requests", write_csv(tmp_path / "now.csv", [sr_row(900_000, created=just_now)]))
    reset_reader()
    fresh = catalog_page.freshness("service_requests")
    assert fresh["overdue"] is False and "on schedule (continuous)" in fresh["words"]
    assert fresh["words"].startswith("Newest record 10 minutes old")
    later = datetime.now(UTC) + timedelta(hours=2)
    assert catalog_page.freshness("service_requests", now=later)["overdue"] is True  # continuous: 1 hour
    assert catalog_page.freshness("snow_segments", now=later)["overdue"] is False  # annually


def test_freshness_is_judged_by_the_newest_record_not_only_the_last_load(demo_lake):
    # Issue 16: "On schedule" for a dataset loaded a minute ago whose newest record was 13 days old.
    fresh = catalog_page.freshness("volunteer_signups")
    newest = datetime.fromisoformat(fresh["newest_record"])
    assert newest == _newest("volunteer_signups", "signed_up_at")
    if datetime.now(UTC) - newest > timedelta(hours=1):  # the demo city's data ends on a fixed day
        assert fresh["overdue"] is True and fresh["words"].startswith("Newest record ")
    # one clock: the city's, named; never UTC offsets beside it
    assert "+00:00" not in fresh["words"] and (" EST)" in fresh["words"] or " EDT)" in fresh["words"])


def _newest(dataset: str, column: str) -> datetime:
    from portal.reader import reader

    return reader().query(f"SELECT max({column}) FROM {{{dataset}}}", name="test_newest").rows[0][0]


def test_the_pipeline_and_the_version_history_read_in_plain_words_and_city_time(demo_lake):
    health = {"state": "idle", "last_poll": None, "lag_seconds": None, "error_count": 0, "last_error": None}
    assert catalog_page.pipeline_words(health) == ("Loaded by hand or on a schedule; no live feed is running; "
                                                   "no errors in the last 24 hours.")
    live = {**health, "state": "live", "last_poll": "2026-11-20T09:21:03+00:00", "lag_seconds": 150,
            "error_count": 1, "last_error": {"message": "HTTP 503"}}
    assert catalog_page.pipeline_words(live) == (
        "Updated live by a running feed; last checked its source at 2026-11-20 04:21 EST; 2 minutes behind its "
        "source; 1 error in the last 24 hours, the last: HTTP 503.")
    newest = catalog_page.history("service_requests")[0]
    assert newest["published"].endswith((" EST", " EDT")) and "+00:00" not in newest["published"]


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


# ---- issue 15: a pinned page cites its own version --------------------------------------------------------
def test_a_pinned_page_cites_that_version_and_its_row_count(demo_lake, tmp_path):
    """/data/service_requests?version=18 pinned its downloads to v18 but cited the current version and
    gave the current row count."""
    from layouts import data_dataset

    load_file("service_requests", write_csv(tmp_path / "later.csv", [sr_row(900 + i, created="2026-11-12T09:00:00-05:00")
                                                                     for i in range(4)]))
    reset_reader()
    first, newest = catalog_page.pinned("service_requests", "1"), catalog_page.pinned("service_requests", None)
    assert first["version"] == 1 and first["rows"] < newest["rows"] and first["note"] == ""
    page = str(data_dataset.layout(dataset_id="service_requests", version="1"))
    assert f"version 1 ({first['rows']:,} rows)" in page and f"{first['rows']:,} in version 1" in page
    assert f"service_requests?version={newest['version']}" not in page


def test_a_version_retention_removed_is_not_offered(lake_dir, tmp_path, configure):
    from etl import compact
    from layouts import data_dataset

    for n in range(5):
        load_file("service_requests", write_csv(tmp_path / f"b{n}.csv", [sr_row(n, created="2026-11-12T09:00:00-05:00")]))
        time.sleep(0.2)  # a file is deleted only if written well before the oldest kept version (etl/compact.py)
    configure(keep_versions=2, keep_hours=0, keep_daily=0)
    compact.compact("service_requests", merge=False)
    reset_reader()
    pin = catalog_page.pinned("service_requests", "2")
    assert pin["version"] == 4 and "Version 2 is no longer kept" in pin["note"] and "410 Gone" in pin["note"]
    page = str(data_dataset.layout(dataset_id="service_requests", version="2"))
    assert "export.csv?version=2" not in page and "export.csv?version=4" in page and "retention" in page
