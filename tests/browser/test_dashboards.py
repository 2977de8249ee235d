"""The dashboards in a real browser (issue 4): every page loads clean and passes axe, filters move
the charts and the URL, a permalink restores a view, meeting mode and print render, and
screenshots of every page at desktop and phone width land in tests/browser/screenshots/."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, axe_violations, draw_chart, draw_every_chart, screenshot, settle

PAGES = {
    "scorecard": "/",
    "service-requests": "/service-requests",
    "snow": "/snow",
    "volunteers": "/volunteers",
    "meeting": "/?mode=meeting",
    "catalog": "/data",
    "dataset": "/data/service_requests",
}


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_errors_and_serves_everything_locally(open_page, name):
    w = open_page(PAGES[name])
    assert w.errors == [], f"console errors on {PAGES[name]}: {w.errors}"
    assert w.external == [], f"requests that left the machine: {w.external}"
    assert w.page.locator("h1").count() == 1
    screenshot(w.page, f"{name}-desktop")


def test_charts_draw_with_plotly_basic_bundle_not_the_full_one(open_page, portal):
    w = open_page(PAGES["service-requests"])
    plotly = [u for u in w.requested if "plotly" in u.rsplit("/", 1)[-1]]
    assert len(plotly) == 1 and "/assets/vendor/plotly-basic-" in plotly[0], plotly
    # every chart drew once scrolled to, the two maps included: one filled SVG shape per boundary feature
    draw_every_chart(w.page)
    assert w.page.locator(".js-plotly-plot").count() == 6
    features = sum(len(json.loads((portal.data_dir / "geo" / f).read_text())["features"])
                   for f in ("boroughs.geojson", "community_districts.geojson"))
    assert w.page.locator(".js-plotly-plot .scatterlayer path.js-fill").count() == features
    assert w.errors == []


def test_hovering_the_map_names_each_area_with_its_whole_count(open_page):
    page = open_page(PAGES["service-requests"]).page
    draw_chart(page, "sr-map-borough-graph")
    graph = page.locator("#sr-map-borough-graph")
    summary = page.locator("#sr-map-borough-summary").text_content()  # "..., BROOKLYN had the most ...: 516 (...)"
    top, count = re.search(r"boroughs, (.+?) had the most .*?: ([\d,]+) \(", summary).groups()
    fills, seen = graph.locator("path.js-fill"), set()
    for i in range(fills.count()):  # the middle of each shape's box (inside it, or inside a neighbour)
        box = fills.nth(i).bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        seen.add(graph.locator(".hoverlayer").text_content())
    seen.discard("")
    assert seen and all(re.fullmatch(r"[A-Z ]+: ([\d,]+|no data)", t) for t in seen), seen  # never cut to "STATEN ISLAN..."
    assert all(t == f"{top}: {count}" for t in seen if t.startswith(top + ":")), (seen, summary)


def test_a_filter_box_offers_the_page_s_values_once_focused(open_page):
    # decision 0024: the suggestions are one attribute until the box is used, not 225 Dash components
    page = open_page(PAGES["service-requests"]).page
    datalist = page.locator("#sr-type-options")
    declared = json.loads(datalist.get_attribute("data-options"))
    assert len(declared) > 100 and datalist.locator("option").count() == 0
    page.locator("#sr-type").focus()
    assert datalist.locator("option").evaluate_all("os => os.map(o => o.value)") == [o[0] for o in declared]


def test_an_unknown_address_shows_the_not_found_page(open_page, portal):
    w = open_page("/data/no-such-dataset")
    expect(w.page.locator("h1")).to_have_text("No such dataset")
    w = open_page("/no-such-page")
    expect(w.page.locator("h1")).to_have_text("Page not found")
    assert w.page.request.get(portal.url + "/no-such-page").status == 404
    assert [e for e in w.errors if "404" not in e] == []  # Chromium reports the document's own status


def test_the_home_page_loads_no_plotly_at_all(open_page):
    w = open_page(PAGES["scorecard"])
    assert not [u for u in w.requested if "plotly" in u.rsplit("/", 1)[-1]]


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_at_phone_width(open_page, name):
    w = open_page(PAGES[name], viewport=PHONE)
    assert w.errors == []
    # nothing wider than the screen: the page does not scroll sideways
    assert w.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    screenshot(w.page, f"{name}-phone")


@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_no_violations(open_page, name):
    w = open_page(PAGES[name])
    assert axe_violations(w.page) == []


@pytest.mark.parametrize("name", ["service-requests", "snow", "volunteers"])
def test_every_chart_has_a_summary_a_table_and_a_download(open_page, portal, name):
    page = open_page(PAGES[name]).page
    cards = page.locator("section.card")
    assert cards.count() >= 3
    for i in range(cards.count()):
        card = cards.nth(i)
        summary = card.locator(".summary").text_content()
        assert re.search(r"\d", summary), f"summary without a number: {summary!r}"
        card.locator("details.as-table summary").click()
        expect(card.locator("table.data tbody tr").first).to_be_visible()
        assert card.locator("table.data caption").text_content() == card.locator("h2").text_content()
        href = card.locator("a.download").get_attribute("href")
        assert href.startswith("/api/v1/charts/")
        resp = page.request.get(portal.url + href)
        assert resp.status == 200 and resp.headers["content-type"].startswith("text/csv")
        assert len(resp.text().strip().splitlines()) >= 2


def test_a_filter_change_redraws_the_charts_and_updates_the_url(open_page):
    page = open_page("/service-requests").page
    before = page.locator("#sr-backlog-summary").text_content()
    page.fill("#sr-borough", "STATEN ISLAND")
    page.press("#sr-borough", "Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('borough') === 'STATEN ISLAND'")
    settle(page)
    after = page.locator("#sr-backlog-summary").text_content()
    assert after != before
    page.get_by_role("button", name="Month").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('period') === 'month'")
    settle(page)
    assert page.get_by_role("button", name="Month").get_attribute("aria-pressed") == "true"
    assert "busiest whole month" in page.locator("#sr-volume-summary").text_content()


def test_a_permalink_restores_the_view_exactly(open_page):
    link = "/service-requests?start=2026-10-01&end=2026-10-31&borough=BROOKLYN&period=day"
    page = open_page(link).page
    assert page.input_value("#sr-start") == "2026-10-01"
    assert page.input_value("#sr-end") == "2026-10-31"
    assert page.input_value("#sr-borough") == "BROOKLYN"
    assert page.get_by_role("button", name="Day").get_attribute("aria-pressed") == "true"
    assert "from 2026-10-01 to 2026-10-31" in page.locator("#sr-volume-summary").text_content()
    query = parse_qs(urlparse(page.url).query)
    assert query == {"start": ["2026-10-01"], "end": ["2026-10-31"], "borough": ["BROOKLYN"], "period": ["day"]}
    # the download under a chart carries the same view
    href = page.locator("#sr-volume-download").get_attribute("href")
    assert "borough=BROOKLYN" in href and "start=2026-10-01" in href


def test_a_bad_filter_shows_a_message_not_a_broken_chart(open_page):
    w = open_page("/service-requests?borough=ATLANTIS")
    # issue 16: said once, in words, in the filter bar; the charts wait (tests/browser/test_words_and_phone.py)
    assert "No borough is called \u201cATLANTIS\u201d" in w.page.locator("#sr-filter-note").text_content()
    assert w.page.locator("#sr-volume-summary").text_content().startswith("Not drawn")
    assert w.errors == []


def test_scorecard_period_switch_and_how_it_is_computed(open_page):
    page = open_page("/").page
    assert page.locator("article.tile").count() >= 6
    page.get_by_role("button", name="Week").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('period') === 'week'")
    settle(page)
    assert "Week" in page.locator(".overall").text_content()
    tile = page.locator("article.tile").first
    tile.locator("details.how summary").click()
    rows_link = tile.get_by_role("link", name="The rows behind this number")
    assert rows_link.get_attribute("href").startswith("/api/v1/kpis/")  # issue 15: the KPI's own input rows
    # status in words, not colour alone
    assert re.search(r"On target|Near target|Off target|No data", tile.locator(".status").text_content())


def test_meeting_mode_hides_the_chrome_and_moves_between_kpis_by_keyboard(open_page):
    page = open_page("/?mode=meeting").page
    assert not page.locator(".site-header").is_visible()
    tiles = page.locator("article.tile")
    tiles.first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement === document.querySelectorAll('article.tile')[1]")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement === document.querySelectorAll('article.tile')[0]")
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.tile .value')).fontSize)")
    assert size >= 48


def test_the_scorecard_prints_as_a_one_page_brief(open_page):
    page = open_page("/").page
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".filters").is_visible()
    pdf = page.pdf(format="A4", landscape=True, print_background=True, prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1, f"the brief printed on {pages} pages"


def test_keyboard_users_reach_the_content_and_can_pause_live_updates(open_page):
    page = open_page("/volunteers").page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    toggle = page.locator("#live-toggle")
    toggle.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#live-toggle').getAttribute('aria-pressed') === 'true'")
    assert toggle.text_content() == "Resume live updates"
