"""The query cache is shared across processes and keyed by data version: a hit after the first call,
a miss after a new version (issue 3). Real flask-caching backends: filesystem and a real redis-server."""
import shutil
import socket
import subprocess
import time

import pytest

from portal import cache
from tests.conftest import child_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (make test installs it from Debian's packages)")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


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
