"""When each row entered the lake and when it last changed (issue 18: SODA's `:created_at` and
`:updated_at`, lake/stamps.py): stamped by the load that inserts or changes a row, kept by every
rewrite that does not (copy-on-write of a neighbour, compaction), NULL for files written before the
stamps, and served by the SODA API as system fields a script can filter on."""
from __future__ import annotations

import os

import duckdb
import pytest

import lake
from etl import compact
from etl.load import load_file
from lake import relation
from lake.stamps import TYPED
from tests.helpers import sr_row, write_csv


def stamps() -> dict[str, tuple]:
    """request_id -> (_created_at, _updated_at) in the current version's files."""
    m = lake.manifest("service_requests")
    with duckdb.connect() as con:
        rows = con.execute("SELECT request_id, _created_at, _updated_at FROM "
                           + relation.files("?", TYPED),
                           [lake.file_paths("service_requests", m)]).fetchall()
    return {r[0]: r[1:] for r in rows}


@pytest.fixture
def two_loads(lake_dir, tmp_path):
    """v1: four requests; v2: #1 closed (changed), #2 sent again as it was (unchanged), #9 new."""
    load_file("service_requests", write_csv(tmp_path / "v1.csv", [sr_row(i) for i in range(4)]))
    first = stamps()
    load_file("service_requests", write_csv(tmp_path / "v2.csv", [
        sr_row(1, status="Closed", closed="2025-03-20T10:00:00-04:00"), sr_row(2), sr_row(9)]))
    return first, stamps()


def test_a_load_stamps_what_it_inserts_and_changes_and_keeps_the_rest(two_loads):
    first, second = two_loads
    (t1,) = {c for c, u in first.values()} | {u for c, u in first.values()}  # one instant for the whole load
    assert set(second) == {"1000", "1001", "1002", "1003", "1009"}
    assert second["1001"][0] == t1 and second["1001"][1] > t1  # changed: created kept, updated now
    for unchanged in ("1000", "1002", "1003"):  # #0 and #3 share #1's file, rewritten: stamps carried over
        assert second[unchanged] == (t1, t1)
    assert second["1009"][0] == second["1009"][1] == second["1001"][1]  # new: both the second load's time


def test_compaction_keeps_every_row_s_stamps(two_loads):
    _, before = two_loads
    out = compact.compact("service_requests", full=True)
    assert out["compacted"]
    assert stamps() == before


def test_files_written_before_the_stamps_read_them_as_null_and_a_change_stamps_it(lake_dir, tmp_path):
    load_file("service_requests", write_csv(tmp_path / "v1.csv", [sr_row(i) for i in range(3)]))
    m = lake.manifest("service_requests")
    with duckdb.connect() as con:  # rewrite the files as an older Pulse wrote them: declared columns only
        for path in lake.file_paths("service_requests", m):
            con.execute(f"COPY (SELECT * EXCLUDE (_created_at, _updated_at) FROM read_parquet('{path}')) TO '{path}.old' (FORMAT parquet)")
    for path in lake.file_paths("service_requests", m):
        os.replace(f"{path}.old", path)
    assert set(stamps().values()) == {(None, None)}
    load_file("service_requests", write_csv(tmp_path / "v2.csv", [sr_row(1, status="Closed", closed="2025-03-20T10:00:00-04:00")]))
    now = stamps()
    assert now["1001"][0] is None and now["1001"][1] is not None  # when it was created is unknown; its change is not
    assert now["1000"] == now["1002"] == (None, None)


def test_a_script_pulls_only_what_changed_since_its_last_run_with_updated_at(two_loads):
    """What journalists' scripts do against Socrata: `$where=:updated_at > '<last run>'`."""
    import flask

    import api.soda

    app = flask.Flask(__name__)
    app.register_blueprint(api.soda.bp)
    client = app.test_client()
    everything = client.get("/resource/erm2-nwe9.json", query_string={
        "$select": ":id, :created_at, :updated_at", "$order": ":id"}).get_json()
    assert [r[":id"] for r in everything] == ["1000", "1001", "1002", "1003", "1009"]
    first_run = min(r[":updated_at"] for r in everything)
    assert first_run.endswith(".000") or len(first_run) == 23  # a floating timestamp, as Socrata writes one
    changed = client.get("/resource/erm2-nwe9.json", query_string={
        "$where": f":updated_at > '{first_run}'", "$select": ":id", "$order": ":updated_at DESC, :id"}).get_json()
    assert [r[":id"] for r in changed] == ["1001", "1009"]
    new = client.get("/resource/erm2-nwe9.json", query_string={"$where": f":created_at > '{first_run}'"}).get_json()
    assert [r["unique_key"] for r in new] == ["1009"]
    (row,) = client.get("/resource/erm2-nwe9.json", query_string={"$select": ":*", "$where": "unique_key = '1001'"}).get_json()
    assert row[":created_at"] == first_run and row[":updated_at"] > first_run
