"""Share and embed (issue 17, items 1-4): embed pages, version pins through the one read path, the share
links, oEmbed and social previews. Real lakes, the portal's own app, real Chromium for the images
(kaleido). The browser side (framing from another origin, resizing, live refresh, axe) is in
tests/browser/test_embeds_in_a_browser.py."""
from __future__ import annotations

import io
import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import flask
import pytest
from PIL import Image

import lake
from etl.load import load_file
from tests.conftest import demo_lake_at, run_etl
from tests.helpers import sr_row, write_csv

DASHBOARDS = ["/", "/service-requests", "/snow", "/volunteers"]
OEMBED_REQUIRED = ("version", "type", "html", "width", "height")  # oembed.com 2.3.4 and 2.3.4.4 (rich)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import app  # noqa: F401  (the Dash app must exist before the pages register)

    with demo_lake_at(tmp_path_factory.mktemp("embed") / "data", scale=2000, seed=3) as data:
        yield data


@pytest.fixture
def client(demo):
    from app import server

    return server.test_client()


def _requests(first: int, n: int = 30) -> list[dict]:
    return [sr_row(i, created=f"2025-03-{1 + i % 28:02d}T08:00:00-05:00") for i in range(first, first + n)]


@pytest.fixture
def two_versions(lake_dir, tmp_path):
    """service_requests v1 (30 requests) then v2 (30 more): the chart CSV of v1 is captured while current."""
    from app import server
    from portal.reader import reader, reset_reader

    load_file("service_requests", write_csv(tmp_path / "v1.csv", _requests(0)))
    reset_reader()
    reader().check_interval = 0
    client = server.test_client()
    v1 = client.get("/api/v1/charts/sr-volume.csv").data
    load_file("service_requests", write_csv(tmp_path / "v2.csv", _requests(30)))
    yield client, v1
    reset_reader()


# --- version pins (issue 17 item 2; issue 15 item 5) --------------------------------------------

def test_a_pinned_chart_csv_is_what_the_chart_showed_when_that_version_was_current(two_versions):
    client, v1 = two_versions
    current = client.get("/api/v1/charts/sr-volume.csv")
    pinned = client.get("/api/v1/charts/sr-volume.csv?version=1")
    assert current.data != v1, "the second version changes the chart"
    assert pinned.status_code == 200 and pinned.data == v1
    assert "service_requests-v1" in pinned.headers["Content-Disposition"]
    assert pinned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/api/v1/charts/sr-volume.csv?version=service_requests:1").data == v1
    assert client.get("/api/v1/charts/sr-volume.csv?version=service_requests:2").data == current.data


def test_a_pinned_embed_reads_that_version_and_says_so(two_versions):
    client, _ = two_versions
    page = client.get("/embed/sr-volume?version=1").get_data(as_text=True)
    assert "service_requests v1 (pinned to these versions)" in page and "Pause live updates" not in page
    assert "30 requests were created" in page
    live = client.get("/embed/sr-volume").get_data(as_text=True)
    assert "service_requests v2 (live" in live and "60 requests were created" in live


@pytest.mark.parametrize("url, status, words", [
    ("/api/v1/charts/sr-volume.csv?version=9", 404, "published version of service_requests (1 to 2)"),
    ("/api/v1/charts/sr-volume.csv?version=snow_storms:1", 400, "reads service_requests, not 'snow_storms'"),
    ("/embed/sr-volume?version=x", 400, "version must be a published version"),
    ("/embed/sr-volume?theme=pink", 400, "theme must be one of light, dark"),
    ("/embed/sr-volume?colour=1", 400, "unknown parameter 'colour'"),
    ("/embed/nope", 404, "no chart or KPI 'nope'"),
    ("/embed/sr-volume.png?size=huge", 400, "size must be one of og, twitter"),
])
def test_bad_embed_and_pin_input_is_a_4xx_naming_it(two_versions, url, status, words):
    client, _ = two_versions
    resp = client.get(url)
    assert resp.status_code == status and resp.mimetype == "application/json" and words in resp.json["error"]


def test_a_version_retention_removed_answers_410_naming_the_oldest_kept(two_versions, configure, tmp_path):
    client, _ = two_versions
    configure(keep_versions=1, keep_hours=0)
    load_file("service_requests", write_csv(tmp_path / "v3.csv", _requests(60)))
    run_etl("compact", "service_requests", "--retention-only", check=True)
    oldest = lake.oldest_version("service_requests")
    assert oldest > 1
    for url in ("/api/v1/charts/sr-volume.csv?version=1", "/embed/sr-volume?version=1", "/embed/sr-volume.png?version=1",
                "/embed/sr-volume/share.json?version=1"):
        gone = client.get(url)
        assert gone.status_code == 410 and gone.json["oldest"] == oldest, url
        assert f"the oldest version kept is {oldest}" in gone.json["error"]


