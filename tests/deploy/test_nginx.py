"""deploy/nginx.conf in front of a real gunicorn: what a city gets from running the proxy we ship.

Each test names one promise of docs/deploy.md: the config is valid; answers pass through intact;
only what Pulse marks cacheable is cached; a cold answer goes upstream once however many ask at
once; a revalidation is a 304; slow clients and slowloris connections do not take the site offline;
static files are compressed.
"""
from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from deploy.nginx import marks, render, unprivileged
from tests.deploy.conftest import nginx_exe
from tests.servers import free_port

EXPORT = "/api/v1/datasets/service_requests/export.csv"


def download(n: int) -> str:
    """A download of most rows whose address no other request asks for (a cold cache entry)."""
    return f"{EXPORT}?created__gte=2001-01-01T00:00:{n % 60:02d}&created__lt=2099-{n // 60 % 12 + 1:02d}-01"
FROM_CACHE = {"HIT", "UPDATING", "STALE"}  # nginx's $upstream_cache_status for an answer the cache gave
ROUTES = ["/", "/snow", "/api/v1/version", "/api/v1/kpis", "/api/v1/datasets/service_requests/rows?limit=5",
          "/data.json", f"{EXPORT}?status=Closed", "/healthz"]


def get(url: str, headers: dict | None = None, timeout: float = 30):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def cacheable(headers: dict) -> bool:
    """What Pulse's Cache-Control lets a shared cache keep (RFC 9111 in the terms Pulse uses)."""
    cc = {d.strip().split("=")[0].lower(): d for d in headers.get("Cache-Control", "").split(",") if d.strip()}
    if {"no-store", "no-cache", "private"} & set(cc):
        return False
    age = cc.get("s-maxage") or cc.get("max-age")
    return age is not None and int(age.split("=")[1]) > 0


def test_the_shipped_config_is_valid_nginx(tmp_path):
    conf = unprivileged(tmp_path, "127.0.0.1:8050", f"127.0.0.1:{free_port()}")
    out = subprocess.run([nginx_exe(), "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "syntax is ok" in out.stderr


def test_every_marked_line_needs_a_value_and_every_value_a_marked_line():
    names = marks()
    assert {"listen", "upstream", "proxy_cache_path", "pid"} <= names
    with pytest.raises(KeyError, match="no value is given"):
        render({k: "x" for k in names - {"listen"}})
    with pytest.raises(KeyError, match="no longer marks"):
        render({k: "x" for k in names | {"server_name"}})


@pytest.mark.parametrize("path", ROUTES)
def test_answers_pass_through_unchanged(proxy, portal, path):
    direct = get(portal.url + path, {"Accept-Encoding": "identity"})
    proxied = get(proxy.url + path, {"Accept-Encoding": "identity"})
    assert proxied[0] == direct[0] == 200
    assert proxied[1].get("Content-Type") == direct[1].get("Content-Type")
    if path.startswith("/api/v1/datasets"):  # (data.json names the host it was asked on)
        assert proxied[2] == direct[2]
    assert proxied[1].get("X-Request-Id"), "nginx gives every request an id and passes it upstream"


@pytest.mark.parametrize("path", ROUTES)
def test_only_what_pulse_marks_cacheable_is_served_from_the_cache(proxy, path):
    # The page shell may be kept for one second only, and nginx counts freshness in whole seconds, so the
    # second of a pair may find the entry already stale: it is then still answered from the cache (UPDATING
    # or STALE, while nginx revalidates in the background), which is what this promise is about.
    first = get(proxy.url + path)
    second = get(proxy.url + path)
    if cacheable(first[1]):
        assert second[1]["X-Cache-Status"] in FROM_CACHE, (path, first[1].get("Cache-Control"))
    else:
        assert second[1]["X-Cache-Status"] in {"MISS", "BYPASS", "EXPIRED"}, (path, first[1].get("Cache-Control"))


def test_some_answer_is_cacheable_at_all(proxy):
    # Without one the micro-cache above would pass vacuously.
    assert any(cacheable(get(proxy.url + p)[1]) for p in ROUTES)


def test_a_cold_answer_goes_upstream_once_however_many_ask_at_once(proxy):
    url = proxy.url + download(1)
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: get(url), range(20)))
    assert {a[0] for a in answers} == {200}
    assert len({a[2] for a in answers}) == 1
    if not cacheable(answers[0][1]):
        pytest.fail(f"the export is not cacheable ({answers[0][1].get('Cache-Control')}): the lock cannot work")
    upstream = [e for e in proxy.log() if e["uri"] == download(1) and e["upstream"] not in ("", "-")]
    assert len(upstream) == 1, upstream


def test_a_revalidation_is_a_304_from_the_cache(proxy):
    url = proxy.url + download(2)
    status, headers, _ = get(url)
    assert status == 200 and headers.get("ETag")
    again = get(url, {"If-None-Match": headers["ETag"]})
    assert again[0] == 304
    assert again[2] == b""


