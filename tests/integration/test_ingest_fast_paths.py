"""The ingest's shortcuts give exactly what the plain path gives (issue 2, ingest speed).

Naive local times become instants through a list of per-day offsets instead of one ICU call each
(etl/local_day.py, prepare_naive), and instants become the local days of rollups and projections
through a list of per-UTC-day offsets (etl/local_day.py); a big file takes those paths, a small one
the plain casts.
"""
import csv

import duckdb
import pytest

import lake
from etl import demo, local_day
from etl import load as load_mod
from etl.load import load_file, rejects

ZONES = ["America/New_York", "America/Chicago", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
         "America/Sao_Paulo", "Pacific/Apia"]


@pytest.mark.parametrize("zone", ZONES)
def test_day_offsets_give_icus_instant_for_every_local_time(zone):
    # Lord Howe moves its clocks by 30 minutes, Sao Paulo dropped DST in 2019, Apia skipped the whole
    # of 2011-12-30; times before 1970 and after 2099 are outside the list and keep the ICU cast.
    con = duckdb.connect()
    con.execute("SET TimeZone = ?", [zone])
    local_day.prepare_naive(con)
    con.execute("""CREATE TABLE t AS
        SELECT TIMESTAMP '1965-01-01 00:00:00.123456' + to_minutes(i * 97) AS v FROM range(760000) r(i)
        UNION ALL SELECT TIMESTAMP '2011-01-01' + to_minutes(i) + INTERVAL 29999999 MICROSECOND FROM range(525600) r(i)
        UNION ALL SELECT TIMESTAMP '2024-01-01' + to_minutes(i) FROM range(527040) r(i)
        UNION ALL SELECT NULL""")
    fast = local_day.naive_to_instant("v")
    wrong = con.execute(f"""SELECT count(*), any_value(v) FROM t CROSS JOIN {local_day.NAIVE_TABLE}
                            WHERE {fast} IS DISTINCT FROM CAST(v AS TIMESTAMPTZ)""").fetchone()
    assert wrong[0] == 0, f"first local time that differs from ICU in {zone}: {wrong[1]}"


@pytest.mark.parametrize("zone", ZONES)
def test_utc_day_offsets_give_icus_local_day_for_every_instant(zone):
    # The same zones and edges, from the instant side: clock changes at any minute of the UTC day,
    # instants before 1970 and after 2099 (ICU cast), and NULL.
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    fast, icu = local_day.prepare(con, zone), local_day.LocalDay(zone)
    con.execute(f"CREATE TABLE marker AS SELECT offsets FROM {local_day.TABLE}")
    con.execute(f"UPDATE {local_day.TABLE} SET offsets = [42]")
    local_day.prepare(con, zone)  # built once per connection and zone: this call keeps the table as it is
    assert con.execute(f"SELECT offsets FROM {local_day.TABLE}").fetchone()[0] == [42]
    con.execute(f"UPDATE {local_day.TABLE} SET offsets = (SELECT offsets FROM marker)")
    con.execute("""CREATE TABLE t AS
        SELECT TIMESTAMPTZ '1965-01-01 00:00:00.123456+00' + to_minutes(i * 97) AS x FROM range(760000) r(i)
        UNION ALL SELECT TIMESTAMPTZ '2011-01-01 00:00:00+00' + to_minutes(i) + INTERVAL 29999999 MICROSECOND FROM range(525600) r(i)
        UNION ALL SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_minutes(i) FROM range(527040) r(i)
        UNION ALL SELECT TIMESTAMPTZ '2099-12-31 12:00:00+00' + to_minutes(i * 7) FROM range(1000) r(i)
        UNION ALL SELECT NULL""")
    wrong = con.execute(f"SELECT count(*), any_value(x) FROM t WHERE {fast['x']} IS DISTINCT FROM {icu['x']}").fetchone()
    assert wrong[0] == 0, f"first instant whose local day differs from ICU's in {zone}: {wrong[1]}"


def _export(path, extra_rows):
    """A small NYC export plus hand-written rows at the DST edges, placeholders and bad times."""
    demo.write_nyc311_csv(path, 3000, seed=5)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    template = rows[0]
    with open(path, "a", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(template), lineterminator="\n")
        for i, (created, closed) in enumerate(extra_rows):
            w.writerow({**template, "Unique Key": f"9{i:08d}", "Created Date": created, "Closed Date": closed,
                        "Status": "Closed" if closed else "Open"})
    return path


EDGES = [
    ("03/10/2024 01:59:59 AM", "03/10/2024 02:30:00 AM"),  # closed inside the spring-forward gap
    ("03/10/2024 03:00:00 AM", ""),
    ("11/03/2024 01:30:00 AM", "11/03/2024 01:45:00 AM"),  # the repeated hour
    ("11/02/2024 11:59:59 PM", "11/03/2024 02:00:00 AM"),
    ("12/31/1969 11:00:00 PM", "01/01/1970 01:00:00 AM"),  # before the list starts
    ("Unspecified", ""),
    ("13/45/2024 10:00:00 AM", ""),
    ("02/29/2024 12:00:00 PM", "N/A"),
]


def test_a_big_file_loads_exactly_as_a_small_one(tmp_path, monkeypatch, configure):
    path = _export(tmp_path / "311.csv", EDGES)
    outcomes = []
    for name, threshold in (("plain", 1 << 62), ("offsets", 0)):
        configure(data_dir=tmp_path / name)
        monkeypatch.setattr(load_mod, "LOCAL_DAYS_MIN_BYTES", threshold)
        r = load_file("service_requests", path)
        base = lake.dataset_dir("service_requests")
        files = [str(base / f.path) for f in lake.manifest("service_requests").files]
        rows = duckdb.connect().execute("SELECT * EXCLUDE (_created_at, _updated_at) FROM read_parquet(?) ORDER BY ALL", [files]).fetchall()
        m = lake.manifest("service_requests")
        summaries = {name: duckdb.connect().execute("SELECT * FROM read_parquet(?) ORDER BY ALL", [
            lake.entry_paths("service_requests", entry)]).fetchall()
            for name, entry in m.rollups.items()}  # the local days of rollups and the projection
        outcomes.append((r.rows_in, r.inserted, r.rejected, r.notes, rows, summaries,
                         [(x["line"], x["reason"]) for x in rejects("service_requests", r.run_id)]))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == 3000 + len(EDGES)