# --- embed pages -----------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["sr-volume", "snow-map", "vol-by-day", "kpi-sr_open_backlog"])
def test_an_embed_is_the_view_alone_framable_by_any_site(client, target):
    resp = client.get(f"/embed/{target}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert "X-Frame-Options" not in resp.headers and "frame-ancestors *" in resp.headers["Content-Security-Policy"]
    for part in ('class="summary"', "as a table", "<table", "As of ", "(live: updates when new data is published)",
                 "Source: <a", "/assets/embed/embed.js"):
        assert part in html, part
    assert ("plotly-basic" in html) == (not target.startswith("kpi-")), "a tile loads no plotly.js"
    assert "_dash" not in html, "not the Dash app"


def test_an_embed_links_back_to_its_full_view_and_takes_the_page_s_filters(client):
    html = client.get("/embed/sr-volume?borough=brooklyn&border=0&theme=dark").get_data(as_text=True)
    back = unescape(re.search(r'Source: <a href="([^"]+)"', html).group(1))
    assert urlsplit(back).path == "/service-requests"
    assert parse_qs(urlsplit(back).query) == {"borough": ["brooklyn"], "chart": ["sr-volume"]}
    assert '<html lang="en" class="embed theme-dark no-border">' in html
    assert "Brooklyn" in html or "BROOKLYN" in html  # the summary speaks of the filtered view


def test_the_share_links_are_the_view_s_live_and_pinned(client):
    from portal.reader import reader

    v = reader().versions()["service_requests"]
    links = client.get("/embed/sr-volume/share.json?borough=BRONX&chart=sr-volume&start=").json
    assert links["permalink"] == "http://localhost/service-requests?borough=BRONX&chart=sr-volume"
    assert links["pinned_permalink"] == f"{links['permalink']}&version=service_requests%3A{v}"
    assert links["csv"] == "http://localhost/api/v1/charts/sr-volume.csv?borough=BRONX"
    assert links["png"] == "http://localhost/embed/sr-volume.png?borough=BRONX"
    iframe = re.search(r'<iframe src="([^"]+)" title="([^"]+)" width="100%"', links["pinned_snippet"])
    assert unescape(iframe.group(1)) == f"http://localhost/embed/sr-volume?borough=BRONX&version=service_requests%3A{v}"
    assert iframe.group(2) == "Requests created, by channel (Pulse)"
    assert links["snippet"].endswith('<script src="http://localhost/assets/embed/resize.js" async></script>')
    assert client.get(urlsplit(unescape(iframe.group(1))).path + "?" + urlsplit(unescape(iframe.group(1))).query).status_code == 200


def test_every_chart_card_and_kpi_tile_has_one_share_control(client):
    from dash import html as dhtml

    from layouts import _shell, scorecard
    from portal import kpi_values, panels

    def shares(component) -> list[str]:
        found = [component.to_plotly_json()["props"].get("data-share")] if isinstance(component, dhtml.Details) else []
        children = getattr(component, "children", None)
        for child in children if isinstance(children, list) else [children] if children is not None else []:
            if hasattr(child, "to_plotly_json"):
                found += shares(child)
        return [f for f in found if f]

    for page in ("service_requests", "snow", "volunteers"):
        for p in panels.for_page(page):
            assert shares(_shell.chart_card(p)) == [p.id]
    card = kpi_values.scorecard(history=scorecard.HISTORY)
    assert [s for t in scorecard.tiles(card) for s in shares(t)] == [f"kpi-{k}" for k in card["kpis"]]


# --- oEmbed ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, target", [
    ("http://localhost/service-requests?chart=sr-backlog&borough=BRONX", "sr-backlog"),
    ("http://localhost/snow", "snow-progress"),  # no chart named: the page's first
    ("http://localhost/?kpi=sr_open_backlog&period=week", "kpi-sr_open_backlog"),
    ("http://localhost/embed/vol-by-day", "vol-by-day"),
])
def test_oembed_answers_a_rich_embed_with_the_spec_s_required_fields(client, url, target):
    from portal import embeds

    resp = client.get("/oembed", query_string={"url": url, "format": "json"})
    body = resp.json
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert all(body.get(k) not in (None, "") for k in OEMBED_REQUIRED)
    assert body["version"] == "1.0" and body["type"] == "rich" and body["title"] == embeds.target(target).title
    assert f"/embed/{target}" in body["html"]
    assert isinstance(body["width"], int) and isinstance(body["height"], int)
    assert body["provider_name"] == "Pulse" and body["provider_url"] == "http://localhost/"
    src = unescape(re.search(r'<iframe src="([^"]+)"', body["html"]).group(1))
    assert client.get(src.removeprefix("http://localhost")).status_code == 200


