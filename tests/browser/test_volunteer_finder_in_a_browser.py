"""The volunteer finder in a real browser (issue 17, item 5): a partner's page on another port embeds it
with the snippet; it renders, its iframe takes the height the finder posts, its weekly count refreshes
when a load publishes; axe finds nothing on the embed or the full page with results shown."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import answer_once_with_the_page_as_it_is, axe_violations, own_portal, settle, static_site
from tests.helpers import write_csv
from web import finder_page

SEARCH = "borough=Brooklyn"


finder_portal = own_portal("finder_portal", "finder")


@pytest.fixture(scope="module")
def partner(finder_portal, tmp_path_factory):
    """A partner's page on a second local port, holding the snippet the finder page offers."""
    folder = tmp_path_factory.mktemp("partner")
    (folder / "index.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><title>A partner</title></head><body><h1>Our neighbourhood</h1>'
        f'{finder_page.snippet(finder_portal.url + "/", SEARCH, height=150)}<p id="after">After the finder.</p></body></html>')
    # A finder snippet pasted before every embed shared one sizing script: its old address still sizes the frame
    (folder / "old.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><title>An older partner</title></head><body><h1>Volunteer</h1>'
        f'<iframe src="{finder_portal.url}/embed/volunteer-finder?{SEARCH}" title="Volunteer finder (Pulse)" data-pulse-embed '
        'style="width:100%;border:0" height="150"></iframe>'
        f'<script async src="{finder_portal.url}/volunteer/static/embed.js"></script></body></html>')
    with static_site(folder) as base:
        yield f"{base}/index.html"


def week_count(frame) -> int:
    return int(re.match(r"([\d,]+)", frame.locator("#finder-week").text_content()).group(1).replace(",", ""))


def signups_today(tag: str, n: int) -> list[dict]:
    """`n` sign-ups made now for OPP-0001, this week's (ids `SU-<tag><i>`, unique per tag)."""
    now = datetime.now(ZoneInfo("America/New_York"))
    return [{"signup_id": f"SU-{tag}{i}", "opportunity_id": "OPP-0001", "signed_up_at": now.isoformat(sep=" "),
             "event_date": now.date().isoformat(), "borough": "BROOKLYN", "attended": "", "hours": "",
             "volunteer_id": f"vol-{tag.lower()}{i}"} for i in range(n)]

def test_the_snippet_embeds_a_finder_that_sizes_itself_and_refreshes(browser, finder_portal, partner, tmp_path):
    page = browser.new_page()
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(partner)
    frame = page.frame_locator("iframe[data-pulse-embed]")
    frame.locator(".finder-list li").first.wait_for()
    assert frame.locator("#f-borough").input_value() == "Brooklyn"
    assert frame.locator(".finder-list li").count() > 0
    # The iframe takes the finder's height (posted as {"pulse-height": N}), not the snippet's 150.
    page.wait_for_function("() => parseInt(document.querySelector('iframe').style.height) > 600", timeout=10_000)
    inner = page.frames[1].evaluate("() => Math.ceil(document.documentElement.getBoundingClientRect().height)")
    outer = page.evaluate("() => document.querySelector('iframe').getBoundingClientRect().height")
    assert abs(outer - inner) <= 2
    # A message from anything but the frame's own window and origin moves nothing.
    page.evaluate("window.postMessage({'pulse-height': 40}, '*')")
    page.wait_for_timeout(200)
    assert page.evaluate("() => document.querySelector('iframe').getBoundingClientRect().height") == outer
    assert not any("plotly" in u or "_dash-component-suites" in u for u in requested)

    before = week_count(frame)
    full = browser.new_page()  # the full page redraws on the site's own version poll
    full.goto(finder_portal.url + "/volunteer?" + SEARCH)
    settle(full)
    assert full.locator("#f-borough").input_value() == "Brooklyn" and week_count(full) == before
    signup = full.get_by_role("link", name=re.compile(r"^Sign up for [^(]+$")).first  # in the site: this tab
    assert signup.get_attribute("target") is None and signup.evaluate("(a) => a.getBoundingClientRect().width") < 120
    finder_portal.etl("load", "volunteer_signups", str(write_csv(tmp_path / "signups.csv", signups_today("T", 7))))
    expect(frame.locator("#finder-week")).to_have_text(re.compile(rf"^{before + 7:,} sign-ups"), timeout=20_000)
    assert frame.locator("#finder-week").get_attribute("aria-live") == "polite"
    expect(full.locator("#finder-week")).to_have_text(re.compile(rf"^{before + 7:,} sign-ups"), timeout=20_000)
    page.close()
    full.close()


