"""The security headers in a real browser (issue 13, "Headers"): every dashboard page runs under the
Content-Security-Policy with no violation and draws its charts, a tile base map draws under it too,
and a page on another origin can read the open data (ETag, X-Pulse-Version) but not a page nor
Dash's callbacks."""
from __future__ import annotations

import http.server
import json
import struct
import threading
import urllib.request
import zlib
from contextlib import contextmanager

import pytest

from tests.browser.conftest import draw_every_chart, settle, start_portal, stop_portal
from tests.helpers import ROUTER_CALLBACK

# path -> charts it draws
PAGES = {"/": 0, "/service-requests": 6, "/snow": 4, "/volunteers": 3, "/?mode=meeting": 0, "/data": 0,
         "/data/service_requests": 0, "/no-such-page": 0}
POST_CALLBACK = {"method": "POST", "headers": {"Content-Type": "application/json"}, "body": json.dumps(ROUTER_CALLBACK)}
RECORD_VIOLATIONS = """document.addEventListener('securitypolicyviolation', e => (window.__csp = window.__csp || [])
    .push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));"""


@contextmanager
def policed_page(browser, **context):
    """A page recording CSP violations and console errors (the browser reports a violation on the
    console too; a 404 document is the only error a page may show)."""
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "404" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page, errors
    finally:
        ctx.close()


def violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_runs_under_the_policy_and_draws_its_charts(browser, portal, path):
    with policed_page(browser) as (page, errors):
        resp = page.goto(portal.url + path)
        assert "'unsafe-inline'" not in resp.headers["content-security-policy"].split("script-src")[1].split(";")[0]
        settle(page)
        draw_every_chart(page)  # charts below the first screen draw when scrolled to (decision 0021)
        assert violations(page) == [] and errors == []
        plots = page.locator(".js-plotly-plot")
        assert plots.count() == PAGES[path]
        assert page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('g.trace'))")
        assert page.title().endswith("Pulse")  # the page-title callback, an inline script, ran


def test_plotly_s_download_as_png_runs_under_the_policy(browser, portal):
    with policed_page(browser, accept_downloads=True) as (page, errors):
        page.goto(portal.url + "/service-requests")
        settle(page)
        graph = page.locator(".js-plotly-plot").first
        graph.hover()
        with page.expect_download() as download:
            graph.locator(".modebar-btn[data-title='Download plot as a PNG']").click()
        assert download.value.suggested_filename.endswith(".png")
        assert violations(page) == [] and errors == []


def grey_png(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xdd" * 3 * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class _TileServer(http.server.ThreadingHTTPServer):
    """A raster tile server on another local port: one grey PNG for every {z}/{x}/{y}."""

    def __init__(self):
        self.requested: list[str] = []
        super().__init__(("127.0.0.1", 0), _Tile)


class _Tile(http.server.BaseHTTPRequestHandler):
    PNG = grey_png(256)

    def do_GET(self):
        self.server.requested.append(self.path)
        self.send_response(200)
        for name, value in (("Content-Type", "image/png"), ("Content-Length", str(len(self.PNG))),
                            ("Access-Control-Allow-Origin", "*")):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(self.PNG)

    def log_message(self, *args):
        pass


@contextmanager
def serving(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_tile_base_map_draws_under_the_policy(browser, tmp_path):
    # PULSE_MAP_TILE_URL: the policy lets the tiles come from that origin and MapLibre (full plotly.js) run
    # its blob: workers. Chromium asks before a page reaches another loopback port (Local Network Access);
    # the context grants it, as a user would (a city's tile server is public, where it never asks).
    tiles = _TileServer()
    with serving(tiles) as tile_url:
        server = start_portal(tmp_path / "data", PULSE_MAP_TILE_URL=tile_url + "/{z}/{x}/{y}.png")
        try:
            with policed_page(browser) as (page, errors):
                page.context.grant_permissions(["local-network-access"])
                resp = page.goto(server.url + "/service-requests")
                assert f"connect-src 'self' {tile_url}" in resp.headers["content-security-policy"]
                settle(page)
                draw_every_chart(page)  # the maps are below the first screen (decision 0021)
                page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot canvas.maplibregl-canvas').length === 2")
                page.wait_for_timeout(500)  # MapLibre asks for tiles after its first frame
                assert tiles.requested and all(p.endswith(".png") for p in tiles.requested)
                assert violations(page) == []
                assert [e for e in errors if "GL Driver" not in e] == []  # software WebGL's performance notes
        finally:
            stop_portal(server)


class _Notebook(http.server.BaseHTTPRequestHandler):
    """Another origin: an empty page a journalist's notebook script runs in."""

    def do_GET(self):
        body = b"<!DOCTYPE html><html lang='en'><title>notebook</title><p>notebook</p></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


READ = """async ([url, init]) => {
    try {
        const r = await fetch(url, init || {});
        const headers = {};
        for (const [k, v] of r.headers) headers[k] = v;
        return {status: r.status, headers, body: await r.text()};
    } catch (e) { return {refused: String(e)}; }
}"""


def test_a_page_on_another_origin_reads_the_open_data_and_nothing_else(browser, portal):
    sent = urllib.request.urlopen(portal.url + "/api/v1/version").headers  # what the server sends anyone
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Notebook)) as notebook:
        with policed_page(browser) as (page, _errors):
            page.goto(notebook + "/")
            version = page.evaluate(READ, [portal.url + "/api/v1/version"])
            assert version["status"] == 200 and '"datasets"' in version["body"]
            for name in ("ETag", "X-Pulse-Version", "Link", "Retry-After"):
                if name in sent:  # every such header the server sends, the script can read
                    assert name.lower() in version["headers"], (name, version["headers"])
            assert version["headers"]["etag"]

            # revalidating sends If-None-Match, which is not safelisted: the GET passes a preflight first
            again = page.evaluate(READ, [portal.url + "/api/v1/version",
                                         {"headers": {"If-None-Match": version["headers"]["etag"]}}])
            assert again["status"] == 304

            export = page.evaluate(READ, [portal.url + "/api/v1/datasets/snow_storms/export.csv"])
            assert export["status"] == 200 and export["headers"]["x-pulse-version"].isdigit()
            assert "snow_storms-v" in export["headers"]["content-disposition"]

            assert "refused" in page.evaluate(READ, [portal.url + "/_dash-update-component", POST_CALLBACK])
            assert "refused" in page.evaluate(READ, [portal.url + "/"])  # a page is not open data
            assert "refused" in page.evaluate(READ, [portal.url + "/api/v1/version", {"method": "POST"}])


def test_the_same_callback_post_from_the_portal_itself_is_answered(browser, portal):
    # the refusal above is the browser's CORS check, not a broken request
    with policed_page(browser) as (page, _errors):
        page.goto(portal.url + "/data")
        settle(page)
        answer = page.evaluate(READ, ["/_dash-update-component", POST_CALLBACK])
        assert answer["status"] == 200 and "_pages_content" in answer["body"]