def test_oembed_keeps_within_maxwidth_and_maxheight(client):
    body = client.get("/oembed?url=http://localhost/snow&maxwidth=300&maxheight=200").json
    assert (body["width"], body["height"]) == (300, 200) and 'height="200"' in body["html"]


@pytest.mark.parametrize("query, status", [
    ("url=http://localhost/snow&format=xml", 501),  # the spec: a format not served is 501 Not Implemented
    ("url=http://elsewhere.example/snow", 404),
    ("url=http://localhost/data", 404),
    ("url=http://localhost/service-requests?chart=nope", 404),
    ("url=http://localhost/snow&maxwidth=wide", 400),
    ("", 404),
])
def test_oembed_refuses_what_it_cannot_embed(client, query, status):
    resp = client.get(f"/oembed?{query}")
    assert resp.status_code == status and resp.mimetype == "application/json" and resp.json["error"]


@pytest.mark.parametrize("path", DASHBOARDS + ["/service-requests?chart=sr-map-borough&borough=QUEENS"])
def test_every_permalink_page_names_its_oembed_and_its_preview(client, path):
    html = client.get(path).get_data(as_text=True)
    link = re.search(r'<link rel="alternate" type="application/json\+oembed" title="[^"]*" href="([^"]+)">', html)
    assert link, path
    discovered = client.get(unescape(link.group(1)).removeprefix("http://localhost"))
    assert discovered.status_code == 200 and discovered.json["type"] == "rich"
    metas = dict(re.findall(r'<meta (?:property|name)="((?:og|twitter):[^"]+)" content="([^"]*)">', html))
    assert metas["og:image:width"] == "1200" and metas["twitter:card"] == "summary_large_image"
    assert len(re.findall(r'property="og:title"', html)) == 1, "Dash's page-level tags are replaced, not doubled"


def test_a_permalink_s_preview_text_is_its_view_s_summary(client):
    html = client.get("/service-requests?chart=sr-volume&borough=BRONX").get_data(as_text=True)
    embed = client.get("/embed/sr-volume?borough=BRONX").get_data(as_text=True)
    summary = unescape(re.search(r'<p class="summary" id="embed-summary">([^<]+)</p>', embed).group(1))
    metas = dict(re.findall(r'<meta (?:property|name)="((?:og|twitter):[^"]+)" content="([^"]*)">', html))
    assert unescape(metas["og:description"]) == summary == unescape(metas["twitter:description"])
    assert unescape(metas["og:title"]) == "Requests created, by channel"
    assert unescape(metas["og:image"]) == "http://localhost/embed/sr-volume.png?borough=BRONX&size=og"
    assert unescape(metas["twitter:image"]) == "http://localhost/embed/sr-volume.png?borough=BRONX&size=twitter"


# --- preview images ----------------------------------------------------------------------------------

def _hex(color: str) -> tuple[int, int, int]:
    return tuple(int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))


def _first_trace_color(client, target: str) -> tuple[int, int, int]:
    import json

    page = client.get(f"/embed/{target}").get_data(as_text=True)
    figure = json.loads(re.search(r'<script type="application/json" id="embed-figure">(.*?)</script>', page, re.S).group(1))
    trace, layout = figure["data"][0], figure["layout"]
    colorway = layout.get("colorway") or layout["template"]["layout"]["colorway"]  # its colour unless it names one
    return _hex((trace.get("line") or {}).get("color") or (trace.get("marker") or {}).get("color") or colorway[0])


