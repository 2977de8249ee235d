"""Each source format parses its real published file with every row accounted for and every reject
explained (issue 2). Expected figures come from ../shared/data/MANIFEST.md."""
import re
from collections import Counter

import duckdb
import pytest

import lake
from etl.load import load_file, rejects

# (dataset, file, city, format, rows_in, rejected, {reason: count})
CASES = [
    ("service_requests", "nyc311/nyc311_2022-05-01_41col.csv", None, "nyc311_export", 924, 0, {}),
    ("service_requests", "nyc311/nyc311_2011-03_2000rows_41col.csv", None, "nyc311_export", 2000, 1, {"closed before created": 1}),
    ("service_requests", "nyc311/nyc311_2018-01_dohmh_53col_legacy.csv", None, "nyc311_export", 155, 16, {"closed before created": 16}),
    ("service_requests", "nyc311/nyc311_2013-10_200rows_52col_legacy.csv", None, "nyc311_export", 199, 1,
     {"incident_zip: '99432-01234' does not match ^[0-9]{5}$": 1}),
    ("service_requests", "nyc311/nyc311_2019_100rows_41col.csv", None, "nyc311_export", 100, 0, {}),
    ("service_requests", "other311/nyc311_socrata_soda_api_2023-12.csv", None, "nyc311_socrata", 1000, 0, {}),
    ("service_requests", "other311/boston311_2022-01_100rows.csv", None, "boston311", 100, 0, {}),
    ("service_requests", "other311/chicago_open311_georeport_v2_2014_50req.json", "chicago", "open311_georeport_v2", 50, 0, {}),
    ("plow_activity", "snow/syracuse_snow_routes_snapshots_2025-12-26_27.csv", None, "syracuse_snow_snapshots", 17633, 0, {}),
    ("snow_segments", "snow/syracuse_snow_routes_snapshots_2025-12-26_27.csv", None, "syracuse_snow_snapshots_segments", 17633, 0, {}),
    ("snow_storms", "snow/syracuse_snow_routes_snapshots_2025-12-26_27.csv", None, "syracuse_snow_snapshots_storms", 17633, 511,
     {"the row belongs to no storm event": 511}),
    ("snow_segments", "snow/syracuse_snow_route_segments.geojson", None, "syracuse_snow_segments_geojson", 5018, 0, {}),
    ("volunteer_opportunities", "volunteer/nyc_service_volunteer_opportunities_historical_20250626.csv", None,
     "nyc_service_opportunities", 665, 0, {}),
]


@pytest.mark.parametrize("dataset, file, city, fmt, rows_in, rejected, reasons", CASES, ids=[c[1].split("/")[-1] + ":" + c[0] for c in CASES])
def test_real_file_is_accounted_for_row_by_row(lake_dir, shared, dataset, file, city, fmt, rows_in, rejected, reasons):
    r = load_file(dataset, shared / file, city=city)
    assert r.format == fmt
    assert r.rows_in == rows_in
    assert r.rows_in == r.inserted + r.updated + r.unchanged + r.rejected
    assert r.rejected == rejected
    quarantined = rejects(dataset, r.run_id)
    assert len(quarantined) == rejected
    assert Counter(q["reason"] for q in quarantined) == Counter(reasons)
    for q in quarantined:
        assert q["line"] >= 2 and q["raw"], "a reject keeps its source line and raw values"
    m = lake.manifest(dataset)
    assert m.version == 1 and m.rows == r.inserted


def _query(dataset, sql):
    m = lake.manifest(dataset)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet({lake.file_paths(dataset, m)!r})")
    return con.execute(sql).fetchall()


def test_nyc_export_times_are_local_new_york_time(lake_dir, shared):
    load_file("service_requests", shared / "nyc311/nyc311_2022-05-01_41col.csv")
    first, last = _query("service_requests", "SELECT strftime(min(created), '%Y-%m-%d %H:%M:%S'), strftime(max(created), '%Y-%m-%d %H:%M:%S') FROM t")[0]
    assert (first, last) == ("2022-05-01 00:00:03", "2022-05-01 02:06:26")  # MANIFEST: coverage


def test_open_requests_keep_an_empty_closed_time(lake_dir, shared):
    load_file("service_requests", shared / "nyc311/nyc311_2022-05-01_41col.csv")
    assert _query("service_requests", "SELECT count(*) FILTER (WHERE closed IS NULL) FROM t")[0][0] == 444


def test_double_encoded_text_is_repaired_and_counted(lake_dir, shared):
    r = load_file("service_requests", shared / "nyc311/nyc311_2011-03_2000rows_41col.csv")
    assert r.notes["resolution_description: double-encoded values repaired"] == 96
    assert _query("service_requests", "SELECT count(*) FROM t WHERE resolution_description LIKE '%Â%'")[0][0] == 0


