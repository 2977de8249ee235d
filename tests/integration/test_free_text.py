"""Free text is published without phone numbers or e-mail addresses (issue 13, "Free text published
verbatim"; decision 0014): the real sample files published a staff member's direct line (Boston),
agency numbers (NYC 2011) and an organiser's address (volunteers) while `contact_email` was declared
non-public. The columns are declared once (`free_text: true`); the load masks them, counts what it
masked, and every place that describes a column says so."""
from __future__ import annotations

import csv
import io
import json
import re

import duckdb
import flask
import pytest

import api.datasets
import datasets
import lake
from datasets.free_text import EMAIL_MASK, NOTE, PHONE_MASK
from etl import masking
from etl.load import load_file
from portal import catalog, catalog_page
from portal.reader import reset_reader
from tests.conftest import last_json
from tests.helpers import sr_row, write_csv

# Looser than the masking rules on purpose, so the check does not merely repeat them: ten digits in
# 3-3-4 groups with at most two other characters between, or anything@anything.tld.
LOOSE_PHONE = re.compile(r"\d{3}\D{0,2}\d{3}\D{0,2}\d{4}")
LOOSE_EMAIL = re.compile(r"\S+@\S+\.[A-Za-z]{2,}")

# (file, dataset, city, values masked per free-text column, what must be gone, what must stay)
REAL = [
    ("nyc311/nyc311_2011-03_2000rows_41col.csv", "service_requests", None,
     {"descriptor": 0, "resolution_description": 7}, ["212-442-3372", "(718) 722-2876"], "Office of Environmental Investigations at"),
    ("nyc311/nyc311_2018-01_dohmh_53col_legacy.csv", "service_requests", None,
     {"descriptor": 0, "resolution_description": 2}, ["(646) 632-6103"], "Foodborne Illness unit directly at"),
    ("nyc311/nyc311_2019_100rows_41col.csv", "service_requests", None,
     {"descriptor": 0, "resolution_description": 6}, ["212-639-9675", "(718) 520-4974"], "please call 311"),
    ("other311/boston311_2022-01_100rows.csv", "service_requests", None,
     {"descriptor": 0, "resolution_description": 1}, ["781-853-9016"], "Rich DiMarzo"),
    ("volunteer/nyc_service_volunteer_opportunities_historical_20250626.csv", "volunteer_opportunities", None,
     {"title": 0, "summary": 2}, ["866.488.7386", "envisionwilliamsburg@wiggiomail.com"], "The Trevor Lifeline"),
    # files whose free text holds neither: nothing is masked, and every free-text column was looked at
    ("nyc311/nyc311_2022-05-01_41col.csv", "service_requests", None, {"descriptor": 0, "resolution_description": 0}, [], ""),
    ("nyc311/nyc311_2013-10_200rows_52col_legacy.csv", "service_requests", None, {"descriptor": 0}, [], ""),
    ("other311/nyc311_socrata_soda_api_2023-12.csv", "service_requests", None,
     {"descriptor": 0, "resolution_description": 0}, [], ""),
    ("other311/chicago_open311_georeport_v2_2014_50req.json", "service_requests", "chicago", {"resolution_description": 0}, [], ""),
]


def published(dataset: str, column: str) -> list[str]:
    """Every non-empty value of `column` in the current version, read from the lake's files."""
    m = lake.manifest(dataset)
    con = duckdb.connect()
    try:
        return [v for (v,) in con.execute(f'SELECT "{column}" FROM read_parquet(?) WHERE "{column}" IS NOT NULL',
                                          [lake.file_paths(dataset, m)]).fetchall()]
    finally:
        con.close()


