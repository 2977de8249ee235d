"""The lake: versions are atomic, upserts go by key, reloading is a no-op, old versions stay readable."""
import duckdb
import pytest

import lake
from etl.load import load_file
from tests.helpers import sr_row, write_csv


def rows_of(dataset, version=None, where="TRUE"):
    m = lake.manifest(dataset, version)
    con = duckdb.connect()
    return con.execute(
        f"SELECT request_id, status, closed IS NOT NULL FROM read_parquet(?) WHERE {where} ORDER BY request_id",
        [lake.file_paths(dataset, m)],
    ).fetchall()


def test_first_load_publishes_version_1(lake_dir, tmp_path):
    r = load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(5)]))
    assert (r.outcome, r.version, r.inserted) == ("published", 1, 5)
    assert lake.current_version("service_requests") == 1
    assert len(rows_of("service_requests")) == 5


def test_loading_the_same_file_twice_changes_nothing(lake_dir, tmp_path):
    f = write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(5)])
    load_file("service_requests", f)
    r = load_file("service_requests", f)
    assert (r.outcome, r.version, r.inserted, r.updated, r.unchanged) == ("no_change", 1, 0, 0, 5)
    assert len(lake.versions("service_requests")) == 1


def test_a_later_closed_request_replaces_its_open_row(lake_dir, tmp_path):
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(3)]))
    closed = sr_row(1, status="Closed", closed="2025-03-05T09:00:00-05:00")
    r = load_file("service_requests", write_csv(tmp_path / "b.csv", [closed, sr_row(2), sr_row(7)]))
    assert (r.version, r.inserted, r.updated, r.unchanged) == (2, 1, 1, 1)
    assert rows_of("service_requests") == [("1000", "Open", False), ("1001", "Closed", True), ("1002", "Open", False), ("1007", "Open", False)]


def test_earlier_versions_stay_readable_by_number(lake_dir, tmp_path):
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(1)]))
    load_file("service_requests", write_csv(tmp_path / "b.csv", [sr_row(1, status="Closed", closed="2025-03-05T09:00:00-05:00")]))
    assert rows_of("service_requests", 1) == [("1001", "Open", False)]
    assert rows_of("service_requests", 2) == [("1001", "Closed", True)]
    with pytest.raises(KeyError):
        lake.manifest("service_requests", 3)


def test_a_manifest_beyond_current_is_not_a_version(lake_dir, tmp_path):
    """What a loader killed between manifest and CURRENT leaves behind must not be citable."""
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(1)]))
    m = lake.manifest("service_requests")
    (lake.dataset_dir("service_requests") / "versions" / "00000002.json").write_text(m.to_json().replace('"version": 1', '"version": 2'))
    assert [v.version for v in lake.versions("service_requests")] == [1]
    with pytest.raises(KeyError):
        lake.manifest("service_requests", 2)


def test_only_files_holding_updated_keys_are_rewritten(lake_dir, tmp_path, configure):
    configure(file_rows=1)  # one row group per file: many small files
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(3)]))
    load_file("service_requests", write_csv(tmp_path / "b.csv", [sr_row(i) for i in range(3, 6)]))
    before = {f.path for f in lake.manifest("service_requests").files}
    load_file("service_requests", write_csv(tmp_path / "c.csv", [sr_row(4, status="Closed", closed="2025-03-06T09:00:00-05:00")]))
    after = {f.path for f in lake.manifest("service_requests").files}
    assert len(before - after) == 1 and len(after - before) == 1, "the file of the first batch is untouched"
    assert len(rows_of("service_requests")) == 6


def test_every_version_records_what_its_load_changed(lake_dir, tmp_path):
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(3)]))
    m = lake.manifest("service_requests")
    assert {k: m.load[k] for k in ("rows_in", "inserted", "updated", "unchanged", "rejected")} == \
        {"rows_in": 3, "inserted": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert m.load["source"].endswith("a.csv")


def test_a_failed_load_is_in_the_run_log(lake_dir, tmp_path):
    from etl.errors import InputError
    from lake import runlog

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError):
        load_file("service_requests", empty)
    last = runlog.last("service_requests")
    assert last["outcome"] == "failed" and "empty" in last["error"]


def test_data_files_are_written_in_time_order_whatever_the_input_order(lake_dir, tmp_path):
    """Sorted by created, date-filtered queries skip row groups (issue 3 measured 2.4x)."""
    rows = [sr_row(i, created=f"2025-03-{28 - i:02d}T08:00:00-05:00") for i in range(20)]
    load_file("service_requests", write_csv(tmp_path / "shuffled.csv", rows))
    m = lake.manifest("service_requests")
    created = [r[0] for r in duckdb.connect().execute("SELECT created FROM read_parquet(?)", [lake.file_paths("service_requests", m)]).fetchall()]
    assert created == sorted(created)
