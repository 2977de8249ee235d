"""One meaning of each time, one clock, and news in the page's own words (issue 16): "data through"
is the newest record's own time, the publish time is labelled, every time is the city's with its
zone named, and what a page announces is counted from the data it draws."""
from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pytest

import config
from portal import filters, freshness, news, panels
from portal.reader import reader
from tests.conftest import demo_lake_at
from tests.helpers import dash_portal


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory):
    import app  # noqa: F401  (pages and panels register against the app)

    with demo_lake_at(tmp_path_factory.mktemp("fresh") / "data", scale=2000, seed=5) as data:
        yield data


@pytest.mark.parametrize(("value", "today", "expected"), [
    ("2026-11-20T09:21:03+00:00", date(2026, 11, 20), "04:21 EST"),           # today: the time alone
    ("2026-11-20T09:21:03+00:00", date(2026, 11, 21), "2026-11-20 04:21 EST"),
    ("2026-07-04T16:00:00+00:00", date(2026, 7, 4), "12:00 EDT"),              # summer time named as such
    ("2026-11-20T09:21:03", date(2026, 11, 20), "04:21 EST"),                  # naive: UTC, as the lake stores it
    (None, None, "unknown"),
])
def test_a_time_is_the_citys_with_its_zone_named(value, today, expected):
    assert freshness.local_time(value, today=today) == expected


def test_another_city_reads_its_own_clock():
    with config.using(config.active().replace(city="chicago")):
        assert freshness.local_stamp("2026-11-20T09:21:03+00:00") == "2026-11-20 03:21 CST"
        assert freshness.zone_name() == "America/Chicago"


def test_an_evening_storm_belongs_to_the_citys_day_as_its_id_says():
    # issue 16: "Storm Ava (2025-01-08)" had id STORM-2025-01-07 (it began at 19:30 EST on the 7th)
    import app  # noqa: F401  (the page registers against the app)
    from layouts import snow

    storm = {"storm_id": "STORM-2025-01-07", "name": "Storm Ava", "started": pd.Timestamp("2025-01-08T00:30:00Z")}
    assert snow._storm_label(storm) == "Storm Ava (2025-01-07)"


def test_data_through_is_the_newest_recorded_instant_not_the_publish_time(demo_lake):
    newest = reader().query("SELECT greatest(max(created), max(closed)) FROM {service_requests}", name="t").rows[0][0]
    through = freshness.data_through(["service_requests"])
    assert through == {"service_requests": newest}
    published = datetime.fromisoformat(reader().published_at()["service_requests"])
    assert through["service_requests"] != published  # two meanings, two numbers
    assert "snow_segments" not in freshness.data_through()  # a street list has no event time


def test_the_first_screen_line_labels_both_times_and_names_no_dataset(demo_lake):
    line = freshness.data_words(("service_requests", "plow_activity"))
    newest = max(freshness.data_through(("service_requests", "plow_activity")).values())
    assert line.startswith(f"Data through {freshness.local_time(newest)}; published ")
    assert line.endswith((" EST.", " EDT.")) and "service_requests" not in line and "+00:00" not in line


def test_the_news_of_a_page_is_counted_from_what_it_draws_for_its_filters(demo_lake):
    params = filters.volunteer_params({})
    digest = news.digest("volunteers", params)
    drawn = panels.frame(panels.get("vol-by-day"), params)
    assert digest["counts"] == {"sign-ups": int(drawn["signups"].sum())}
    assert digest["lead"] == "New volunteer data" and digest["one"] == {"sign-ups": "sign-up"}
    other = news.digest("volunteers", {**params, "borough": "BRONX"})
    assert other["key"] != digest["key"]  # a filter change is a new baseline, not news
    assert news.digest("scorecard", {}) is None  # the scorecard's news is its tiles' values


def test_snow_news_counts_each_priority_once_at_its_latest_hour(demo_lake):
    params = filters.snow_params({})
    progress = panels.frame(panels.get("snow-progress"), params)
    latest = progress.sort_values("hour").groupby("route_priority").tail(1)
    assert news.digest("snow", params)["counts"] == {"street segments plowed": int(latest["segments_serviced"].sum())}


def _refresh_body(app, kpi_ids: list[str], period, as_of) -> dict:
    """The body the renderer sends when a new version lands on a scorecard showing `kpi_ids`."""
    output, cb = next((k, v) for k, v in app.callback_map.items()
                      if k.startswith("..sc-asof.children@") and "callback" in v)
    outputs = []
    for spec in cb["output"]:
        prop = spec.component_property + ("@" + output.split("@")[1].split(".")[0] if spec.allow_duplicate else "")
        if isinstance(spec.component_id, dict):
            outputs.append([{"id": {**spec.component_id, "kpi": k}, "property": prop} for k in kpi_ids])
        else:
            outputs.append({"id": spec.component_id, "property": prop})
    return {"output": output, "outputs": outputs, "inputs": [{**cb["inputs"][0], "value": {}}],
            "state": [{**cb["state"][0], "value": period}, {**cb["state"][1], "value": as_of}],
            "changedPropIds": ["data-version.data"]}


def test_a_new_version_rewrites_the_tiles_parts_and_never_the_tiles(demo_lake):
    # issue 16: rebuilding the tiles sent focus to <body> and closed the open details (Dash 4 remounts
    # replaced children); the refresh answers only the parts, by pattern-matching ids.
    from datasets.kpis import kpis

    app, client = dash_portal()
    ids = list(kpis())
    resp = client.post("/_dash-update-component", json=_refresh_body(app, ids, "month", None))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    answer = resp.get_json()["response"]
    assert "sc-tiles" not in answer  # the tiles themselves are never sent again
    bodies = {k: v for k, v in answer.items() if k.startswith("{") and '"sc-body"' in k}
    assert len(bodies) == len(ids) and all(v["children"] for v in bodies.values())
    assert "Data through " in json.dumps(answer["sc-asof"])


@pytest.mark.parametrize(("period", "as_of"), [(["week"], None), ("month", "9999-12-31"), (7, {"a": 1})])
def test_a_refresh_with_hostile_state_is_an_answer_not_a_500(demo_lake, period, as_of):
    app, client = dash_portal()
    resp = client.post("/_dash-update-component", json=_refresh_body(app, ["sr_open_backlog"], period, as_of))
    assert resp.status_code in (200, 204), resp.get_data(as_text=True)[:300]

