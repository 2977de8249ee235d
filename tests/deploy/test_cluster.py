"""Several web nodes and one writer over an S3 object store, on a real cluster of parts (issue 14):
SeaweedFS (`weed server -s3`), one Redis, three gunicorn nodes on three ports with three local
cache folders, Debian's nginx balancing them, and a writer with its own folder — each a real
process started here, as an operator would run them (docs/deploy.md, several nodes).

Each test leaves the cluster whole for the next: a node killed is started again on its port, a
store stopped is started again.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.conftest import Proxy, start_nginx
from tests.helpers import sr_row, write_csv
from tests.servers import ROOT, ObjectStore, Portal, RedisServer, portal_env

BUCKET = "pulse-cluster"
LIVE_POLL_SECONDS = 5  # the dashboards' poll interval (PULSE_LIVE_POLL_SECONDS, its default)
DATASET = "service_requests"


def fetch(url: str, timeout: float = 30) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def version_at(base: str) -> int | None:
    status, body = fetch(f"{base}/api/v1/version")
    assert status == 200, body[:300]
    return json.loads(body)["datasets"][DATASET]["version"]


@dataclass
class Cluster:
    root: Path
    store: ObjectStore
    redis: RedisServer
    nodes: list[Portal]
    proxy: Proxy | None = None
    settings: dict = field(default_factory=dict)
    loads: int = 0

    def node_env(self, i: int) -> dict[str, str]:
        return {**portal_env(**self.settings, data_dir=self.root / f"node{i}", web_workers=2), **self.store.env}

    def writer_env(self, name: str = "writer", **extra: str) -> dict[str, str]:
        return {**portal_env(**self.settings, data_dir=self.root / name), **self.store.env, **extra}

    def start_node(self, i: int, port: int | None = None) -> Portal:
        return Portal(self.node_env(i), self.root / f"node{i}-logs", port=port)

    def etl(self, *args: str, writer: str = "writer", **extra: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "etl", *args], cwd=ROOT, env=self.writer_env(writer, **extra),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def batch(self, n: int = 3) -> Path:
        """A new CSV of `n` requests no earlier batch had."""
        self.loads += 1
        rows = [sr_row(10_000 * self.loads + i) for i in range(n)]
        return write_csv(self.root / f"batch-{self.loads}.csv", rows)

    def load(self, writer: str = "writer", **extra: str) -> dict:
        proc = self.etl("load", DATASET, str(self.batch()), "--json", writer=writer, **extra)
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        return json.loads(out.strip().splitlines()[-1])

    def versions(self) -> list[int | None]:
        return [version_at(node.url("")) for node in self.nodes]

    def pointer(self) -> int:
        """The current version as the store says (what the nodes must come to show)."""
        body = self.store.client().get_object(Bucket=BUCKET, Key=f"city/{DATASET}/CURRENT")["Body"].read()
        return int(body.decode().strip())

    def settled(self) -> int:
        """The store's current version, once every node shows it (a worker may answer from a pointer
        read up to three poll intervals old while it asks again: decision 0016)."""
        current = self.pointer()
        until(lambda: self.versions() == [current] * 3, LIVE_POLL_SECONDS)
        return current


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Cluster:
    root = tmp_path_factory.mktemp("cluster")
    store = ObjectStore(root / "seaweedfs")
    store.bucket(BUCKET)
    redis = RedisServer()
    c = Cluster(root, store, redis, [])
    c.settings = {"lake_url": f"s3://{BUCKET}/city", "redis_url": redis.url, "lake_poll_seconds": "0.5",
                  "live_poll_seconds": str(LIVE_POLL_SECONDS), "city": "nyc", "cache_type": "",
                  **dict.fromkeys(("rate_limit_rows", "rate_limit_exports", "rate_limit_queries", "rate_limit_callbacks"), "")}
    demo = c.etl("demo")
    _, err = demo.communicate(timeout=300)
    assert demo.returncode == 0, err[-3000:]
    try:
        c.nodes = [c.start_node(i) for i in range(3)]
        c.proxy = start_nginx(root / "nginx", [n.port for n in c.nodes])
        yield c
    finally:
        if c.proxy:
            c.proxy.proc.terminate()
            c.proxy.proc.wait(timeout=10)
        for node in c.nodes:
            node.stop()
        redis.stop()
        store.stop()


def until(check, seconds: float, every: float = 0.1):
    """Poll `check` until it returns something true; the elapsed seconds. Fails past `seconds`."""
    started = time.monotonic()
    while True:
        value = check()
        if value:
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(every)


def test_a_load_through_the_object_store_reaches_every_node_and_nginx_within_the_live_poll_interval(cluster):
    before = cluster.settled()
    assert before >= 1
    out = cluster.load()
    assert out["version"] == before + 1
    seen_everywhere = until(lambda: cluster.versions() == [out["version"]] * 3, LIVE_POLL_SECONDS)
    through_nginx = until(lambda: version_at(cluster.proxy.url) == out["version"], LIVE_POLL_SECONDS)
    print(f"published v{out['version']}: on every node after {seen_everywhere:.2f} s, through nginx after "
          f"{seen_everywhere + through_nginx:.2f} s")
    assert seen_everywhere + through_nginx <= LIVE_POLL_SECONDS


def test_a_pinned_version_answers_the_same_bytes_from_every_node(cluster):
    version = cluster.settled()
    for path in (f"/api/v1/datasets/{DATASET}/rows?version={version}&limit=500",
                 f"/api/v1/datasets/{DATASET}/export.csv?version={version}",
                 f"/api/v1/datasets/{DATASET}/rows?version={version}&limit=50&borough=BRONX"):
        answers = [fetch(node.url(path)) for node in cluster.nodes]
        assert {status for status, _ in answers} == {200}, [a[1][:200] for a in answers]
        assert len({body for _, body in answers}) == 1, path
        assert len(answers[0][1]) > 1000


def test_two_writers_on_two_hosts_racing_publish_version_n_exactly_once(cluster):
    parent = cluster.settled()
    writers = {name: cluster.etl("load", DATASET, str(cluster.batch()), "--json", writer=name,
                                 PULSE_TEST_HOLD_AT="files-uploaded") for name in ("writer-a", "writer-b")}
    markers = [cluster.root / name / "held-at-files-uploaded" for name in writers]
    until(lambda: all(m.exists() for m in markers), 120)  # both built version parent+1 from the same parent
    for m in markers:
        m.unlink()  # go, together
    results = {}
    for name, proc in writers.items():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        results[name] = (json.loads(out.strip().splitlines()[-1]), err)
    got = sorted(r["version"] for r, _ in results.values())
    assert got == [parent + 1, parent + 2]  # one won N; the other was refused N and loaded again on N+1
    loser = next(name for name, (r, _) in results.items() if r["version"] == parent + 2)
    assert "another writer published version" in results[loser][1]
    manifests = [k for k in cluster.store.keys(BUCKET, f"city/{DATASET}/versions/")]
    assert manifests.count(f"city/{DATASET}/versions/{parent + 1:08d}.json") == 1
    until(lambda: cluster.versions() == [parent + 2] * 3, LIVE_POLL_SECONDS)
    rows = json.loads(fetch(cluster.nodes[0].url(f"/api/v1/datasets/{DATASET}"))[1])
    assert rows["rows"] == 50_000 - 1 + 3 * cluster.loads  # the demo's rows and every batch once


@pytest.mark.parametrize("step", ["files-written", "files-uploaded", "manifest-written"])
def test_a_writer_killed_at_each_step_of_a_publish_leaves_the_previous_version_current_on_every_node(cluster, step):
    current = cluster.settled()
    proc = cluster.etl("load", DATASET, str(cluster.batch()), "--json", PULSE_TEST_PAUSE_AT=step)
    marker = cluster.root / "writer" / f"paused-at-{step}"
    until(lambda: marker.exists() or proc.poll() is not None, 120)
    assert proc.poll() is None, proc.stderr.read()[-2000:]
    proc.kill()
    proc.wait()
    marker.unlink()
    time.sleep(2.0)  # past every node's pointer poll, and the three intervals a busy worker may lag
    assert cluster.pointer() == current and cluster.versions() == [current] * 3
    for node in cluster.nodes:
        assert fetch(node.url(f"/api/v1/datasets/{DATASET}/rows?limit=5"))[0] == 200
    out = cluster.load()  # the next writer publishes; after a manifest was left, it first finishes that one
    assert out["version"] == current + (2 if step == "manifest-written" else 1)
    until(lambda: cluster.versions() == [out["version"]] * 3, LIVE_POLL_SECONDS)


def test_with_the_object_store_stopped_nodes_serve_what_they_hold_and_the_writer_publishes_nothing(cluster):
    current = cluster.settled()
    pages = ["/", "/service-requests", f"/api/v1/datasets/{DATASET}/rows?limit=20", "/api/v1/version"]
    cluster.store.stop()
    try:
        for node in cluster.nodes:
            for path in pages:
                assert fetch(node.url(path))[0] == 200, (node.port, path)
            ready = json.loads(fetch(node.url("/readyz"))[1])
            assert ready["status"] == "degraded" and ready["checks"]["store"]["ok"] is False, ready
        assert cluster.versions() == [current] * 3
        proc = cluster.etl("load", DATASET, str(cluster.batch()), "--json")
        _, err = proc.communicate(timeout=180)
        assert proc.returncode != 0 and "object store unavailable" in err, err[-2000:]
    finally:
        cluster.store.start()
    until(lambda: all(json.loads(fetch(n.url("/readyz"))[1])["status"] == "ready" for n in cluster.nodes), 30, every=0.5)
    assert cluster.versions() == [current] * 3  # nothing half-published
    out = cluster.load()
    assert out["version"] == current + 1
    until(lambda: cluster.versions() == [current + 1] * 3, LIVE_POLL_SECONDS)


def test_a_node_killed_under_traffic_costs_no_failed_request_through_nginx(cluster):
    failures, answered, stop = [], [], threading.Event()

    def client(n: int) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            path = (f"/api/v1/datasets/{DATASET}/rows?limit={1 + (n * 7919 + i) % 40}" if i % 2
                    else f"/api/v1/version?client={n}-{i}")  # fresh URLs: every request reaches a node
            status, body = fetch(cluster.proxy.url + path, timeout=30)
            (answered if status == 200 else failures).append((status, path, body[:200]))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    time.sleep(2)
    victim = cluster.nodes[1]
    victim.kill()
    killed_at = len(answered)
    time.sleep(4)
    stop.set()
    for t in threads:
        t.join(60)
    upstreams = [str(line.get("upstream")) for line in cluster.proxy.log()]
    cluster.nodes[1] = cluster.start_node(1, port=victim.port)
    assert not failures, failures[:5]
    assert len(answered) - killed_at > 20  # traffic went on after the kill
    victim_addr = f"127.0.0.1:{victim.port}"
    assert any(victim_addr in u for u in upstreams)  # the victim was in rotation (served, or failed and was passed over)
    retried = [u for u in upstreams if victim_addr in u and "," in u]
    print(f"{len(answered)} answered, {len(failures)} failed; {len(retried)} sent on after the victim failed: {retried[:3]}")


def test_a_wiped_node_refills_its_cache_and_serves_the_current_version(cluster):
    node = cluster.nodes[2]
    node.stop()
    shutil.rmtree(cluster.root / "node2")
    cluster.nodes[2] = node = cluster.start_node(2, port=node.port)
    current = cluster.pointer()
    until(lambda: version_at(node.url("")) == current, LIVE_POLL_SECONDS)
    for path in ("/", "/snow", f"/api/v1/datasets/{DATASET}/rows?limit=20"):
        assert fetch(node.url(path))[0] == 200
    refilled = list((cluster.root / "node2" / "lake" / DATASET / "data").glob("*.parquet"))
    assert refilled, "the node fetched the files its answers read"
    assert (cluster.root / "node2" / "lake" / DATASET / "CURRENT").read_text().strip() == str(current)
    # the maps' boundaries the demo wrote beside the lake are in the store for every node (lake.shared_file)
    assert "city/_shared/geo/boroughs.geojson" in cluster.store.keys(BUCKET, "city/_shared/")


def test_every_writer_runs_on_any_host_and_every_node_sees_its_work(cluster):
    """poll, watch, simulate and compact from a second host's folder: each publishes through the store,
    and pipeline health on every node shows the writers and loads of both hosts."""
    from datetime import UTC, datetime, timedelta

    from tests.open311_source import Open311Source, request

    host = "writer-2"
    before = cluster.settled()
    with Open311Source() as src:
        src.add(*(request(n, datetime.now(UTC).replace(microsecond=0)) for n in range(1, 4)))
        runs = [("poll", "open311", src.url, "--once", "--timeout", "2", "--backoff", "0.05")]
        drop = cluster.root / "drop"
        drop.mkdir(exist_ok=True)
        shutil.copy(cluster.batch(), drop / "311-drop.csv")
        runs += [("watch", str(drop), "--once", "--dataset", DATASET, "--quiet", "0.2"),
                 ("simulate", "--steps", "2", "--every", "0.5", "--speed", "7200",
                  "--start", (datetime.now(UTC) - timedelta(hours=6)).isoformat(timespec="seconds")),
                 ("compact", DATASET)]
        for args in runs:
            proc = cluster.etl(*args, "--json", writer=host)
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, (args[0], err[-3000:])
    after = cluster.load()["version"]  # and the first host's writer carries on from there
    assert after >= before + 4
    until(lambda: cluster.versions() == [after] * 3, LIVE_POLL_SECONDS)
    for node in cluster.nodes:
        status = json.loads(fetch(node.url("/api/v1/status"))[1])
        text = json.dumps(status)
        assert "poll" in text and "simulate" in text, text[:2000]
    ids = {r["request_id"] for r in json.loads(fetch(cluster.nodes[0].url(
        f"/api/v1/datasets/{DATASET}/rows?limit=1000&request_id__in=R0000001,R0000002,R0000003"))[1])["rows"]}
    assert ids == {"R0000001", "R0000002", "R0000003"}
