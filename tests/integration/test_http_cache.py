"""The HTTP cache (issue 13, "bytes, not work, for what a version fixes"; decision 0015): every answer
that is a function of (route, query, data versions, code) is stored once, already coded, with a strong
ETag per coding and the Cache-Control of its kind; a 304 for what the client holds; a new version, or
new code, is a new answer. Real lakes, real loads (the ETL in a subprocess), real cache backends."""
from __future__ import annotations

import gzip
import re

import brotli
import flask
import pytest

from etl.load import load_file
from tests.conftest import run_etl
from tests.helpers import sr_row, watch_cache, write_csv
from tests.integration.test_cache import redis_url  # noqa: F401  (a real redis-server, module-scoped)

CURRENT = "public, max-age=5, stale-while-revalidate=5"
PINNED = "public, max-age=31536000, immutable"
SR = "/api/v1/datasets/service_requests"
WINDOW = "start_date=2025-03-01&end_date=2025-03-30"
# Answers read from the data: each has a new ETag and a new body once a version lands.
DATA = ["/_dash-layout", "/api/v1/kpis", "/api/v1/kpis/sr_open_backlog?period=day", "/api/v1/datasets", SR,
        f"{SR}/rows?limit=5", "/api/v1/charts/sr-volume.csv", "/data.json", "/open311/v2/services.json",
        f"/open311/v2/requests.xml?{WINDOW}", "/open311/v2/requests/1001.json"]
# Answers of the code alone (page shells, Dash's dependencies, the API's descriptions, assets).
CODE = ["/", "/snow", "/data/service_requests", "/_dash-dependencies", "/openapi.json", "/api", "/datapackage.json",
        "/assets/pulse.css"]
PINNED_ROUTES = [f"{SR}/rows?limit=5&version=1", "/assets/pulse.css?m=1"]  # + a component suite, found in a shell
CODINGS = {"identity": "", "gzip": "gzip", "br": "gzip, deflate, br"}  # coding -> what a client sends


def _requests(i: int) -> list[dict]:
    return [sr_row(n, created=f"2025-03-{1 + n % 28:02d}T08:00:00-05:00") for n in range(i, i + 20)]


@pytest.fixture
def client(lake_dir, tmp_path):
    """service_requests v1, the portal's own app, and no answer stored by an earlier test."""
    from api import httpcache
    from app import server
    from portal.reader import reader, reset_reader

    load_file("service_requests", write_csv(tmp_path / "v1.csv", _requests(0)))
    reset_reader()
    reader().check_interval = 0  # notice a publish at once (in production, within half a second)
    httpcache.local.clear()
    yield server.test_client()
    reset_reader()


def _suite(client) -> str:
    """A fingerprinted script of Dash's, as the page shell links it."""
    html = client.get("/").get_data(as_text=True)
    return re.search(r'src="(/_dash-component-suites/[^"]+\.v[^"]+\.js)"', html).group(1)


def get(client, path: str, coding: str = "identity", **headers):
    return client.get(path, headers={"Accept-Encoding": CODINGS[coding], **headers})


@pytest.mark.parametrize("path", DATA + CODE + PINNED_ROUTES + ["suite"])
@pytest.mark.parametrize("coding", CODINGS)
def test_each_answer_has_a_strong_etag_per_coding_and_answers_304_for_it(client, path, coding):
    path = _suite(client) if path == "suite" else path
    first = get(client, path, coding)
    assert first.status_code == 200, first.data[:200]
    tag = first.headers["ETag"]
    key = re.fullmatch(r'"([0-9a-f]{24})(?::(gzip|br))?"', tag)
    assert key and (key.group(2) or "identity") == coding, tag
    # Dash's layout also varies by what may pin it (web/pagepins.py): the page's header, else its Referer
    vary = "Accept-Encoding, X-Pulse-Version, Referer" if path == "/_dash-layout" else "Accept-Encoding"
    assert first.headers.get("Content-Encoding", "identity") == coding and first.headers["Vary"] == vary
    for held in (tag, f"W/{tag}", f'"something-else", {tag}', "*"):  # If-None-Match compares weakly (RFC 9110)
        again = get(client, path, coding, **{"If-None-Match": held})
        assert again.status_code == 304 and again.data == b"", held
        assert again.headers["ETag"] == tag and again.headers["Vary"] == vary
        assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert get(client, path, coding, **{"If-None-Match": '"something-else"'}).status_code == 200
    if coding != "identity":  # the client holds a coding it no longer accepts: it gets the answer again
        assert get(client, path, "identity", **{"If-None-Match": tag}).status_code == 200


@pytest.mark.parametrize("path", ["/", "/_dash-layout", "/_dash-dependencies", "/api/v1/kpis", f"{SR}/rows?limit=5",
                                  "/api/v1/charts/sr-volume.csv", "/open311/v2/services.json", "/assets/pulse.css"])
