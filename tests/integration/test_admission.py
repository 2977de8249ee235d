"""A worker runs a bounded number of heavy reads at once, a read waits for its turn only so long, and
the wait counts toward its time limit (issue 13: 31 of 32 concurrent uncached /rows requests waited
3-15 s in a queue, each then running within its 3 s). The app served in-process; its reader is real."""
from __future__ import annotations

import threading
import time

import pytest

from etl.load import load_file
from portal import admission
from portal.reader import QueryTimeout, reader, reset_reader
from tests.helpers import sr_row, write_csv

SR = "/api/v1/datasets/service_requests"


@pytest.fixture
def client(lake_dir, tmp_path, configure):
    configure(read_slots=1, export_slots=1, read_queue_ms=50, cache_type="null")  # every read is a miss
    reset_reader()
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(30)]))
    from app import server

    yield server.test_client()
    reset_reader()


def _busy(resp) -> None:
    assert resp.status_code == 503 and resp.is_json
    assert resp.headers["Retry-After"] == "1" and resp.json["retry_after"] == 1
    assert "busy" in resp.json["error"] and resp.json["status"] == 503


@pytest.mark.parametrize("path", [f"{SR}/rows?limit=5", "/api/v1/charts/sr-backlog.csv?start=2025-03-01&end=2025-03-31"])
def test_a_read_that_finds_every_slot_busy_is_a_503_with_retry_after(client, path):
    held = admission.acquire("read")  # another request's read, still running
    try:
        _busy(client.get(path))
    finally:
        held.release()
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/open311/v2/services.json", "/open311/v2/requests.json?start_date=2025-03-01T00:00:00Z"])
def test_open311_busy_answers_in_the_spec_s_shape(client, path):
    held = admission.acquire("read")
    try:
        resp = client.get(path)
    finally:
        held.release()
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
    assert resp.json == [{"code": 503, "description": "the portal is busy with other reads; retry in 1 s"}]
    assert client.get(path).status_code == 200


def test_a_download_waits_for_a_download_slot_not_a_read_slot(client):
    read = admission.acquire("read")
    try:
        assert client.get(f"{SR}/export.csv").status_code == 200  # reads busy, downloads free
    finally:
        read.release()
    held = admission.acquire("export")
    try:
        _busy(client.get(f"{SR}/export.csv"))
        assert client.get(f"{SR}/rows?limit=5").status_code == 200  # and the other way round
    finally:
        held.release()


@pytest.mark.parametrize("finish", ["read whole", "closed unread", "HEAD"])
def test_a_download_gives_its_slot_back_however_it_ends(client, finish):
    """With one download slot, each of these would leave the next download a 503 if it kept it."""
    if finish == "HEAD":
        client.head(f"{SR}/export.csv")
    else:
        resp = client.get(f"{SR}/export.csv", buffered=finish == "read whole")
        resp.close()
    resp = client.get(f"{SR}/export.csv")
    assert resp.status_code == 200 and resp.data.count(b"\r\n") == 31


def test_a_304_takes_no_slot(client):
    etag = client.get(f"{SR}/export.csv").headers["ETag"]
    held = admission.acquire("export")
    try:
        assert client.get(f"{SR}/export.csv", headers={"If-None-Match": etag}).status_code == 304
    finally:
        held.release()


def test_the_wait_for_a_slot_counts_toward_the_time_limit(client, configure):
    """A read that spent its whole budget waiting is stopped before DuckDB starts; outside a slot
    (the dashboards' own reads) the same query runs."""
    configure(query_time_limit_ms=20)
    with admission.read_slot():
        time.sleep(0.05)  # the budget went by in the queue
        with pytest.raises(QueryTimeout):
            reader().execute("SELECT 1", name="late")
    assert reader().execute("SELECT 1", name="late").rows == [(1,)]


def test_a_slot_frees_the_waiter_before_its_wait_ends(client, configure):
    """Waiting is not refusing: a read that finds the slots taken gets one when it frees."""
    configure(read_queue_ms=30_000)
    held = admission.acquire("read")
    threading.Timer(0.2, held.release).start()
    assert client.get(f"{SR}/rows?limit=5").status_code == 200


def test_slots_are_per_kind_and_sized_by_the_settings(lake_dir, configure):
    configure(read_slots=3, read_queue_ms=0)
    taken = [admission.acquire("read") for _ in range(3)]
    with pytest.raises(admission.Busy):
        admission.acquire("read")
    for slot in taken:
        slot.release()
        slot.release()  # idempotent: a slot is given back once
    again = [admission.acquire("read") for _ in range(3)]
    for slot in again:
        slot.release()
