"""Projections stay exact (issue 3: "q1 under 50 ms at 20M rows, exactly"): the close-times projection
a version carries holds the same rows as its SQL over the raw version, and sr_time_to_close answers
from it exactly what the raw rows give, to the last bit: same counts, same medians, same 90th
percentiles (docs/decisions/0007-close-time-projection.md)."""
import json
from datetime import date

import duckdb
import pytest

import lake
from datasets import rollups
from etl.load import load_file
from portal import queries
from portal.reader import LakeReader, reset_reader
from tests.conftest import demo_lake_at
from tests.helpers import sr_row, write_csv

TZ = "America/New_York"
D = date.fromisoformat

# The definition the projection must reproduce: every closed request created in [local midnight of
# start, local midnight after end), straight from the version's rows (the query before issue 3's fix).
RAW_TIME_TO_CLOSE = """
SELECT complaint_type, count(*) AS closed_requests,
       quantile_cont(hours, 0.5) AS median_hours, quantile_cont(hours, 0.9) AS p90_hours
FROM (SELECT complaint_type, (epoch_us(closed) - epoch_us(created)) / 3.6e9 AS hours
      FROM {service_requests}
      WHERE created >= timezone($tz, CAST($start AS TIMESTAMP)) AND created < timezone($tz, CAST($end + 1 AS TIMESTAMP))
        AND closed IS NOT NULL AND ($borough IS NULL OR borough = $borough) AND ($agency IS NULL OR agency = $agency)
        AND ($complaint_type IS NULL OR complaint_type = $complaint_type))
GROUP BY complaint_type
ORDER BY closed_requests DESC, complaint_type
"""


def raw_answer(params: dict, tz: str = TZ) -> list[tuple]:
    cleaned = queries.validate("sr_time_to_close", params)
    return LakeReader(check_interval=0).query(RAW_TIME_TO_CLOSE, {**cleaned, "tz": tz}).rows



