"""Embeds in a real browser (issue 17, "What it must show"): a partner page on another origin (a plain
http.server on a second loopback port) pastes the snippets the share control made for a chart and a
KPI tile; both draw, take the height they report, and reload when a version lands; a dashboard
refuses to be framed there; axe finds nothing on any embed route."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import answer_once_with_the_page_as_it_is, axe_violations, own_portal, settle, static_site
from tests.helpers import sr_row, write_csv

SR_VIEW = "/service-requests?start=2026-09-01&end=2026-11-19"


embed_portal = own_portal("embed_portal", "embeds")


@pytest.fixture(scope="module")
def partner_site(tmp_path_factory):
    """A second origin serving whatever the test writes."""
    root = tmp_path_factory.mktemp("partner")
    with static_site(root) as base:
        yield root, base


def _snippet(page, base: str, path: str, target: str, field: str = "snippet") -> str:
    """What the share control of `target` on the page at `path` offers to paste."""
    page.goto(base + path)
    settle(page)
    control = page.locator(f'details.share[data-share="{target}"]')
    control.locator("summary").click()
    box = control.locator(f'textarea[data-field="{field}"]')
    page.wait_for_function("(el) => el.value.startsWith('<iframe')", arg=box.element_handle(), timeout=10_000)
    assert f"/embed/{target}.png" in control.locator('a[data-field="png"]').get_attribute("href")
    return box.input_value()


def _frame_height(page, frame, index: int) -> tuple[int, int]:
    """(the iframe's height in the partner page, its document's height inside)."""
    outer = page.evaluate(f"document.querySelectorAll('iframe')[{index}].getBoundingClientRect().height")
    inner = frame.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")
    return round(outer), inner


def test_a_partner_page_embeds_a_chart_and_a_tile_that_size_themselves_and_follow_new_data(
        browser, embed_portal, partner_site, tmp_path):
    root, partner = partner_site
    ctx = browser.new_context(viewport={"width": 1000, "height": 900})
    page = ctx.new_page()
    chart = _snippet(page, embed_portal.url, SR_VIEW, "sr-volume")
    tile = _snippet(page, embed_portal.url, "/", "kpi-sr_open_backlog")
    refused = f'<iframe src="{embed_portal.url}/service-requests" title="A dashboard, not an embed"></iframe>'
    (root / "partner.html").write_text(f"""<!DOCTYPE html><html lang="en"><head><title>A partner</title></head>
