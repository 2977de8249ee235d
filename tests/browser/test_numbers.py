"""Numbers that survive a hostile question (issue 15), in a real browser against gunicorn: /snow in the
first minutes of a simulated storm agrees with itself and draws no empty axes, a pinned dataset page
cites its own version, and the rows behind every KPI tile reproduce the tile's value."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from tests.browser.conftest import start_portal, stop_portal
from tests.helpers import sr_row, write_csv
from tests.integration.test_api_kpis import RECOMPUTE


@pytest.fixture(scope="module")
def storm_portal(tmp_path_factory):
    """A demo lake, then the simulator's storm played to about 20 minutes after it began (it starts
    half an hour after the simulation's start, etl/simulate.py), served by gunicorn."""
    p = start_portal(tmp_path_factory.mktemp("storm") / "data")
    start = (datetime.now(UTC) - timedelta(minutes=50)).isoformat(timespec="seconds")
    p.etl("simulate", "--once", "--start", start, "--speed", "3000", "--every", "1")
    yield p
    stop_portal(p)


def _hours(text: str) -> float:
    """The elapsed time a summary states, in hours ("less than a minute after", "20 minutes after", "5.2 hours
    after": portal/wording.py)."""
    if "less than a minute after" in text:
        return 0.0
    found = re.search(r"([\d.,]+) (minute|hour|day)s? after", text)
    return float(found.group(1).replace(",", "")) * {"minute": 1 / 60, "hour": 1, "day": 24}[found.group(2)]


def test_snow_in_the_first_minutes_of_a_storm_agrees_with_itself(open_page, storm_portal):
    page = open_page("/snow", server=storm_portal).page
    progress = page.locator("#snow-progress-summary").text_content()
    first = page.locator("#snow-first-pass-summary").text_content()
    districts = page.locator("#snow-districts-summary").text_content()
    assert "active since" in progress, progress
    assert _hours(progress) == _hours(first) < 1, (progress, first)  # one moment, not "48 hours" on a young storm
    assert "in progress, the window ends" in first and "In progress" in districts
    assert "more than" in first  # the unreached are counted, not left out
    # every chart draws something: no empty axes (a message figure has no axes at all)
    # _fullData: the traces as plotly drew them, typed arrays decoded (gd.data may hold base64 `bdata`)
    empty = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].filter(gd =>
        (gd.layout.xaxis || {}).visible !== false && !(gd._fullData || []).some(t => (t.x || []).length || (t.y || []).length)
    ).map(gd => gd.closest('[id$=-graph]').id)""")
    assert empty == []


def test_a_pinned_dataset_page_cites_its_own_version(open_page, storm_portal, tmp_path):
    import json
    import urllib.request

    # A version of its own beside the simulator's (which, late at night in New York, may publish no 311
    # request in its first simulated minutes): the page pinned to version 1 is then not the newest.
    rows = [sr_row(7000 + i, created=f"2026-11-{10 + i % 5:02d}T09:00:00-05:00") for i in range(5)]
    storm_portal.etl("load", "service_requests", str(write_csv(tmp_path / "more.csv", rows)))
    with urllib.request.urlopen(f"{storm_portal.url}/api/v1/datasets/service_requests") as r:
        versions = json.load(r)["versions"]
    first = next(v for v in versions if v["version"] == 1)
    assert max(v["version"] for v in versions) > 1
    page = open_page("/data/service_requests?version=1", server=storm_portal).page
    cite = page.locator(".cite").text_content()
    assert f"version 1 ({first['rows']:,} rows)" in cite and "service_requests?version=1." in cite


def test_the_rows_behind_each_tile_reproduce_its_value(open_page, portal):
    page = open_page("/?period=month&as_of=2026-10-15").page
    tiles = page.locator("article.tile")
    assert tiles.count() == len(RECOMPUTE)
    for i in range(tiles.count()):
        tile = tiles.nth(i)
        tile.locator("details.how summary").click()
        rows_href = tile.get_by_role("link", name="The rows behind this number").get_attribute("href")
        json_href = tile.get_by_role("link", name="This KPI as JSON").get_attribute("href")
        assert "period=month" in json_href and "as_of=2026-10-15" in json_href
        kpi = page.request.get(portal.url + json_href).json()
        df = pd.read_csv(io.BytesIO(page.request.get(portal.url + rows_href).body()))
        value = RECOMPUTE[kpi["id"]](df)
        assert (value is None) if kpi["actual"] is None else float(value) == pytest.approx(kpi["actual"], rel=1e-9), kpi["id"]
