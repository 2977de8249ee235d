"""The storage contract over a real S3 object store (SeaweedFS, started here): the commit protocol
of docs/decisions/0016 — files uploaded, manifest N created only if absent, pointer moved only from
N-1 — and what a node's read-through copy does. In-process, so each step can be stopped exactly;
tests/deploy/test_cluster.py runs the same over real processes and nodes."""
from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

import config
import lake
import lake.write
from lake import mirror, store
from tests.helpers import sr_row, write_csv
from tests.servers import ObjectStore

BUCKET = "pulse-lake-tests"


@pytest.fixture(scope="module")
def object_store(tmp_path_factory):
    s = ObjectStore(tmp_path_factory.mktemp("seaweedfs"))
    s.bucket(BUCKET)
    yield s
    s.stop()


@pytest.fixture
def s3_lake(object_store, tmp_path, configure, monkeypatch):
    """A fresh prefix of the bucket as this test's lake, and tmp_path/node-a as this node's copy."""
    for k, v in object_store.env.items():
        monkeypatch.setenv(k, v)
    prefix = f"t-{uuid.uuid4().hex[:10]}"
    configure(data_dir=tmp_path / "node-a", lake_url=f"s3://{BUCKET}/{prefix}", city=None)
    mirror.forget()
    yield prefix
    mirror.forget()


def other_node(tmp_path, name: str = "node-b") -> config.Settings:
    """The same lake seen from another node: its own (empty) local folder."""
    return config.active().replace(data_dir=tmp_path / name)


def load(tmp_path, rows: list[dict], name: str = "batch.csv") -> dict:
    from etl.load import load_file

    return load_file("service_requests", write_csv(tmp_path / name, rows)).to_dict()


def keys(object_store, prefix: str, under: str) -> list[str]:
    return [k.split("/", 1)[1] for k in object_store.keys(BUCKET, f"{prefix}/{under}")]


def rows_of(version: int | None = None) -> list[tuple]:
    import duckdb

    m = lake.manifest("service_requests", version)
    return sorted(duckdb.sql(f"SELECT request_id, status FROM read_parquet({lake.file_paths('service_requests', m)!r})").fetchall())


def test_a_version_is_its_uploaded_files_its_manifest_created_once_and_the_pointer(s3_lake, object_store, tmp_path):
    out = load(tmp_path, [sr_row(i) for i in range(5)])
    assert out["version"] == 1
    stored = keys(object_store, s3_lake, "service_requests/")
    assert "service_requests/CURRENT" in stored and "service_requests/versions/00000001.json" in stored
    m = lake.manifest("service_requests")
    assert {f"service_requests/{f.path}" for f in m.files} <= set(stored)
    body = object_store.client().get_object(Bucket=BUCKET, Key=f"{s3_lake}/service_requests/CURRENT")["Body"].read()
    assert body == b"1\n"


def test_another_node_with_an_empty_folder_reads_the_same_version_byte_for_byte(s3_lake, tmp_path):
    load(tmp_path, [sr_row(i) for i in range(5)])
    here = rows_of()
    with config.using(other_node(tmp_path)):
        assert not (tmp_path / "node-b" / "lake").exists() or not any((tmp_path / "node-b" / "lake").rglob("*.parquet"))
        assert lake.current_version("service_requests") == 1
        assert rows_of() == here
        fetched = sorted(p.name for p in (tmp_path / "node-b" / "lake" / "service_requests" / "data").glob("*.parquet"))
    assert fetched == sorted(p.name for p in (tmp_path / "node-a" / "lake" / "service_requests" / "data").glob("*.parquet"))


def test_a_node_sees_a_new_version_within_the_poll_interval(s3_lake, tmp_path, configure):
    configure(lake_poll_seconds=0.5)
    load(tmp_path, [sr_row(i) for i in range(3)])
    with config.using(other_node(tmp_path)):
        assert lake.current_version("service_requests") == 1
    load(tmp_path, [sr_row(i, status="Closed", closed="2025-03-20T08:00:00-05:00") for i in range(3)], "b.csv")
    with config.using(other_node(tmp_path)):
        started = time.monotonic()
        while lake.current_version("service_requests") != 2:  # a stale answer at once, the pointer read beside
            assert time.monotonic() - started < 1.5
            time.sleep(0.05)
        assert ("1000", "Closed") in rows_of()