@pytest.mark.parametrize("size, dims", [("og", (1200, 628)), ("twitter", (800, 418))])
def test_a_preview_is_a_png_of_the_view_at_the_size_asked_and_the_second_comes_from_cache(client, size, dims):
    def fetch():
        with client:
            resp = client.get(f"/embed/vol-by-day.png?size={size}")
            return resp, flask.g.get("pulse_cache_hit")

    first, hit = fetch()
    assert first.status_code == 200 and first.mimetype == "image/png" and hit is False
    image = Image.open(io.BytesIO(first.data)).convert("RGB")
    assert image.size == dims
    w, h = image.size
    assert image.getpixel((2, 2)) == image.getpixel((w - 3, h - 3)) == (255, 255, 255), "white paper at the corners"
    title_band = image.crop((10, 15, w // 2, 70 if size == "og" else 55)).getcolors(w * 60)
    assert any(sum(rgb) < 200 for _, rgb in title_band), "the title is drawn, dark on white"
    plot = image.crop((80, h // 3, w - 220, h - 60))
    wanted = _first_trace_color(client, "vol-by-day")
    assert any(max(abs(a - b) for a, b in zip(rgb, wanted, strict=True)) < 8 for _, rgb in plot.getcolors(w * h)), \
        "the chart's first trace is drawn in its own colour"
    again, hit = fetch()
    assert hit is True and again.data == first.data


def test_a_kpi_preview_and_an_svg_download(client):
    png = client.get("/embed/kpi-sr_open_backlog.png?size=twitter")
    assert png.status_code == 200 and Image.open(io.BytesIO(png.data)).size == (800, 418)
    svg = client.get("/embed/sr-volume.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and svg.data.lstrip().startswith(b"<svg")
    assert b"Requests created, by channel" in svg.data


# --- pinned dashboard pages (issue 15 item 5) --------------------------------------------------------

def test_a_dashboard_page_reads_the_versions_its_address_pins(two_versions):
    from app import app
    from layouts import _shell as shell
    from tests.helpers import callback_body

    client, _ = two_versions
    assert client.get("/_dash-dependencies").status_code == 200
    body = callback_body(app, "..sr-asof", [None, None, None, None, None, "week", None])

    def shown(referer: str) -> tuple[str, str]:
        """The "Data and sources" line (the versions shown; issue 16 moved them below) and a summary."""
        answer = client.post("/_dash-update-component", json=body, headers={"Referer": referer}).json["response"]
        return json.dumps(answer[shell.sources_id("sr-asof")]["children"]), answer["sr-volume-summary"]["children"]

    pinned = shown("http://localhost/service-requests?version=service_requests:1")
    assert "service_requests v1," in pinned[0] and pinned[1].startswith("30 requests were created")
    live = shown("http://localhost/service-requests")
    assert "service_requests v2," in live[0] and live[1].startswith("60 requests were created")
    assert shown("http://localhost/service-requests?version=service_requests:9") == live, "not published: the page says v2"
    layout = client.get("/_dash-layout", headers={"Referer": "http://localhost/?version=service_requests:1"})
    assert '"service_requests":1' in layout.get_data(as_text=True)  # the page's data-version store
    assert {"Referer", "X-Pulse-Version"} <= set(map(str.strip, layout.headers["Vary"].split(",")))

    # Without a Referer (no-referrer, privacy extensions) the page's script sends the pin itself
    # (assets/pagepin.js); it wins over a Referer, and a shared cache keeps the two apart.
    def shown_by_header(pin: str, **headers) -> tuple[str, str]:
        answer = client.post("/_dash-update-component", json=body,
                             headers={"X-Pulse-Version": pin, **headers}).json["response"]
        return json.dumps(answer[shell.sources_id("sr-asof")]["children"]), answer["sr-volume-summary"]["children"]

    assert shown_by_header("service_requests:1") == pinned
    assert shown_by_header("service_requests:1", Referer="http://localhost/service-requests") == pinned
    assert shown_by_header("", Referer="http://localhost/service-requests?version=service_requests:1") == live
    layout = client.get("/_dash-layout", headers={"X-Pulse-Version": "service_requests:1"})
    assert '"service_requests":1' in layout.get_data(as_text=True) and "X-Pulse-Version" in layout.headers["Vary"]
    assert "Referer" not in layout.headers["Vary"]  # the header alone decides: one cached copy per pin


def test_a_pinned_kpi_tile_reads_that_version_in_every_thread(two_versions):
    client, _ = two_versions
    pinned = client.get("/embed/kpi-sr_open_backlog?version=service_requests:1&period=month&as_of=2025-03-31")
    live = client.get("/embed/kpi-sr_open_backlog?period=month&as_of=2025-03-31")
    assert pinned.status_code == live.status_code == 200
    value = re.compile(r'<p class="value">([^<]+)</p>')
    assert value.search(pinned.get_data(as_text=True)).group(1) != value.search(live.get_data(as_text=True)).group(1)
