"""Rollups stay exact: the summary a version carries equals the same aggregate over the raw rows, and
a query answers the same from either (issue 3: 'rollup answers equal raw answers')."""
import duckdb
import pytest

import lake
from datasets import rollups
from etl import rollups as etl_rollups
from etl.load import load_file
from portal import queries
from portal.reader import LakeReader, reset_reader
from tests.helpers import sr_row, write_csv


@pytest.fixture
def lake_with_history(lake_dir, tmp_path):
    rows = [sr_row(i, created=f"2025-03-{1 + i % 20:02d}T{i % 24:02d}:30:00-05:00",
                   closed=f"2025-03-{2 + i % 25:02d}T10:00:00-05:00" if i % 3 else "",
                   status="Closed" if i % 3 else "Open", borough=["BROOKLYN", "QUEENS", "BRONX"][i % 3],
                   agency=["DSNY", "NYPD"][i % 2]) for i in range(300)]
    load_file("service_requests", write_csv(tmp_path / "a.csv", rows))
    # a second version: some requests close later, new ones arrive
    later = [sr_row(i, created=f"2025-03-{1 + i % 20:02d}T{i % 24:02d}:30:00-05:00", closed="2025-04-02T09:00:00-04:00",
                    status="Closed", borough=["BROOKLYN", "QUEENS", "BRONX"][i % 3], agency=["DSNY", "NYPD"][i % 2])
             for i in range(0, 300, 3)]
    load_file("service_requests", write_csv(tmp_path / "b.csv", later + [sr_row(400, created="2025-04-01T08:00:00-04:00")]))
    reset_reader()
    yield
    reset_reader()


def test_each_version_carries_its_rollups(lake_with_history):
    declared = [*rollups.of("service_requests"), *rollups.projections("service_requests")]
    for v in lake.versions("service_requests"):
        assert set(v.rollups) == {r.name for r in declared}


@pytest.mark.parametrize("name", [r.name for r in rollups.of("service_requests")])
def test_a_materialised_rollup_equals_the_aggregate_over_raw_rows(lake_with_history, name):
    r = rollups.rollups()[name]
    m = lake.manifest("service_requests")
    con = duckdb.connect()
    stored = summed_rollup(m.rollups[name], r)  # base and delta, as a reader sums them
    assert m.rollups[name].timezone == "America/New_York" and m.rollups[name].delta
    source = "read_parquet(" + repr(lake.file_paths("service_requests", m)) + ")"
    live = con.execute(f"{r.compile(source, repr('America/New_York'))} ORDER BY ALL").fetchall()
    assert stored == live and len(stored) > 10


@pytest.mark.parametrize("params", [
    dict(start="2025-02-25", end="2025-04-10"),
    dict(start="2025-03-01", end="2025-03-31", borough="QUEENS"),
    dict(start="2025-03-05", end="2025-04-05", agency="NYPD", borough="BRONX"),
])
def test_the_backlog_from_the_rollup_equals_the_backlog_from_raw_rows(lake_with_history, params):
    from_rollup = queries.run("sr_open_backlog", **params).rows
    m = lake.manifest("service_requests")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    raw = con.execute(
        """SELECT CAST(d AS DATE), (SELECT count(*) FROM read_parquet($files) t
              WHERE created < CAST(d AS TIMESTAMPTZ) + INTERVAL 1 DAY
                AND (closed IS NULL OR closed >= CAST(d AS TIMESTAMPTZ) + INTERVAL 1 DAY)
                AND ($b IS NULL OR borough = $b) AND ($a IS NULL OR agency = $a))
           FROM generate_series(CAST($s AS TIMESTAMP),
                                -- up to the data's newest local day with a request created or closed (issue 15)
                                least(CAST($e AS TIMESTAMP), (SELECT CAST(CAST(greatest(max(created), max(closed)) AS DATE)
                                                              AS TIMESTAMP) FROM read_parquet($files))),
                                INTERVAL 1 DAY) g(d) ORDER BY 1""",
        {"files": lake.file_paths("service_requests", m), "s": params["start"], "e": params["end"],
         "b": params.get("borough"), "a": params.get("agency")}).fetchall()
    assert from_rollup == raw


def test_a_version_without_materialised_rollups_is_served_live_with_the_same_answer(lake_with_history):
    """Versions published before rollups existed (or a lost rollup file) still answer, exactly."""
    import json

    params = dict(start="2025-02-25", end="2025-04-10")
    with_rollup = queries.run("sr_open_backlog", **params).rows
    path = lake.dataset_dir("service_requests") / "versions" / f"{lake.current_version('service_requests'):08d}.json"
    body = json.loads(path.read_text())
    body["rollups"] = {}
    path.write_text(json.dumps(body))
    reset_reader()
    assert queries.run("sr_open_backlog", **params).rows == with_rollup
    assert LakeReader().query("SELECT count(*) FROM {sr_daily_flow}").versions == {"service_requests": 2}


