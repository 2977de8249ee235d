"""The query cache is shared across processes and keyed by data version: a hit after the first call,
a miss after a new version (issue 3). Real flask-caching backends: filesystem and a real redis-server."""
import shutil
import subprocess

import pytest

from portal import cache
from tests.conftest import child_env
from tests.servers import RedisServer


@pytest.fixture(scope="module")
def redis_url():
    server = RedisServer()
    yield server.url
    server.stop()


@pytest.fixture(params=["filesystem", "redis"])
def backend(request, lake_dir, configure):
    configure(cache_type=request.param)
    if request.param == "redis":
        configure(redis_url=request.getfixturevalue("redis_url"))
        cache.backend().clear()
    return request.param


def test_hit_after_the_first_call(backend):
    calls = []
    compute = lambda: calls.append(1) or {"rows": [1, 2]}  # noqa: E731
    assert cache.get_or_compute("q", {"a": 1}, {"service_requests": 1}, compute) == ({"rows": [1, 2]}, False)
    assert cache.get_or_compute("q", {"a": 1}, {"service_requests": 1}, compute) == ({"rows": [1, 2]}, True)
    assert len(calls) == 1


def test_miss_after_a_new_version(backend):
    cache.get_or_compute("q", {"a": 1}, {"service_requests": 1}, lambda: "v1")
    assert cache.get_or_compute("q", {"a": 1}, {"service_requests": 2}, lambda: "v2") == ("v2", False)


def test_different_parameters_are_different_entries(backend):
    cache.get_or_compute("q", {"a": 1}, {"service_requests": 1}, lambda: "one")
    assert cache.get_or_compute("q", {"a": 2}, {"service_requests": 1}, lambda: "two") == ("two", False)


def test_the_cache_is_shared_between_processes(backend):
    """A gunicorn worker is a process: what one computed, another reads."""
    import sys

    cache.get_or_compute("shared", {}, {"v": 1}, lambda: "from parent")
    code = "from portal import cache; print(cache.get_or_compute('shared', {}, {'v': 1}, lambda: 'from child')[1])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), check=True)
    assert out.stdout.strip() == "True"


def test_a_named_query_is_computed_once_per_version(lake_dir, tmp_path, configure):
    from etl.load import load_file
    from portal import queries
    from portal.reader import reader, reset_reader
    from tests.helpers import sr_row, write_csv

    configure(cache_type="filesystem")
    reset_reader()
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(3)]))
    reader().check_interval = 0
    first, hit1 = queries.cached("sr_volume", start="2025-03-01", end="2025-03-31")
    again, hit2 = queries.cached("sr_volume", start="2025-03-01", end="2025-03-31")
    assert (hit1, hit2) == (False, True) and again.rows == first.rows
    load_file("service_requests", write_csv(tmp_path / "b.csv", [sr_row(9)]))
    fresh, hit3 = queries.cached("sr_volume", start="2025-03-01", end="2025-03-31")
    assert not hit3 and sum(r[-1] for r in fresh.rows) == 4 and fresh.versions == {"service_requests": 2}
    reset_reader()


# --- the code fingerprint: every module whose code shapes an answer (issue 12, item 2) -------------

