"""`python -m etl simulate` (issue 6): a storm and a day of service played forward in accelerated time,
written as micro-batches through the ordinary load path; deterministic, resumable, never in the future.
`make run` starts it beside the web server unless PULSE_SIMULATE=0; the Procfile runs the poller."""
from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import duckdb
import pytest

import lake
from etl import demo
from tests.conftest import ROOT, last_json, run_etl

LIVE = ("service_requests", "snow_storms", "plow_activity", "volunteer_opportunities", "volunteer_signups")
TEN_HOURS = ("--speed", "36000", "--every", "1")  # one step = 10 simulated hours


@pytest.fixture
def demo_lake(lake_dir):
    demo.build(scale=2000, seed=5)
    return lake_dir


def simulate(*extra: str, env: dict | None = None):
    proc = run_etl("simulate", "--json", *TEN_HOURS, *extra, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc


def rows(dataset: str, where: str = "true") -> list[tuple]:
    """The current version's declared columns (not when each row was written: lake/stamps.py)."""
    m = lake.manifest(dataset)
    with duckdb.connect() as con:
        return con.execute(f"SELECT * EXCLUDE (_created_at, _updated_at) FROM read_parquet(?) WHERE {where} ORDER BY ALL",
                           [lake.file_paths(dataset, m)]).fetchall()


def test_one_step_publishes_311_snow_and_volunteer_micro_batches(demo_lake):
    before = {d: lake.current_version(d) for d in LIVE}
    result = last_json(simulate("--once"))
    assert result["steps"] == 1 and result["versions"] == 5 and result["rejected"] == 0
    assert {d: lake.current_version(d) for d in LIVE} == {d: v + 1 for d, v in before.items()}
    (storm,) = rows("snow_storms", "storm_id NOT IN (SELECT storm_id FROM read_csv('%s'))"
                    % (demo_lake / "demo-src" / "snow_storms.csv"))
    assert storm[0].startswith("STORM-") and storm[3] is None  # the storm is still on after 10 hours
    passes = rows("plow_activity", f"storm_id = '{storm[0]}'")
    assert len(passes) > 500 and {p[3] for p in passes} == {"Plowing"}
    assert rows("service_requests", "request_id LIKE '9%'")  # new requests
    (opportunity,) = rows("volunteer_opportunities", "opportunity_id LIKE 'OPP-SIM-%'")
    assert opportunity[1].startswith("Snow Day of Service")
    assert rows("volunteer_signups", f"opportunity_id = '{opportunity[0]}'")


def test_the_same_seed_and_start_give_the_same_rows(tmp_path):
    got = []
    for name in ("a", "b"):
        env = {"PULSE_DATA_DIR": str(tmp_path / name)}
        demo.build(scale=2000, seed=5, data_dir=tmp_path / name)
        simulate("--once", "--start", "2026-11-19T08:00:00-05:00", env=env)
        with duckdb.connect() as con:
            m = lake.Manifest.from_json((tmp_path / name / "lake/service_requests/versions/00000002.json").read_text())
            files = [str(tmp_path / name / "lake/service_requests" / f.path) for f in m.files]
            got.append(con.execute("SELECT * EXCLUDE (reporter_phone, _created_at, _updated_at) FROM read_parquet(?) WHERE request_id LIKE '9%' "
                                   "ORDER BY request_id", [files]).fetchall())
    assert got[0] and got[0] == got[1]


def test_it_resumes_where_it_stopped_and_closes_what_it_opened(demo_lake):
    first = last_json(simulate("--steps", "2"))
    opened = {r[0] for r in rows("service_requests", "request_id LIKE '9%'")}
    second = last_json(simulate("--once"))  # a new process: continues from the saved clock
    assert second["simulated_to"] > first["simulated_to"] and second["updated"] > 0
    mine = rows("service_requests", "request_id LIKE '9%'")
    assert len({r[0] for r in mine}) == len(mine) and opened <= {r[0] for r in mine}
    closed = [r for r in mine if r[4] == "Closed"]
    assert closed and all(r[2] is not None and r[2] >= r[1] for r in closed)
    assert rows("snow_storms", "storm_id LIKE 'STORM-%' AND ended IS NOT NULL AND started >= TIMESTAMPTZ '2026-11-19'")


def test_it_never_writes_the_future(demo_lake):
    result = last_json(simulate("--once", "--start", "now", "--speed", "10000000"))
    assert datetime.fromisoformat(result["simulated_to"]) <= datetime.now(UTC)
    assert max(r[1] for r in rows("service_requests")) <= datetime.now(UTC)


def _make_n(*args: str) -> str:
    return subprocess.run(["make", "-n", "-o", "install", "run", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout


def test_make_run_starts_the_simulator_beside_the_web_server_unless_turned_off():
    on = _make_n()
    assert "-m etl simulate" in on and "gunicorn app:server" in on
    off = _make_n("PULSE_SIMULATE=0")
    assert "-m etl simulate" not in off and "gunicorn app:server" in off


def test_the_procfile_runs_the_poller_as_a_worker():
    procs = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert "web" in procs and "python -m etl poll open311" in procs["worker"]


def test_micro_batch_columns_are_the_declared_ones_and_rows_fill_them(demo_lake):
    # Issue 12: the header comes from the declarations, not a copied list.
    import datasets
    from etl import simulate

    assert simulate.columns("snow_storms") == datasets.get("snow_storms").column_names
    assert "reporter_phone" not in simulate.columns("service_requests")
    sim = simulate.Simulator(seed=5, speed=36000, every=1, start="2025-01-10T00:00:00+00:00")
    batches, _ = sim.batches(sim.state["anchor"], sim.state["anchor"] + 3 * 86400)
    assert set(batches) == set(LIVE)
    for dataset, rows in batches.items():
        assert {len(r) for r in rows} == {len(simulate.columns(dataset))}, dataset