def test_rollups_are_kept_up_to_date_incrementally_through_many_versions(lake_dir, tmp_path):
    """Each version's rollup is the previous one plus the load's additions minus what it replaced;
    after closures, reopenings and new requests it still equals a fresh aggregate."""
    load_file("service_requests", write_csv(tmp_path / "v1.csv", [sr_row(i) for i in range(20)]))
    load_file("service_requests", write_csv(tmp_path / "v2.csv", [sr_row(i, status="Closed", closed="2025-03-29T10:00:00-04:00")
                                                                  for i in range(0, 20, 2)]))
    load_file("service_requests", write_csv(tmp_path / "v3.csv", [sr_row(0), sr_row(30, borough="QUEENS")]))
    m = lake.manifest("service_requests")
    assert m.version == 3
    con = duckdb.connect()
    source = "read_parquet(" + repr(lake.file_paths("service_requests", m)) + ")"
    for r in rollups.of("service_requests"):
        fresh = con.execute(f"{r.compile(source, repr('America/New_York'))} ORDER BY ALL").fetchall()
        assert summed_rollup(m.rollups[r.name], r) == fresh, r.name



def summed_rollup(entry, r) -> list:
    """A stored rollup as a reader sees it: base and delta summed to one row per key."""
    source = "SELECT * FROM read_parquet(" + repr(lake.entry_paths("service_requests", entry)) + ")"
    return duckdb.connect().execute(f"{r.summed(source)} ORDER BY ALL").fetchall()


def fresh_rollup(m, r) -> list:
    source = "read_parquet(" + repr(lake.file_paths("service_requests", m)) + ")"
    return duckdb.connect().execute(f"{r.compile(source, repr('America/New_York'))} ORDER BY ALL").fetchall()


def test_a_load_keeps_the_base_and_writes_only_a_delta_of_the_keys_it_changed(lake_dir, tmp_path):
    """Issue 6: a micro-batch into a big table must not rewrite the whole rollup (decision 0008)."""
    rows = [sr_row(i, created=f"2025-{1 + i % 4:02d}-10T12:00:00-05:00", due="2025-05-01T12:00:00-04:00")
            for i in range(40)]  # January to April
    load_file("service_requests", write_csv(tmp_path / "v1.csv", rows))
    v1 = lake.manifest("service_requests")
    assert all(v1.rollups[r.name].delta is None for r in rollups.of("service_requests"))
    # One March request closes in April; a new request arrives in April.
    load_file("service_requests", write_csv(tmp_path / "v2.csv", [
        sr_row(2, created="2025-03-10T12:00:00-05:00", due="2025-05-01T12:00:00-04:00", status="Closed",
               closed="2025-04-02T09:00:00-04:00"),
        sr_row(100, created="2025-04-20T12:00:00-04:00")]))
    v2 = lake.manifest("service_requests")
    # created per day: March 10 gains a closed-with-due, April 20 a request; daily flow: April 2 a
    # closure, April 20 an opening (March 10's opening is replaced by itself: no change, no row).
    for name, changed in {"sr_created_daily": 2, "sr_daily_flow": 2, "sr_descriptor_daily": 1}.items():
        assert v2.rollups[name].base == v1.rollups[name].base, name
        assert v2.rollups[name].delta_rows == changed, name
    for r in rollups.of("service_requests"):
        assert summed_rollup(v2.rollups[r.name], r) == fresh_rollup(v2, r), r.name


def test_deltas_accumulate_until_compaction_folds_them_into_a_new_base(lake_dir, tmp_path, monkeypatch):
    from etl import compact

    load_file("service_requests", write_csv(tmp_path / "v1.csv", [sr_row(i) for i in range(50)]))
    for n in range(3):
        load_file("service_requests", write_csv(tmp_path / f"b{n}.csv", [sr_row(100 + n, borough="QUEENS"),
                                                                         sr_row(n, status="Closed", closed="2025-04-02T09:00:00-04:00")]))
    m = lake.manifest("service_requests")
    assert m.rollups["sr_created_daily"].delta_rows >= 3
    monkeypatch.setattr(etl_rollups, "FOLD_ROWS", 2)  # so the deltas count as grown
    assert etl_rollups.fold_due(m)
    before = queries.run("sr_open_backlog", start="2025-02-25", end="2025-04-10").rows
    result = compact.after_publish("service_requests")
    folded = lake.manifest("service_requests")
    assert result["compacted"] and result["rollups_folded"] >= 1 and folded.rows == m.rows
    assert folded.load["source"] == "compaction"
    for r in rollups.of("service_requests"):
        e = folded.rollups[r.name]
        if e.delta is None:
            assert e.base != m.rollups[r.name].base
        assert summed_rollup(e, r) == fresh_rollup(folded, r), r.name
    reset_reader()
    assert queries.run("sr_open_backlog", start="2025-02-25", end="2025-04-10").rows == before
    compact.compact("service_requests", full=True)
    assert all(e.delta is None for e in lake.manifest("service_requests").rollups.values() if e.kind == "rollup")


