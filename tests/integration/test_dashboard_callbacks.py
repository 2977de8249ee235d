"""The dashboards' callbacks, called directly (STYLE habit 8), and the panels behind them (issue 4):
a chart, its summary, its table and its CSV show the same numbers as the named query they come
from; a bad filter or an empty range degrades to a message; the URL query restores a view."""
from __future__ import annotations

import base64
import csv
import io
from datetime import date

import flask
import numpy as np
import pytest

from api.charts import bp as charts_bp
from portal import filters, panels, queries
from tests.conftest import demo_lake_at


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory):
    import app  # noqa: F401  (the Dash app must exist before the pages register)

    with demo_lake_at(tmp_path_factory.mktemp("dash") / "data", scale=5000, seed=7) as data:
        yield data


def _values(v) -> list:
    """Plotly writes numeric arrays as typed-array specs ({dtype, bdata}) in figure JSON."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def text_of(component) -> str:
    """The text a Dash component (or a list of them and strings) shows."""
    if component is None:
        return ""
    if isinstance(component, str):
        return component
    if isinstance(component, (list, tuple)):
        return "".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def ys(figure: dict, trace: int = 0) -> list:
    return _values(figure["data"][trace]["y"])


def total(figure: dict) -> int:
    return int(sum(sum(_values(t["y"])) for t in figure["data"]))


@pytest.fixture(scope="module")
def client(demo_lake):
    app = flask.Flask(__name__)
    app.register_blueprint(charts_bp)
    return app.test_client()


@pytest.fixture(scope="module")
def sr_params(demo_lake):
    return filters.sr_params({})


# ---- the callbacks ------------------------------------------------------------------------------------
def test_the_311_callback_fills_every_panel_and_names_the_version(demo_lake, sr_params):
    from callbacks import service_requests as cb

    out = cb.update(sr_params["start"], sr_params["end"], None, None, None, "week", {})
    asof, rest, sources, note = out[0], out[1:-2], out[-2], out[-1]
    # issue 16: the first screen says the data's time in words; the versions are in "Data and sources"
    assert text_of(asof).startswith("Data through ") and "service_requests" not in text_of(asof)
    assert text_of(sources).startswith("Showing 311 Service Requests (service_requests v1, published ")
    assert note == []  # nothing wrong with the filters
    assert len(rest) == 4 * len(panels.for_page("service_requests"))
    for figure, summary, _table, href in zip(rest[0::4], rest[1::4], rest[2::4], rest[3::4], strict=True):
        assert figure["data"], summary
        assert href.startswith("/api/v1/charts/") and f"start={sr_params['start']}" in href


def test_the_snow_and_volunteer_callbacks_fill_every_panel(demo_lake):
    from callbacks import snow, volunteers

    storm = filters.storms()[0]["storm_id"]
    out = snow.update(storm, 12, 6, {})
    assert "snow_storms v1" in text_of(out[-2]) and all(f["data"] for f in out[1:-2:4]) and out[-1] == []
    v = filters.volunteer_params({})
    out = volunteers.update(v["start"], v["end"], None, {})
    assert "volunteer_signups v1" in text_of(out[-2]) and all(f["data"] for f in out[1:-2:4]) and out[-1] == []


def test_the_scorecard_callback_draws_a_tile_per_kpi_and_the_overall_score(demo_lake):
    from callbacks import scorecard
    from datasets.kpis import kpis

    asof, overall, tiles, _ = scorecard.update("week", None)
    assert len(tiles) == len(kpis())
    text = str(overall)
    assert "Overall city score" in text and "mean of the KPI scores" in text


def test_the_scorecard_names_every_dataset_its_kpis_read(demo_lake):
    # Issue 12: the "Showing ..." line left out snow_storms and snow_segments, which the snow KPI reads.
    from callbacks import scorecard
    from datasets.kpis import kpis

    _, _, _, sources = scorecard.update("week", None)
    shown = [part.split("(")[1].split(" ")[0].rstrip(":") for part in text_of(sources).removeprefix("Showing ").split("; ")]
    read = {d for k in kpis().values() for d in queries.get(k.query).datasets}
    assert set(shown) == read and len(shown) == len(read)
    assert {"snow_storms", "snow_segments", "plow_activity"} <= read


PAGE_PARAMS = {"service_requests": filters.sr_params, "snow": filters.snow_params,
               "volunteers": filters.volunteer_params}


@pytest.mark.parametrize("panel_id", [p.id for page in PAGE_PARAMS for p in panels.for_page(page)])
def test_a_panel_declares_exactly_the_named_queries_it_runs(demo_lake, monkeypatch, panel_id):
    # What a page says it shows, and the versions a view is cached under, are read off these names.
    panel, ran = panels.get(panel_id), []
    params, real = PAGE_PARAMS[panel.page]({}), queries.cached
    monkeypatch.setattr(queries, "cached", lambda name, /, **kw: ran.append(name) or real(name, **kw))
    panels.frame(panel, params)
    assert ran and set(ran) == set(panel.queries)


def test_a_chart_page_shows_the_datasets_its_panels_read(demo_lake):
    from callbacks import snow, volunteers

    storm = filters.storms()[0]["storm_id"]
    shown = text_of(snow.update(storm, 12, 6, {})[-2])  # "Data and sources"; the filter note is last
    assert sorted(part.split("(")[1].split(" ")[0] for part in shown.removeprefix("Showing ").split("; ")) == [
        "plow_activity", "snow_segments", "snow_storms"]
    v = filters.volunteer_params({})
    assert "volunteer_opportunities v1" in text_of(volunteers.update(v["start"], v["end"], None, {})[-2])


def test_a_kpi_trend_runs_oldest_to_newest_ending_at_the_current_value(demo_lake):
    from layouts import scorecard

    k = {"actual": 40.0, "unit": "requests", "history": [{"actual": 10.0}, {"actual": 20.0}, {"actual": 30.0}]}  # oldest first
    img = scorecard._sparkline(k)
    assert img.alt == "Trend over the last 4 periods: from 10 requests to 40 requests."  # issue 16: counts are whole
    svg = base64.b64decode(img.src.split(",", 1)[1]).decode()
    points = [tuple(map(float, p.split(","))) for p in svg.split('points="')[1].split('"')[0].split()]
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    assert [y for _, y in points] == sorted((y for _, y in points), reverse=True)  # rising: y falls down the SVG


def test_target_lines_are_drawn_not_only_labelled(demo_lake, sr_params):
    import plotly.graph_objects as go

    from portal import panels_snow

    figs = [panels.get("sr-within-target").figure(panels.get("sr-within-target").data(sr_params), sr_params),
            panels_snow.first_pass_figure(__import__("pandas").DataFrame({"route_priority": [1], "segments": [3],
                                          "reached": [2], "median_hours": [4.0], "median_more_than": [False], "p90_hours": [7.0], "p90_more_than": [True]}),
                                          {"target_hours": 6})]
    for fig in figs:
        layout = go.Figure(fig).layout  # the template's shape defaults apply unless the shape overrides them
        (shape,) = layout.shapes
        assert shape.line.width >= 1 and shape.opacity == 1 and shape.line.dash == "dash"


def test_every_311_panel_applies_the_filters_or_says_which_it_cannot(demo_lake, sr_params):
    kind = "Noise - Residential"
    p = {**sr_params, "borough": "BROOKLYN", "complaint_type": kind}
    close = panels.frame(panels.get("sr-time-to-close"), p)
    assert close.complaint_type.tolist() == [kind]
    assert panels.frame(panels.get("sr-within-target"), p).closed_with_due.sum() < \
        panels.frame(panels.get("sr-within-target"), {**p, "complaint_type": None}).closed_with_due.sum()
    districts = panels.frame(panels.get("sr-map-district"), p)
    assert set(districts.borough) == {"BROOKLYN"}
    assert districts.requests.sum() == total(panels.render(panels.get("sr-volume"), p).figure)
    backlog = panels.get("sr-backlog")
    view = panels.render(backlog, p)
    assert "complaint_type" not in panels.csv_href(backlog, p) and "borough=BROOKLYN" in panels.csv_href(backlog, p)
    assert "(all complaint types: the backlog is not counted by type)" in view.summary


def test_filter_values_are_read_whatever_their_case_and_every_panel_gets_the_same_spelling(demo_lake):
    kind = filters.sr_choices()["complaint_type"][0]
    p = filters.sr_params({"borough": " brooklyn", "complaint_type": kind.lower(), "agency": "nYpD"})
    assert (p["borough"], p["complaint_type"], p["agency"]) == ("BROOKLYN", kind, "NYPD")
    assert filters.sr_params({"complaint_type": "Pothole"})["complaint_type"] == "Pothole"  # unknown: kept, so "no data"
    v = filters.volunteer_params({"borough": "Queens"})
    assert v["borough"] == "QUEENS"
    assert not panels.frame(panels.get("vol-by-borough"), v).empty


def test_a_range_typed_backwards_is_read_forwards_and_short_times_are_in_hours(demo_lake):
    p = filters.sr_params({"start": "2026-10-31", "end": "2026-10-01"})
    assert (p["start"], p["end"]) == ("2026-10-01", "2026-10-31")
    v = filters.volunteer_params({"start": "2026-10-31", "end": "2026-10-01"})
    assert (v["start"], v["end"]) == ("2026-10-01", "2026-10-31")
    from portal import panels_311

    # issue 16: in the unit that reads (portal/wording.py)
    assert panels_311._duration(0.01) == "14 minutes" and panels_311._duration(2.25) == "2.2 days"
    one = panels.render(panels.get("sr-time-to-close"), {**p, "complaint_type": filters.sr_choices()["complaint_type"][0]})
    assert "still open" in one.summary and "Kaplan-Meier" in one.summary  # issue 15: the open are counted
    assert panels_311._duration(2.25, more_than=True) == "more than 2.2 days"


def test_volunteer_summaries_and_bars_say_what_they_count(demo_lake):
    import pandas as pd

    from portal import panels_volunteers as pv

    df = pd.DataFrame({"borough": ["BRONX", "BRONX", "QUEENS"], "category": ["Education", "Food", "Education"],
                       "signups": [10, 5, 3], "hours": [20.5, 7.0, 4.0]})
    text = pv.borough_summary(df, {})
    assert "Education was the most popular category (13 sign-ups, 24.5 hours served)" in text
    assert text.endswith("18 sign-ups and 31.5 hours in all.")
    assert pv.borough_summary(df[df.borough == "QUEENS"], {}).startswith("In Queens, Education")
    opportunities = pd.DataFrame({"opportunity_id": [7, 8, 9, 10, 11],
                                  "title": ["Deliver meals", "Deliver meals", "x" * 60, "x" * 50 + "a", "y" * 60],
                                  "still_needed": [5, 4, 3, 2, 1]})
    bars = pv.open_figure(opportunities, {}).to_plotly_json()["data"][0]
    cut = "x" * 31 + "\u2026"
    # wrapped onto lines for a phone (portal/figures.bars, issue 16); the words are the same
    assert [y.replace("<br>", " ") for y in bars["y"]] == ["Deliver meals (7)", "Deliver meals (8)", f"{cut} (9)", f"{cut} (10)", "y" * 31 + "\u2026"]


def _components(layouts) -> list:
    """Every component in `layouts` (Dash components, or lists of them)."""
    out = []
    for layout in layouts:
        out += [layout, *layout._traverse()]
    return out


def _named(component_id, components: list) -> list:
    """The components an id of a callback names: one by its string id, or, by a pattern-matching id,
    every component whose dict id has the same keys and the same value wherever it is not a wildcard."""
    import json

    wildcards = ('["ALL"]', '["MATCH"]', '["ALLSMALLER"]')
    if isinstance(component_id, str):
        return [c for c in components if getattr(c, "id", None) == component_id]
    return [c for c in components if isinstance(getattr(c, "id", None), dict) and c.id.keys() == component_id.keys()
            and all(json.dumps(v) in wildcards or c.id[k] == v for k, v in component_id.items())]


def test_every_callback_names_components_and_properties_a_page_has(demo_lake):
    """What Dash's renderer would check in every visitor's browser against every page's layout (a
    1.37 MB copy in each page; app.py turns it off, decision 0024), checked here once: each input,
    state and output of every callback, as /_dash-dependencies gives them, is a component of some
    page or of the frame around them, with that property."""
    import json

    import dash

    from app import app

    with app.server.test_request_context("/"):  # as Dash drew them, at a request
        layouts = [entry["layout"]() if callable(entry["layout"]) else entry["layout"]
                   for entry in dash.page_registry.values()]
        components = _components([*layouts, app.layout()])
    dependencies = app.server.test_client().get("/_dash-dependencies").get_json()
    wrong = []
    for callback in dependencies:
        # an output may be written by several callbacks (allow_duplicate): "id.prop@<hash>"
        outputs = [o.split("@")[0].rsplit(".", 1) for o in callback["output"].strip(".").split("...")]
        names = [(o[0], o[1]) for o in outputs] + [(d["id"], d["property"]) for d in callback["inputs"] + callback["state"]]
        for component_id, prop in names:
            component_id = json.loads(component_id) if isinstance(component_id, str) and component_id.startswith("{") else component_id
            named = _named(component_id, components)
            if not named:
                wrong.append(f"{component_id}: no such component")
            elif not any(prop in c._prop_names or any(prop.startswith(w) for w in c._valid_wildcard_attributes)
                         for c in named):
                wrong.append(f"{component_id}.{prop}: no such property")
    assert len(dependencies) > 20 and not wrong, wrong


def test_charts_offer_saving_and_resetting_not_a_row_of_selection_tools(demo_lake):
    from layouts import _shell

    graph = _shell.chart_card(panels.get("sr-volume")).children[2]
    assert {"select2d", "lasso2d", "zoomIn2d", "pan2d"} <= set(graph.config["modeBarButtonsToRemove"])
    assert "toImage" not in graph.config["modeBarButtonsToRemove"]


def test_the_overall_score_says_when_the_period_is_not_over(demo_lake):
    from layouts import scorecard

    card = {"period": "month", "start": "2026-11-01", "end": "2026-12-01", "as_of": "2026-11-19", "overall": 0.9,
            "kpis": {}, "overall_formula": "Mean."}
    def text(card):  # the line as read: its words and the span meeting mode hides on a small screen
        return "".join(c if isinstance(c, str) else c.children for c in scorecard.overall(card)[2].children)

    assert "Month 2026-11-01 to 2026-11-30 (so far: data through 2026-11-19, 19 of 30 days;" in text(card)
    done = text({**card, "as_of": "2026-11-30"})
    assert "Month 2026-11-01 to 2026-11-30;" in done and "so far" not in done


def test_a_storm_can_be_named_as_people_call_it(demo_lake):
    storm = filters.storms()[-1]
    for typed in (storm["storm_id"].lower(), storm["name"].upper(), f"{storm['name']} (2020-01-01)", f" {storm['name']} "):
        assert filters.snow_params({"storm_id": typed})["storm_id"] == storm["storm_id"], typed
    assert filters.snow_params({"storm_id": "Storm Nobody"})["storm_id"] == "Storm Nobody"
    assert filters.snow_params({})["storm_id"] == filters.storms()[0]["storm_id"]


# ---- panels: one frame behind chart, summary, table and CSV ---------------------------------------------
def test_a_panel_shows_exactly_what_its_named_query_returns(demo_lake, sr_params):
    panel = panels.get("sr-backlog")
    view = panels.render(panel, sr_params)
    direct = queries.run("sr_open_backlog", start=sr_params["start"], end=sr_params["end"]).dicts()
    assert view.total_rows == len(direct)
    assert [int(y) for y in ys(view.figure)] == [r["open_requests"] for r in direct]
    last = direct[-1]
    assert f"{last['open_requests']:,} on {last['day']}" in view.summary


def test_the_csv_download_is_the_chart_data(client, demo_lake, sr_params):
    panel = panels.get("sr-volume")
    view = panels.render(panel, sr_params)
    resp = client.get(view.csv_href)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "service_requests-v1" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(rows) == view.total_rows
    assert sum(int(r["requests"]) for r in rows) == total(view.figure)


def test_the_volume_summary_states_the_total_of_the_chart(demo_lake, sr_params):
    view = panels.render(panels.get("sr-volume"), sr_params)
    assert view.summary.startswith(f"{total(view.figure):,} requests were created from {sr_params['start']}")


@pytest.mark.parametrize("params, expected", [
    ({"borough": "ATLANTIS"}, "cannot be drawn for these filters"),
    ({"start": "2001-01-01", "end": "2001-01-31"}, "No data matches these filters."),
])
def test_a_bad_filter_or_an_empty_range_is_a_message_not_a_broken_chart(demo_lake, sr_params, params, expected):
    view = panels.render(panels.get("sr-volume"), {**sr_params, **params})
    assert expected in view.summary
    assert view.figure["layout"]["annotations"][0]["text"] == view.summary or not view.ok


def test_a_time_out_is_a_message(demo_lake, sr_params):
    from portal.reader import QueryTimeout

    def slow(_params):
        raise QueryTimeout("sr_volume", 1)

    panel = panels.Panel("t-slow", "test", "Slow", ("start",), slow, lambda df, p: None, lambda df, p: "")
    view = panels.render(panel, sr_params)
    assert not view.ok and "took too long" in view.summary


@pytest.mark.parametrize("url, status", [
    ("/api/v1/charts/nope.csv", 404),
    ("/api/v1/charts/sr-volume.csv?color=red", 400),
    ("/api/v1/charts/sr-volume.csv?start=yesterday&end=2026-01-01", 400),
    ("/api/v1/charts/snow-progress.csv?storm_id=STORM-NOPE&hours=9999", 400),
])
def test_chart_downloads_answer_bad_requests_with_4xx_json(client, demo_lake, url, status):
    resp = client.get(url)
    assert resp.status_code == status and "error" in resp.json


def test_a_chart_download_without_filters_is_what_the_page_opens_with(client, demo_lake, sr_params):
    bare = client.get("/api/v1/charts/sr-volume.csv")
    assert bare.status_code == 200
    expected = client.get("/api/v1/charts/sr-volume.csv?" + "&".join(
        f"{k}={sr_params[k]}" for k in ("start", "end", "period")))
    assert bare.get_data() == expected.get_data()
    assert client.get("/api/v1/charts/vol-by-day.csv").status_code == 200


# ---- the URL query is the view ----------------------------------------------------------------------------
def test_url_parameters_restore_the_311_view_and_bad_dates_are_kept_to_be_refused(demo_lake):
    p = filters.sr_params({"start": "2026-10-01", "end": "2026-10-31", "borough": "BROOKLYN", "period": "day"})
    assert p == {"start": "2026-10-01", "end": "2026-10-31", "period": "day", "borough": "BROOKLYN",
                 "agency": None, "complaint_type": None}
    fallback = filters.sr_params({"start": "not-a-date", "period": "fortnight"})
    assert fallback["period"] == "week" and fallback["start"] == "not-a-date"  # issue 15: said, not replaced
    assert "not-a-date" in panels.render(panels.get("sr-volume"), fallback).summary


def test_the_pages_read_their_url_query(demo_lake):
    from layouts import service_requests, snow

    layout = str(service_requests.layout(start="2026-10-01", end="2026-10-31", agency="DSNY"))
    assert "2026-10-01" in layout and "DSNY" in layout
    assert "value=12" in str(snow.layout(hours="12")).replace(" ", "")


def _component(tree, component_id):
    """The component with this id in a layout tree (None if absent)."""
    if getattr(tree, "id", None) == component_id:
        return tree
    children = getattr(tree, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json") and (found := _component(child, component_id)) is not None:
            return found
    return None


@pytest.mark.parametrize("control, param", [("HOURS", "hours"), ("TARGET", "target_hours")])
def test_the_snow_boxes_take_what_their_query_takes_and_open_at_its_default(demo_lake, control, param):
    # Issue 12: the snow defaults and bounds were written out in six places.
    from layouts import snow
    from portal import queries_snow

    declared = queries_snow.HOURS if param == "hours" else queries.TARGET_HOURS
    box = _component(snow.layout(), getattr(snow, control))
    assert (box.min, box.max, box.value) == (declared.min, declared.max, declared.default)
    assert filters.snow_params({param: declared.max + 1})[param] == declared.max
    assert filters.snow_params({param: "many"})[param] == declared.default


def test_the_volunteer_borough_box_offers_the_declared_boroughs(demo_lake):
    # Issue 12: the page held its own copy of the list.
    import datasets
    from layouts import _shell, volunteers

    options = _shell.choice_options(_component(volunteers.layout(), f"{volunteers.BOROUGH}-options"))
    declared = datasets.get("volunteer_signups").column("borough").allowed
    assert declared and [value for value, _ in options] == list(declared)


def test_the_snow_map_reads_the_storm_at_the_chosen_hour(demo_lake):
    storm = filters.storms()[0]["storm_id"]
    early = panels.frame(panels.get("snow-map"), {"storm_id": storm, "hours": 1})
    late = panels.frame(panels.get("snow-map"), {"storm_id": storm, "hours": 48})
    assert early["last_serviced"].isna().sum() > late["last_serviced"].isna().sum()


def test_every_snow_panel_draws_a_storm_at_its_very_start(demo_lake):
    """Issue 15: a storm at 0 h (hours started at 1): nothing reached, every window open, no error and
    no empty axes; the first-pass panel says the quantiles are only "more than 0 hours"."""
    storm = filters.storms()[0]["storm_id"]
    params = filters.snow_params({"storm_id": storm, "hours": "0"})
    assert params["hours"] == 0
    for panel in panels.for_page("snow"):
        view = panels.render(panel, params)
        assert view.ok, (panel.id, view.summary)
    progress = panels.frame(panels.get("snow-progress"), params)
    assert progress["elapsed_hours"].max() == 0
    first = panels.frame(panels.get("snow-first-pass"), params)
    assert (first["serviced"] == 0).all() and first["median_more_than"].all() and not first["window_closed"].any()


def test_the_311_summaries_say_how_many_are_still_open_and_past_due(demo_lake, sr_params):
    """Issue 15, findings 1 and 4: neither summary said how many requests were still open."""
    close = panels.render(panels.get("sr-time-to-close"), sr_params)
    on_time = panels.render(panels.get("sr-within-target"), sr_params)
    target = panels.frame(panels.get("sr-within-target"), sr_params)
    assert "still open" in close.summary and "Kaplan-Meier" in close.summary
    assert f"{target.open_with_due.sum():,} are still open ({target.open_past_due.sum():,} past due)" in on_time.summary
    assert (target.pct_within_target <= target.pct_closed_only.fillna(0)).all()


def test_the_volume_chart_draws_empty_periods_as_zero_and_marks_partial_ones(demo_lake, sr_params):
    """Issue 15, finding 5: by day each channel was a flat line at 1 a day (zero days skipped), and
    partial first and last weeks looked like real drops."""
    counts = queries.run("sr_close_survival", start=sr_params["start"], end=sr_params["end"]).dicts()
    rare = min((r for r in counts if r["requests"] >= 5), key=lambda r: r["requests"])["complaint_type"]
    narrow = {**sr_params, "complaint_type": rare, "period": "day"}
    df = panels.frame(panels.get("sr-volume"), narrow)
    days = (date.fromisoformat(narrow["end"]) - date.fromisoformat(narrow["start"])).days + 1
    assert len(df) == days * df["channel"].nunique() and (df["requests"] == 0).any() and not df["partial"].any()
    weeks = panels.render(panels.get("sr-volume"), {**sr_params, "start": "2026-10-01", "end": "2026-10-31",
                                                     "period": "week"})
    frame = panels.frame(panels.get("sr-volume"), {**sr_params, "start": "2026-10-01", "end": "2026-10-31", "period": "week"})
    assert sorted(frame.loc[frame.partial, "period_start"].unique()) == [date(2026, 9, 28), date(2026, 10, 26)]
    assert "2026-09-28 and 2026-10-26 are only partly covered" in weeks.summary
    assert any("circle-open" in str(t["marker"]["symbol"]) for t in weeks.figure["data"])


def test_the_official_snow_target_is_fixed_and_another_is_a_what_if(demo_lake):
    """Issue 15, finding 2: target_hours=48 made priority 1 "100% within target" as if it were the city's."""
    from portal import panels_snow

    storm = filters.storms()[0]["storm_id"]
    official = panels.render(panels.get("snow-first-pass"), {"storm_id": storm, "hours": None, "target_hours": None})
    what_if = panels.render(panels.get("snow-first-pass"), {"storm_id": storm, "hours": None, "target_hours": 48})
    assert f"the {panels_snow.official_target()}-hour target" in official.summary and "what-if" not in official.summary
    assert "a what-if target of 48 hours (the official target is 6)" in what_if.summary
    assert any("what-if target 48 h" in str(a) for a in what_if.figure["layout"]["annotations"])


