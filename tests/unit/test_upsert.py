"""etl/upsert.py: a batch merged into the current version by primary key, answered as an UpsertResult."""
from __future__ import annotations

import duckdb
import pytest

import datasets
import lake
import lake.write
from etl import upsert

STORMS = datasets.get("snow_storms")


@pytest.fixture
def con(lake_dir):
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    yield c
    c.close()


def batch(con, rows: list[tuple], n: int = 1) -> str:
    """A batch of snow_storms rows (storm_id, name, snowfall_inches), each standing for `n` source rows."""
    con.execute("CREATE OR REPLACE TEMP TABLE b(storm_id VARCHAR, name VARCHAR, snowfall_inches DOUBLE, _n BIGINT, "
                "started TIMESTAMPTZ DEFAULT TIMESTAMPTZ '2025-01-01 00:00:00+00', ended TIMESTAMPTZ)")
    for r in rows:
        con.execute("INSERT INTO b (storm_id, name, snowfall_inches, _n) VALUES (?, ?, ?, ?)", [*r, n])
    return "b"


def publish(result: upsert.UpsertResult, parent: lake.Manifest | None) -> lake.Manifest:
    return lake.write.publish(STORMS.name, result.files, {}, expected_parent=parent.version if parent else None)


PROVIDED = ("storm_id", "name", "snowfall_inches", "started", "ended")


def test_a_first_load_inserts_every_key_and_writes_files(con):
    result = upsert.upsert(con, STORMS, batch(con, [("S1", "A", 1.0), ("S2", "B", 2.0)]), PROVIDED, None)
    assert result.counts == upsert.UpsertCounts(inserted=2, updated=0, unchanged=0)
    assert result.changed and sum(f.rows for f in result.files) == 2
    assert result.delta.minus is None


def test_later_rows_of_a_change_log_count_as_updates(con):
    result = upsert.upsert(con, STORMS, batch(con, [("S1", "A", 1.0)], n=3), PROVIDED, None)
    assert result.counts == upsert.UpsertCounts(inserted=1, updated=2, unchanged=0)


def test_an_empty_batch_changes_nothing(con):
    result = upsert.upsert(con, STORMS, batch(con, []), PROVIDED, None)
    assert (result.counts, result.files, result.delta, result.changed) == (upsert.UpsertCounts(), None, None, False)


def test_the_same_rows_again_are_unchanged_and_make_no_version(con):
    first = publish(upsert.upsert(con, STORMS, batch(con, [("S1", "A", 1.0), ("S2", "B", 2.0)]), PROVIDED, None), None)
    again = upsert.upsert(con, STORMS, batch(con, [("S1", "A", 1.0), ("S2", "B", 2.0)]), PROVIDED, first)
    assert again.counts == upsert.UpsertCounts(inserted=0, updated=0, unchanged=2)
    assert not again.changed and again.delta is None


def test_an_update_and_an_insert_rewrite_the_file_and_describe_the_delta(con):
    first = publish(upsert.upsert(con, STORMS, batch(con, [("S1", "A", 1.0), ("S2", "B", 2.0)]), PROVIDED, None), None)
    result = upsert.upsert(con, STORMS, batch(con, [("S1", "A", 5.0), ("S3", "C", 3.0)]), PROVIDED, first)
    assert result.counts == upsert.UpsertCounts(inserted=1, updated=1, unchanged=0)
    assert sorted(con.execute(f"SELECT storm_id, snowfall_inches FROM ({result.delta.plus})").fetchall()) == [
        ("S1", 5.0), ("S3", 3.0)]
    assert con.execute(f"SELECT storm_id, snowfall_inches FROM ({result.delta.minus})").fetchall() == [("S1", 1.0)]
    second = publish(result, first)
    rows = con.execute("SELECT storm_id, snowfall_inches FROM read_parquet(?) ORDER BY 1",
                       [lake.file_paths(STORMS.name, second)]).fetchall()
    assert rows == [("S1", 5.0), ("S2", 2.0), ("S3", 3.0)]


def test_columns_a_source_does_not_provide_keep_their_stored_values(con):
    first = publish(upsert.upsert(con, STORMS, batch(con, [("S1", "A", 1.0)]), PROVIDED, None), None)
    result = upsert.upsert(con, STORMS, batch(con, [("S1", None, 9.0)]), ("storm_id", "snowfall_inches", "started"), first)
    second = publish(result, first)
    assert con.execute("SELECT name, snowfall_inches FROM read_parquet(?)",
                       [lake.file_paths(STORMS.name, second)]).fetchall() == [("A", 9.0)]
