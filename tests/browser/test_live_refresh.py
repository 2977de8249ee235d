"""New data appears without a reload (issues 4 and 6): a load publishes while the page is open; the
page notices the new version, redraws, and says so in its aria-live region, in the page's own words
(issue 16: never the dataset or version names; tests/browser/test_meeting_and_live.py has the rest)."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import settle, start_portal, stop_portal
from tests.helpers import sr_row, write_csv


@pytest.fixture(scope="module")
def live_portal(tmp_path_factory):
    p = start_portal(tmp_path_factory.mktemp("live") / "data")
    yield p
    stop_portal(p)


def test_a_published_load_appears_without_reload_and_is_announced(browser, live_portal, tmp_path):
    page = browser.new_page()
    page.goto(live_portal.url + "/service-requests?start=2026-11-01&end=2026-11-19&agency=DSNY")
    settle(page)
    assert "service_requests v1," in page.locator("#sr-asof-sources").text_content()
    before = page.locator("#sr-volume-summary").text_content()
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    rows = [sr_row(i, created=f"2026-11-{10 + i % 5:02d}T09:00:00-05:00", agency="DSNY") for i in range(40)]
    live_portal.etl("load", "service_requests", str(write_csv(tmp_path / "batch.csv", rows)))

    page.wait_for_function("() => document.querySelector('#live-announce').textContent === 'New 311 data: 40 more requests.'",
                           timeout=20_000)
    settle(page)
    assert "service_requests v2," in page.locator("#sr-asof-sources").text_content()
    after = page.locator("#sr-volume-summary").text_content()
    assert after != before
    assert page.evaluate("window.__sameDocument === true")
    live = page.locator("#live-announce")
    assert live.get_attribute("aria-live") == "polite" and live.get_attribute("role") == "status"
    page.close()


def test_a_paused_page_does_not_redraw(browser, live_portal, tmp_path):
    page = browser.new_page()
    page.goto(live_portal.url + "/service-requests?start=2026-11-01&end=2026-11-19")
    settle(page)
    page.click("#live-toggle")
    page.wait_for_function("() => document.querySelector('#live-toggle').getAttribute('aria-pressed') === 'true'")
    version_line = page.locator("#sr-asof-sources").text_content()
    rows = [sr_row(100 + i, created="2026-11-12T09:00:00-05:00") for i in range(5)]
    live_portal.etl("load", "service_requests", str(write_csv(tmp_path / "more.csv", rows)))
    # issue 16: the pause is visible, and still listening: the bar says data is waiting
    page.wait_for_function("() => document.querySelector('#live-status').textContent === 'Paused \u2014 new data waiting'",
                           timeout=20_000)
    page.wait_for_timeout(2000)  # two more poll intervals
    assert page.locator("#sr-asof-sources").text_content() == version_line
    page.click("#live-toggle")  # resume: the new version arrives
    page.wait_for_function("() => document.querySelector('#live-announce').textContent === 'New 311 data: 5 more requests.'",
                           timeout=20_000)
    assert re.fullmatch(r"Live · new data arrived \d{2}:\d{2} E[SD]T", page.locator("#live-status").text_content())
    page.close()
