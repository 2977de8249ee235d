"""GET /healthz answers 200 with the current data versions (issue 2); GET /readyz says whether the
worker can serve well (issue 13)."""
import json
import os

import pytest

from tests.helpers import sr_row, write_csv


def test_healthz_reports_versions(lake_dir, tmp_path):
    from app import server
    from etl.load import load_file

    client = server.test_client()
    assert client.get("/healthz").json["datasets"]["service_requests"] is None
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(1)]))
    body = client.get("/healthz").json
    assert body["status"] == "ok" and body["datasets"]["service_requests"]["version"] == 1


def test_home_page_is_served_in_english(lake_dir):
    from app import server

    page = server.test_client().get("/")
    assert page.status_code == 200 and b'<html lang="en">' in page.data


# --- /readyz: lake readable, cache reachable, writers alive (issue 13) --------------------------------

def _readyz(lake_dir):
    from app import server

    resp = server.test_client().get("/readyz")
    assert resp.headers["Cache-Control"] == "no-store"
    return resp.status_code, resp.json


@pytest.fixture
def loaded(lake_dir, tmp_path):
    from etl.load import load_file

    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(1)]))
    return lake_dir


def test_ready_when_the_lake_reads_and_the_cache_answers(loaded):
    status, body = _readyz(loaded)
    assert status == 200 and body["status"] == "ready"
    assert body["checks"]["lake"]["datasets"]["service_requests"] == {"version": 1}
    assert body["checks"]["lake"]["datasets"]["snow_storms"] == {"version": None}  # not loaded yet: nothing broken
    assert body["checks"]["cache"] == {"ok": True, "backend": "filesystem"}
    assert body["checks"]["writers"] == {"ok": True}


def test_not_ready_without_a_lake(lake_dir):
    """A data folder not mounted looks like this: no traffic should come here."""
    status, body = _readyz(lake_dir)
    assert status == 503 and body["status"] == "not_ready" and not body["checks"]["lake"]["ok"]


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "versions" / "00000001.json").unlink(), "CURRENT names version 1, whose manifest is missing"),
    (lambda d: (d / "versions" / "00000001.json").write_text("{not json"), "the manifest of version 1 cannot be read"),
    (lambda d: (d / "CURRENT").write_text("one"), "CURRENT does not hold a version number"),
])
def test_not_ready_when_a_dataset_s_current_version_cannot_be_read(loaded, damage, message):
    damage(loaded / "lake" / "service_requests")
    status, body = _readyz(loaded)
    assert status == 503 and body["checks"]["lake"]["datasets"]["service_requests"]["error"] == message
    assert str(loaded) not in json.dumps(body)  # the product names no path of the machine


def test_degraded_not_down_when_the_cache_is_unreachable(loaded, configure):
    from tests.servers import free_port

    configure(cache_type=None, redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    status, body = _readyz(loaded)
    assert status == 200 and body["status"] == "degraded"
    assert body["checks"]["cache"] == {"ok": False, "backend": "redis", "error": "unreachable: answers are computed uncached"}


def test_degraded_when_a_writer_feeding_a_dataset_is_dead(loaded):
    import socket
    import subprocess
    import sys

    from lake import writerstate

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    writerstate.save("watch-drop", {"kind": "watch", "name": "drop", "state": "running", "host": socket.gethostname(),
                                    "pid": int(gone.stdout), "datasets": {"service_requests": {}}})
    status, body = _readyz(loaded)
    assert status == 200 and body["status"] == "degraded"
    assert body["checks"]["writers"] == {"ok": False, "failing": {"service_requests": ["drop"]},
                                         "error": "a real-time writer is dead or overdue"}


def test_degraded_when_a_current_version_s_files_cannot_be_read(loaded, tmp_path):
    """Decision 0027: the reader serves the version before; /readyz says so, naming the version, no path."""
    from etl.load import load_file
    from lake import file_paths, manifest
    from portal.reader import reader, reset_reader

    reset_reader()
    assert reader().versions()["service_requests"] == 1
    load_file("service_requests", write_csv(tmp_path / "b.csv", [sr_row(2)]))
    new = set(file_paths("service_requests", manifest("service_requests", 2))) - set(
        file_paths("service_requests", manifest("service_requests", 1)))
    for path in new:  # version 2's own file, lost
        os.remove(path)
    reader().versions(at_least={"service_requests": 2})
    status, body = _readyz(loaded)
    assert status == 200 and body["status"] == "degraded"
    assert body["checks"]["reader"] == {"ok": False, "datasets": {"service_requests": 2},
                                        "error": "a current version's files cannot be read: the version before it, if any, is served"}
    assert str(loaded) not in json.dumps(body)
    reset_reader()
