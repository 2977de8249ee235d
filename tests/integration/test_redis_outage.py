"""Redis stopped and started again under traffic (issue 13): the portal (real gunicorn, two workers)
keeps answering, uncached, with no 5xx and no hang; /readyz says degraded meanwhile; once Redis is
back, caching resumes by itself. Rate-limit counters live in Redis too: one count for every worker,
and an outage does not fail a request. A real redis-server, stopped and started by the test."""
from __future__ import annotations

import threading
import time
import urllib.error

import pytest

from etl.load import load_file
from tests.helpers import sr_row, write_csv
from tests.servers import Portal, RedisServer, portal_env

TRAFFIC = ["/api/v1/datasets/service_requests/rows?limit=5", "/api/v1/datasets/service_requests/rows?limit=20",
           "/api/v1/kpis", "/api/v1/kpis?period=week", "/api/v1/version"]


@pytest.fixture
def redis(lake_dir, tmp_path):
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(200)]))
    server = RedisServer()
    yield server
    server.stop()


class Traffic:
    """Threads asking for TRAFFIC over and over; every answer's status (or error) is kept."""

    def __init__(self, portal: Portal, threads: int = 4):
        self.portal, self.answers, self.errors = portal, [], []
        self.stopped, self.lock, self.fresh = threading.Event(), threading.Lock(), 0
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]
        for t in self.threads:
            t.start()

    def _path(self, i: int) -> str:
        """TRAFFIC in turn, and every third request a page not asked before (each asked twice): each
        worker keeps what it served last in memory (api/httpcache.py), so only new answers show
        whether the workers use Redis at a given moment."""
        if i % 3:
            return TRAFFIC[i % len(TRAFFIC)]
        with self.lock:
            self.fresh += 1
            return f"/api/v1/datasets/service_requests/rows?limit={self.fresh // 2 % 9000 + 1}&columns=request_id"

    def _run(self, offset: int) -> None:
        i = offset
        while not self.stopped.is_set():
            try:
                self.answers.append(self.portal.get(self._path(i), timeout=10)[0])
            except (OSError, urllib.error.URLError) as exc:  # a refused or hung connection is a failure too
                self.errors.append(repr(exc))
            i += 1
            time.sleep(0.02)

    def stop(self) -> None:
        self.stopped.set()
        for t in self.threads:
            t.join()


def _until(predicate, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _readiness(portal: Portal) -> str:
    import json

    return json.loads(portal.get("/readyz")[2])["status"]


def test_redis_stopped_and_restarted_under_traffic(redis, tmp_path):
    portal = Portal(portal_env(redis_url=redis.url, cache_type="", cache_retry_seconds=1), tmp_path / "logs")
    traffic = Traffic(portal)
    try:
        assert _until(lambda: redis.stat("keyspace_hits") > 10)  # answers come from Redis
        assert _readiness(portal) == "ready"

        redis.stop()
        served = len(traffic.answers)
        assert _until(lambda: _readiness(portal) == "degraded")
        assert _until(lambda: len(traffic.answers) > served + 50)  # answered, uncached, meanwhile

        redis.start()  # empty, as a restarted cache is
        assert _until(lambda: _readiness(portal) == "ready")
        # caching resumed by itself: answers stored in Redis again and read back from it
        assert _until(lambda: redis.client().dbsize() > 10 and redis.stat("keyspace_hits") > 0)
    finally:
        traffic.stop()
        portal.stop()
    assert traffic.errors == []
    assert set(traffic.answers) == {200} and len(traffic.answers) > 100
    warnings = [line["message"] for line in portal.log_lines("error.log") if line["logger"] == "pulse.cache"]
    assert any("unreachable" in w for w in warnings) and any("caching resumed" in w for w in warnings)


def test_rate_limit_counters_are_shared_through_redis_and_survive_its_outage(redis, tmp_path):
    portal = Portal(portal_env(redis_url=redis.url, cache_type="", rate_limit_rows="5/minute"), tmp_path / "logs")
    try:
        pages = [portal.get(f"/api/v1/datasets/service_requests/rows?limit={n}")[0] for n in range(1, 13)]
        assert pages == [200] * 5 + [429] * 7  # five in all, whichever of the two workers answered
        assert any(k.startswith(b"LIMITS") for k in redis.client().keys("*"))
        redis.stop()
        during = [portal.get(f"/api/v1/datasets/service_requests/rows?limit={n}")[0] for n in range(20, 30)]
        assert set(during) <= {200, 429}  # counted in each worker's memory meanwhile; never an error
    finally:
        portal.stop()
