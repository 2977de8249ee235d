"""Security headers on every route, and CORS on the open data only (issue 13, "Headers", and the
hostile review's "no security headers on any of 26 paths checked" and "no CORS" findings).

Every kind of route is sampled: pages, Dash's own routes, assets, the API and its JSON errors,
Open311, the catalogs, streamed downloads, 304s, 404s and 405s. What only a browser shows (no CSP
violation on a real page, a script on another origin reading the API) is in tests/browser/.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import demo_lake_at
from tests.helpers import ROUTER_CALLBACK
from web import headers

ROOT = Path(__file__).resolve().parents[2]
SR = "/api/v1/datasets/service_requests"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from app import server

    with demo_lake_at(tmp_path_factory.mktemp("headers") / "data", scale=2000, seed=3):
        yield server.test_client()


def _script_url(client) -> str:
    page = client.get("/snow").get_data(as_text=True)
    return re.search(r'<script src="(/_dash-component-suites/[^"]+)"', page).group(1)


def _plotly_bundle() -> str:
    import app

    return "/assets/" + app.plotly_basic_bundle()


# (name, method, path or a function of the client giving it, request options, expected status)
ROUTES = [
    ("page", "GET", "/", {}, 200),
    ("page with a query", "GET", "/snow?hours=6", {}, 200),
    ("catalog page", "GET", "/data/service_requests", {}, 200),
    ("unknown page", "GET", "/no-such-page", {}, 404),
    ("dash layout", "GET", "/_dash-layout", {}, 200),
    ("dash dependencies", "GET", "/_dash-dependencies", {}, 200),
    ("dash callback", "POST", "/_dash-update-component", {"json": ROUTER_CALLBACK}, 200),
    ("dash script", "GET", _script_url, {}, 200),
    ("favicon", "GET", "/_favicon.ico", {}, 200),
    ("stylesheet", "GET", "/assets/pulse.css", {}, 200),
    ("asset script", "GET", "/assets/pulse.js", {}, 200),
    ("plotly bundle", "GET", lambda c: _plotly_bundle(), {}, 200),
    ("healthz", "GET", "/healthz", {}, 200),
    ("version", "GET", "/api/v1/version", {}, 200),
    ("kpis", "GET", "/api/v1/kpis?period=week", {}, 200),
    ("kpi bad parameter", "GET", "/api/v1/kpis?period=week&nope=1", {}, 400),
    ("dataset", "GET", SR, {}, 200),
    ("unknown dataset", "GET", "/api/v1/datasets/nope", {}, 404),
    ("rows", "GET", f"{SR}/rows?limit=5", {}, 200),
    ("rows HEAD", "HEAD", f"{SR}/rows?limit=5", {}, 200),
    ("streamed export", "GET", f"{SR}/export.csv", {}, 200),
    ("export bad filter", "GET", f"{SR}/export.csv?borough__gte=", {}, 400),
    ("chart csv", "GET", "/api/v1/charts/sr-backlog.csv", {}, 200),
    ("unknown API path", "GET", "/api/v9/nothing", {}, 404),
    ("open311 services", "GET", "/open311/v2/services.json", {}, 200),
    ("open311 xml error", "GET", "/open311/v2/requests.xml?start_date=yesterday", {}, 400),
    ("dcat", "GET", "/data.json", {}, 200),
    ("datapackage", "GET", "/datapackage.json", {}, 200),
    ("openapi", "GET", "/openapi.json", {}, 200),
    ("api docs page", "GET", "/api", {}, 200),
    ("method not allowed", "POST", "/data.json", {}, 405),
]


def _call(client, method, path, options):
    path = path(client) if callable(path) else path
    resp = client.open(path, method=method, **options)
    resp.get_data()  # a streamed body runs to its end
    return resp


@pytest.mark.parametrize("name, method, path, options, status", ROUTES, ids=[r[0] for r in ROUTES])
def test_every_route_carries_the_security_headers(client, name, method, path, options, status):
    resp = _call(client, method, path, options)
    assert resp.status_code == status
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    for feature in ("geolocation", "camera", "microphone", "payment", "usb"):
        assert f"{feature}=()" in resp.headers["Permissions-Policy"]
    csp = _directives(resp.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert len(resp.headers.getlist("Content-Security-Policy")) == 1


def test_a_304_carries_them_too(client):
    etag = client.get("/api/v1/version").headers["ETag"]
    resp = client.get("/api/v1/version", headers={"If-None-Match": etag})
    assert resp.status_code == 304
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("path", ["/", "/snow", "/data/service_requests", "/no-such-page", "/assets/pulse.js"])
def test_pages_and_scripts_get_the_page_policy(client, path):
    csp = _directives(client.get(path).headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"] and csp["connect-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["style-src"] == ["'self'", "'unsafe-inline'"]  # Dash 4 injects <style>, plotly style="" (decision 0012)
    assert csp["script-src"][0] == "'self'"
    assert all(s.startswith("'sha256-") for s in csp["script-src"][1:])
    assert "worker-src" not in csp  # no tile map: nothing runs a worker


@pytest.mark.parametrize("path", ["/api/v1/version", f"{SR}/export.csv", "/assets/pulse.css", "/_dash-layout"])
def test_what_is_not_a_page_may_load_nothing(client, path):
    csp = _directives(client.get(path).headers["Content-Security-Policy"])
    assert csp == {"default-src": ["'none'"], "frame-ancestors": ["'none'"], "base-uri": ["'none'"],
                   "form-action": ["'none'"]}


@pytest.mark.parametrize("path", ["/", "/service-requests", "/snow", "/volunteers", "/?mode=meeting", "/data",
                                  "/data/service_requests", "/no-such-page"])
def test_every_inline_script_a_page_carries_is_allowed_by_its_hash_and_nothing_else_inline(client, path):
    resp = client.get(path)
    allowed = set(_directives(resp.headers["Content-Security-Policy"])["script-src"])
    inline = inline_scripts(resp.get_data(as_text=True))
    assert any("_dashPlotlyJSURL" in s for s in inline)  # app.py's plotly.js loader is among them
    assert {_hash(s) for s in inline} <= allowed
    assert not allowed & {"'unsafe-inline'", "'unsafe-eval'", "'strict-dynamic'", "*", "data:"}


def test_a_fresh_worker_hashes_the_inline_script_dash_adds_at_its_first_request(tmp_path):
    # use_pages registers its page-title callback, an inline script, only when the first request
    # arrives: a policy computed at start-up would block it on every page of that worker
    out = _in_a_fresh_process(tmp_path, """
        from web import headers
        before = headers.page_policy(app.app)
        resp = app.server.test_client().get("/")
        print(json.dumps({"before": before, "csp": resp.headers["Content-Security-Policy"],
                          "html": resp.get_data(as_text=True)}))""")
    scripts = _directives(out["csp"])["script-src"]
    assert {_hash(s) for s in inline_scripts(out["html"])} <= set(scripts)
    assert len(scripts) == len(_directives(out["before"])["script-src"]) + 1
    assert any("document.title" in s for s in inline_scripts(out["html"]))


def test_a_tile_base_map_allows_its_tile_server_and_maplibre_s_workers(tmp_path):
    out = _in_a_fresh_process(tmp_path, """
        resp = app.server.test_client().get("/service-requests")
        print(json.dumps({"csp": resp.headers["Content-Security-Policy"], "html": resp.get_data(as_text=True)}))""",
                              PULSE_MAP_TILE_URL="https://{s}.tiles.example:8443/osm/{z}/{x}/{y}.png")
    csp = _directives(out["csp"])
    assert csp["img-src"] == ["'self'", "data:", "blob:", "https://*.tiles.example:8443"]
    assert csp["connect-src"] == ["'self'", "https://*.tiles.example:8443"]
    assert csp["worker-src"] == ["'self'", "blob:"]
    assert {_hash(s) for s in inline_scripts(out["html"])} <= set(csp["script-src"])
    assert not any("_dashPlotlyJSURL" in s for s in inline_scripts(out["html"]))  # the full bundle: no loader


@pytest.mark.parametrize("template, origin", [
    ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
    ("https://{s}.basemaps.example/{z}/{x}/{y}.png", "https://*.basemaps.example"),
    ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
    ("/tiles/{z}/{x}/{y}.png", ""),  # this origin: 'self' covers it
    ("javascript:alert(1)//{z}", ""),
    ("", ""),
])
def test_the_tile_origin_allowed_is_the_template_s_origin(template, origin):
    assert headers.tile_origin(template) == origin


# ---- CORS ----------------------------------------------------------------------------------------
OPEN_DATA = [
    ("version", "GET", "/api/v1/version", 200),
    ("kpis", "GET", "/api/v1/kpis", 200),
    ("catalog", "GET", "/api/v1/datasets", 200),
    ("data dictionary", "GET", SR, 200),
    ("rows", "GET", f"{SR}/rows?limit=3", 200),
    ("rows HEAD", "HEAD", f"{SR}/rows?limit=3", 200),
    ("download", "GET", f"{SR}/export.ndjson", 200),
    ("chart csv", "GET", "/api/v1/charts/sr-backlog.csv", 200),
    ("status", "GET", "/api/v1/status", 200),
    ("a 400", "GET", f"{SR}/rows?limit=abc", 400),
    ("a 404", "GET", "/api/v1/nothing-here", 404),
    ("open311", "GET", "/open311/v2/requests.json", 200),
    ("open311 400", "GET", "/open311/v2/requests.json?page=0", 400),
    ("dcat", "GET", "/data.json", 200),
    ("datapackage", "GET", "/datapackage.json", 200),
    ("openapi", "GET", "/openapi.json", 200),
]


@pytest.mark.parametrize("name, method, path, status", OPEN_DATA, ids=[r[0] for r in OPEN_DATA])
def test_any_origin_may_read_the_open_data(client, name, method, path, status):
    resp = _call(client, method, path, {"headers": {"Origin": "https://notebook.example"}})
    assert resp.status_code == status
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    exposed = {h.strip().lower() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "x-pulse-version", "content-disposition", "retry-after", "link"} <= exposed
    assert "Access-Control-Allow-Credentials" not in resp.headers
    assert "Origin" not in resp.headers.get("Vary", "")  # the same answer for every origin: caches keep one copy


def test_a_download_s_version_header_is_among_those_exposed(client):
    resp = client.get(f"{SR}/export.csv", headers={"Origin": "https://notebook.example"})
    assert resp.headers["X-Pulse-Version"] == "1"
    assert "X-Pulse-Version" in resp.headers["Access-Control-Expose-Headers"]


NOT_OPEN = [
    ("page", "GET", "/", {}),
    ("catalog page", "GET", "/data/service_requests", {}),
    ("dash layout", "GET", "/_dash-layout", {}),
    ("dash callback", "POST", "/_dash-update-component", {"json": ROUTER_CALLBACK}),
    ("asset", "GET", "/assets/pulse.js", {}),
    ("healthz", "GET", "/healthz", {}),
    ("api docs page", "GET", "/api", {}),
    ("a POST under /api/", "POST", "/api/v1/version", {}),
    ("a DELETE under /api/", "DELETE", "/api/v1/datasets/service_requests", {}),
    ("a POST to a catalog", "POST", "/data.json", {}),
]


@pytest.mark.parametrize("name, method, path, options", NOT_OPEN, ids=[r[0] for r in NOT_OPEN])
def test_nothing_else_is_readable_from_another_origin(client, name, method, path, options):
    resp = _call(client, method, path, {"headers": {"Origin": "https://evil.example"}, **options})
    assert not [h for h in resp.headers.keys() if h.lower().startswith("access-control-")]


@pytest.mark.parametrize("path", ["/api/v1/version", f"{SR}/rows", "/open311/v2/services.json", "/data.json"])
def test_a_get_that_revalidates_passes_its_preflight(client, path):
    resp = client.options(path, headers={"Origin": "https://notebook.example", "Access-Control-Request-Method": "GET",
                                         "Access-Control-Request-Headers": "if-none-match"})
    assert 200 <= resp.status_code < 300
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert {m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")} == {"GET", "HEAD"}
    assert "if-none-match" in resp.headers["Access-Control-Allow-Headers"].lower()
    assert int(resp.headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize("path, method", [("/api/v1/version", "POST"), (f"{SR}/rows", "DELETE"),
                                          ("/_dash-update-component", "POST"), ("/", "GET")])
def test_a_preflight_for_anything_else_is_refused(client, path, method):
    resp = client.options(path, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": method,
                                         "Access-Control-Request-Headers": "content-type"})
    assert not [h for h in resp.headers.keys() if h.lower().startswith("access-control-")]


# ---- helpers -------------------------------------------------------------------------------------
def _directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, *values = part.split()
        assert name not in out, f"{name} twice in {policy}"
        out[name] = values
    return out


def inline_scripts(html: str) -> list[str]:
    """The bodies of the page's scripts a browser runs inline (not src=, not JSON data)."""
    return [body for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
            if "src=" not in attrs and "application/json" not in attrs]


def _hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def _in_a_fresh_process(tmp_path, code: str, **env) -> dict:
    """Run `code` after `import app` in a new Python (a fresh gunicorn worker, in effect)."""
    from tests.conftest import child_env

    environ = {**child_env(), "PULSE_DATA_DIR": str(tmp_path / "data"), **env}
    proc = subprocess.run([sys.executable, "-c", f"import json\nimport app\n{textwrap.dedent(code)}"], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", ["/embed/no-such-chart", "/embed/"])
def test_only_the_embed_routes_may_be_framed_by_another_site(client, path):
    """Whatever an /embed/ route answers (here a 404 page, before any embed exists) may sit in a
    partner's iframe; the same response elsewhere may not (the test above)."""
    resp = client.get(path)
    assert "X-Frame-Options" not in resp.headers
    assert _directives(resp.headers["Content-Security-Policy"])["frame-ancestors"] == ["*"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
