"""Every page fast (issue 16, item 6), what a browser shows of it: a chart page draws the charts on
the first screen and leaves the others until they are scrolled to; a chart's box has its height
from the first paint, so nothing on the first screen moves when the charts arrive; a chart's
table is built when its "view as table" is opened (decision 0021). Lighthouse's scores themselves
are a benchmark (`python -m benchmarks --only lighthouse`), not a test: they are too noisy here."""
from __future__ import annotations

import pytest

from tests.browser.conftest import CHART_DRAWN, DESKTOP, draw_chart, own_portal, settle

CHART_PAGES = ["/service-requests", "/snow", "/volunteers"]

# Before any script: every layout shift, and each graph's height the first time it is on the page.
WATCH = """
window.__shifts = [];
new PerformanceObserver(list => list.getEntries().forEach(e => {
  if (!e.hadRecentInput) { window.__shifts.push(e.value); }
})).observe({type: 'layout-shift', buffered: true});
window.__firstHeights = {};
(function first() {
  document.querySelectorAll('.dash-graph[id]').forEach(g => {
    if (!(g.id in window.__firstHeights)) { window.__firstHeights[g.id] = g.getBoundingClientRect().height; }
  });
  if (performance.now() < 20000) { requestAnimationFrame(first); }
})();
"""


# These tests watch each page's first load: a server of their own, which no earlier module has warmed or
# left busy.
portal = own_portal("portal", "fast")


@pytest.fixture(scope="module")
def context(browser):
    ctx = browser.new_context(viewport=DESKTOP)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def loaded(context, portal):
    """Each chart page, opened once and settled: {path: (page, what WATCH saw by then, before any
    test scrolls)}."""
    pages = {}
    for path in CHART_PAGES:
        page = context.new_page()
        page.add_init_script(WATCH)
        page.goto(portal.url + path)
        settle(page)
        page.wait_for_function(f"() => [...document.querySelectorAll('.dash-graph[id]')].some({CHART_DRAWN})")
        page.wait_for_timeout(500)  # the first screen's charts draw one task each
        pages[path] = (page, page.evaluate("({shifts: window.__shifts.slice(), first: window.__firstHeights})"))
    yield pages
    for page, _ in pages.values():
        page.close()


def charts(page) -> list[dict]:
    """Each graph: id, whether it is below the first screen, whether it has drawn, its height."""
    return page.evaluate(f"""() => [...document.querySelectorAll('.dash-graph[id]')].map(g => ({{
        id: g.id, below: g.getBoundingClientRect().top + window.scrollY >= window.innerHeight,
        drawn: ({CHART_DRAWN})(g), height: g.getBoundingClientRect().height}}))""")


@pytest.mark.parametrize("path", CHART_PAGES)
def test_charts_on_the_first_screen_draw_and_the_others_wait_until_scrolled_to(loaded, path):
    page, _ = loaded[path]
    graphs = charts(page)
    first_screen = [g["id"] for g in graphs if not g["below"]]
    below = [g["id"] for g in graphs if g["below"]]
    assert first_screen and below, graphs  # each chart page has charts on both sides of the fold
    for graph_id in first_screen:
        page.wait_for_function(f"id => ({CHART_DRAWN})(document.getElementById(id))", arg=graph_id)
    assert not any(g["drawn"] for g in charts(page) if g["id"] in below), charts(page)
    for graph_id in below:
        draw_chart(page, graph_id)  # scrolled to: it draws
    assert all(g["drawn"] for g in charts(page))


@pytest.mark.parametrize("path", CHART_PAGES)
def test_nothing_on_the_first_screen_moves_while_the_charts_arrive(loaded, path):
    page, at_load = loaded[path]
    drawn = {g["id"]: g["height"] for g in charts(page) if g["drawn"] and not g["below"]}
    assert drawn
    # a chart on the first screen has its drawn height from the first paint on
    assert {i: at_load["first"][i] for i in drawn} == pytest.approx(drawn, abs=1), (at_load["first"], drawn)
    shift = sum(at_load["shifts"])
    assert shift < 0.01, f"cumulative layout shift {shift:.3f} while {path} loaded"


def test_a_table_is_built_when_it_is_opened(loaded):
    page, _ = loaded["/snow"]
    card = page.locator("section.card").first
    assert card.locator("table.data").count() == 0  # not built while closed
    card.locator("details.as-table summary").click()
    page.wait_for_selector("section.card table.data tbody tr")
    assert card.locator("table.data caption").text_content() == card.locator("h2").text_content()