def test_the_reader_holds_one_row_per_key_of_an_in_memory_rollup_with_a_delta(lake_dir, tmp_path):
    load_file("service_requests", write_csv(tmp_path / "v1.csv", [sr_row(i) for i in range(10)]))
    load_file("service_requests", write_csv(tmp_path / "v2.csv", [sr_row(20, created="2025-03-01T09:00:00-05:00")]))
    # ^ the same local day, agency and borough as sr_row(0): a key in both the base and the delta
    assert lake.manifest("service_requests").rollups["sr_daily_flow"].delta
    reset_reader()
    r = LakeReader()
    assert r.query("SELECT count(*) - count(DISTINCT (day, agency, borough)) FROM {sr_daily_flow}").rows == [(0,)]
    assert r.query("SELECT sum(opened) FROM {sr_daily_flow}").rows == [(11,)]
    assert r.query("SELECT opened FROM {sr_daily_flow} WHERE day = DATE '2025-03-01'").rows == [(2,)]


def test_a_version_stored_before_deltas_is_read_and_brought_up_to_date(lake_dir, tmp_path):
    """A manifest entry from before decision 0008 names one file; it still serves, and the next load
    keeps it as the base and adds a delta."""
    import json

    load_file("service_requests", write_csv(tmp_path / "v1.csv", [sr_row(i) for i in range(10)]))
    m = lake.manifest("service_requests")
    path = lake.dataset_dir("service_requests") / "versions" / f"{m.version:08d}.json"
    body = json.loads(path.read_text())
    for name in ("sr_daily_flow", "sr_created_daily", "sr_descriptor_daily"):
        body["rollups"][name] = {"path": body["rollups"][name]["base"], "timezone": "America/New_York"}
    path.write_text(json.dumps(body))
    reset_reader()
    reader = LakeReader()
    assert reader.query("SELECT sum(requests) FROM {sr_created_daily}").rows == [(10,)]
    assert "__live_" not in reader._views["sr_created_daily"]  # served from the stored file, not live
    load_file("service_requests", write_csv(tmp_path / "v2.csv", [sr_row(20)]))
    entry = lake.manifest("service_requests").rollups["sr_created_daily"]
    assert entry.base == body["rollups"]["sr_created_daily"]["path"] and entry.delta_rows == 1
    reset_reader()
    assert LakeReader().query("SELECT sum(requests) FROM {sr_created_daily}").rows == [(11,)]


def test_a_full_compaction_restates_an_entry_from_before_deltas(lake_dir, tmp_path):
    import json

    from etl import compact

    load_file("service_requests", write_csv(tmp_path / "v1.csv", [sr_row(i) for i in range(10)]))
    m = lake.manifest("service_requests")
    path = lake.dataset_dir("service_requests") / "versions" / f"{m.version:08d}.json"
    body = json.loads(path.read_text())
    old = body["rollups"]["sr_created_daily"]["base"]
    moved = old.replace("rollups/sr_created_daily/", "rollups/")  # where files lived before decision 0008
    (lake.dataset_dir("service_requests") / old).rename(lake.dataset_dir("service_requests") / moved)
    body["rollups"]["sr_created_daily"] = {"path": moved, "timezone": "America/New_York"}
    path.write_text(json.dumps(body))
    compact.compact("service_requests", full=True)
    entry = lake.manifest("service_requests").rollups["sr_created_daily"]
    assert entry.base == moved and entry.base_rows >= 1 and entry.delta is None
    assert queries.run("sr_volume", start="2025-03-01", end="2025-03-31").rows


def test_a_request_that_moves_leaves_no_zero_row_in_any_answer(lake_dir, tmp_path):
    """Base +1 at the old key, delta -1: summed to 0, which a fresh aggregate would not list at all."""
    load_file("service_requests", write_csv(tmp_path / "v1.csv", [sr_row(i, borough="BROOKLYN", descriptor="A") for i in range(5)]
                                                                  + [sr_row(9, borough="QUEENS", descriptor="B")]))
    load_file("service_requests", write_csv(tmp_path / "v2.csv", [sr_row(9, borough="BROOKLYN", descriptor="A")]))
    reset_reader()
    span = dict(start="2025-03-01", end="2025-03-31")
    by_borough = queries.run("sr_volume_by_borough", **span, period="month").rows
    assert [(b, n) for _, b, n in by_borough] == [("BROOKLYN", 6)]
    assert queries.run("sr_top_descriptors", **span, complaint_type="Missed Collection").rows == [("A", 6)]
    assert [n for _, _, n in queries.run("sr_volume", **span, period="month").rows] == [6]
    filters = {(f, v) for f, v, _ in queries.run("sr_filter_values").rows}
    assert ("agency", "DSNY") in filters
