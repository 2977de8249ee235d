"""The lake reader: one version per query, new versions noticed without restart, personal columns
hidden, and every query bounded by a time limit and a row cap (issue 3)."""
import pytest

from etl.load import load_file
from portal.reader import LakeReader, QueryTimeout
from tests.helpers import sr_row, write_csv


@pytest.fixture
def lake(lake_dir, tmp_path):
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i, reporter_phone="555-0100") for i in range(5)],
                                            header=[*sr_row(0), "reporter_phone"]))
    return LakeReader(check_interval=0)


def test_a_query_reports_the_version_it_read(lake):
    r = lake.query("SELECT count(*) AS n FROM {service_requests}")
    assert r.rows == [(5,)] and r.columns == ("n",) and r.versions == {"service_requests": 1}


def test_a_new_version_is_noticed_without_restarting(lake, tmp_path):
    lake.query("SELECT count(*) FROM {service_requests}")
    load_file("service_requests", write_csv(tmp_path / "b.csv", [sr_row(i) for i in range(5, 8)]))
    r = lake.query("SELECT count(*) FROM {service_requests}")
    assert r.rows == [(8,)] and r.versions == {"service_requests": 2}


def test_a_version_a_page_has_seen_is_read_at_once(lake_dir, tmp_path):
    """The other worker told the page of version 2; this worker's reader, within its check interval,
    still sees 1. A redraw for the page's versions reads 2 now, not after the page went quiet."""
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(5)]))
    slow = LakeReader(check_interval=3600)
    assert slow.versions()["service_requests"] == 1
    load_file("service_requests", write_csv(tmp_path / "b.csv", [sr_row(i) for i in range(5, 8)]))
    assert slow.versions()["service_requests"] == 1  # within its interval: not looked yet
    assert slow.versions(at_least={"service_requests": 1, "no_such": 9, "snow_storms": None})["service_requests"] == 1
    assert slow.versions(at_least={"service_requests": 2})["service_requests"] == 2
    assert slow.query("SELECT count(*) FROM {service_requests}").rows == [(8,)]


def test_personal_columns_never_reach_the_read_side(lake):
    cols = lake.query("SELECT * FROM {service_requests} LIMIT 1").columns
    assert "reporter_phone" not in cols and "request_id" in cols


def test_a_dataset_never_loaded_reads_as_empty_with_its_columns(lake):
    r = lake.query("SELECT * FROM {volunteer_signups}")
    assert r.rows == [] and "event_date" in r.columns and r.versions == {"volunteer_signups": None}


def test_rows_beyond_the_cap_are_reported_as_truncated(lake):
    r = lake.query("SELECT range AS i FROM range(50)", max_rows=10)
    assert len(r.rows) == 10 and r.truncated
    assert not lake.query("SELECT range AS i FROM range(10)", max_rows=10).truncated


def test_a_query_past_its_time_limit_is_really_stopped(lake):
    import time

    started = time.perf_counter()
    with pytest.raises(QueryTimeout, match="time limit of 200 ms"):
        lake.query("SELECT count(*) FROM range(100000000000) a", time_limit_ms=200)
    assert time.perf_counter() - started < 5, "interrupted, not run to completion"
    assert lake.query("SELECT 1").rows == [(1,)], "the reader still works after an interrupt"


def test_a_stream_past_its_time_limit_is_really_stopped(lake):
    # issue 12: exports run through the reader too, under a limit for the whole download
    import time

    started = time.perf_counter()
    with pytest.raises(QueryTimeout, match="time limit of 200 ms"):
        with lake.stream("SELECT count(*) FROM range(100000000000) a", time_limit_s=0.2) as batches:
            list(batches)
    assert time.perf_counter() - started < 5, "interrupted, not run to completion"
    with lake.stream("SELECT range AS i FROM range(25)", batch_rows=10) as batches:
        assert [b.num_rows for b in batches] == [10, 10, 5]


def test_values_are_bound_not_formatted(lake):
    r = lake.query("SELECT count(*) FROM {service_requests} WHERE borough = $b", {"b": "BROOKLYN'; DROP VIEW x; --"})
    assert r.rows == [(0,)]


def test_many_versions_in_a_row_keep_answering(lake, tmp_path):
    """Views and rollup tables of superseded versions are retired, never the current one."""
    for i in range(4):
        load_file("service_requests", write_csv(tmp_path / f"v{i}.csv", [sr_row(10 + i)]))
        r = lake.query("SELECT count(*) FROM {service_requests}")
        assert r.rows == [(6 + i,)] and r.versions == {"service_requests": 2 + i}
        flow = lake.query("SELECT CAST(sum(opened) AS BIGINT) FROM {sr_daily_flow}")
        assert flow.rows == [(6 + i,)]