# ---- what is wrong with a filter, in words (issue 16) ------------------------------------------------------
@pytest.mark.parametrize("page, query, expected", [
    ("service_requests", {"borough": "brooklyn", "agency": "dsny"}, {}),  # another case is the same value
    ("service_requests", {"borough": "Bronxx"},
     {"borough": "No borough is called \u201cBronxx\u201d. Choose Manhattan, Bronx, Brooklyn, Queens or Staten Island, "
                 "or leave the box empty for every borough."}),
    ("service_requests", {"start": "2026-02-30"},
     {"start": "\u201c2026-02-30\u201d is not a date. Write it as year-month-day, for example 2026-11-19."}),
    ("volunteers", {"end": "0001-01-01"},
     {"end": "\u201c0001-01-01\u201d is outside the dates that can be asked for (1900-01-01 to 9000-12-31)."}),
    ("snow", {"storm_id": "storm nobody"},
     {"storm_id": "No storm is called \u201cstorm nobody\u201d. Choose one from the list, or leave the box empty for "
                  "the latest storm."}),
])
def test_a_wrong_filter_is_said_in_words_for_its_box(demo_lake, page, query, expected):
    from portal import filter_messages

    params = {"service_requests": filters.sr_params, "volunteers": filters.volunteer_params,
              "snow": filters.snow_params}[page](query)
    assert filter_messages.problems(page, params) == expected


def test_a_maps_box_from_the_first_paint_is_the_height_of_the_map_it_draws(demo_lake, sr_params):
    """One height per map: the panel's box (Panel.height, kept before the figure arrives) is the height
    of the figure the map draws, the streets and their legend on /snow, the areas on /service-requests."""
    storm = filters.storms()[0]["storm_id"]
    for panel_id, params in (("sr-map-borough", sr_params), ("sr-map-district", sr_params),
                             ("snow-map", filters.snow_params({"storm_id": storm, "hours": "12"}))):
        panel = panels.get(panel_id)
        assert panels.render(panel, params).figure["layout"]["height"] == panel.height, panel_id