@pytest.fixture
def tree(tmp_path):
    """A copy of the code the fingerprint reads, to change as a deploy would."""
    copy = tmp_path / "tree"
    for folder in ("portal", "api", "lake", "datasets", "etl"):
        shutil.copytree(cache.ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(cache.ROOT / "config.py", copy / "config.py")
    return copy


@pytest.mark.parametrize("path, shapes_answers", [
    ("lake/read.py", True),  # how the lake is read
    ("datasets/rollups.py", True),  # how rollups are summed (Rollup.summed)
    ("datasets/kpis.yaml", True),
    ("config.py", True),
    ("api/rowquery.py", True),  # a cached rows page is the API's JSON
    ("portal/queries.py", True),
    ("etl/load.py", False),  # the write side: never imported by the read side
    ("lake/write.py", False),
])
def test_a_change_in_code_that_shapes_answers_changes_the_fingerprint(tree, path, shapes_answers):
    before = cache.code_fingerprint(tree)
    with (tree / path).open("a") as f:
        f.write("\n# changed by a deploy\n")
    assert (cache.code_fingerprint(tree) != before) is shapes_answers


def test_the_fingerprint_reads_the_imports_not_a_fixed_list_of_folders(tree):
    (tree / "lake" / "extra.py").write_text("X = 1\n")
    before = cache.code_fingerprint(tree)
    (tree / "lake" / "extra.py").write_text("X = 2\n")
    assert cache.code_fingerprint(tree) == before  # imported by nothing on the read side
    read = tree / "lake" / "read.py"
    read.write_text(read.read_text() + "\nfrom lake import extra  # noqa\n")
    before = cache.code_fingerprint(tree)
    (tree / "lake" / "extra.py").write_text("X = 3\n")
    assert cache.code_fingerprint(tree) != before


# --- one computation for simultaneous misses; a cache that is down is skipped (issue 13) -----------

STAMPEDE = """
import json, os, sys, threading, time
from portal import cache

threads, log = int(sys.argv[1]), sys.argv[2]
start = threading.Barrier(threads)
answers = []

def compute():
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\\n")
    time.sleep(0.5)  # the other misses arrive while this one computes
    return {"answer": 42}

def miss():
    start.wait()
    answers.append(cache.cached("stampede", compute))

pool = [threading.Thread(target=miss) for _ in range(threads)]
for t in pool:
    t.start()
for t in pool:
    t.join()
print(json.dumps({"values": [v for v, _ in answers], "hits": sum(h for _, h in answers)}))
"""


def test_a_thousand_simultaneous_misses_compute_the_answer_once(backend, tmp_path):
    """Two worker processes, 500 threads each, all missing one key at once: one computes, 999 wait
    for its value (the key's lock in Redis, an flock beside the filesystem cache)."""
    import json
    import sys

    log = tmp_path / "computed.log"
    procs = [subprocess.Popen([sys.executable, "-c", STAMPEDE, "500", str(log)], stdout=subprocess.PIPE, text=True,
                              env=child_env(), cwd=cache.ROOT) for _ in range(2)]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert len(log.read_text().splitlines()) == 1
    assert all(v == {"answer": 42} for r in results for v in r["values"])
    assert sum(len(r["values"]) for r in results) == 1000 and sum(r["hits"] for r in results) == 999


def test_a_miss_waits_for_a_held_lock_only_so_long_then_computes(backend, configure):
    """A holder that never finishes (hung, or killed with a Redis lock still set) delays the others
    by at most cache.lock_wait_s(), then they compute themselves."""
    configure(query_time_limit_ms=100)
    held = cache.backend().lock(cache.key("q", {}, {"v": 1}), ttl_s=60)
    try:
        assert cache.get_or_compute("q", {}, {"v": 1}, lambda: "mine") == ("mine", False)
    finally:
        held.release()
    assert cache.get_or_compute("q", {}, {"v": 1}, lambda: "again") == ("mine", True)


def test_a_failed_computation_releases_the_lock_and_keeps_nothing(backend):
    def fails():
        raise RuntimeError("query failed")

    with pytest.raises(RuntimeError):
        cache.cached("k", fails)
    assert cache.cached("k", lambda: "fine") == ("fine", False)
    assert cache.cached("not kept", lambda: "bad", keep=lambda v: v != "bad") == ("bad", False)
    assert cache.cached("not kept", lambda: "good") == ("good", False)


def test_setting_the_redis_url_is_enough_and_a_named_backend_still_wins(lake_dir, configure, redis_url):
    configure(cache_type=None, redis_url=redis_url)
    assert cache.backend().kind == "redis"
    configure(cache_type="filesystem")
    assert cache.backend().kind == "filesystem"
    configure(cache_type=None, redis_url=None)
    assert cache.backend().kind == "filesystem"


@pytest.fixture
def own_redis(lake_dir, configure):
    """A Redis this test may stop and start, as the cache (only PULSE_REDIS_URL set)."""
    server = RedisServer()
    configure(cache_type=None, redis_url=server.url, cache_retry_seconds=1)
    yield server
    server.stop()


def test_redis_stopped_the_answers_are_computed_uncached_and_readyz_is_degraded(own_redis):
    from portal import readiness

    assert cache.get_or_compute("q", {}, {"v": 1}, lambda: "first") == ("first", False)
    own_redis.stop()
    assert cache.get_or_compute("q", {}, {"v": 1}, lambda: "uncached") == ("uncached", False)
    assert cache.get_or_compute("q", {}, {"v": 1}, lambda: "uncached") == ("uncached", False)
    assert readiness.cache_check() == {"ok": False, "backend": "redis",
                                       "error": "unreachable: answers are computed uncached"}


def test_while_the_circuit_is_open_redis_is_not_asked(own_redis):
    """After one failure a worker skips the cache for PULSE_CACHE_RETRY_SECONDS: no request waits on
    a Redis that is not there."""
    store = cache.backend()
    own_redis.stop()
    asked = []
    real_get = store.inner.get
    store.inner.get = lambda key: asked.append(key) or real_get(key)
    try:
        cache.get_or_compute("q", {}, {"v": 2}, lambda: 1)
        assert len(asked) == 1 and not store.available()
        cache.get_or_compute("q", {}, {"v": 2}, lambda: 1)
        assert len(asked) == 1
    finally:
        store.inner.get = real_get


def test_redis_back_caching_resumes_by_itself(own_redis):
    import time

    from portal import readiness

    own_redis.stop()
    cache.get_or_compute("q", {}, {"v": 3}, lambda: "down")
    own_redis.start()
    assert readiness.cache_check()["ok"]
    deadline = time.monotonic() + 30  # the circuit retries after PULSE_CACHE_RETRY_SECONDS (1 s here)
    hits = []
    while not any(hits) and time.monotonic() < deadline:
        hits.append(cache.get_or_compute("q", {}, {"v": 3}, lambda: "up")[1])
        time.sleep(0.1)
    assert any(hits) and cache.get_or_compute("q", {}, {"v": 3}, lambda: "other") == ("up", True)


def test_a_lock_nested_on_a_stripe_its_own_thread_holds_does_not_wait_for_itself(lake_dir, configure):
    # test_public_routes_fuzz found a chart CSV answering 503: its HTTP answer held the flock of one of
    # the 256 stripes and the query cache inside it wanted a key on the same stripe, so it waited
    # lock_wait_s for its own thread and the read's deadline ran out.
    import hashlib
    import time

    from portal.cachestore import LOCK_STRIPES

    configure(cache_type="filesystem", query_time_limit_ms=3000)
    stripe = lambda k: int(hashlib.sha256(k.encode()).hexdigest()[:8], 16) % LOCK_STRIPES  # noqa: E731
    outer = "outer"
    inner = next(f"inner{i}" for i in range(100_000) if stripe(f"inner{i}") == stripe(outer))
    started = time.monotonic()
    value, _ = cache.cached(outer, lambda: cache.cached(inner, lambda: "answer")[0])
    assert value == "answer" and time.monotonic() - started < 1  # not lock_wait_s (4 s)
    assert cache.cached(inner, lambda: "recomputed") == ("answer", True)