def test_a_refresh_that_comes_back_stale_catches_up_at_the_next_poll(browser, finder_portal, tmp_path):
    # Review of issue 17: the finder fetches its page again on a new version; a worker (or cache) a
    # moment behind answers with the old one. The poll had kept the new ETag already, so every later
    # poll was a 304 and the weekly count stayed old until the next publish.
    page = browser.new_page()
    url = f"{finder_portal.url}{finder_page.EMBED_PATH}?{SEARCH}"
    page.goto(url)
    before = week_count(page)
    stale = answer_once_with_the_page_as_it_is(page, url)  # the refresh's first fetch
    finder_portal.etl("load", "volunteer_signups", str(write_csv(tmp_path / "stale.csv", signups_today("S", 3))))
    expect(page.locator("#finder-week")).to_have_text(re.compile(rf"^{before + 3:,} sign-ups"), timeout=20_000)
    assert stale, "the refresh's first fetch was answered with the old page"
    page.close()


def test_a_search_without_javascript_shows_each_error_beside_its_field(browser, finder_portal):
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    page.goto(finder_portal.url + "/embed/volunteer-finder")
    page.fill("#f-zip", "1002")
    page.fill("#f-miles", "2")
    page.click("button[type=submit]")
    assert "zip=1002" in page.url
    assert page.locator("#f-zip").get_attribute("aria-invalid") == "true"
    assert "five digits" in page.locator("#f-zip-error").text_content()
    assert "f-zip-error" in page.locator("#f-zip").get_attribute("aria-describedby")
    page.fill("#f-zip", "")
    page.fill("#f-miles", "")
    page.select_option("#f-borough", "Queens")
    page.click("button[type=submit]")
    assert page.locator(".finder-list li").count() > 0
    assert all("Queens" in t for t in page.locator(".finder-list dd:nth-of-type(2)").all_text_contents())
    ctx.close()


def test_a_search_with_javascript_swaps_the_results_in_place(browser, finder_portal):
    page = browser.new_page()
    page.goto(finder_portal.url + "/embed/volunteer-finder")
    page.evaluate("window.__sameDocument = true; document.getElementById('finder-count').__kept = true")
    before = page.locator("#finder-count").text_content()
    page.select_option("#f-borough", "Bronx")
    page.focus("#f-submit")
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.search.includes('borough=Bronx')")
    page.wait_for_function("() => document.querySelector('#f-borough').value === 'Bronx'")
    assert page.evaluate("window.__sameDocument === true")
    assert all("Bronx" in t for t in page.locator(".finder-list dd:nth-of-type(2)").all_text_contents())
    # The live region is the same element with new words (a screen reader hears them); focus stays put.
    assert page.evaluate("document.getElementById('finder-count').__kept === true")
    assert page.locator("#finder-count").text_content() != before
    assert page.evaluate("document.activeElement.id") == "f-submit"
    # A mistake moves focus to the field that has it.
    page.fill("#f-zip", "12")
    page.focus("#f-submit")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'f-zip'")
    assert "five digits" in page.locator("#f-zip-error").text_content()
    page.close()


@pytest.mark.parametrize("path", ["/embed/volunteer-finder?borough=Manhattan", "/volunteer?borough=Manhattan"])
def test_axe_finds_nothing_on_the_finder_with_results(browser, finder_portal, path):
    page = browser.new_page()
    page.goto(finder_portal.url + path)
    if path.startswith("/volunteer"):
        settle(page)
    page.locator(".finder-list li").first.wait_for()
    assert axe_violations(page) == []
    page.close()


def test_a_snippet_pasted_before_one_sizing_script_still_sizes_and_links_name_their_opportunity(browser, partner):
    page = browser.new_page()
    page.goto(partner.replace("/index.html", "/old.html"))  # loads /volunteer/static/embed.js, the old address
    page.wait_for_function("() => parseInt(document.querySelector('iframe').style.height) > 600", timeout=20_000)
    frame = page.frame_locator("iframe[data-pulse-embed]")
    # The sign-up link's accessible name (what a screen reader's list of links says) names the opportunity
    link = frame.get_by_role("link", name=re.compile(r"^Sign up for .+ \(opens in a new tab\)$")).first
    expect(link).to_have_attribute("target", "_blank")
    assert link.get_attribute("rel") == "noopener" and link.get_attribute("href").startswith("https://")
    title = link.locator("xpath=ancestor::article//h3").text_content()
    assert link.evaluate("(a) => a.textContent") == f"Sign up for {title} (opens in a new tab)"
    expect(link).to_have_text(re.compile("Sign up"))
    assert link.evaluate("(a) => a.getBoundingClientRect().width") < 120, "only 'Sign up' is shown"
    page.close()