def test_the_stored_codings_decode_to_the_answer_as_it_is(client, path):
    plain = get(client, path).data
    assert len(plain) > 0
    zipped, squeezed = get(client, path, "gzip"), get(client, path, "br")
    assert gzip.decompress(zipped.data) == plain and brotli.decompress(squeezed.data) == plain  # coded once, not twice
    assert int(squeezed.headers["Content-Length"]) == len(squeezed.data)
    assert len(squeezed.data) <= len(zipped.data) or len(plain) < 300


@pytest.mark.parametrize(("accept", "coding"), [
    ("", None), ("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br"), ("gzip;q=1, br;q=0.5", "gzip"),
    ("gzip;q=0, br;q=0", None), ("br;q=0, *", "gzip"), ("*", "br"), ("zstd, deflate", None),
])
def test_the_coding_follows_accept_encoding(client, accept, coding):
    resp = client.get("/api/v1/kpis", headers={"Accept-Encoding": accept})
    assert resp.headers.get("Content-Encoding") == coding


def test_cache_control_by_kind_of_answer(client, configure):
    for path in DATA + CODE:
        assert get(client, path).headers["Cache-Control"] == CURRENT, path
    for path in [*PINNED_ROUTES, _suite(client), f"{SR}/export.csv?version=1"]:
        assert get(client, path).headers["Cache-Control"] == PINNED, path
    assert get(client, f"{SR}/export.csv").headers["Cache-Control"] == CURRENT
    configure(live_poll_seconds=2)  # "current" lasts no longer than the pages' own poll
    assert get(client, "/api/v1/kpis").headers["Cache-Control"] == "public, max-age=2, stale-while-revalidate=2"
    configure(live_poll_seconds=60)  # nor longer than a few seconds
    assert get(client, "/api/v1/kpis").headers["Cache-Control"] == CURRENT


@pytest.mark.parametrize("path", ["/", "/api/v1/kpis", f"{SR}/rows?limit=5", "/data.json"])
def test_head_has_the_headers_of_get_and_no_body(client, path):
    full, head = get(client, path, "br"), client.head(path, headers={"Accept-Encoding": "br"})
    assert head.status_code == 200 and head.data == b""
    for name in ("ETag", "Cache-Control", "Vary", "Content-Encoding", "Content-Type", "Content-Length"):
        assert head.headers[name] == full.headers[name], name


def test_every_stored_answer_changes_when_a_version_lands(client, tmp_path):
    # issue 13: no stale answer after a publish. The load is the real ETL, in another process.
    before = {p: get(client, p, "br") for p in DATA + CODE}
    poll = client.get("/api/v1/version")
    assert client.get("/api/v1/version", headers={"If-None-Match": poll.headers["ETag"]}).status_code == 304
    closed = sr_row(1, status="Closed", closed="2025-03-20T09:00:00-04:00", created="2025-03-02T08:00:00-05:00")
    run_etl("load", "service_requests", str(write_csv(tmp_path / "v2.csv", [closed, *_requests(100)])), check=True)
    for path in DATA:
        after = get(client, path, "br", **{"If-None-Match": before[path].headers["ETag"]})
        assert after.status_code == 200, f"{path} answered 304 to the tag of the old version"
        assert after.headers["ETag"] != before[path].headers["ETag"] and after.data != before[path].data, path
    for path in CODE:  # they hold no data, so what a client has of them stays good
        assert get(client, path, "br").headers["ETag"] == before[path].headers["ETag"], path
    moved = client.get("/api/v1/version", headers={"If-None-Match": poll.headers["ETag"]})
    assert moved.status_code == 200 and moved.json["datasets"]["service_requests"]["version"] == 2
    assert moved.headers["ETag"].startswith('W/"') and moved.headers["ETag"] != poll.headers["ETag"]
    assert get(client, f"{SR}/rows?limit=5").json["version"] == 2
    assert get(client, "/open311/v2/services.json").headers["X-Pulse-Version"] == "2"


