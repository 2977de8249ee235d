"""Words people use and a phone's width (issue 16, What to build 4 and 5), in real Chromium against
gunicorn: no page nor change feed shows a number with a needless decimal, a bad filter is said once beside the
filters, /volunteers opens with what one can do; at 390x844 no chart text (axis titles, tick labels,
legends, titles, a tapped map's label) leaves its chart or the screen, the chart toolbar covers no
legend, the storm box shows the whole storm, and the API docs page is inside the site."""
from __future__ import annotations

import json
import re
import urllib.request

import pytest

import datasets
from datasets import kpis as kpi_decls
from tests.browser.conftest import DESKTOP, PHONE, axe_violations, draw_every_chart, settle
from web.site import NAV

CHART_PAGES = ("/service-requests", "/snow", "/volunteers")
PAGES = ("/", "/?period=day", "/?period=quarter", *CHART_PAGES, "/data", "/api",
         *(f"/data/{name}" for name in sorted(datasets.datasets())))

# A run of digits, separators and points that is not part of a word, an address or a date.
NUMBER = re.compile(r"(?<![\w.,:/#\-])\d[\d.,]*")
SCORE_BEFORE = re.compile(r"score\s*$", re.IGNORECASE)  # "Score 1.43": scores are read to two decimals
SCORE_AFTER = (" \u2014 ", " is on target")  # "0.57 — off target", "1.00 is on target"


def needless_decimals(text: str) -> list[str]:
    """Each number in `text` shown with a decimal it does not need (portal/wording.py): only zeros after
    the point ("13.0 sign-ups"), or a decimal on a figure of 100 or more ("14,418.5 hours", which the
    same page says elsewhere as "14,418 hours"). A score, read to two decimals, is not one of them;
    addresses and versions (more than one point) are not numbers."""
    found = []
    for m in NUMBER.finditer(text):
        run = m.group(0).rstrip(".,")
        if run.count(".") != 1 or text[m.start() + len(run):m.start() + len(run) + 1].isalpha():
            continue
        whole, fraction = run.split(".")
        if not fraction or (SCORE_BEFORE.search(text[:m.start()]) or text[m.start() + len(run):].startswith(SCORE_AFTER)):
            continue
        if set(fraction) == {"0"} or float(whole.replace(",", "") or 0) >= 100:
            found.append(text[max(0, m.start() - 40):m.end() + 20].replace("\n", " | "))
    return found


@pytest.mark.parametrize("text, flagged", [
    ("13.0 sign-ups", True), ("0.0 days", True), ("14,418.5 hours", True), ("2,795.2 hours served", True),
    ("2.00", True), ("2.5 hours", False), ("63.8% were on time", False), ("1,748 requests", False),
    ("http://127.0.0.1:8050/api", False), ("2026-11-19 04:22 EST", False), ("v1.0", False),
    ("Score 1.00", False), ("0.57 \u2014 off target", False), ("1.00 is on target", False),
    ("latitude 40.55", False), ("SEG-00045.", False), ("in 2026.", False),
])
def test_the_checker_flags_exactly_the_needless_decimals(text, flagged):
    assert bool(needless_decimals(text)) == flagged


@pytest.fixture(scope="module")
def pages(browser):
    """One reused page per viewport: loading, not opening tabs, is what these tests pay for."""
    made = {name: browser.new_context(viewport=size, has_touch=name == "phone").new_page()
            for name, size in (("desktop", DESKTOP), ("phone", PHONE))}
    yield made
    for page in made.values():
        page.context.close()


SETTLE_MS = 90_000  # the suite shares two cores with everything else: a page may take a while to go quiet


def _open(page, url: str):
    """The page with every chart drawn: a chart below the first screen waits to be scrolled to (decision
    0021), and a check of its text boxes must not pass over an undrawn one."""
    page.goto(url)
    settle(page, timeout=SETTLE_MS)
    draw_every_chart(page)
    return page


# ---- words ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PAGES)
def test_no_page_shows_a_number_with_a_needless_decimal(pages, portal, path):
    page = _open(pages["desktop"], portal.url + path)
    # tables count too: each is built when its "view as table" is first opened by a click (decision 0021)
    page.evaluate("() => document.querySelectorAll('details:not([open]) > summary').forEach(s => s.click())")
    page.wait_for_function("() => [...document.querySelectorAll('details.as-table .table-wrap')].every(t => t.children.length)",
                           timeout=SETTLE_MS)
    text = page.evaluate("() => document.body.innerText")
    assert re.search(r"\d", text)
    assert needless_decimals(text) == []


FEEDS = (*(f"/api/v1/kpis/{kpi.id}/changes.json?period={period}" for kpi in kpi_decls.kpis().values()
           for period in kpi.periods), *(f"/data/{name}/changes.json" for name in sorted(datasets.datasets())))