def test_placeholders_become_empty_with_a_note(lake_dir, shared):
    r = load_file("service_requests", shared / "nyc311/nyc311_2011-03_2000rows_41col.csv")
    assert r.notes["borough: placeholder values read as empty"] == 76
    assert _query("service_requests", "SELECT count(*) FROM t WHERE borough IS NULL")[0][0] == 76


def test_boston_city_hall_default_geocode_is_a_placeholder(lake_dir, shared):
    r = load_file("service_requests", shared / "other311/boston311_2022-01_100rows.csv")
    assert r.notes["latitude: placeholder values read as empty"] == 19
    assert _query("service_requests", "SELECT count(*) FROM t WHERE latitude = 42.3594 AND longitude = -71.0587")[0][0] == 0


def test_socrata_columns_are_matched_by_name_not_position(lake_dir, shared):
    load_file("service_requests", shared / "other311/nyc311_socrata_soda_api_2023-12.csv")
    assert _query("service_requests", "SELECT count(*) FILTER (WHERE closed IS NOT NULL) FROM t")[0][0] == 346


def test_open311_closed_time_comes_from_the_closing_note(lake_dir, shared):
    load_file("service_requests", shared / "other311/chicago_open311_georeport_v2_2014_50req.json", city="chicago")
    rows = _query("service_requests", "SELECT count(*) FILTER (WHERE closed IS NOT NULL), count(*) FILTER (WHERE status = 'Open') FROM t")[0]
    assert rows == (49, 1)
    # the offset in the source is honoured: 2014-05-09T19:02:21-05:00 is 00:02:21 UTC next day
    assert _query("service_requests", "SELECT strftime(created AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') FROM t WHERE request_id = '14-00684314'")[0][0] == "2014-05-10 00:02:21"


def test_open311_outside_the_city_bounds_is_rejected_with_the_reason(lake_dir, shared):
    r = load_file("service_requests", shared / "other311/chicago_open311_georeport_v2_2014_50req.json")
    assert r.rejected == 50
    assert all("outside the New York City bounds" in q["reason"] for q in rejects("service_requests", r.run_id))


def test_syracuse_epoch_ms_and_priorities(lake_dir, shared):
    load_file("snow_segments", shared / "snow/syracuse_snow_routes_snapshots_2025-12-26_27.csv")
    assert _query("snow_segments", "SELECT route_priority, count(*) FROM t GROUP BY 1 ORDER BY 1") == [(1, 1404), (2, 3614)]
    load_file("plow_activity", shared / "snow/syracuse_snow_routes_snapshots_2025-12-26_27.csv")
    assert _query("plow_activity", "SELECT max(passes) FROM t")[0][0] == 3050  # SNW-409, the depot outlier
    assert _query("plow_activity", "SELECT strftime(last_serviced AT TIME ZONE 'UTC', '%Y-%m-%d') FROM t WHERE segment_id = 'SNW-479' ORDER BY observed_at LIMIT 1")[0][0] == "2025-12-23"


def test_geometry_and_attributes_from_two_files_meet_in_one_segment(lake_dir, shared):
    """A source that lacks a column leaves it as it was: the GeoJSON adds geometry, keeps priority."""
    load_file("snow_segments", shared / "snow/syracuse_snow_routes_snapshots_2025-12-26_27.csv")
    r = load_file("snow_segments", shared / "snow/syracuse_snow_route_segments.geojson")
    assert r.updated == 5018
    row = _query("snow_segments", "SELECT route_priority, json_extract_string(geometry, '$.type') FROM t WHERE segment_id = 'SNW-479'")
    assert row == [(1, "LineString")]


def test_volunteer_boroughs_are_normalised(lake_dir, shared):
    load_file("volunteer_opportunities", shared / "volunteer/nyc_service_volunteer_opportunities_historical_20250626.csv")
    boroughs = {b for (b,) in _query("volunteer_opportunities", "SELECT DISTINCT borough FROM t WHERE borough IS NOT NULL")}
    assert boroughs <= {"MANHATTAN", "BRONX", "BROOKLYN", "QUEENS", "STATEN ISLAND"}
    assert "STATEN ISLAND" in boroughs
    assert _query("volunteer_opportunities", "SELECT count(*) FROM t WHERE volunteers_needed = 9999")[0][0] == 0


def test_nyc_service_display_url_becomes_an_absolute_signup_link(lake_dir, shared):
    # The export's display_url is a path on NYC Service's site ('/opportunities/5416'), on every row.
    load_file("volunteer_opportunities", shared / "volunteer/nyc_service_volunteer_opportunities_historical_20250626.csv")
    rows = _query("volunteer_opportunities", "SELECT opportunity_id, signup_url FROM t")
    assert len(rows) == 665
    assert all(re.fullmatch(r"https://www\.nycservice\.org/opportunities/\d+", url) for _, url in rows)
    assert len({url for _, url in rows}) == 665, "one page an opportunity"