def test_two_writers_racing_for_version_n_exactly_one_publishes_it(s3_lake, tmp_path, monkeypatch):
    load(tmp_path, [sr_row(i) for i in range(3)])
    parent = lake.manifest("service_requests")
    both_uploaded = threading.Barrier(2, timeout=30)
    real_crash_point = lake.write.crash_point
    monkeypatch.setattr(lake.write, "crash_point",
                        lambda name: both_uploaded.wait() if name == "files-uploaded" else real_crash_point(name))
    settings = config.active()
    outcomes: dict[str, object] = {}

    def publish(run_id: str) -> None:
        with config.using(settings):
            try:
                outcomes[run_id] = lake.write.publish("service_requests", list(parent.files), {"run_id": run_id}, parent.version)
            except lake.VersionConflict as exc:
                outcomes[run_id] = exc

    threads = [threading.Thread(target=publish, args=(name,)) for name in ("writer-1", "writer-2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    won = [r for r, o in outcomes.items() if isinstance(o, lake.Manifest)]
    lost = [r for r, o in outcomes.items() if isinstance(o, lake.VersionConflict)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    mirror.forget()
    assert lake.current_version("service_requests") == 2
    assert lake.manifest("service_requests", 2).load["run_id"] == won[0]
    assert "published version 2 first" in str(outcomes[lost[0]])


def test_a_manifest_left_beyond_the_pointer_stays_unpublished_until_the_next_writer_finishes_it(s3_lake, tmp_path, monkeypatch):
    load(tmp_path, [sr_row(i) for i in range(3)])

    class Killed(BaseException):
        pass

    def die_after_manifest(name):
        if name == "manifest-written":
            raise Killed
    monkeypatch.setattr(lake.write, "crash_point", die_after_manifest)
    with pytest.raises(Killed):
        load(tmp_path, [sr_row(10), sr_row(11)], "dead.csv")
    monkeypatch.undo()
    with config.using(other_node(tmp_path)):
        assert lake.current_version("service_requests") == 1  # the pointer is what readers trust
        with pytest.raises(KeyError):
            lake.manifest("service_requests", 2)
    out = load(tmp_path, [sr_row(20)], "next.csv")
    assert out["version"] == 3  # version 2 (the dead writer's, whole) was finished first
    with config.using(other_node(tmp_path, "node-c")):
        ids = {r[0] for r in rows_of()}
    assert {"1010", "1011", "1020"} <= ids and len(ids) == 6


def test_the_pointer_never_moves_backwards(s3_lake, tmp_path):
    load(tmp_path, [sr_row(0)])
    _, stale_etag = mirror.read_pointer("service_requests")
    load(tmp_path, [sr_row(1)], "b.csv")
    load(tmp_path, [sr_row(2)], "c.csv")
    lake.write._move_pointer("service_requests", 1, 2, stale_etag)  # a writer that slept through two publishes
    assert mirror.read_pointer("service_requests")[0] == 3


def test_retention_deletes_the_objects_no_kept_version_references(s3_lake, object_store, tmp_path, configure, monkeypatch):
    from etl import compact

    monkeypatch.setattr(compact, "ORPHAN_GRACE_S", -5)  # in a real lake an unlisted object waits an hour
    configure(keep_versions=2, keep_hours=0, keep_daily=0)
    for i in range(4):
        load(tmp_path, [sr_row(0, status="Closed", closed=f"2025-03-2{i}T08:00:00-05:00")], f"{i}.csv")
    before = keys(object_store, s3_lake, "service_requests/data/")
    out = compact.compact("service_requests", merge=False)
    assert out["oldest"] == 3 and out["versions_pruned"] == 2 and out["files_deleted"] >= 1
    kept = {f"service_requests/{p}" for v in (3, 4) for p in lake.manifest("service_requests", v).stored_files()}
    after = keys(object_store, s3_lake, "service_requests/data/")
    assert set(after) == {k for k in kept if "/data/" in k} and len(after) < len(before)
    assert keys(object_store, s3_lake, "service_requests/versions/") == [
        "service_requests/versions/00000003.json", "service_requests/versions/00000004.json"]
    with config.using(other_node(tmp_path)), pytest.raises(lake.VersionPruned):
        lake.manifest("service_requests", 1)


def test_quarantined_rows_reach_every_node(s3_lake, tmp_path):
    from etl.load import rejects

    out = load(tmp_path, [sr_row(0), sr_row(1, created="not a time")])
    assert out["rejected"] == 1
    with config.using(other_node(tmp_path)):
        assert [r["line"] for r in rejects("service_requests", out["run_id"])] == [3]


def test_a_node_keeps_at_most_its_cache_size_least_recently_used_out(s3_lake, tmp_path):
    load(tmp_path, [sr_row(j) for j in range(50)])
    load(tmp_path, [sr_row(j, status="Closed", closed="2025-03-29T08:00:00-05:00") for j in range(50)], "b.csv")
    with config.using(other_node(tmp_path)):
        old = lake.file_paths("service_requests", lake.manifest("service_requests", 1))  # a pinned read
        current = lake.file_paths("service_requests", lake.manifest("service_requests"))
        assert not set(old) & set(current)  # every row was updated: version 2 rewrote the file
        for age, p in enumerate([*old, *current]):  # all unused for an hour, version 1's the longest
            os.utime(p, (time.time() - 3600 + age,) * 2)
        held, old_bytes = sum(os.path.getsize(p) for p in [*old, *current]), sum(os.path.getsize(p) for p in old)
        assert mirror.evict(limit=held - 1) == old_bytes
        assert not any(os.path.exists(p) for p in old) and all(os.path.exists(p) for p in current)
        assert rows_of(1) and all(os.path.exists(p) for p in old)  # fetched again on use


def test_loads_and_pipeline_health_are_shared_through_the_store(s3_lake, tmp_path):
    from lake import runlog, writerstate

    out = load(tmp_path, [sr_row(0)])
    writerstate.save("poll-test", {"key": "poll-test", "watermark": "2025-03-01T00:00:00Z"})
    with config.using(other_node(tmp_path)):
        assert out["run_id"] in {r["run_id"] for r in runlog.tail(1 << 20)}
        assert writerstate.load("poll-test")["watermark"] == "2025-03-01T00:00:00Z"
        assert "poll-test" in {s.get("key") for s in writerstate.every_state()}


def test_with_the_store_down_a_node_serves_what_it_holds_and_a_writer_publishes_nothing(s3_lake, object_store, tmp_path):
    load(tmp_path, [sr_row(i) for i in range(3)])
    held = rows_of()
    object_store.stop()
    try:
        mirror.forget()
        assert lake.current_version("service_requests") == 1
        assert rows_of() == held
        assert mirror.health()["ok"] is False
        with pytest.raises(store.StoreUnavailable):
            load(tmp_path, [sr_row(50)], "down.csv")
    finally:
        object_store.start()
    deadline = time.monotonic() + 30  # the node asks again RETRY_AFTER_FAILURE_S after a failure
    while not (lake.current_version("service_requests") == 1 and mirror.health()["ok"]):
        assert time.monotonic() < deadline, mirror.health()
        time.sleep(0.5)
    assert load(tmp_path, [sr_row(50)], "up.csv")["version"] == 2


def test_a_node_never_evicts_the_files_of_the_versions_it_serves(s3_lake, tmp_path):
    load(tmp_path, [sr_row(i) for i in range(50)])
    paths = lake.file_paths("service_requests", lake.manifest("service_requests"))
    for p in paths:
        os.utime(p, (time.time() - 3600,) * 2)
    assert mirror.evict(limit=0) == 0 and all(os.path.exists(p) for p in paths)


def test_an_answer_a_node_cannot_give_with_the_store_down_is_a_503_to_retry(s3_lake, object_store, tmp_path):
    from app import server

    load(tmp_path, [sr_row(i) for i in range(3)])
    load(tmp_path, [sr_row(9)], "b.csv")
    with config.using(other_node(tmp_path)):
        client = server.test_client()
        assert client.get("/api/v1/datasets/service_requests/rows?limit=5").status_code == 200
        object_store.stop()
        try:
            mirror.forget()
            resp = client.get("/api/v1/datasets/service_requests/rows?version=1&limit=5")
            assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
            assert "data store is unreachable" in resp.json["error"]
            assert client.get("/api/v1/datasets/service_requests/rows?limit=5").status_code == 200
        finally:
            object_store.start()


def test_files_beside_the_lake_reach_every_node(s3_lake, tmp_path):
    boundaries = tmp_path / "boroughs.geojson"
    boundaries.write_text('{"type": "FeatureCollection", "features": []}')
    lake.write.share("geo/boroughs.geojson", boundaries)
    target = tmp_path / "node-b" / "geo" / "boroughs.geojson"
    with config.using(other_node(tmp_path)):
        assert lake.shared_file("geo/boroughs.geojson", target)
        assert target.read_text() == boundaries.read_text()
        assert not lake.shared_file("geo/elsewhere.geojson", tmp_path / "node-b" / "geo" / "elsewhere.geojson")
