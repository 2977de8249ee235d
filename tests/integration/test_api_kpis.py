"""GET /api/v1/kpis and /api/v1/kpis/<id>: values, targets, scores and history, each traceable to its
formula, query and inputs (issue 3)."""
from datetime import date

import duckdb
import pandas as pd
import pytest

import lake
from tests.conftest import demo_lake_at
from tests.helpers import km_median, watch_cache


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with demo_lake_at(tmp_path_factory.mktemp("kpi") / "data", scale=20_000, seed=5):
        from app import server

        yield server.test_client()


AS_OF = "2026-10-15"


def test_every_kpi_has_a_value_target_score_and_status(client):
    body = client.get(f"/api/v1/kpis?period=month&as_of={AS_OF}").json
    assert (body["period"], body["start"], body["end"]) == ("month", "2026-10-01", "2026-11-01")
    assert set(body["kpis"]) >= {"sr_median_days_to_close", "sr_pct_closed_within_target", "sr_open_backlog",
                                 "snow_p1_serviced_within_target", "volunteer_signups", "volunteer_hours"}
    for row in body["kpis"].values():
        assert {"actual", "target", "score", "status", "unit", "agency", "trace"} <= set(row)
        assert row["status"]["word"] in {"on target", "near target", "off target", "no data"}
        assert row["trace"]["formula"] and row["trace"]["query"]
    scores = [r["score"] for r in body["kpis"].values() if r["score"] is not None]
    assert body["overall"] == pytest.approx(sum(scores) / len(scores))
    assert body["versions"]["service_requests"] == 1


def test_the_median_days_to_close_matches_an_independent_computation(client):
    """Kaplan-Meier (scipy) over the requests created in October up to as_of, each observed up to the end
    of as_of's day or the data's newest time: the requests still open count as open at least that long."""
    body = client.get(f"/api/v1/kpis?period=month&as_of={AS_OF}").json
    m = lake.manifest("service_requests")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    df = con.execute("SELECT created, closed FROM read_parquet(?)", [lake.file_paths("service_requests", m)]).df()
    newest = max(df["created"].max(), df["closed"].max())
    end = pd.Timestamp("2026-10-16", tz="America/New_York")  # the month up to as_of, included
    cohort = df[(df["created"] >= pd.Timestamp("2026-10-01", tz="America/New_York")) & (df["created"] < end)]
    closed = cohort["closed"].notna() & (cohort["closed"] < end)
    days = (cohort["closed"].where(closed, min(end, newest)) - cohort["created"]).dt.total_seconds() / 86400
    assert (~closed).sum() > 0  # the month is running: some are still open, and they count
    expected = km_median(days, closed)
    kpi = body["kpis"]["sr_median_days_to_close"]
    assert kpi["actual"] == pytest.approx(expected, rel=1e-9)
    closed_only = ((cohort["closed"] - cohort["created"]).dt.total_seconds() / 86400)[closed].median()
    assert kpi["actual"] > closed_only  # the open ones are the slow ones: leaving them out read faster


def test_one_kpi_with_its_history_oldest_first(client):
    body = client.get(f"/api/v1/kpis/volunteer_signups?period=month&history=3&as_of={AS_OF}").json
    assert [h["start"] for h in body["history"]] == ["2026-07-01", "2026-08-01", "2026-09-01"]
    assert body["target"] == 1200 and body["period"] == "month"


def test_a_second_request_is_served_from_the_cache(client, monkeypatch):
    # issue 12: this test made one request and looked for the key; now it sees the second one hit.
    # issue 13: the answer itself is stored by the HTTP cache, so the same URL again reaches neither
    # the scorecard nor the shared cache (this worker's copy); the same query in another order is
    # another URL, answered from the scorecard's query cache.
    from api import httpcache
    from portal import cache

    cache.backend().clear()
    httpcache.local.clear()
    seen = watch_cache(monkeypatch)
    first = client.get(f"/api/v1/kpis?period=week&as_of={AS_OF}")
    second = client.get(f"/api/v1/kpis?period=week&as_of={AS_OF}")
    assert [(name, hit) for name, _, hit in seen] == [("scorecard", False), ("api_v1.kpis", False)]
    assert second.data == first.data and second.headers["ETag"] == first.headers["ETag"]
    reordered = client.get(f"/api/v1/kpis?as_of={AS_OF}&period=week")
    assert [(name, hit) for name, _, hit in seen[2:]] == [("scorecard", True), ("api_v1.kpis", False)]
    assert reordered.json == first.json