def test_no_change_feed_says_a_number_with_a_needless_decimal(portal):
    """The KPI and dataset change feeds (portal/kpi_feed.py, portal/feeds.py) are read as the pages
    are: every title and summary of every feed, through the same checker."""
    found = {}
    for path in FEEDS:
        with urllib.request.urlopen(portal.url + path, timeout=60) as resp:
            items = json.load(resp)["items"]
        text = "\n".join(f"{i['title']}\n{i['content_text']}" for i in items)
        assert re.search(r"\d", text), path
        if needless_decimals(text):
            found[path] = needless_decimals(text)
    assert found == {}


def test_the_overall_score_comes_with_its_word(pages, portal):
    page = _open(pages["desktop"], portal.url + "/")
    assert re.fullmatch(r"\d\.\d\d \u2014 (on|near|off) target", page.locator(".overall-score").text_content())


def test_a_bad_filter_is_said_once_in_words_beside_the_filters(pages, portal):
    # issue 16: ?borough=Bronxx showed "parameter 'borough' of query 'sr_volume' expects one of ..." six times
    page = _open(pages["desktop"], portal.url + "/service-requests?borough=Bronxx")
    text = page.evaluate("() => document.body.innerText")
    note = page.locator(".filters .filter-note")
    assert note.text_content() == ("Borough: No borough is called \u201cBronxx\u201d. Choose Manhattan, Bronx, Brooklyn, "
                                   "Queens or Staten Island, or leave the box empty for every borough.")
    assert text.count("Bronxx") == 1 and "query" not in text and "parameter" not in text
    page.locator("#sr-borough").fill("bronx")
    page.locator("#sr-borough").press("Enter")
    page.wait_for_function("() => !document.querySelector('.filter-note').textContent", timeout=SETTLE_MS)
    settle(page, timeout=SETTLE_MS)
    assert note.text_content() == "" and "Not drawn" not in page.evaluate("() => document.body.innerText")


def test_volunteers_opens_with_what_one_can_do(pages, portal):
    page = _open(pages["desktop"], portal.url + "/volunteers")
    assert page.locator("section.card h2").first.text_content() == "Open opportunities still needing volunteers"


# ---- a phone ----------------------------------------------------------------------------------------
CUT = """() => {
  const vw = document.documentElement.clientWidth, out = [];
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const box = gd.getBoundingClientRect();
    for (const t of gd.querySelectorAll('svg text')) {
      const r = t.getBoundingClientRect();
      if (!t.textContent.trim() || (r.width === 0 && r.height === 0)) continue;
      if (r.left < Math.max(box.left, 0) - 0.5 || r.right > Math.min(box.right, vw) + 0.5
          || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
        out.push(`${gd.parentElement.id}: "${t.textContent}" at ${[r.left, r.right, r.top, r.bottom].map(Math.round)}`
                 + ` outside ${[box.left, box.right, box.top, box.bottom].map(Math.round)}`);
    }
  }
  return out;
}"""
TOOLBAR_OVER_LEGEND = """(gd) => {
  const bar = gd.querySelector('.modebar'), legend = gd.querySelector('.infolayer .legend');
  if (!bar || !legend) return false;
  const m = bar.getBoundingClientRect(), l = legend.getBoundingClientRect();
  return m.width > 0 && !(m.right <= l.left || l.right <= m.left || m.bottom <= l.top || l.bottom <= m.top);
}"""


@pytest.mark.parametrize("path", ("/", *CHART_PAGES, "/data", "/data/service_requests", "/api"))
def test_at_390_px_no_text_leaves_its_chart_or_the_screen(pages, portal, path):
    page = _open(pages["phone"], portal.url + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate(CUT) == []
    for graph in page.locator(".js-plotly-plot").all():
        graph.scroll_into_view_if_needed()
        box = graph.bounding_box()
        for across in (0.15, 0.5, 0.85):  # a tap shows the toolbar and the label of what is under the finger
            page.mouse.move(box["x"] + box["width"] * across, box["y"] + box["height"] * 0.45)
            page.wait_for_timeout(100)
            assert page.evaluate(CUT) == [], (path, across)
            assert not graph.evaluate(TOOLBAR_OVER_LEGEND), (path, across)


def test_a_long_legend_does_not_squash_its_chart(pages, portal):
    # issue 16: the stacked borough chart's legend left it ~70 px at 390 px
    page = _open(pages["phone"], portal.url + "/volunteers")
    heights = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(gd =>
        [gd.parentElement.id, Math.round(gd.querySelector('.bglayer rect, .nsewdrag').getBoundingClientRect().height)])""")
    assert heights and all(h >= 200 for _, h in heights), heights


def test_the_storm_box_shows_the_whole_storm(pages, portal):
    page = _open(pages["phone"], portal.url + "/snow")
    box = page.locator("#snow-storm")
    assert box.input_value().startswith("STORM-")
    assert box.evaluate("i => i.scrollWidth <= i.clientWidth")


def test_the_api_docs_are_inside_the_site_with_its_navigation(pages, portal):
    page = _open(pages["phone"], portal.url + "/api")
    nav = page.get_by_role("navigation", name="Main")
    assert [(a.get_attribute("href"), a.text_content()) for a in nav.get_by_role("link").all()] == list(NAV)
    assert page.locator("main h1").text_content() == "Pulse open-data API"
    assert axe_violations(page) == []