def test_the_version_poll_says_when_it_was_checked_under_one_weak_etag(client):
    # Its body carries checked_at (to the second), so its tag is weak: the same while the versions are.
    first = client.get("/api/v1/version")
    assert re.fullmatch(r'W/"[0-9a-f]{24}"', first.headers["ETag"]) and first.json["checked_at"]
    assert client.get("/api/v1/version", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


@pytest.mark.parametrize("path", ["/", "/_dash-layout", "/api/v1/kpis", f"{SR}/rows?limit=5"])
def test_no_stored_answer_is_served_across_a_code_fingerprint_change(client, monkeypatch, path):
    from portal import cache

    first = get(client, path, "br")
    seen = watch_cache(monkeypatch)
    monkeypatch.setattr(cache, "code_fingerprint", lambda root=None: "0" * 16)  # a deploy with other code
    after = get(client, path, "br", **{"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != first.headers["ETag"]
    assert [hit for _, _, hit in seen][-1] is False, "computed again, not read back"


def test_hits_and_304s_are_flagged_for_the_rate_limiter(client):
    # The contract with the rate limiter (issue 13): flask.g.pulse_cache_hit on what cost no work.
    def flagged(**headers):
        with client:
            resp = client.get("/api/v1/kpis", headers=headers)
            return resp, flask.g.get("pulse_cache_hit")

    first, hit = flagged()
    assert hit is False
    assert flagged()[1] is True
    not_modified, hit = flagged(**{"If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304 and hit is True


def test_the_shared_cache_answers_another_worker_with_the_same_bytes(client, monkeypatch):
    from api import httpcache

    first = get(client, "/api/v1/kpis", "br")
    httpcache.local.clear()  # another worker: nothing of its own yet
    seen = watch_cache(monkeypatch)
    again = get(client, "/api/v1/kpis", "br")
    assert seen == [("api_v1.kpis", seen[0][1], True)] and again.data == first.data
    assert again.headers["ETag"] == first.headers["ETag"]


def test_redis_as_the_shared_cache(client, configure, redis_url, monkeypatch):  # noqa: F811
    from api import httpcache
    from portal import cache

    configure(cache_type="redis", redis_url=redis_url)
    cache.backend().clear()
    first = get(client, "/_dash-layout", "gzip")
    httpcache.local.clear()
    seen = watch_cache(monkeypatch)
    assert get(client, "/_dash-layout", "gzip").data == first.data and seen[-1][2] is True


def test_with_the_null_cache_nothing_is_stored_but_etags_still_hold(client, configure, monkeypatch):
    configure(cache_type="null")
    first = get(client, f"{SR}/rows?limit=5")
    seen = watch_cache(monkeypatch)
    again = get(client, f"{SR}/rows?limit=5")
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert len(seen) == 0 or not any(hit for _, _, hit in seen)
    assert get(client, f"{SR}/rows?limit=5", **{"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_what_is_not_a_plain_answer_is_not_stored(client):
    for _ in range(2):
        bad = get(client, "/api/v1/kpis?period=decade", "br")
        assert bad.status_code == 400 and "ETag" not in bad.headers and "immutable" not in bad.headers.get("Cache-Control", "")
        page = get(client, "/no-such-page", "br")
        assert page.status_code == 404 and "ETag" not in page.headers
        assert get(client, "/api/v1/datasets/nope/rows").status_code == 404


def test_a_pinned_page_answers_410_once_retention_removes_its_version(client, configure, tmp_path):
    configure(keep_versions=2, keep_hours=0)
    load_file("service_requests", write_csv(tmp_path / "v2.csv", _requests(40)))
    stored = get(client, f"{SR}/rows?limit=5&version=1")
    assert stored.status_code == 200 and stored.headers["Cache-Control"] == PINNED
    load_file("service_requests", write_csv(tmp_path / "v3.csv", _requests(80)))
    run_etl("compact", "service_requests", "--retention-only", check=True)
    gone = get(client, f"{SR}/rows?limit=5&version=1")
    assert gone.status_code == 410 and gone.json["oldest"] == 2
    assert get(client, f"{SR}/rows?limit=5&version=1", **{"If-None-Match": stored.headers["ETag"]}).status_code == 410


def test_what_is_not_stored_is_still_compressed_and_only_it_varies(client):
    status = get(client, "/api/v1/status", "gzip")  # never cached (an operator's view), compressed per request
    assert status.headers["Content-Encoding"] == "gzip" and status.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(status.data).startswith(b"{")
    csv = get(client, f"{SR}/export.csv", "gzip", buffered=True)  # a type that is not compressed: no Vary
    assert "Content-Encoding" not in csv.headers and "Vary" not in csv.headers


def test_a_callback_answer_is_kept_by_its_body_and_changes_when_a_version_lands(client, tmp_path):
    # The storm morning: every visitor's page asks the same callbacks with the same bodies.
    from app import app
    from tests.helpers import page_body

    assert client.get("/_dash-dependencies").status_code == 200  # Dash fills its callback map on a first request
    def post(pathname: str):
        with client:
            resp = client.post("/_dash-update-component", json=page_body(app, pathname),
                               headers={"Accept-Encoding": "br"})
            return resp, flask.g.get("pulse_cache_hit")

    first, hit = post("/snow")
    assert first.status_code == 200 and hit is False
    again, hit = post("/snow")
    assert hit is True and again.data == first.data and again.headers["Content-Encoding"] == "br"
    assert again.headers["Cache-Control"] == "public, max-age=5" and "ETag" not in again.headers  # no 304 for a POST
    other, hit = post("/volunteers")  # another body: another answer
    assert hit is False and other.data != first.data
    run_etl("load", "service_requests", str(write_csv(tmp_path / "v2.csv", _requests(100))), check=True)
    after, hit = post("/snow")
    assert hit is False, "a new version is a new answer"


@pytest.mark.parametrize("held", ['""', 'W/""', '"", "x"', ","])
def test_a_malformed_if_none_match_is_no_match_not_an_error(client, held):
    # Found by schemathesis: werkzeug parses `""` to a None entry.
    for path in (f"{SR}/export.csv", "/api/v1/kpis"):
        assert client.get(path, headers={"If-None-Match": held}).status_code == 200, (path, held)
