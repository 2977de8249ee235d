"""The demo generator: deterministic, shaped like the real exports, clean to load, and bounded in memory."""
from __future__ import annotations

import csv
import json
import re
import statistics
import threading
import time
from datetime import date, datetime, timedelta
from itertools import pairwise

import duckdb
import psutil
import pytest

import config
import lake
from etl import demo, demo_nyc311
from etl.load import rejects

EXPORT_HEADER = (
    "Unique Key,Created Date,Closed Date,Agency,Agency Name,Complaint Type,Descriptor,Location Type,Incident Zip,"
    "Incident Address,Street Name,Cross Street 1,Cross Street 2,Intersection Street 1,Intersection Street 2,Address Type,"
    "City,Landmark,Facility Type,Status,Due Date,Resolution Description,Resolution Action Updated Date,Community Board,BBL,"
    "Borough,X Coordinate (State Plane),Y Coordinate (State Plane),Open Data Channel Type,Park Facility Name,Park Borough,"
    "Vehicle Type,Taxi Company Borough,Taxi Pick Up Location,Bridge Highway Name,Bridge Highway Direction,Road Ramp,"
    "Bridge Highway Segment,Latitude,Longitude,Location"
)
TIME = re.compile(r"^(0[1-9]|1[0-2])/(0[1-9]|[12][0-9]|3[01])/20[0-9]{2} (0[1-9]|1[0-2]):[0-5][0-9]:[0-5][0-9] [AP]M$")
DATASETS = {"service_requests", "snow_segments", "snow_storms", "plow_activity", "volunteer_opportunities", "volunteer_signups"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One small demo lake for the module (building it is the slow part): (data dir, load results)."""
    data = tmp_path_factory.mktemp("demo") / "data"
    with config.using(config.active().replace(data_dir=data, city=None)):
        results = demo.build(scale=20_000, seed=311)
        yield data, results


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """20,000 rows of 311 export, parsed with Python's csv module."""
    path = demo.write_nyc311_csv(tmp_path_factory.mktemp("csv") / "311.csv", 20_000)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return path, rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def query(data, sql: str) -> list[tuple]:
    """Run `sql` over the current versions, each dataset a view named after it."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    for name in DATASETS:
        m = lake.manifest(name)
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({lake.file_paths(name, m)!r})")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---- 311 export file ------------------------------------------------------------------------------

def test_same_seed_gives_identical_bytes_whatever_the_chunking(tmp_path, monkeypatch):
    a = demo.write_nyc311_csv(tmp_path / "a.csv", 12_345, seed=7)
    monkeypatch.setattr(demo_nyc311, "CHUNK_ROWS", 1_000)
    monkeypatch.setattr(demo_nyc311, "WORKERS", 3)
    b = demo.write_nyc311_csv(tmp_path / "b.csv", 12_345, seed=7)
    assert a.read_bytes() == b.read_bytes()


def test_a_different_seed_gives_different_data(tmp_path):
    a = demo.write_nyc311_csv(tmp_path / "a.csv", 2_000, seed=1)
    b = demo.write_nyc311_csv(tmp_path / "b.csv", 2_000, seed=2)
    assert a.read_bytes() != b.read_bytes()
    assert a.read_bytes().splitlines()[0] == b.read_bytes().splitlines()[0]


@pytest.mark.parametrize("rows", [1, 999, 5_001])
def test_row_count_is_exact(tmp_path, monkeypatch, rows):
    monkeypatch.setattr(demo_nyc311, "CHUNK_ROWS", 1_000)
    path = demo.write_nyc311_csv(tmp_path / "n.csv", rows)
    with open(path, newline="", encoding="utf-8") as fh:
        assert sum(1 for _ in csv.reader(fh)) == rows + 1


def test_header_is_the_41_column_export_header(sample):
    path, header, _ = sample
    assert path.read_text(encoding="utf-8").split("\n", 1)[0] == EXPORT_HEADER
    assert len(header) == 41


def test_every_row_has_41_fields_and_export_shaped_values(sample):
    _, _, rows = sample
    for r in rows:
        assert len(r) == 41
        assert TIME.match(r["Created Date"]), r["Created Date"]
        for col in ("Closed Date", "Due Date", "Resolution Action Updated Date"):
            assert r[col] == "" or TIME.match(r[col]), (col, r[col])
        assert r["Status"] in {"Open", "In Progress", "Assigned", "Pending", "Closed"}
        assert (r["Status"] == "Closed") == (r["Closed Date"] != "")
        assert r["Open Data Channel Type"] in {"PHONE", "ONLINE", "MOBILE", "UNKNOWN", "OTHER"}
        assert r["Borough"] in {"MANHATTAN", "BRONX", "BROOKLYN", "QUEENS", "STATEN ISLAND", "Unspecified"}
        assert re.fullmatch(r"[0-9]{2} (MANHATTAN|BRONX|BROOKLYN|QUEENS|STATEN ISLAND)|0 Unspecified", r["Community Board"])
        assert r["Incident Zip"] == "" or re.fullmatch(r"[0-9]{5}", r["Incident Zip"])
        if r["Latitude"]:
            lat, lon = float(r["Latitude"]), float(r["Longitude"])
            assert 40.47 <= lat <= 40.93 and -74.27 <= lon <= -73.68
            assert r["Location"] == f"({r['Latitude']}, {r['Longitude']})"
            assert r["X Coordinate (State Plane)"].isdigit() and r["Y Coordinate (State Plane)"].isdigit()


def test_unique_keys_rise_in_created_order(sample):
    _, _, rows = sample
    keys = [int(r["Unique Key"]) for r in rows]
    created = [datetime.strptime(r["Created Date"], demo.FMT) for r in rows]
    assert all(a < b for a, b in pairwise(keys))
    assert all(a <= b for a, b in pairwise(created))


def test_three_years_ending_at_the_default_end(sample):
    _, _, rows = sample
    created = [datetime.strptime(r["Created Date"], demo.FMT) for r in rows]
    assert created[-1] < demo.DEFAULT_END <= created[-1] + timedelta(days=1)
    assert created[0] >= demo.DEFAULT_END - timedelta(days=demo.SPAN_DAYS)
    assert created[0] < demo.DEFAULT_END - timedelta(days=demo.SPAN_DAYS - 2)


def test_callers_choose_the_end(tmp_path):
    path = demo.write_nyc311_csv(tmp_path / "e.csv", 500, end=date(2025, 6, 1))
    with open(path, newline="") as fh:
        created = [datetime.strptime(r["Created Date"], demo.FMT) for r in csv.DictReader(fh)]
    assert max(created) < datetime(2025, 6, 1) and min(created) >= datetime(2022, 6, 1)


def test_volumes_are_skewed_across_about_200_types_and_many_agencies(sample):
    _, _, rows = sample
    assert 190 <= len(demo.complaint_types()) <= 220
    counts = statistics.multimode([r["Complaint Type"] for r in rows])
    top = sum(1 for r in rows if r["Complaint Type"] == counts[0])
    assert top / len(rows) > 0.08  # Zipf-like: the biggest type alone is near a tenth
    assert len({r["Agency"] for r in rows}) >= 11


def test_five_to_ten_percent_are_open_mostly_recent(sample):
    _, _, rows = sample
    open_rows = [r for r in rows if not r["Closed Date"]]
    assert 0.05 <= len(open_rows) / len(rows) <= 0.10
    last_month = [r for r in rows[-len(rows) // 36:]]
    assert sum(1 for r in last_month if not r["Closed Date"]) / len(last_month) > 0.25


def test_seasons_heat_in_winter_noise_in_summer(sample):
    _, _, rows = sample
    month = lambda r: int(r["Created Date"][:2])  # noqa: E731
    heat = [month(r) for r in rows if r["Complaint Type"] == "HEAT/HOT WATER"]
    noise = [month(r) for r in rows if r["Complaint Type"].startswith("Noise - ")]
    assert sum(m in (12, 1, 2) for m in heat) > 5 * sum(m in (6, 7, 8) for m in heat)
    assert sum(m in (6, 7, 8) for m in noise) > 1.3 * sum(m in (12, 1, 2) for m in noise)


def test_resolution_times_differ_by_agency(sample):
    _, _, rows = sample

    def median_hours(agency):
        return statistics.median(
            (datetime.strptime(r["Closed Date"], demo.FMT) - datetime.strptime(r["Created Date"], demo.FMT)).total_seconds() / 3600
            for r in rows if r["Agency"] == agency and r["Closed Date"])

    assert median_hours("NYPD") < 6 < 24 < median_hours("HPD") < median_hours("DOT")


# ---- the demo lake ------------------------------------------------------------------------------

def test_build_loads_every_dataset(built):
    _, results = built
    assert {r["dataset"] for r in results} == DATASETS
    for r in results:
        assert r["outcome"] == "published" and r["version"] == 1 and r["error"] is None, r
        assert r["rows_in"] == r["inserted"] + r["rejected"]
    by_name = {r["dataset"]: r for r in results}
    assert by_name["service_requests"]["format"] == "nyc311_export"
    assert by_name["service_requests"]["rows_in"] == 20_000
    assert all(by_name[d]["format"] == "plain" for d in DATASETS - {"service_requests"})


def test_only_the_deliberate_311_dirt_is_rejected(built):
    _, results = built
    for r in results:
        if r["dataset"] != "service_requests":
            assert r["rejected"] == 0, r
    sr = next(r for r in results if r["dataset"] == "service_requests")
    assert sr["rejected"] <= 0.0005 * sr["rows_in"]
    assert {x["reason"] for x in rejects("service_requests", sr["run_id"])} <= {"closed before created"}


def test_day_of_service_spike(built):
    data, _ = built
    daily = query(data, "SELECT event_date, count(*) FROM volunteer_signups GROUP BY 1 ORDER BY 2 DESC")
    counts = [n for _, n in daily]
    assert counts[0] >= 5 * statistics.median(counts)
    top = daily[0][0]
    assert (top.month, top.day) == (9, 11) or (top.month == 1 and top.weekday() == 0 and 15 <= top.day <= 21)


def test_volunteer_opportunities(built):
    data, _ = built
    (n, categories, boroughs), = query(data, "SELECT count(*), count(DISTINCT category), count(DISTINCT borough) FROM volunteer_opportunities")
    assert 280 <= n <= 330 and categories == 7 and boroughs == 5


def test_segments_priorities_and_geometry(built):
    data, _ = built
    rows = query(data, "SELECT segment_id, route_priority, district, length_miles, geometry FROM snow_segments ORDER BY 1")
    assert len(rows) == 2000 and rows[0][0] == "SEG-00001"
    share = {p: sum(1 for r in rows if r[1] == p) / len(rows) for p in (1, 2, 3)}
    assert abs(share[1] - 0.3) < 0.05 and abs(share[2] - 0.4) < 0.05 and abs(share[3] - 0.3) < 0.05
    assert {r[2] for r in rows} == {"MANHATTAN", "BRONX", "BROOKLYN", "QUEENS", "STATEN ISLAND"}
    assert all(0.05 <= r[3] <= 0.5 for r in rows)
    for *_, geometry in rows:
        for lon, lat in json.loads(geometry)["coordinates"]:
            assert 40.47 <= lat <= 40.93 and -74.27 <= lon <= -73.68


def test_storms_in_the_last_two_winters(built):
    data, _ = built
    storms = query(data, "SELECT name, started, ended FROM snow_storms ORDER BY started")
    assert 4 <= len(storms) <= 6
    assert all(name.startswith("Storm ") and started.month in (12, 1, 2, 3) and ended > started for name, started, ended in storms)
    assert storms[0][1].date() >= date(2024, 12, 1) and storms[-1][2].date() < date(2026, 4, 1)


def test_priority_one_segments_are_serviced_sooner(built):
    data, _ = built
    hours = dict(query(data, """
        WITH first AS (SELECT storm_id, segment_id, min(last_serviced) AS t FROM plow_activity GROUP BY ALL)
        SELECT route_priority, list(epoch(t - started) / 3600 ORDER BY epoch(t - started))
        FROM first JOIN snow_segments USING (segment_id) JOIN snow_storms USING (storm_id) GROUP BY 1"""))
    assert statistics.median(hours[1]) < statistics.median(hours[2]) < statistics.median(hours[3])
    assert sum(h <= 6 for h in hours[1]) / len(hours[1]) > 0.8
    assert sum(h <= 6 for h in hours[3]) / len(hours[3]) < 0.2


def test_passes_count_up_per_segment_with_each_observation(built):
    data, _ = built
    (bad, segments), = query(data, """
        SELECT count(*) FILTER (WHERE passes <> prev + 1 OR last_serviced > observed_at), count(DISTINCT segment_id)
        FROM (SELECT *, lag(passes, 1, 0) OVER (PARTITION BY segment_id ORDER BY observed_at) AS prev FROM plow_activity)""")
    assert bad == 0 and segments == 2000


def test_build_is_deterministic_and_rebuild_changes_nothing(built):
    data, _ = built
    before = {p.name: p.read_bytes() for p in (data / "demo-src").iterdir()}
    again = demo.build(scale=20_000, seed=311)
    assert {r["outcome"] for r in again} == {"no_change"}
    assert {p.name: p.read_bytes() for p in (data / "demo-src").iterdir()} == before


@pytest.mark.parametrize("scale, rows", [("small", 50_000), ("medium", 1_000_000), ("large", 20_000_000), (1234, 1234), ("77", 77)])
def test_scales(scale, rows):
    assert demo.rows_for(scale) == rows


def test_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        demo.rows_for("huge")


# ---- memory ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_two_million_rows_in_bounded_memory(tmp_path):
    proc = psutil.Process()
    base = proc.memory_info().rss
    peak, done = [base], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        path = demo.write_nyc311_csv(tmp_path / "big.csv", 2_000_000)
    finally:
        done.set()
        watcher.join()
    assert (peak[0] - base) / 2**20 < 500
    with open(path, "rb") as fh:
        assert sum(1 for _ in fh) == 2_000_001  # no field holds a newline
