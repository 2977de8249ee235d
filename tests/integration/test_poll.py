"""`python -m etl poll open311 URL` (issue 6) against a real local GeoReport v2 server whose requests
change between polls: new and updated requests land, a restart resumes from the watermark with no
gap and no duplicate, and a 500, a hang, malformed JSON and a refused connection are survived."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

import lake
from lake import writerstate
from tests.conftest import ROOT, child_env, last_json, run_etl
from tests.open311_source import Open311Source, close, request

NOW = datetime.now(UTC).replace(microsecond=0)
FAST = ("--timeout", "1", "--backoff", "0.05")


@pytest.fixture
def source(lake_dir):
    with Open311Source() as src:
        yield src


def poll(src: Open311Source, *extra: str) -> subprocess.CompletedProcess:
    return run_etl("poll", "open311", src.url, "--once", "--json", *FAST, *extra)


def lake_rows() -> dict[str, tuple]:
    """request_id -> (status, closed is set) in the current version."""
    m = lake.manifest("service_requests")
    if m is None:
        return {}
    with duckdb.connect() as con:
        rows = con.execute("SELECT request_id, status, closed IS NOT NULL FROM read_parquet(?)",
                           [lake.file_paths("service_requests", m)]).fetchall()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate request ids in the lake"
    return {r[0]: (r[1], r[2]) for r in rows}


def expected(src: Open311Source) -> dict[str, tuple]:
    return {rid: ("Closed" if r["status"] == "closed" else "Open", r["status"] == "closed")
            for rid, r in src.requests.items()}


def poll_state() -> dict:
    (state,) = [s for s in writerstate.every_state() if s.get("kind") == "poll"]
    return state


def test_new_and_updated_requests_land(source):
    source.add(*(request(i, NOW - timedelta(hours=6 - i)) for i in range(3)))
    first = poll(source)
    assert first.returncode == 0, first.stderr
    assert {k: last_json(first)[k] for k in ("new", "inserted", "updated", "versions", "failed")} == {
        "new": 3, "inserted": 3, "updated": 0, "versions": [1], "failed": 0}
    source.add(request(3, NOW - timedelta(minutes=2)), close(source.requests["R0000001"], NOW - timedelta(minutes=1)))
    second = last_json(poll(source))
    assert (second["new"], second["inserted"], second["updated"], second["versions"]) == (2, 1, 1, [2])
    assert lake_rows() == expected(source)
    assert lake_rows()["R0000001"] == ("Closed", True)


def test_a_restart_resumes_from_the_watermark_with_no_duplicate(source):
    source.add(*(request(i, NOW - timedelta(hours=3, minutes=i)) for i in range(4)))
    assert last_json(poll(source))["new"] == 4
    watermark = datetime.fromisoformat(poll_state()["watermark"])
    assert watermark == NOW - timedelta(hours=3)

    # A new process, nothing changed at the source: nothing is delivered again, no version published.
    again = last_json(poll(source))
    assert (again["new"], again["versions"], again["version"]) == (0, [], 1)
    asked = source.log[-1]
    assert datetime.fromisoformat(asked["updated_after"].replace("Z", "+00:00")) == watermark - timedelta(seconds=300)

    # Changes made while no poller ran arrive on the next start, each exactly once.
    source.add(request(9, NOW - timedelta(minutes=5)), close(source.requests["R0000002"], NOW - timedelta(minutes=4)))
    third = last_json(poll(source))
    assert (third["new"], third["inserted"], third["updated"]) == (2, 1, 1)
    assert lake_rows() == expected(source)
    assert [m.load["inserted"] + m.load["updated"] for m in lake.versions("service_requests")] == [4, 2]


@pytest.mark.parametrize("failure, logged", [
    ("error", "HTTP 500"),
    ("hang", "no answer within 1s"),
    ("garbage", "malformed JSON"),
    ("truncated", "malformed JSON"),
])
def test_a_server_error_a_hang_and_malformed_json_are_each_survived(source, failure, logged):
    source.add(*(request(i, NOW - timedelta(hours=1, minutes=i)) for i in range(3)))
    source.fail_next(failure)
    started = time.monotonic()
    proc = poll(source)
    assert proc.returncode == 0, proc.stderr
    assert logged in proc.stderr and "attempt 1 of 3" in proc.stderr
    assert last_json(proc)["new"] == 3 and lake_rows() == expected(source)
    state = poll_state()
    assert state["errors"]["count"] == 1 and logged in state["errors"]["last"]["message"]
    if failure == "hang":
        assert time.monotonic() - started >= 1.0


def test_a_poll_that_fails_every_retry_publishes_nothing_and_keeps_the_watermark(source):
    source.add(request(1, NOW - timedelta(hours=2)))
    assert last_json(poll(source))["versions"] == [1]
    watermark = poll_state()["watermark"]
    source.add(request(2, NOW - timedelta(minutes=1)))
    source.fail_next("error", "garbage", "error")
    failed = poll(source)
    assert failed.returncode == 3 and last_json(failed)["failed"] == 1
    assert lake.current_version("service_requests") == 1 and poll_state()["watermark"] == watermark
    assert last_json(poll(source))["new"] == 1 and lake_rows() == expected(source)


def test_a_refused_connection_is_an_error_not_a_crash(lake_dir):
    with Open311Source() as src:
        url = src.url
    proc = run_etl("poll", "open311", url, "--once", "--json", *FAST, "--retries", "2")
    assert proc.returncode == 3 and "connection failed" in proc.stderr
    assert lake.current_version("service_requests") is None


def test_pages_when_the_server_pages(source):
    source.add(*(request(i, NOW - timedelta(minutes=10 + i)) for i in range(5)))
    result = last_json(poll(source, "--page-size", "2"))
    assert result["new"] == 5 and lake_rows() == expected(source)
    assert [q.get("page") for q in source.log] == ["1", "2", "3"]
    assert poll_state()["server"] == {"updated_after": None, "paging": True, "full_pages": True}


def test_a_server_that_caps_page_size_is_read_to_its_empty_page(lake_dir):
    with Open311Source() as src:
        src.add(*(request(i, NOW - timedelta(minutes=10 + i)) for i in range(5)))
        real = src.answer
        src.answer = lambda query: real({**query, "page_size": "2"})  # asked for 1000, sends 2 a page
        assert last_json(poll(src))["new"] == 5 and lake_rows() == expected(src)
        assert [q.get("page") for q in src.log] == ["1", "2", "3", "4"]


def test_a_server_that_ignores_paging_is_read_once_per_poll(lake_dir):
    with Open311Source(paging="ignore") as src:
        src.add(*(request(i, NOW - timedelta(minutes=10 + i)) for i in range(5)))
        result = last_json(poll(src, "--page-size", "2"))
        assert result["new"] == 5 and lake_rows() == expected(src)
        assert [q.get("page") for q in src.log] == ["1", "2"]  # page 2 repeated page 1: paging is off
        assert poll_state()["server"]["paging"] is False
        poll(src, "--page-size", "2")
        assert "page" not in src.log[-1]


def test_a_server_without_updated_after_is_read_whole_and_filtered_here(lake_dir):
    with Open311Source(updated_after="refuse") as src:
        src.add(*(request(i, NOW - timedelta(hours=2, minutes=i)) for i in range(3)))
        assert last_json(poll(src))["new"] == 3
        src.add(close(src.requests["R0000000"], NOW - timedelta(minutes=1)))
        second = last_json(poll(src))
        assert (second["new"], second["updated"], second["inserted"]) == (1, 1, 0)
        assert poll_state()["server"]["updated_after"] is False
        assert "updated_after" not in src.log[-1]
        assert lake_rows() == expected(src)


def _start_poller(url: str, every: str = "0.3") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "etl", "poll", "open311", url, "--every", every, "--json", *FAST],
                            cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_the_running_poller_keeps_going_through_failures_and_stops_on_sigterm(source):
    source.add(request(1, NOW - timedelta(hours=1)))
    proc = _start_poller(source.url)
    try:
        _wait_for(lambda: lake.current_version("service_requests") == 1)
        source.fail_next("error", "hang", "garbage", "error", "truncated", "error")  # two whole polls fail
        source.add(request(2, NOW - timedelta(minutes=1)))
        _wait_for(lambda: "R0000002" in lake_rows())
        assert proc.poll() is None
        assert lake_rows() == expected(source)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["failed"] >= 1 and summary["versions"] == [1, 2]
    assert poll_state()["state"] == "stopped"


def test_killed_and_restarted_while_the_source_changes_leaves_no_gap_and_no_duplicate(source):
    """SIGKILL at an arbitrary moment (maybe mid-publish), restart: the lake ends equal to the source."""
    source.add(*(request(i, NOW - timedelta(hours=5, minutes=i)) for i in range(20)))
    proc = _start_poller(source.url, every="0.2")
    try:
        for n in range(20, 30):  # as a real feed does, each change carries the time it was made
            source.add(request(n, NOW - timedelta(minutes=60 - n), updated=datetime.now(UTC)))
            if n % 3 == 0:
                source.add(close(source.requests[f"R{n - 15:07d}"], datetime.now(UTC)))
            time.sleep(0.15)
            if n == 25:
                proc.kill()
                proc.wait()
                proc = _start_poller(source.url, every="0.2")
        _wait_for(lambda: lake_rows() == expected(source))
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_the_urls_query_string_is_kept_on_every_request_and_never_logged(source):
    source.add(request(1, NOW - timedelta(hours=1)))
    proc = run_etl("poll", "open311", source.url + "?jurisdiction_id=nyc&api_key=SECRET", "--once", "--json", *FAST)
    assert proc.returncode == 0 and last_json(proc)["new"] == 1
    assert all(q["jurisdiction_id"] == "nyc" and q["api_key"] == "SECRET" for q in source.log)
    assert "SECRET" not in proc.stdout + proc.stderr and "SECRET" not in json.dumps(poll_state())
