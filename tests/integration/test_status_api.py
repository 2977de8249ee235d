"""GET /api/v1/status and portal.pipeline_health (issue 6): per dataset the current version, last
successful load, last poll, lag, last error, error count, and each poller, watcher or simulator."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

import datasets
from portal import pipeline_health
from tests.conftest import ROOT, child_env, run_etl
from tests.helpers import sr_row, write_csv
from tests.open311_source import Open311Source, request

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def client(lake_dir):
    from app import server

    return server.test_client()


def status(client) -> dict:
    resp = client.get("/api/v1/status")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-cache"
    return resp.json["datasets"]


def test_every_dataset_is_listed_even_before_anything_is_loaded(client):
    body = status(client)
    assert list(body) == list(datasets.datasets())
    assert body["service_requests"] == {
        "dataset": "service_requests", "version": None, "rows": 0, "published_at": None, "last_load": None,
        "last_poll": None, "lag_seconds": None, "last_error": None, "error_count": 0, "state": "idle", "writers": []}


def test_a_poll_shows_its_time_lag_and_the_error_it_survived(client):
    with Open311Source() as src:
        src.add(request(1, NOW - timedelta(hours=1)))
        src.fail_next("error")
        assert run_etl("poll", "open311", src.url, "--once", "--backoff", "0.05").returncode == 0
    sr = status(client)["service_requests"]
    assert (sr["version"], sr["rows"], sr["last_load"]["outcome"], sr["last_load"]["version"]) == (1, 1, "published", 1)
    assert datetime.fromisoformat(sr["last_poll"]) > NOW - timedelta(minutes=1) and 0 <= sr["lag_seconds"] < 60
    assert sr["error_count"] == 1 and "HTTP 500" in sr["last_error"]["message"] and sr["state"] == "idle"
    (writer,) = sr["writers"]
    assert (writer["kind"], writer["state"], writer["error_count"]) == ("poll", "stopped", 1)
    assert writer["name"] == f"open311 {src.url}" and writer["watermark"]
    assert status(client)["plow_activity"]["writers"] == []


def test_a_running_poller_is_live_and_a_killed_one_is_reported_dead(client):
    with Open311Source() as src:
        src.add(request(1, NOW - timedelta(hours=1)))
        proc = subprocess.Popen([sys.executable, "-m", "etl", "poll", "open311", src.url, "--every", "0.5"],
                                cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while status(client)["service_requests"]["version"] is None and time.monotonic() < deadline:
                time.sleep(0.1)
            sr = status(client)["service_requests"]
            assert sr["state"] == "live" and sr["writers"][0]["state"] == "running"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    sr = status(client)["service_requests"]
    assert sr["state"] == "failing" and sr["writers"][0]["state"] == "dead"


def test_a_failed_load_is_counted_and_named(client, tmp_path):
    good = write_csv(tmp_path / "good.csv", [sr_row(1)])
    assert run_etl("load", "service_requests", str(good)).returncode == 0
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert run_etl("load", "service_requests", str(empty)).returncode == 2
    sr = status(client)["service_requests"]
    assert sr["error_count"] == 1 and "empty" in sr["last_error"]["message"]
    assert sr["last_error"]["source"].endswith("empty.csv")
    assert sr["last_load"]["source"] == "good.csv" and sr["version"] == 1
    assert sr["lag_seconds"] is not None and sr["last_poll"] is None


def test_watchers_and_the_simulator_appear_under_the_datasets_they_feed(client, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    path = write_csv(drop / "sr.csv", [sr_row(2)])
    old = time.time() - 60
    os.utime(path, (old, old))
    assert run_etl("watch", str(drop), "--once", "--quiet", "0.2", "--every", "0.2").returncode == 0
    (writer,) = status(client)["service_requests"]["writers"]
    assert writer["kind"] == "watch" and writer["name"] == f"watch {drop}" and writer["state"] == "stopped"


def test_the_portal_function_gives_the_api_answer_and_refuses_unknown_datasets(client):
    assert pipeline_health.status("snow_storms") == status(client)["snow_storms"]
    with pytest.raises(KeyError):
        pipeline_health.status("nope")


def test_status_takes_no_parameters(client):
    resp = client.get("/api/v1/status?dataset=service_requests")
    assert resp.status_code == 400 and resp.json["parameter"] == "dataset"


def test_a_failed_file_of_a_watcher_that_feeds_nothing_yet_is_counted_from_the_run_log(client, tmp_path):
    # Issue 12: health attributes a failed load by the run log's `writer`, not by where the file lay.
    drop = tmp_path / "drop"
    drop.mkdir()
    empty = drop / "empty.csv"
    empty.write_text("request_id\n")
    old = time.time() - 60
    os.utime(empty, (old, old))
    assert run_etl("watch", str(drop), "--once", "--quiet", "0.2", "--every", "0.2", "--dataset", "service_requests").returncode == 0
    sr = status(client)["service_requests"]
    assert sr["error_count"] == 1 and sr["writers"] == [] and "not a header row" in sr["last_error"]["message"]


@pytest.mark.parametrize(("record", "counted"), [
    ({"writer": "poll-0123456789"}, 1),  # the poller's own error count has it; the run log adds nothing
    ({"writer": "watch-9876543210"}, 2),  # a writer not shown here: the run log counts it
    ({}, 2),  # by hand, or logged before loads named their writer: the run log counts it
])
def test_the_run_log_adds_the_failures_no_writer_shown_counted(lake_dir, record, counted):
    failed = {"dataset": "service_requests", "outcome": "failed", "started": NOW.isoformat(), "error": "boom",
              "source": str(lake_dir / "realtime" / "inbox" / "x.json"), **record}
    poller = {"kind": "poll", "key": "poll-0123456789", "dataset": "service_requests", "state": "stopped",
              "errors": {"count": 1, "recent": [NOW.isoformat()], "last": {"at": NOW.isoformat(), "message": "boom"}}}
    assert pipeline_health.status("service_requests", _records=[failed], _states=[poller])["error_count"] == counted