@pytest.mark.parametrize("url, status, needle", [
    ("/api/v1/kpis?period=decade", 400, "period must be one of"),
    ("/api/v1/kpis?as_of=yesterday", 400, "as_of must be a date"),
    ("/api/v1/kpis?colour=red", 400, "unknown parameter 'colour'"),
    ("/api/v1/kpis/nope", 404, "no KPI 'nope'"),
    ("/api/v1/kpis/volunteer_signups?history=999", 400, "history must be"),
])
def test_bad_requests_are_4xx_with_a_message(client, url, status, needle):
    resp = client.get(url)
    assert resp.status_code == status and needle in resp.json["error"]


def test_default_as_of_is_the_latest_data_not_an_empty_today(client):
    body = client.get("/api/v1/kpis?period=day").json
    assert date.fromisoformat(body["as_of"]) <= date(2026, 11, 20)


def test_a_kpi_links_to_the_exact_rows_behind_its_number(client):
    """A journalist follows the trace link and recomputes the median from those rows alone; the file
    names the version it was read from."""
    import csv
    import io
    from datetime import datetime

    row = client.get(f"/api/v1/kpis/sr_median_days_to_close?period=month&history=0&as_of={AS_OF}").json
    resp = client.get(row["trace"]["rows_url"])
    assert f"service_requests-v{row['versions']['service_requests']}" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    cut = {r["cut"] for r in rows}
    assert len(cut) == 1  # every request observed up to the same instant
    days = [(datetime.fromisoformat(r["closed"] if r["closed_by_cut"] == "True" else r["cut"])
             - datetime.fromisoformat(r["created"])).total_seconds() / 86400 for r in rows]
    assert km_median(days, [r["closed_by_cut"] == "True" for r in rows]) == pytest.approx(row["actual"], rel=1e-9)


@pytest.mark.parametrize("period", ["day", "week", "month", "quarter"])
@pytest.mark.parametrize("as_of", [AS_OF, "2025-02-03", "2019-06-30"])  # recent, early in the data, before it
def test_history_in_one_query_equals_one_query_per_period(client, period, as_of):
    """Issue 4: the scorecard computes a KPI's periods in one query (portal/kpi_values.ALL_PERIODS);
    every value must be exactly what the KPI's own named query gives for that period alone."""
    from datasets.kpis import kpis
    from portal import kpi_values, scoring

    day = date.fromisoformat(as_of)
    bounds = [*scoring.previous_periods(period, day, 12), scoring.period_bounds(period, day)]
    for kpi in kpis().values():
        assert kpi_values._actuals(kpi, bounds) == [kpi_values._actual(kpi, s, e) for s, e in bounds], kpi.id


# ---- issue 15: periods in progress and as_of ---------------------------------------------------------
def _signups(first: str, end: str) -> int:
    """Sign-ups with event_date in [first, end), straight from the Parquet files."""
    m = lake.manifest("volunteer_signups")
    return duckdb.connect().execute("SELECT count(*) FROM read_parquet(?) WHERE event_date >= ? AND event_date < ?",
                                    [lake.file_paths("volunteer_signups", m), first, end]).fetchone()[0]


@pytest.mark.parametrize(("as_of", "days"), [("2026-10-01", 1), ("2026-10-15", 15), ("2026-10-31", 31)])
def test_as_of_cuts_the_period_at_that_day_and_a_total_is_scored_on_pace(client, as_of, days):
    """Day 1, mid-period and the last day: the values are the period up to as_of, and a total is scored
    against its target pro-rated to the days elapsed ("531 so far; on pace for 796 of 1,200")."""
    row = client.get(f"/api/v1/kpis/volunteer_signups?period=month&history=0&as_of={as_of}").json
    actual = _signups("2026-10-01", date.fromordinal(date.fromisoformat(as_of).toordinal() + 1).isoformat())
    assert row["actual"] == actual and row["share_of_period"] == pytest.approx(days / 31)
    assert row["target_so_far"] == pytest.approx(1200 * days / 31)
    assert row["score"] == pytest.approx(min(2.0, actual / (1200 * days / 31)))
    assert row["on_pace_for"] == (None if days == 31 else pytest.approx(actual * 31 / days))


