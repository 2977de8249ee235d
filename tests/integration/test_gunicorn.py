"""The portal as production runs it (issue 13): `gunicorn app:server --config gunicorn.conf.py`, used
by the Procfile and `make run`; JSON logs sharing each request's id; a worker SIGKILLed in the middle
of a request is replaced by the master and a retried request succeeds. Real gunicorn processes."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import quote

import psutil
import pytest

import config
from etl.load import load_file
from tests.conftest import ROOT, child_env
from tests.helpers import sr_row, write_csv
from tests.servers import Portal, free_port, portal_env

ROWS = 60_000  # a CSV export of ~9 MB: more than the socket buffers hold, so its worker is mid-request


def _conf(**env: str) -> dict:
    """The values gunicorn.conf.py sets, read in a process with these variables."""
    code = "import json, runpy; c = runpy.run_path('gunicorn.conf.py'); print(json.dumps({k: c[k] for k in " \
           "('workers', 'threads', 'worker_class', 'timeout', 'graceful_timeout', 'keepalive', 'max_requests', " \
           "'max_requests_jitter', 'preload_app', 'bind')}))"
    base = {k: v for k, v in child_env().items() if k not in ("WEB_CONCURRENCY", "PULSE_WEB_WORKERS", "PULSE_WEB_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, **env}, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def test_workers_and_threads_come_from_the_cpu_count_unless_set():
    cpus = len(os.sched_getaffinity(0))
    conf = _conf()
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (max(2, cpus), 4, "gthread")
    assert _conf(WEB_CONCURRENCY="3")["workers"] == 3  # the PaaS convention
    conf = _conf(WEB_CONCURRENCY="3", PULSE_WEB_WORKERS="5", PULSE_WEB_THREADS="8")
    assert (conf["workers"], conf["threads"]) == (5, 8)  # Pulse's settings win


def test_timeouts_restarts_and_preloading_are_set_for_production():
    conf = _conf(PULSE_HOST="0.0.0.0", PULSE_PORT="9000")
    assert conf["max_requests"] > 0 and 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["keepalive"] < conf["timeout"] and conf["graceful_timeout"] > 0 and conf["preload_app"] is True
    assert conf["bind"] == "0.0.0.0:9000"


def test_the_procfile_and_make_run_serve_with_this_configuration():
    procs = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert "gunicorn app:server --config gunicorn.conf.py" in procs["web"]
    run = subprocess.run(["make", "-n", "-o", "install", "run", "PULSE_SIMULATE=0"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert "gunicorn app:server --config gunicorn.conf.py" in run


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    data = tmp_path_factory.mktemp("gunicorn") / "data"
    with config.using(config.active().replace(data_dir=data, city=None, cache_type="filesystem")):
        load_file("service_requests", write_csv(data.parent / "sr.csv", [sr_row(i) for i in range(ROWS)]))
        yield data


@pytest.fixture
def portal(lake, tmp_path, configure):
    configure(data_dir=lake, city=None, cache_type="filesystem")
    server = Portal(portal_env(), tmp_path / "logs")
    yield server
    server.stop()


def _wait_for(predicate, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while not (found := predicate()):
        if time.monotonic() > deadline:
            return found
        time.sleep(0.1)
    return found


def _log_line(portal: Portal, name: str, **match) -> dict | None:
    return _wait_for(lambda: next((line for line in portal.log_lines(name)
                                   if all(line.get(k) == v for k, v in match.items())), None), 10)


def test_an_answer_s_request_id_is_in_its_header_its_access_line_and_the_app_s_own_lines(lake, tmp_path, configure):
    configure(data_dir=lake, city=None, cache_type=None, redis_url=f"redis://127.0.0.1:{free_port()}/0")  # no Redis there
    portal = Portal(portal_env(), tmp_path / "logs")
    try:
        status, headers, body = portal.get("/readyz", {"X-Request-Id": "storm-0001-abcd"})
        assert status == 200 and json.loads(body)["status"] == "degraded"
        assert headers["X-Request-Id"] == "storm-0001-abcd"
        access = _log_line(portal, "access.log", request_id="storm-0001-abcd")
        assert access and (access["path"], access["method"], access["status"]) == ("/readyz", "GET", 200)
        assert isinstance(access["duration_ms"], int) and access["bytes"] == len(body)
        app_line = _log_line(portal, "error.log", logger="pulse.readiness")
        assert app_line and app_line["request_id"] == "storm-0001-abcd" and app_line["level"] == "WARNING"

        _, headers, _ = portal.get("/healthz", {"X-Request-Id": "\" forged=\"yes"})
        made = headers["X-Request-Id"]  # an id nobody can forge lines with is replaced by a new one
        assert len(made) == 32 and int(made, 16) >= 0 and _log_line(portal, "access.log", request_id=made)
    finally:
        portal.stop()


def _stalled_download(portal: Portal) -> tuple[socket.socket, bytes]:
    """A download whose client stops reading after its first bytes: the worker serving it is stuck
    writing, i.e. in the middle of the request."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", portal.port))
    sock.sendall(b"GET /api/v1/datasets/service_requests/export.csv HTTP/1.1\r\nHost: pulse\r\nConnection: close\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got or len(got) < 2000:
        got += sock.recv(4096)
    return sock, got


def _serving(portal: Portal, sock: socket.socket) -> int | None:
    """The worker holding this client's connection."""
    port = sock.getsockname()[1]
    for pid in portal.workers():
        if any(c.raddr and c.raddr.port == port for c in psutil.Process(pid).net_connections("tcp")):
            return pid
    return None


def test_a_worker_killed_mid_request_is_replaced_and_a_retried_request_succeeds(portal):
    status, _, whole = portal.get("/api/v1/datasets/service_requests/export.csv")
    assert status == 200 and whole.count(b"\r\n") == ROWS + 1
    before = portal.workers()
    assert len(before) == 2

    sock, got = _stalled_download(portal)
    victim = _wait_for(lambda: _serving(portal, sock), 10)
    assert victim in before
    os.kill(victim, signal.SIGKILL)
    sock.settimeout(30)
    try:
        while chunk := sock.recv(1 << 16):
            got += chunk
    except ConnectionResetError:
        pass
    sock.close()
    assert len(got) < len(whole)  # that one request was lost with its worker...

    replaced = _wait_for(lambda: len(portal.workers()) == 2 and victim not in portal.workers())
    assert replaced, f"workers after the kill: {portal.workers()}"
    assert before - {victim} <= portal.workers()  # ...the other worker went on serving
    status, _, again = portal.get("/api/v1/datasets/service_requests/export.csv")
    assert status == 200 and again == whole  # ...and the retry is answered whole


def _raw(portal: Portal, request: bytes) -> tuple[int, dict, bytes]:
    """Send bytes as they are (http.client refuses what a hostile client sends) and read the answer."""
    with socket.create_connection(("127.0.0.1", portal.port), timeout=10) as sock:
        sock.sendall(request)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_a_query_line_longer_than_gunicorn_takes_is_refused_in_json_naming_the_limit(portal):
    """A 100 KB `$query` in a GET (sodapy, soda-js and curl all send it): gunicorn refuses it before
    Flask, and its answer is JSON with a `message`, as the SODA clients read refusals."""
    statement = "SELECT * WHERE complaint_type IN (" + ", ".join(f"'type {i}'" for i in range(9_000)) + ")"
    line = f"GET /resource/erm2-nwe9.json?$query={quote(statement)} HTTP/1.1\r\nHost: pulse\r\n\r\n".encode()
    assert len(line) > 100_000
    status, headers, body = _raw(portal, line)
    assert status == 414 and headers["Content-Type"] == "application/json"
    answer = json.loads(body)
    assert answer["status"] == 414 and "8,190 bytes" in answer["message"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_query_line_under_the_limit_reaches_the_soql_checks(portal):
    """Between gunicorn's old default (4,094) and its ceiling (8,190), a long statement is Pulse's to
    judge: here a valid IN list of 300 values answers."""
    statement = "SELECT count(*) WHERE complaint_type IN (" + ", ".join(f"'type {i}'" for i in range(300)) + ")"
    path = f"/resource/erm2-nwe9.json?$query={quote(statement)}"
    assert 4_094 < len(path) < 8_190
    status, _, body = portal.get(path)
    assert status == 200 and json.loads(body) == [{"count": "0"}]


def test_a_malformed_request_is_refused_in_json_too(portal):
    status, headers, body = _raw(portal, b"GET / HTTP/1.1\r\nHost: pulse\r\nBad Header\r\n\r\n")
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["message"].startswith("The request is not valid HTTP")
