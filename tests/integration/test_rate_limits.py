"""Rate limits on what costs real work (issue 13: 1,000 /rows requests in a burst met no 429): past
a limit, 429 with Retry-After and a JSON message; answers from a cache and 304s are not counted;
the client is the socket's peer unless trusted proxies say otherwise. The app served in-process,
its counters in memory (Redis counters: tests/integration/test_redis_outage.py)."""
from __future__ import annotations

import itertools

import flask
import pytest

from etl.load import load_file
from portal.reader import reset_reader
from tests.conftest import RATE_LIMITS
from tests.helpers import sr_row, write_csv

SR = "/api/v1/datasets/service_requests"
_addresses = (f"10.13.{i // 250}.{i % 250 + 1}" for i in itertools.count())


@pytest.fixture
def client(lake_dir, tmp_path, configure):
    """A client with an address of its own: counters outlive a test in the app's memory."""
    configure(cache_type="filesystem", **{name: None for name in RATE_LIMITS})  # the defaults
    reset_reader()
    load_file("service_requests", write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(30)]))
    from app import server

    client = server.test_client()
    client.environ_base["REMOTE_ADDR"] = next(_addresses)
    yield client
    reset_reader()


def _limited(resp) -> None:
    assert resp.status_code == 429 and resp.is_json
    retry = int(resp.headers["Retry-After"])
    assert 1 <= retry <= 60 and resp.json["retry_after"] == retry and resp.json["status"] == 429
    assert resp.json["error"].startswith("too many requests: the limit is ")


def test_a_burst_of_1000_rows_requests_meets_429s_with_the_default_limits(client):
    answers = [client.get(f"{SR}/rows?limit={n}") for n in range(1, 1001)]  # 1,000 different pages
    assert {r.status_code for r in answers[:20]} == {200}  # 20 a second, 600 a minute (PULSE_RATE_LIMIT_ROWS)
    refused = [r for r in answers if r.status_code == 429]
    assert refused and len(refused) + sum(r.status_code == 200 for r in answers) == 1000
    for resp in refused:
        _limited(resp)


def test_past_the_limit_every_answer_is_a_json_429_until_the_window_ends(client, configure):
    configure(rate_limit_rows="50/minute")
    statuses = [client.get(f"{SR}/rows?limit={n}").status_code for n in range(1, 1001)]
    assert statuses[:50] == [200] * 50 and set(statuses[50:]) == {429}


def test_cached_answers_are_not_counted(client, configure):
    configure(rate_limit_rows="3/minute")
    pages = [client.get(f"{SR}/rows?limit=5") for _ in range(20)]  # one computed, 19 from the cache
    assert {r.status_code for r in pages} == {200}
    assert client.get(f"{SR}/rows?limit=6").status_code == 200
    assert client.get(f"{SR}/rows?limit=7").status_code == 200  # the third page computed
    _limited(client.get(f"{SR}/rows?limit=8"))


def test_304s_are_not_counted(client, configure):
    configure(rate_limit_exports="2/minute")
    etag = client.get(f"{SR}/export.csv").headers["ETag"]
    for _ in range(10):
        assert client.get(f"{SR}/export.csv", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"{SR}/export.csv?columns=request_id").status_code == 200
    _limited(client.get(f"{SR}/export.csv?columns=status"))


def test_rows_pages_and_open311_share_one_allowance(client, configure):
    configure(rate_limit_rows="2/minute")
    assert client.get(f"{SR}/rows?limit=5").status_code == 200
    assert client.get("/open311/v2/services.json").status_code == 200
    resp = client.get("/open311/v2/requests.json")
    assert resp.status_code == 429 and resp.headers["Retry-After"]
    assert resp.json[0]["code"] == 429  # Open311's error shape


ROUTING = {"output": ".._pages_content.children..._pages_store.data..",
           "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
           "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/data"},
                      {"id": "_pages_location", "property": "search", "value": ""}],
           "changedPropIds": ["_pages_location.pathname"], "state": []}


def _routing(pathname: str) -> dict:
    return {**ROUTING, "inputs": [{**ROUTING["inputs"][0], "value": pathname}, ROUTING["inputs"][1]]}


@pytest.mark.parametrize("setting, path", [
    ("rate_limit_queries", "/api/v1/charts/sr-backlog.csv?start=2025-03-01&end=2025-03-{day}"),
    ("rate_limit_queries", "/api/v1/kpis?as_of=2025-03-{day}"),
    ("rate_limit_queries", "/embed/sr-backlog?start=2025-03-01&end=2025-03-{day}"),  # issue 17
    ("rate_limit_callbacks", "/_dash-update-component"),
])
def test_each_group_has_its_own_setting(client, configure, setting, path):
    # Each request asks for something not asked before: an answer from the cache would not count.
    configure(**{setting: "2/minute"})
    pages = iter(["/data", "/data/service_requests", "/snow"])

    def ask(day: int):
        if path.startswith("/_dash"):
            return client.post(path, json=_routing(next(pages)))
        return client.get(path.format(day=day))

    assert [ask(day).status_code for day in (20, 21)] == [200, 200]
    _limited(ask(22))
    assert client.get(f"{SR}/rows?limit=5").status_code == 200  # another group's allowance is untouched


def test_what_costs_nothing_is_not_limited(client, configure):
    configure(**dict.fromkeys(RATE_LIMITS, "1/minute"))
    for path in ["/healthz", "/api/v1/version", "/api/v1/datasets", "/data.json", "/openapi.json"] * 3:
        assert client.get(path).status_code == 200, path


def test_an_empty_setting_turns_a_limit_off(client, configure):
    configure(rate_limit_rows="")
    assert {client.get(f"{SR}/rows?limit={n}").status_code for n in range(1, 101)} == {200}


def _echo_app(proxies: int, configure) -> flask.testing.FlaskClient:
    from web import limits

    configure(trusted_proxies=proxies)
    app = flask.Flask(__name__)
    app.get("/who")(lambda: flask.request.remote_addr)
    app.wsgi_app = limits.client_addresses(app.wsgi_app)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    return client


def test_behind_no_trusted_proxy_x_forwarded_for_is_ignored(lake_dir, configure):
    """A client cannot give itself a fresh allowance by sending the header itself."""
    who = _echo_app(0, configure).get("/who", headers={"X-Forwarded-For": "203.0.113.9"})
    assert who.text == "10.0.0.2"


def test_behind_one_trusted_proxy_the_client_is_the_address_it_appended(lake_dir, configure):
    who = _echo_app(1, configure).get("/who", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})
    assert who.text == "203.0.113.9"  # what nginx appended; the first entry is the client's own claim
