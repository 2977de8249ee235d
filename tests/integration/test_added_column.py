"""A declaration gains a column (decision 0026: `volunteer_opportunities.signup_url`) while the lake's
files, immutable, were written before it: every route still answers, with the new column empty, and
the next ETL run writes it. The lake here is written for real by the ETL under the declaration as it
was before the column (the same dataset with that column taken out), then read with today's."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

import config
import datasets
import datasets.registry
import lake
from etl import compact, demo, formats
from etl.load import load_file
from portal.reader import reset_reader
from portal.soda_catalog import soda_id

NAME, ADDED = "volunteer_opportunities", "signup_url"


def _before_the_column() -> dict:
    """Every declaration as it was before `ADDED` existed."""
    now = datasets.registry.datasets()
    ds = now[NAME]
    return {**now, NAME: dataclasses.replace(ds, columns=tuple(c for c in ds.columns if c.name != ADDED))}


@pytest.fixture(scope="module")
def old_lake(tmp_path_factory):
    """A demo lake (data ending now, so the finder lists opportunities) whose volunteer files were
    written by the ETL under the old declaration."""
    data = tmp_path_factory.mktemp("added") / "data"
    old = _before_the_column()
    formats.formats()  # read under today's declarations (the NYC Service format maps the new column)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(datasets.registry, "datasets", lambda: old)
        mp.setattr(datasets, "datasets", lambda: old)
        with config.using(config.active().replace(data_dir=data, city=None, cache_type="filesystem")):
            demo.build(scale=2000, seed=26, data_dir=data, end=datetime.now(ZoneInfo("America/New_York")))
    return data


@pytest.fixture(scope="module")
def client(old_lake):
    with config.using(config.active().replace(data_dir=old_lake, city=None, cache_type="null")):
        reset_reader()
        from app import server

        yield server.test_client()
    reset_reader()


def _stored_columns() -> set[str]:
    m = lake.manifest(NAME)
    return {name for path in lake.file_paths(NAME, m) for name in pq.read_schema(path).names}


def test_the_old_lake_lacks_the_column_and_every_route_answers_it_empty(client):
    assert ADDED not in _stored_columns(), "the fixture must write files without the column"
    ds = datasets.get(NAME)
    public = [c.name for c in ds.public_columns]
    assert ADDED in public

    rows = client.get(f"/api/v1/datasets/{NAME}/rows?limit=500")
    assert rows.status_code == 200, rows.get_data(as_text=True)
    body = rows.get_json()
    assert body["rows"] and all(r[ADDED] is None for r in body["rows"])

    soda = client.get(f"/resource/{soda_id(ds)}.json?$limit=500")
    assert soda.status_code == 200, soda.get_data(as_text=True)
    assert ADDED in json.loads(soda.headers["X-SODA2-Fields"])
    assert all(ADDED not in r for r in soda.get_json())  # SODA leaves an empty field out of a row
    counted = client.get(f"/resource/{soda_id(ds)}.json?$select=count(*) AS n&$where={ADDED} IS NOT NULL")
    assert counted.status_code == 200 and counted.get_json() == [{"n": "0"}]

    csv_text = client.get(f"/api/v1/datasets/{NAME}/export.csv").get_data(as_text=True)
    table = list(csv.DictReader(io.StringIO(csv_text)))
    assert list(table[0]) == public and all(r[ADDED] == "" for r in table)
    parquet = client.get(f"/api/v1/datasets/{NAME}/export.parquet")
    assert parquet.status_code == 200
    assert pq.read_table(io.BytesIO(parquet.get_data())).column(ADDED).null_count == len(table)

    described = client.get(f"/api/v1/datasets/{NAME}").get_json()
    assert ADDED in json.dumps(described)

    finder = client.get("/embed/volunteer-finder")
    assert finder.status_code == 200 and b'class="finder-list"' in finder.get_data()
    assert b"Sign up" not in finder.get_data()
    assert client.get("/volunteer").status_code == 200
    feed = client.get("/volunteer/opportunities.json").get_json()
    assert feed["items"] and not any("external_url" in i for i in feed["items"])
    assert client.get("/volunteer/opportunities.ics").status_code == 200


def test_the_dataset_page_lists_the_column_in_its_dictionary(client):
    from portal import catalog_page

    names = [c["name"] for c in catalog_page.dictionary(NAME)]
    assert ADDED in names
    page = client.get(f"/data/{NAME}")
    assert page.status_code == 200


def test_a_load_after_writes_the_column_beside_files_that_lack_it(client, old_lake, tmp_path):
    # One new opportunity: its file carries the column, the old file stays as it was (a mixed lake).
    src = old_lake / "demo-src" / "volunteer_opportunities.csv"
    with open(src, newline="", encoding="utf-8") as fh:
        first = next(csv.DictReader(fh))
    new = {**first, "opportunity_id": "OPP-NEW-1", "signup_url": "https://example.org/sign-up/new-1"}
    one = tmp_path / "one.csv"
    with open(one, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(new))
        w.writeheader()
        w.writerow(new)
    with config.using(config.active().replace(data_dir=old_lake, city=None, cache_type="null")):
        load_file(NAME, one)
        reset_reader()
        files = lake.file_paths(NAME, lake.manifest(NAME))
        assert {ADDED in pq.read_schema(p).names for p in files} == {True, False}, "one old file, one new"
        got = client.get(f"/api/v1/datasets/{NAME}/rows?limit=1000").get_json()["rows"]
        by_id = {r["opportunity_id"]: r[ADDED] for r in got}
        assert by_id.pop("OPP-NEW-1") == "https://example.org/sign-up/new-1"
        assert set(by_id.values()) == {None}

        # Compaction merges the old file with the new one: the old rows get the column, empty.
        assert compact.compact(NAME, full=True)["compacted"] is True
        reset_reader()
        assert [ADDED in pq.read_schema(p).names for p in lake.file_paths(NAME, lake.manifest(NAME))] == [True]
        got = client.get(f"/api/v1/datasets/{NAME}/rows?limit=1000").get_json()["rows"]
        assert {r["opportunity_id"]: r[ADDED] for r in got} == {**by_id, "OPP-NEW-1": "https://example.org/sign-up/new-1"}

        # The whole source again: every opportunity the demo gives a page now has it, in files and routes.
        result = load_file(NAME, src)
        assert result.updated > 0
        reset_reader()
        assert ADDED in _stored_columns()
        with open(src, newline="", encoding="utf-8") as fh:
            given = {r["opportunity_id"]: r[ADDED] or None for r in csv.DictReader(fh)}
        got = client.get(f"/api/v1/datasets/{NAME}/rows?limit=1000").get_json()["rows"]
        assert {r["opportunity_id"]: r[ADDED] for r in got if r["opportunity_id"] in given} == given
        shown = client.get("/volunteer/opportunities.json").get_json()["items"]
        linked = [i for i in shown if given.get(i["id"])]
        assert linked and all(i["external_url"] == given[i["id"]] for i in linked)


def test_rollups_and_projections_made_afresh_read_files_written_before_a_column(tmp_path):
    """A rollup or projection that reads a newly declared column is computed whole (its fingerprint is
    new, or compaction) over files of which some predate the column: it is made, with the old rows'
    value NULL, as a reader's view would give them (without the fill: DuckDB's "schema mismatch")."""
    import duckdb
    import pandas as pd

    from datasets import rollups as declared
    from etl import projections, rollups
    from tests.conftest import demo_lake_at

    dataset, missing = "service_requests", ["descriptor", "channel", "agency"]
    with demo_lake_at(tmp_path / "data", scale=2000, seed=26):
        whole = pq.read_table(lake.file_paths(dataset, lake.manifest(dataset))[0])
        half = whole.num_rows // 2
        base = lake.dataset_dir(dataset)
        pq.write_table(whole.slice(0, half).drop_columns(missing), base / "before-the-columns.parquet")
        pq.write_table(whole.slice(half), base / "after-the-columns.parquet")
        files = [lake.DataFile(path="before-the-columns.parquet", rows=half),
                 lake.DataFile(path="after-the-columns.parquet", rows=whole.num_rows - half)]

        with duckdb.connect() as con:
            made = {**rollups.materialise(con, dataset, files), **projections.materialise(con, dataset, files)}
            # `compact --full` makes a rollup the version lacks from the same files
            lacking = dataclasses.replace(lake.manifest(dataset), files=tuple(files), rollups={})
            folded = rollups.fold(con, lacking, everything=True)
        assert set(made) == {r.name for r in declared.of(dataset)} | {p.name for p in declared.projections(dataset)}
        assert set(folded) == {r.name for r in declared.of(dataset)}

        frames = [pq.read_table(base / f.path).to_pandas() for f in files]
        raw = pd.concat(frames, ignore_index=True)  # the old file's rows have no descriptor, channel, agency
        by_descriptor = pd.concat([pq.read_table(p).to_pandas() for p in lake.entry_paths(dataset, made["sr_descriptor_daily"])])
        assert by_descriptor["requests"].sum() == len(raw)
        refolded = pd.concat([pq.read_table(p).to_pandas() for p in lake.entry_paths(dataset, folded["sr_descriptor_daily"])])
        assert refolded["requests"].sum() == len(raw)
        assert by_descriptor.loc[by_descriptor["descriptor"].isna(), "requests"].sum() == raw["descriptor"].isna().sum()
        assert raw["descriptor"].isna().sum() >= half
        close_times = pd.concat([pq.read_table(p).to_pandas() for p in lake.entry_paths(dataset, made["sr_close_times"])])
        assert len(close_times) == raw["closed"].notna().sum()
        assert close_times["agency"].isna().sum() == raw.loc[raw["closed"].notna(), "agency"].isna().sum() > 0