def _live() -> bool:
    r = LakeReader(check_interval=0)
    r.versions()
    return "__live_" in r._views["sr_close_times"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with demo_lake_at(tmp_path_factory.mktemp("projections") / "data", scale=20000, seed=7) as path:
        yield path


# Ranges cross both DST changes (2025-03-09, 2024-11-03), a single day, and the ends of the data.
CASES = [
    dict(start=D("2025-01-01"), end=D("2025-12-31")),
    dict(start=D("2025-03-01"), end=D("2025-05-31"), borough="QUEENS", agency="NYPD"),
    dict(start=D("2025-01-01"), end=D("2025-12-31"), complaint_type="Noise - Residential"),
    dict(start=D("2025-03-09"), end=D("2025-03-09")),
    dict(start=D("2024-11-03"), end=D("2024-11-03"), borough="BROOKLYN"),
    dict(start=D("2026-08-23"), end=D("2026-11-20")),
    dict(start=D("2020-01-01"), end=D("2030-12-31"), agency="DSNY"),
    dict(start=D("2020-01-01"), end=D("2020-12-31")),  # before the data: no rows
]


@pytest.mark.parametrize("params", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_time_to_close_from_the_projection_equals_the_raw_rows_exactly(demo, params):
    assert not _live(), "the demo lake's version carries its projection"
    fast = queries.run("sr_time_to_close", **params)
    assert fast.rows == raw_answer(params)  # ==, not approx: the same doubles
    assert fast.columns == ("complaint_type", "closed_requests", "median_hours", "p90_hours")


def test_the_cases_compare_something(demo):
    assert len(queries.run("sr_time_to_close", **CASES[0]).rows) > 100


def test_other_cities_days_are_served_live_and_still_exact(demo, configure):
    """The stored projection holds New York's days; a reader set to Chicago computes Chicago's."""
    configure(city="chicago")
    assert _live()
    differ = 0
    for day in range(1, 11):  # single days: an hour's shift at each end moves a few requests
        params = dict(start=date(2025, 6, day), end=date(2025, 6, day))
        chicago = queries.run("sr_time_to_close", **params).rows
        assert chicago == raw_answer(params, tz="America/Chicago")
        differ += chicago != raw_answer(params)
    assert differ, "the cases tell the two cities' days apart"


# ---- through many versions: inserts, closures, reopenings ----------------------------------------------
def _stored_equals_live(m: lake.Manifest) -> None:
    p = rollups.rollups()["sr_close_times"]
    entry = m.rollups["sr_close_times"]
    base = lake.dataset_dir("service_requests")
    assert set(entry.files_by_data_file) == {f.path for f in m.files}, "one projection file per data file"
    con = duckdb.connect()
    stored = con.execute(f"SELECT * FROM read_parquet({[str(base / v) for v in entry.files_by_data_file.values()]}) ORDER BY ALL").fetchall()
    source = "read_parquet(" + repr(lake.file_paths("service_requests", m)) + ")"
    assert stored == con.execute(f"{p.compile(source, repr(TZ))} ORDER BY ALL").fetchall()
    for path in entry.files_by_data_file.values():  # each file in declared order, so a day range reads few row groups
        rows = con.execute(f"SELECT {', '.join(p.order_by)} FROM read_parquet('{base / path}')").fetchall()
        assert rows == sorted(rows)


@pytest.fixture
def history(lake_dir, tmp_path):
    def load(name, rows):
        return load_file("service_requests", write_csv(tmp_path / f"{name}.csv", rows, header=[*sr_row(0), "descriptor"]))

    types = ["Noise", "Heating", "Missed Collection"]
    rows = [sr_row(i, created=f"2025-03-{1 + i % 27:02d}T{i % 24:02d}:{i % 60:02d}:00-05:00",
                   closed=f"2025-03-{2 + i % 26:02d}T{(i * 7) % 24:02d}:{(i * 13) % 60:02d}:{i % 60:02d}-04:00" if i % 4 else "",
                   status="Closed" if i % 4 else "Open", borough=["BROOKLYN", "QUEENS", "BRONX"][i % 3],
                   agency=["DSNY", "NYPD"][i % 2], complaint_type=types[i % 3], descriptor="") for i in range(400)]
    # created before 02:00 local on 2025-03-09 and closed after: the DST day; fractional seconds too
    rows += [sr_row(500, created="2025-03-09T01:30:00.250-05:00", closed="2025-03-09T03:30:00.125-04:00", status="Closed",
                    descriptor="")]
    versions = [load("v1", rows)]
    # closures of open requests, a reopening, a closure moved later, and new requests of a new type
    versions.append(load("v2", [{**r, "status": "Closed", "closed": "2025-04-02T09:00:00-04:00"} for r in rows[:200:4]]
                         + [{**rows[1], "status": "Open", "closed": ""}, {**rows[2], "closed": "2025-05-01T10:00:00-04:00"}]
                         + [sr_row(900 + i, created="2025-04-01T08:00:00-04:00", closed="2025-04-03T08:00:00-04:00",
                                   status="Closed", complaint_type="Graffiti", descriptor="") for i in range(5)]))
    versions.append(load("v3", [sr_row(950, created="2025-03-20T23:59:59-04:00", closed="2025-03-21T00:00:01-04:00",
                                       status="Closed", descriptor="")]))
    reset_reader()
    assert [v.outcome for v in versions] == ["published"] * 3
    yield
    reset_reader()


def test_the_stored_projection_equals_its_sql_over_the_raw_rows_in_every_version(history):
    for v in lake.versions("service_requests"):
        _stored_equals_live(v)


@pytest.mark.parametrize("params", [
    dict(start=D("2025-03-01"), end=D("2025-04-30")),
    dict(start=D("2025-03-09"), end=D("2025-03-09")),
    dict(start=D("2025-03-05"), end=D("2025-03-25"), borough="QUEENS"),
    dict(start=D("2025-03-01"), end=D("2025-03-31"), agency="NYPD", borough="BRONX"),
])
def test_time_to_close_equals_the_raw_rows_after_updates(history, params):
    assert not _live()
    assert queries.run("sr_time_to_close", **params).rows == raw_answer(params)
    assert queries.run("sr_time_to_close", **params).rows


def test_a_publish_writes_projections_only_for_the_files_it_wrote(history):
    """Projection files are reused with their data files, so a small load costs a small write."""
    v2, v3 = lake.manifest("service_requests", 2), lake.manifest("service_requests", 3)
    kept = {f.path for f in v2.files} & {f.path for f in v3.files}
    assert kept, "the third load leaves some data files as they were"
    for path in kept:
        assert v3.rollups["sr_close_times"].files_by_data_file[path] == v2.rollups["sr_close_times"].files_by_data_file[path]
    written = {f.path for f in v3.files} - kept
    assert {v3.rollups["sr_close_times"].files_by_data_file[p] for p in written}.isdisjoint(v2.rollups["sr_close_times"].files)


def _rewrite_entry(change) -> None:
    path = lake.dataset_dir("service_requests") / "versions" / f"{lake.current_version('service_requests'):08d}.json"
    body = json.loads(path.read_text())
    change(body["rollups"])
    path.write_text(json.dumps(body))
    reset_reader()


@pytest.mark.parametrize("change", [
    lambda r: r.pop("sr_close_times"),  # a version published before the projection existed
    lambda r: r["sr_close_times"].update(fingerprint="made-by-an-older-declaration"),
], ids=["missing", "stale-declaration"])
def test_a_version_without_a_usable_projection_is_served_live_with_the_same_answer(history, change):
    params = dict(start=D("2025-03-01"), end=D("2025-04-30"))
    before = queries.run("sr_time_to_close", **params).rows
    _rewrite_entry(change)
    assert _live()
    assert queries.run("sr_time_to_close", **params).rows == before == raw_answer(params)


def test_a_stale_projection_is_not_reused_by_the_next_load(history, tmp_path):
    _rewrite_entry(lambda r: r["sr_close_times"].update(fingerprint="made-by-an-older-declaration"))
    load_file("service_requests", write_csv(tmp_path / "v4.csv", [sr_row(990, status="Closed", closed="2025-03-30T10:00:00-04:00")]))
    m = lake.manifest("service_requests")
    old = lake.manifest("service_requests", 3).rollups["sr_close_times"].files
    assert set(m.rollups["sr_close_times"].files).isdisjoint(old)
    _stored_equals_live(m)