def test_as_of_before_the_first_record_is_no_data_not_a_score(client):
    body = client.get("/api/v1/kpis?period=month&as_of=2020-01-01").json
    assert body["overall"] is None
    for row in body["kpis"].values():
        assert (row["actual"], row["score"], row["status"]["word"]) == (None, None, "no data")
        assert row["note"].startswith("No data before")


@pytest.mark.parametrize(("as_of", "words"), [("2099-01-01", "in the future"), ("2026-13-45", "must be a date"),
                                              ("2026-02-30", "must be a date")])
def test_a_future_or_impossible_as_of_is_a_message(client, as_of, words):
    resp = client.get(f"/api/v1/kpis?as_of={as_of}")
    assert resp.status_code == 400 and words in resp.json["error"] and resp.json["parameter"] == "as_of"


# ---- issue 15: every link true -------------------------------------------------------------------------
RECOMPUTE = {  # each KPI's value from its input rows alone, as the formula says
    "sr_median_days_to_close": lambda df: km_median(df.days_observed, df.closed_by_cut) if len(df) else None,
    "sr_pct_closed_within_target": lambda df: 100.0 * df.on_time.sum() / len(df) if len(df) else None,
    "sr_open_backlog": len,
    "snow_p1_serviced_within_target": lambda df: 100.0 * df.within_target.sum() / len(df) if len(df) else None,
    "volunteer_signups": len,
    "volunteer_hours": lambda df: df.hours.sum(),
}


@pytest.mark.parametrize(("period", "as_of"), [("month", AS_OF), ("week", AS_OF), ("month", "2026-01-31")])
def test_the_rows_behind_each_kpi_reproduce_its_value(client, period, as_of):
    """Issue 15: "the rows behind this number" was the whole dataset for the backlog and snow KPIs."""
    import io

    import pandas as pd

    body = client.get(f"/api/v1/kpis?period={period}&as_of={as_of}").json
    assert set(RECOMPUTE) == set(body["kpis"])
    for kpi_id, row in body["kpis"].items():
        resp = client.get(row["trace"]["rows_url"])
        assert resp.status_code == 200, (kpi_id, resp.data[:300])
        df = pd.read_csv(io.BytesIO(resp.data))
        value = RECOMPUTE[kpi_id](df)
        if row["actual"] is None:
            assert value is None, kpi_id
        else:
            assert float(value) == pytest.approx(row["actual"], rel=1e-9), kpi_id


def test_the_json_link_keeps_period_and_as_of(client):
    row = client.get(f"/api/v1/kpis?period=week&as_of={AS_OF}").json["kpis"]["sr_open_backlog"]
    assert "period=week" in row["trace"]["json_url"] and f"as_of={AS_OF}" in row["trace"]["json_url"]
    linked = client.get(row["trace"]["json_url"]).json
    assert (linked["actual"], linked["start"], linked["period"]) == (row["actual"], row["start"], "week")
    assert row["trace"]["dashboard"] == "/service-requests"


def test_each_kpi_shows_the_previous_period_the_change_and_why_its_target(client):
    """Issue 15, finding 8: what a hostile question asks next."""
    from datasets.kpis import kpis

    body = client.get("/api/v1/kpis?period=month&as_of=2026-10-31").json  # a whole month: change of the value
    for kpi_id, row in body["kpis"].items():
        one = client.get(f"/api/v1/kpis/{kpi_id}?period=month&history=1&as_of=2026-10-31").json
        assert row["previous"]["start"] == "2026-09-01" and row["previous"]["actual"] == one["history"][-1]["actual"]
        if row["actual"] is not None and row["previous"]["actual"] is not None:
            assert row["previous"]["change"] == pytest.approx(row["actual"] - row["previous"]["actual"])
        assert row["target_source"] == kpis()[kpi_id].target_source != ""
    assert body["kpis"]["sr_open_backlog"]["channel"].startswith("City 311")
    assert "Customer Service Center" not in body["kpis"]["sr_open_backlog"]["agency"]  # the channel is not the owner