<body><main><h1>Our neighbourhood</h1><div style="width: 640px">{chart}</div><div style="width: 360px">{tile}</div>
{refused}</main></body></html>""")

    console = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(f"{partner}/partner.html")
    page.wait_for_function("""() => [...document.querySelectorAll('iframe[data-pulse-embed]')]
        .every(f => f.getAttribute('height') !== '560' && f.getAttribute('height') !== '420')""", timeout=30_000)
    chart_frame = page.frame(url=lambda u: "/embed/sr-volume" in u)
    tile_frame = page.frame(url=lambda u: "/embed/kpi-" in u)
    chart_frame.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    assert "service_requests v1" in chart_frame.locator(".asof").text_content()
    assert tile_frame.locator(".tile .value").text_content()
    page.wait_for_timeout(500)  # the last height message after drawing
    for i, frame in enumerate((chart_frame, tile_frame)):  # each frame as tall as what it holds: no scroll bar, no gap
        outer, inner = _frame_height(page, frame, i)
        assert abs(outer - inner) <= 2, (i, outer, inner)
    tile_before = _frame_height(page, tile_frame, 1)[0]
    tile_frame.locator("summary", has_text="as a table").click()  # the table opens: the frame grows with it
    page.wait_for_function(f"() => document.querySelectorAll('iframe')[1].getBoundingClientRect().height > {tile_before}",
                           timeout=30_000)

    # the dashboard refuses to be framed (frame-ancestors 'none'): its frame holds no page of ours
    assert any("frame-ancestors 'none'" in text for text in console), console
    dashboard = page.frame(url=lambda u: u.endswith("/service-requests"))
    assert dashboard is None or "Pulse" not in dashboard.evaluate("document.body ? document.body.innerText : ''")

    # a version lands: the live embeds redraw in place and show it (the frames are not reloaded: a mark
    # left on each window survives; the reader's focus stays where it was; the frames keep their sizing)
    for frame in (chart_frame, tile_frame):
        frame.evaluate("window.__beforeTheVersion = true")
    tile_frame.locator(".live-toggle").focus()
    plotted = "document.getElementById('embed-chart')._fullData.reduce((n, t) => n + Array.from(t.y).reduce((a, b) => a + b, 0), 0)"
    before = chart_frame.evaluate(plotted)
    rows = [sr_row(i, created=f"2026-11-{10 + i % 5:02d}T09:00:00-05:00") for i in range(30)]
    embed_portal.etl("load", "service_requests", str(write_csv(tmp_path / "batch.csv", rows)))
    for frame in (chart_frame, tile_frame):
        expect(frame.locator(".asof")).to_contain_text("service_requests v2", timeout=30_000)
        assert frame.evaluate("window.__beforeTheVersion === true"), "the frame was reloaded"
        expect(frame.locator("#embed-status")).to_contain_text("service_requests v2")
    assert tile_frame.evaluate("document.activeElement.className") == "live-toggle"
    chart_frame.wait_for_function(f"{plotted} === {before} + 30", timeout=30_000)  # the 30 new requests, drawn
    page.wait_for_timeout(500)
    outer, inner = _frame_height(page, chart_frame, 0)
    assert abs(outer - inner) <= 2, (outer, inner)
    ctx.close()


def test_a_live_embed_whose_redraw_comes_back_stale_catches_up_at_the_next_poll(browser, embed_portal, tmp_path):
    # Review of issue 17: the redraw fetches the embed's page again, and a worker whose reader has not
    # yet seen the version (up to half a second), or a cache serving a stale copy while it refreshes,
    # answers with the old page. The poll had already kept the new versions' ETag, so every later poll
    # was a 304 and the embed stayed on the old data until the next publish; and it said "Updated".
    page = browser.new_page()
    url = f"{embed_portal.url}/embed/kpi-sr_open_backlog"
    page.goto(url)
    stale = answer_once_with_the_page_as_it_is(page, url)  # the redraw's first fetch
    page.evaluate("""() => { window.__said = []; const s = document.getElementById('embed-status');
        new MutationObserver(() => window.__said.push(s.textContent)).observe(s, {childList: true, subtree: true}); }""")
    version = _current(embed_portal) + 1
    rows = [sr_row(9000 + i, created=f"2026-11-{10 + i % 5:02d}T09:00:00-05:00") for i in range(5)]
    embed_portal.etl("load", "service_requests", str(write_csv(tmp_path / "stale.csv", rows)))
    expect(page.locator(".asof")).to_contain_text(f"service_requests v{version},", timeout=30_000)
    assert stale, "the redraw's first fetch was answered with the old page"
    page.wait_for_timeout(1500)  # polls after the redraw: nothing more to say
    said = page.evaluate("window.__said")
    assert len(said) == 1 and f"service_requests v{version}," in said[0], said
    page.close()


def test_a_pinned_embed_stays_on_its_version(browser, embed_portal):
    page = browser.new_page()
    page.goto(f"{embed_portal.url}/embed/sr-volume?version=service_requests:1")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=20_000)
    assert "service_requests v1 (pinned" in page.locator(".asof").text_content()
    assert page.locator(".live-toggle").count() == 0
    page.close()


def test_axe_finds_nothing_on_any_embed(browser, embed_portal):
    from portal import embeds

    page = browser.new_page()
    found = {}
    targets = [t.id for p in ("service_requests", "snow", "volunteers", "scorecard") for t in embeds.page_targets(p)]
    for path in [f"/embed/{t}" for t in targets] + ["/embed/sr-volume?theme=dark&border=0",
                                                    "/embed/kpi-sr_open_backlog?theme=dark"]:
        page.goto(embed_portal.url + path, wait_until="load")  # scripts run: the chart is drawn or drawing
        if page.locator("#embed-chart").count():
            page.wait_for_selector("#embed-chart .main-svg", timeout=20_000)
        page.locator("details.as-table summary").click()  # with its table open too
        violations = axe_violations(page)
        if violations:
            found[path] = violations
    assert found == {}
    page.close()


def test_a_pinned_dashboard_page_holds_its_pin_without_a_referer(browser, embed_portal, tmp_path):
    # Referrer-Policy: no-referrer on the page (as a privacy extension or a proxy would set it): Dash's
    # requests carry no Referer, so only the page's own script (assets/pagepin.js) can carry the pin.
    if _current(embed_portal) < 2:  # run alone: make the pinned version an old one
        rows = [sr_row(i, created=f"2026-11-{10 + i % 5:02d}T09:00:00-05:00") for i in range(30)]
        embed_portal.etl("load", "service_requests", str(write_csv(tmp_path / "batch.csv", rows)))
    page = browser.new_page()

    def no_referrer(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "referrer-policy": "no-referrer"})

    page.route(lambda url: "/service-requests" in url, no_referrer)
    sent = []
    page.on("request", lambda r: sent.append(r.all_headers()) if "/_dash-" in r.url and r.method == "POST" else None)
    page.goto(f"{embed_portal.url}{SR_VIEW}&version=service_requests:1")
    expect(page.locator("#sr-asof-sources")).to_contain_text("service_requests v1,", timeout=30_000)
    assert sent and all("referer" not in h for h in sent), "the browser sent no Referer"
    assert all(h.get("x-pulse-version") == "service_requests:1" for h in sent)
    page.close()


def _current(portal) -> int:
    return int((portal.data_dir / "lake" / "service_requests" / "CURRENT").read_text())
