"""Readers never see half a version; a loader killed with SIGKILL at any point leaves the previous
version current and readable (issue 2). Real subprocesses, real signals."""
import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest

import lake
from etl.load import load_file
from tests.conftest import ROOT, child_env
from tests.helpers import sr_row, write_csv


def big_csv(path, n, offset=0, status="Open"):
    return write_csv(path, [sr_row(offset + i, status=status, closed="2025-03-28T09:00:00-05:00" if status == "Closed" else "")
                            for i in range(n)])


def count_current(dataset="service_requests"):
    m = lake.manifest(dataset)
    n = duckdb.connect().execute("SELECT count(*) FROM read_parquet(?)", [lake.file_paths(dataset, m)]).fetchone()[0]
    return m.version, m.rows, n


def start_load(path, **env):
    return subprocess.Popen([sys.executable, "-m", "etl", "load", "service_requests", str(path), "--json"],
                            cwd=ROOT, env={**child_env(), **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(path, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.02)


@pytest.mark.parametrize("point", ["files-written", "manifest-written"])
def test_sigkill_at_each_publish_step_leaves_the_previous_version_current(lake_dir, tmp_path, point):
    load_file("service_requests", big_csv(tmp_path / "v1.csv", 50))
    proc = start_load(big_csv(tmp_path / "v2.csv", 80, status="Closed"), PULSE_TEST_PAUSE_AT=point)
    wait_for(lake_dir / f"paused-at-{point}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert count_current() == (1, 50, 50)
    assert [v.version for v in lake.versions("service_requests")] == [1]
    # the kernel released the writer lock: the next load publishes version 2 normally
    r = load_file("service_requests", tmp_path / "v2.csv")
    assert (r.version, r.inserted, r.updated) == (2, 30, 50)
    assert count_current() == (2, 80, 80)


def test_sigkill_at_random_moments_never_corrupts_the_lake(lake_dir, tmp_path):
    load_file("service_requests", big_csv(tmp_path / "v1.csv", 1000))
    update = big_csv(tmp_path / "v2.csv", 60_000, status="Closed")
    published = {1: 1000}
    for delay in [0.05, 0.15, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3]:
        proc = start_load(update)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        version, rows, counted = count_current()
        assert rows == counted, "the current version reads back whole"
        published[version] = rows
        assert set(published) <= {1, 2} and published.get(2, 60_000) == 60_000


def test_readers_in_other_processes_never_error_while_loads_publish(lake_dir, tmp_path):
    load_file("service_requests", big_csv(tmp_path / "v0.csv", 2000))
    reader = subprocess.Popen([sys.executable, "-c", READER], cwd=ROOT, env=child_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for i in range(1, 9):
            load_file("service_requests", big_csv(tmp_path / f"v{i}.csv", 2000 + 500 * i))
    finally:
        (lake_dir / "stop-reader").write_text("")
        out, err = reader.communicate(timeout=60)
    report = json.loads(out)
    assert report["errors"] == [], err
    assert report["queries"] > 20
    expected = {m.version: m.rows for m in lake.versions("service_requests")}
    for version, counted in report["seen"]:
        assert counted == expected[version], f"version {version} read {counted} rows"
    assert len({v for v, _ in report["seen"]}) > 1, "the reader saw new versions without restarting"


READER = """
import json, duckdb
import config
import lake
con = duckdb.connect()
seen, errors, queries = set(), [], 0
stop = config.data_dir() / 'stop-reader'
while not stop.exists():
    try:
        m = lake.manifest('service_requests')
        n = con.execute('SELECT count(*) FROM read_parquet(?)', [lake.file_paths('service_requests', m)]).fetchone()[0]
        seen.add((m.version, n)); queries += 1
    except Exception as exc:
        errors.append(repr(exc))
print(json.dumps({'seen': sorted(seen), 'errors': errors, 'queries': queries}))
"""