@pytest.mark.parametrize("file, dataset, city, masked, gone, kept", REAL, ids=[r[0].split("/")[-1] for r in REAL])
def test_no_phone_or_email_survives_in_published_free_text_and_the_load_counts_them(
        lake_dir, shared, file, dataset, city, masked, gone, kept):
    r = load_file(dataset, shared / file, city=city)
    assert r.masked == masked
    text = {c: published(dataset, c) for c in masked}
    for column, values in text.items():
        assert not [v for v in values if LOOSE_PHONE.search(v) or LOOSE_EMAIL.search(v)], column
        assert not [v for v in values if any(g in v for g in gone)], column
        # the count is of the values that now hold a mask
        assert sum(PHONE_MASK in v or EMAIL_MASK in v for v in values) == masked[column], column
    if kept:  # the words around a number are published as written
        assert any(kept in v for values in text.values() for v in values)


def every_field(shared) -> list[str]:
    """Every non-empty field of every sample file: each CSV cell, each JSON leaf
    (GeoJSON coordinates left out: numbers, never text)."""
    out = []

    def leaves(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k != "coordinates":
                    yield from leaves(v)
        elif isinstance(node, list):
            for v in node:
                yield from leaves(v)
        elif node is not None and str(node).strip():
            yield str(node)

    for f in sorted(shared.rglob("*")):
        if f.suffix == ".csv":
            with open(f, newline="", encoding="utf-8") as fh:
                out += [v for record in csv.reader(fh) for v in record if v.strip()]
        elif f.suffix in (".json", ".geojson"):
            out += list(leaves(json.loads(f.read_text(encoding="utf-8"))))
    return out


def test_in_every_field_of_the_real_files_the_rules_find_only_real_numbers_and_one_address(shared):
    """The false-positive measurement of decision 0014, kept: ~500,000 fields of every kind (dates,
    case numbers, BBLs, BINs, addresses, coordinates, epoch times, UUIDs), not only free text."""
    fields = every_field(shared)
    assert len(fields) > 400_000
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE f AS SELECT unnest(?::VARCHAR[]) AS value", [fields])
        found = {kind: set(con.execute(
            f"SELECT unnest(regexp_extract_all(value, ?)) FROM f WHERE {masking.found(kind, 'value')}", [pattern]).fetchall())
            for kind, pattern in (("phone", masking.PHONE), ("email", masking.EMAIL))}
    finally:
        con.close()
    # Every one a phone number as written (agency lines, a staff member's line, a helpline), nothing else.
    assert {v for (v,) in found["phone"]} == {
        "212-442-3372", "(718) 722-2876", "(646) 632-6103", "212-639-9675", "(212) 639-9675", "(718) 520-4974",
        "781-853-9016", "866.488.7386", "773-636-0432", "773-712-1342", "312-952-5266"}
    assert {v for (v,) in found["email"]} == {"envisionwilliamsburg@wiggiomail.com"}


def test_the_notes_count_each_kind_per_column(lake_dir, shared):
    r = load_file("volunteer_opportunities", shared / "volunteer/nyc_service_volunteer_opportunities_historical_20250626.csv")
    assert r.notes["summary: values with a phone number masked"] == 1
    assert r.notes["summary: values with an e-mail address masked"] == 1
    assert not any(k.startswith("title:") for k in r.notes)
    assert any(f"{EMAIL_MASK} if you're interested" in v for v in published("volunteer_opportunities", "summary"))


def test_the_load_json_says_what_was_masked_beside_the_counts_it_always_had(lake_dir, shared, etl_cli):
    out = last_json(etl_cli("load", "service_requests", str(shared / "other311/boston311_2022-01_100rows.csv"), "--json", check=True))
    assert {"dataset", "version", "outcome", "format", "rows_in", "inserted", "updated", "unchanged", "rejected",
            "seconds", "run_id", "notes"} <= set(out)
    assert out["masked"] == {"descriptor": 0, "resolution_description": 1}
    assert out["notes"]["resolution_description: values with a phone number masked"] == 1
    text = etl_cli("load", "service_requests", str(shared / "nyc311/nyc311_2019_100rows_41col.csv"), check=True).stdout
    assert "phone numbers or e-mail addresses masked in 6 resolution_description values" in text


def test_the_same_file_loaded_again_publishes_nothing_new(lake_dir, shared):
    """Masking is a function of the text: a second load of the file finds every row unchanged."""
    path = shared / "nyc311/nyc311_2019_100rows_41col.csv"
    first, again = load_file("service_requests", path), load_file("service_requests", path)
    assert (again.outcome, again.version, again.unchanged) == ("no_change", first.version, 100)


# The read side: what the API and downloads serve, and what the catalog says about it.

NOTES = ["Call Ana Ruiz directly at 617-555-0123.", "Write to ana.ruiz@city.example for a copy.", "Pothole filled."]


@pytest.fixture
def client(lake_dir, tmp_path):
    rows = [sr_row(i, resolution_description=NOTES[i % 3], reporter_phone="617-555-0199") for i in range(6)]
    result = load_file("service_requests", write_csv(tmp_path / "notes.csv", rows))
    assert result.masked["resolution_description"] == 4
    reset_reader()
    app = flask.Flask(__name__)
    app.register_blueprint(api.datasets.bp)
    yield app.test_client()
    reset_reader()


MASKED = {"Call Ana Ruiz directly at [phone removed].", "Write to [email removed] for a copy.", "Pothole filled."}


def test_the_rows_api_serves_the_masked_text(client):
    resp = client.get("/api/v1/datasets/service_requests/rows?limit=50")
    assert resp.status_code == 200
    assert {r["resolution_description"] for r in resp.json["rows"]} == MASKED
    assert "617-555-0123" not in resp.text and "ana.ruiz@" not in resp.text


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson"])
def test_every_download_serves_the_masked_text(client, fmt):
    resp = client.get(f"/api/v1/datasets/service_requests/export.{fmt}", buffered=True)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "617-555-0123" not in body and "ana.ruiz@" not in body
    assert "Call Ana Ruiz directly at [phone removed]." in body and "Write to [email removed] for a copy." in body


def test_a_download_loaded_back_changes_nothing(client, tmp_path):
    """An export is the `plain` format: loading it back publishes no new version, masks included."""
    path = tmp_path / "export.csv"
    path.write_bytes(client.get("/api/v1/datasets/service_requests/export.csv", buffered=True).get_data())
    assert {r["resolution_description"] for r in csv.DictReader(io.StringIO(path.read_text()))} == MASKED
    again = load_file("service_requests", path)
    assert (again.outcome, again.unchanged) == ("no_change", 6)


def test_the_dictionary_and_the_metadata_api_say_which_columns_are_free_text(client):
    rows = {c["name"]: c for c in catalog_page.dictionary("service_requests")}
    assert [n for n, c in rows.items() if c["free_text"]] == ["descriptor", "resolution_description"]
    assert rows["resolution_description"]["note"] == NOTE and rows["incident_address"]["note"] == ""
    assert "[phone removed]" in NOTE and "[email removed]" in NOTE
    schema = {c["name"]: c for c in client.get("/api/v1/datasets/service_requests").json["schema"]}
    assert [n for n, c in schema.items() if c["free_text"]] == ["descriptor", "resolution_description"]


def test_the_dataset_page_shows_the_note_beside_each_free_text_column(client):
    import app  # noqa: F401  (pages register against the app)
    from layouts import data_dataset

    page = str(data_dataset.layout(dataset_id="volunteer_opportunities"))
    assert page.count(NOTE) == 2  # title and summary


def test_dcat_and_the_data_package_say_it_too(client):
    ds = datasets.get("service_requests")
    entry = catalog.dcat_dataset(ds, "https://data.city.example/")
    assert entry["description"].startswith(ds.description)
    assert "Free-text columns (descriptor, resolution_description): phone numbers and e-mail addresses" in entry["description"]
    assert datasets.get("snow_segments").description == catalog.dcat_dataset(datasets.get("snow_segments"), "https://x/")["description"]
    fields = {f["name"]: f for f in catalog.table_schema(ds)["fields"]}
    assert fields["resolution_description"]["description"].endswith(NOTE)
    assert NOTE not in fields["incident_address"]["description"]