def test_static_files_are_compressed(proxy):
    css = get(proxy.url + "/").__getitem__(2).decode()
    asset = next(part.split('"')[0] for part in css.split('href="')[1:] if ".css" in part.split('"')[0])
    for encoding in ("br", "gzip"):
        status, headers, _ = get(proxy.url + asset, {"Accept-Encoding": encoding})
        assert status == 200 and headers.get("Content-Encoding") == encoding, (asset, headers)


def _slow_reader(url_path: str, port: int, stop: threading.Event, statuses: list) -> None:
    """A client that asks for a download and then reads one byte a second."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET {url_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n".encode())
    statuses.append(s.recv(12).decode().split(" ")[-1])  # "HTTP/1.1 200"
    while not stop.is_set():
        s.recv(1)
        stop.wait(1)
    s.close()


def _slowloris(port: int, stop: threading.Event) -> None:
    """A client that sends its request headers one line every two seconds and never finishes."""
    s = socket.socket()
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /api/v1/version HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        while not stop.is_set():
            s.sendall(b"X-Slow: 1\r\n")
            stop.wait(2)
    except OSError:
        pass  # nginx dropped it (client_header_timeout): that is the point
    s.close()


def _version_answers(base: str, n: int = 10) -> list[int]:
    # The timeout is not a speed assertion: it says "answered at all while the slow clients wait".
    return [get(base + "/api/v1/version", timeout=20)[0] for _ in range(n)]


def test_slow_clients_do_not_hold_the_workers(proxy, portal):
    # 16 slow readers of distinct (uncached) downloads: twice gunicorn's 8 request slots.
    # They arrive one after another (each once the one before is being answered): at once, they would
    # meet gunicorn's download slots (PULSE_EXPORT_SLOTS), a limit of their own, with its own test.
    stop, statuses = threading.Event(), []
    try:
        for i in range(16):
            threading.Thread(target=_slow_reader, args=(download(10 + i), proxy.port, stop, statuses),
                             daemon=True).start()
            deadline = time.monotonic() + 60
            while len(statuses) <= i and time.monotonic() < deadline:
                time.sleep(0.05)
        assert statuses == ["200"] * 16, "every slow reader is receiving its download"
        assert _version_answers(proxy.url) == [200] * 10
        assert _version_answers(portal.url) == [200] * 10, "nginx has the downloads: gunicorn's slots are free"
    finally:
        stop.set()


def test_slowloris_connections_do_not_take_the_site_offline(proxy):
    stop = threading.Event()
    threads = [threading.Thread(target=_slowloris, args=(proxy.port, stop), daemon=True) for _ in range(32)]
    for t in threads:
        t.start()
    try:
        time.sleep(3)
        assert _version_answers(proxy.url) == [200] * 10
    finally:
        stop.set()


def _post(proxy, body: bytes) -> tuple[int, str | None, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    conn.request("POST", "/_dash-update-component", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, r.getheader("X-Cache-Status"), r.read()


def test_a_callback_is_answered_from_the_cache_by_its_body_and_only_by_it(proxy):
    from tests.helpers import ROUTER_CALLBACK

    snow = json.dumps({**ROUTER_CALLBACK, "inputs": [{**ROUTER_CALLBACK["inputs"][0], "value": "/snow"},
                                                     ROUTER_CALLBACK["inputs"][1]]}).encode()
    data = json.dumps(ROUTER_CALLBACK).encode()  # the /data page
    first = _post(proxy, snow)
    assert first[0] == 200 and first[1] in {"MISS", "EXPIRED"}
    again = _post(proxy, snow)
    assert again[1] == "HIT" and again[2] == first[2]
    other = _post(proxy, data)
    assert other[0] == 200 and other[1] != "HIT" and other[2] != first[2], "another body is another answer"
    assert [_post(proxy, b"{}")[1] for _ in range(2)] != ["HIT", "HIT"], "a refused body is never kept"



def test_with_gunicorn_down_nginx_answers_json_503_with_the_headers(tmp_path):
    from tests.deploy.conftest import start_nginx, stop_nginx

    px = start_nginx(tmp_path, free_port())  # nothing listens upstream
    try:
        status, headers, body = get(px.url + "/api/v1/version")
        assert status == 503 and headers["Content-Type"] == "application/json"
        assert headers["Retry-After"] == "5" and headers["X-Content-Type-Options"] == "nosniff"
        assert "try again" in json.loads(body)["error"]
    finally:
        stop_nginx(px)


@pytest.mark.parametrize("values", [700, 3_000], ids=["refused-by-gunicorn", "refused-by-nginx"])
def test_a_query_line_too_long_is_refused_in_json_whoever_refuses_it(proxy, values):
    """Over 8,190 bytes gunicorn refuses, over 16 KB nginx does: both answer JSON a SODA client reads."""
    statement = "SELECT * WHERE complaint_type IN (" + ", ".join(f"'t{i}'" for i in range(values)) + ")"
    url = proxy.url + "/resource/erm2-nwe9.json?$query=" + urllib.parse.quote(statement)
    status, headers, body = get(url)
    assert status == 414 and headers["Content-Type"] == "application/json"
    assert "8,190 bytes" in json.loads(body)["message"]
