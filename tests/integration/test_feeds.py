"""Change feeds (issue 18, item 5): per dataset and per KPI, as Atom and JSON Feed, read back by
feedparser (PyPI) without a bozo flag; a new version is in its dataset's feed right after it is
published; KPI definitions have a public, dated history; the pages link their feeds."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import feedparser
import pytest

import lake
from datasets import kpis as kpi_decls
from etl.load import load_file
from portal import wording
from tests.conftest import demo_lake_at
from tests.helpers import sr_row, write_csv

KPI = "sr_open_backlog"  # one definition so far


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    with demo_lake_at(tmp_path_factory.mktemp("feeds") / "data", scale=2000, seed=5) as data:
        yield data


@pytest.fixture
def client(built, configure):
    configure(data_dir=built, cache_type="filesystem", city=None)
    from app import server

    return server.test_client()


def _atom(client, path: str):
    resp = client.get(path)
    assert resp.status_code == 200 and resp.mimetype == "application/atom+xml", resp.get_data()[:300]
    parsed = feedparser.parse(resp.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def test_a_dataset_feed_lists_each_version_with_what_its_load_did(client):
    feed = _atom(client, "/data/service_requests/changes.atom")
    m = lake.manifest("service_requests")
    newest = feed.entries[0]
    assert newest.title == f"service_requests v{m.version}"
    assert f"inserted {m.load['inserted']:,}" in newest.summary and f"rejected {m.load['rejected']:,}" in newest.summary
    assert {link.href.split("?")[1] for link in newest.links} == {f"version={m.version}"}  # pinned to it
    body = client.get("/data/service_requests/changes.json").get_json()
    assert body["version"] == "https://jsonfeed.org/version/1.1"
    assert body["items"][0]["_pulse"] == {"version": m.version, "rows": m.rows,
                                         **{k: m.load[k] for k in ("inserted", "updated", "unchanged", "rejected")},
                                         "links": {"rows": newest.links[0].href, "csv": newest.links[1].href}}


def test_a_new_version_is_in_the_feed_right_after_it_is_published(client, tmp_path):
    before = _atom(client, "/data/service_requests/changes.atom")
    load_file("service_requests", write_csv(tmp_path / "new.csv", [sr_row(i, request_id=f"feed-{i}") for i in range(3)]))
    after = _atom(client, "/data/service_requests/changes.atom")
    version = lake.current_version("service_requests")
    assert after.entries[0].title == f"service_requests v{version}" != before.entries[0].title
    assert "inserted 3," in after.entries[0].summary
    assert [e.title for e in after.entries[1:]] == [e.title for e in before.entries]


def test_a_kpi_feed_has_each_periods_value_and_the_definitions_date(client):
    feed = _atom(client, f"/api/v1/kpis/{KPI}/changes.atom?period=month")
    values = [e for e in feed.entries if "definition" not in e.title]
    assert len(values) == 13  # the current month and twelve before it
    card = client.get(f"/api/v1/kpis/{KPI}?period=month&history=12").get_json()
    newest_first = [card["start"], *reversed([h["start"] for h in card["history"]])]
    assert [e.title.split(" from ")[1].split(":")[0] for e in values] == newest_first
    (definition,) = [e for e in feed.entries if "definition" in e.title]
    assert definition.title.endswith("definition from 2026-11-25") and definition.updated.startswith("2026-11-25")
    items = client.get(f"/api/v1/kpis/{KPI}/changes.json?period=month").get_json()["items"]
    assert {i["_pulse"]["kind"] for i in items} == {"value", "definition"}


def test_a_kpi_feed_says_its_figures_as_the_scorecard_does(client):
    # portal/wording.py: a count whole ("2,000 requests", not "1,277.00 requests" or "2000"), a
    # duration in the unit that reads, a target per period with its unit
    backlog = client.get(f"/api/v1/kpis/{KPI}/changes.json?period=month").get_json()["items"]
    latest = next(i for i in backlog if i["_pulse"]["kind"] == "value")
    assert latest["title"].endswith(f": {wording.amount(latest['_pulse']['actual'], 'requests')}")
    assert "against a target of 2,000 requests (" in latest["content_text"]
    # a month runs to its last day, as the scorecard says it (the period's `end` is the day after)
    last_day = (date.fromisoformat(latest["_pulse"]["end"]) - timedelta(days=1)).isoformat()
    assert f"{latest['_pulse']['start']} to {last_day}: " in latest["content_text"]
    (definition,) = [i for i in backlog if i["_pulse"]["kind"] == "definition"]
    assert "Target 2,000 requests (lower is better)." in definition["content_text"]
    signups = client.get("/api/v1/kpis/volunteer_signups/changes.json?period=week").get_json()["items"]
    assert "against a target of 280 sign-ups (" in next(i for i in signups if i["_pulse"]["kind"] == "value")["content_text"]
    (definition,) = [i for i in signups if i["_pulse"]["kind"] == "definition"]
    assert "Target 40 sign-ups a day, 280 sign-ups a week, 1,200 sign-ups a month, 3,600 sign-ups a quarter " \
        in definition["content_text"]
    median = client.get("/api/v1/kpis/sr_median_days_to_close/changes.json?period=month").get_json()["items"]
    assert "against a target of 3 days (" in next(i for i in median if i["_pulse"]["kind"] == "value")["content_text"]


def test_kpi_definitions_are_published_newest_first_with_their_dates(client):
    body = client.get(f"/api/v1/kpis/{KPI}").get_json()
    assert body["definitions"] == [{"effective": "2026-11-25", "formula": kpi_decls.get(KPI).formula, "target": 2000.0,
                                    "direction": "lower_is_better", "target_note": kpi_decls.get(KPI).target_note,
                                    "note": ""}]


def test_the_median_days_to_close_says_when_and_why_it_became_kaplan_meier(client):
    """Issue 15: the median left out the requests still open; its new formula is dated and explained."""
    median = "sr_median_days_to_close"
    body = client.get(f"/api/v1/kpis/{median}").get_json()
    assert [d["effective"] for d in body["definitions"]] == ["2026-12-04", "2026-11-25"]
    assert "Kaplan-Meier" in body["definitions"][0]["formula"] and "still open are not counted" in body["definitions"][1]["formula"]
    assert "survivor bias" in body["definitions"][0]["note"] or "survivor bias" in body["definitions"][1]["note"]
    feed = _atom(client, f"/api/v1/kpis/{median}/changes.atom?period=month")
    assert any(e.title.endswith("definition from 2026-12-04") for e in feed.entries)


def test_a_changed_yardstick_shows_in_the_feed_with_when_and_why(client, monkeypatch, tmp_path):
    text = (Path(kpi_decls.PATH).read_text().replace(
        "    effective: 2026-11-25\n    name: 311 open backlog\n",
        "    effective: 2026-11-25\n    name: 311 open backlog\n    history:\n"
        "      - {effective: 2025-07-01, target: 4000, note: The backlog target was halved at the 2026 review.}\n"
        "      - {effective: 2024-01-01, target: 5000, direction: lower_is_better, note: First review.}\n"))
    (tmp_path / "kpis.yaml").write_text(text)
    loaded = kpi_decls.load(tmp_path / "kpis.yaml")
    monkeypatch.setattr(kpi_decls, "kpis", lambda: loaded)
    assert [(d.effective, d.target) for d in loaded[KPI].definitions] == [("2026-11-25", 2000.0), ("2025-07-01", 4000.0),
                                                                          ("2024-01-01", 5000.0)]
    feed = _atom(client, f"/api/v1/kpis/{KPI}/changes.atom?period=quarter")
    changes = {e.title.rsplit(" ", 1)[1]: e.summary for e in feed.entries if "definition" in e.title}
    assert "target was 4,000 requests, is 2,000 requests" in changes["2026-11-25"]  # in words (portal/wording.py)
    assert "Why: The backlog target was halved at the 2026 review." in changes["2026-11-25"]
    assert "target was 5,000 requests, is 4,000 requests" in changes["2025-07-01"] and "Why: First review." in changes["2025-07-01"]
    assert "first published" in changes["2024-01-01"]


@pytest.mark.parametrize("history, message", [
    ([{"effective": "2030-01-01", "target": 4, "note": "later"}], "before the next newer"),
    ([{"effective": "2025-01-01", "note": "nothing differs"}], "what was different"),
    ([{"effective": "2025-01-01", "target": 4}], "why it changed"),
    ([{"effective": "not a date", "target": 4, "note": "x"}], "ISO date"),
    ([{"effective": "2025-01-01", "query": "x", "note": "x"}], "may hold"),
])
def test_a_malformed_definition_history_is_refused_at_load_time(tmp_path, history, message):
    import yaml

    raw = yaml.safe_load(Path(kpi_decls.PATH).read_text())
    raw["kpis"][0]["history"] = history
    (tmp_path / "kpis.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(kpi_decls.DeclarationError, match=message):
        kpi_decls.load(tmp_path / "kpis.yaml")


def test_pages_link_their_feeds(client):
    page = client.get("/data/service_requests").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml" title="311 Service Requests: new versions" ' \
           'href="/data/service_requests/changes.atom">' in page
    scorecard = client.get("/").get_data(as_text=True)
    assert scorecard.count('rel="alternate" type="application/atom+xml"') == len(kpi_decls.kpis())
    assert f'href="/api/v1/kpis/{KPI}/changes.json"' in scorecard


def test_unknown_feeds_and_bad_periods_are_json_errors(client):
    assert client.get("/data/nope/changes.atom").status_code == 404
    assert client.get("/api/v1/kpis/nope/changes.atom").status_code == 404
    resp = client.get(f"/api/v1/kpis/{KPI}/changes.json?period=decade")
    assert resp.status_code == 400 and "period" in resp.get_json()["error"]
