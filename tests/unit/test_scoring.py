"""KPI scoring (CityScore manner) and the calendar periods it runs over. Issue: query layer, KPI scorecard."""
from datetime import date, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest

from datasets.kpis import Kpi
from portal import scoring
from portal.scoring import (
    NEAR_TARGET,
    NO_DATA,
    OFF_TARGET,
    ON_TARGET,
    SCORE_MAX,
    SCORE_MIN,
    kpi_score,
    overall_score,
    period_bounds,
    previous_periods,
    score_kpis,
    status,
)

HI, LO = "higher_is_better", "lower_is_better"
NAN = float("nan")


# --- kpi_score: the ratio -------------------------------------------------------------------

@pytest.mark.parametrize("actual, target, direction, expected", [
    (85, 85, HI, 1.0),                   # 85% closed on time against 85%: exactly on target
    (42, 85, HI, 42 / 85),               # 0.494...
    (144.5, 85, HI, 1.7),                # above target, under the cap: not clamped
    (170, 85, HI, 2.0),                  # exactly the cap
    (255, 85, HI, 2.0),                  # 3.0 clamped to SCORE_MAX
    (2.4, 3, LO, 1.25),                  # median 2.4 days against 3: target / actual
    (6, 3, LO, 0.5),                     # twice as slow as the target
    (2500, 2000, LO, 0.8),               # backlog over target
    (3, 2000, LO, 2.0),                  # 666.7 clamped: one wildly good KPI must not hide the others
])
def test_score_is_the_ratio_to_target_clamped(actual, target, direction, expected):
    assert kpi_score(actual, target, direction) == pytest.approx(expected)


def test_the_score_range_is_zero_to_two():
    assert (SCORE_MIN, SCORE_MAX) == (0.0, 2.0)


@pytest.mark.parametrize("actual, target, direction, expected", [
    (0, 85, HI, SCORE_MIN),    # nothing done against a real target
    (0, 0, HI, None),          # a zero target is met by anything: the ratio says nothing
    (10, 0, HI, None),
    (0, 3, LO, SCORE_MAX),     # no backlog at all: nothing left to improve
    (0, 0, LO, 1.0),           # a zero target met exactly
    (4, 0, LO, SCORE_MIN),     # a zero target missed
])
def test_zero_rules(actual, target, direction, expected):
    assert kpi_score(actual, target, direction) == expected


@pytest.mark.parametrize("actual, target", [(None, 3), (2.4, None), (NAN, 3), (2.4, NAN), (None, None)])
@pytest.mark.parametrize("direction", [HI, LO])
def test_missing_actual_or_target_cannot_be_scored(actual, target, direction):
    assert kpi_score(actual, target, direction) is None


@pytest.mark.parametrize("actual, target, name", [(-1, 3, "actual"), (2, -0.5, "target"), (float("inf"), 3, "actual")])
def test_negative_or_infinite_values_are_refused(actual, target, name):
    with pytest.raises(ValueError, match=f"{name} must be a finite non-negative number"):
        kpi_score(actual, target, LO)


def test_an_unknown_direction_is_refused():
    with pytest.raises(ValueError, match="higher_is_better, lower_is_better"):
        kpi_score(1, 1, "up")


# --- status: a word and an icon, never colour alone --------------------------------------------

@pytest.mark.parametrize("score, expected", [
    (2.0, ON_TARGET),
    (1.0, ON_TARGET),
    (0.99, NEAR_TARGET),
    (0.9, NEAR_TARGET),
    (0.89, OFF_TARGET),
    (0.0, OFF_TARGET),
    (None, NO_DATA),
    (NAN, NO_DATA),
])
def test_status_thresholds(score, expected):
    assert status(score) == expected


def test_status_words_and_icons():
    assert [(s.word, s.icon) for s in (ON_TARGET, NEAR_TARGET, OFF_TARGET, NO_DATA)] == [
        ("on target", "check"), ("near target", "dash"), ("off target", "cross"), ("no data", "question")]
    assert (scoring.ON_TARGET_AT, scoring.NEAR_TARGET_AT) == (1.0, 0.9)


def test_float_rounding_does_not_drop_a_status():
    score = kpi_score(0.99, 1.1, HI)  # 0.8999999999999999, shown as 0.90
    assert score < 0.9 and status(score) == NEAR_TARGET


# --- overall_score ----------------------------------------------------------------------------

@pytest.mark.parametrize("scores, expected", [
    ([1.25, 0.5], 0.875),
    ([1.25, None, 0.5, None], 0.875),   # KPIs without data neither help nor drag
    ([2.0, 0.0, 1.0], 1.0),
    ([None, NAN], None),
    ([], None),
])
def test_overall_is_the_mean_of_the_scores_that_exist(scores, expected):
    assert overall_score(scores) == expected


def test_overall_accepts_a_generator():
    assert overall_score(s for s in [1.0, 0.5]) == 0.75


# --- period_bounds ----------------------------------------------------------------------------

@pytest.mark.parametrize("period, as_of, start, end", [
    ("day", date(2026, 3, 14), date(2026, 3, 14), date(2026, 3, 15)),
    ("day", date(2025, 12, 31), date(2025, 12, 31), date(2026, 1, 1)),
    ("week", date(2026, 1, 1), date(2025, 12, 29), date(2026, 1, 5)),    # a Thursday: ISO week starts Monday 29 Dec
    ("week", date(2025, 12, 29), date(2025, 12, 29), date(2026, 1, 5)),  # the Monday itself
    ("week", date(2026, 1, 4), date(2025, 12, 29), date(2026, 1, 5)),    # the Sunday ends it
    ("month", date(2025, 12, 31), date(2025, 12, 1), date(2026, 1, 1)),
    ("month", date(2028, 2, 29), date(2028, 2, 1), date(2028, 3, 1)),    # leap day
    ("month", date(2026, 1, 1), date(2026, 1, 1), date(2026, 2, 1)),
    ("quarter", date(2025, 11, 15), date(2025, 10, 1), date(2026, 1, 1)),
    ("quarter", date(2026, 3, 31), date(2026, 1, 1), date(2026, 4, 1)),
    ("quarter", date(2026, 4, 1), date(2026, 4, 1), date(2026, 7, 1)),
    ("quarter", date(2026, 8, 20), date(2026, 7, 1), date(2026, 10, 1)),
])
def test_period_bounds_of_a_date(period, as_of, start, end):
    assert period_bounds(period, as_of) == (start, end)


def test_period_bounds_of_a_datetime_are_midnights_in_its_zone():
    ny = ZoneInfo("America/New_York")
    start, end = period_bounds("month", datetime(2026, 1, 31, 23, 30, tzinfo=ny))
    assert (start, end) == (datetime(2026, 1, 1, tzinfo=ny), datetime(2026, 2, 1, tzinfo=ny))
    assert start.tzinfo is ny


def test_a_day_with_a_dst_change_is_23_hours_long():
    ny = ZoneInfo("America/New_York")
    start, end = period_bounds("day", datetime(2026, 3, 8, 12, tzinfo=ny))
    assert (start.isoformat(), end.isoformat()) == ("2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00")
    utc = ZoneInfo("UTC")  # same-zone subtraction in Python is wall-clock; measure elapsed time in UTC
    assert end.astimezone(utc) - start.astimezone(utc) == timedelta(hours=23)


def test_an_unknown_period_is_refused_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="day, week, month, quarter"):
        period_bounds("year", date(2026, 1, 1))


# --- previous_periods -------------------------------------------------------------------------

@pytest.mark.parametrize("period, as_of, n, expected", [
    ("month", date(2026, 2, 10), 3, [(date(2025, 11, 1), date(2025, 12, 1)),
                                     (date(2025, 12, 1), date(2026, 1, 1)),
                                     (date(2026, 1, 1), date(2026, 2, 1))]),
    ("quarter", date(2026, 1, 1), 2, [(date(2025, 7, 1), date(2025, 10, 1)),
                                      (date(2025, 10, 1), date(2026, 1, 1))]),
    ("week", date(2026, 1, 1), 2, [(date(2025, 12, 15), date(2025, 12, 22)),
                                   (date(2025, 12, 22), date(2025, 12, 29))]),
    ("day", date(2026, 3, 1), 1, [(date(2026, 2, 28), date(2026, 3, 1))]),
    ("month", date(2026, 2, 10), 0, []),
])
def test_previous_periods_are_whole_periods_oldest_first_excluding_the_current(period, as_of, n, expected):
    assert previous_periods(period, as_of, n) == expected


def test_previous_periods_of_a_datetime_keep_its_zone():
    ny = ZoneInfo("America/New_York")
    [(start, end)] = previous_periods("week", datetime(2026, 1, 1, 9, tzinfo=ny), 1)
    assert (start, end) == (datetime(2025, 12, 22, tzinfo=ny), datetime(2025, 12, 29, tzinfo=ny))


def test_previous_periods_refuses_a_negative_count():
    with pytest.raises(ValueError, match="n must be >= 0"):
        previous_periods("day", date(2026, 1, 1), -1)


# --- score_kpis: the scorecard ----------------------------------------------------------------

def test_scorecard_against_the_declared_kpis():
    card = score_kpis({"sr_median_days_to_close": 2.4, "sr_pct_closed_within_target": 42, "volunteer_signups": None}, "week")
    assert card["period"] == "week"
    median, on_time, signups = (card["kpis"][k] for k in ("sr_median_days_to_close", "sr_pct_closed_within_target", "volunteer_signups"))
    assert median == {"name": "311 median days to close", "actual": 2.4, "target": 3.0, "target_so_far": 3.0, "score": 1.25,
                      "status": ON_TARGET, "direction": LO, "unit": "days"}
    assert (on_time["target"], on_time["score"], on_time["status"]) == (85.0, pytest.approx(0.4941176), OFF_TARGET)
    assert (signups["target"], signups["score"], signups["status"]) == (280.0, None, NO_DATA)
    assert card["overall"] == pytest.approx((1.25 + 42 / 85) / 2)


def test_a_total_is_scored_against_its_target_pro_rated_to_the_period_so_far():
    """Issue 15: 531 sign-ups with 20 of 30 days gone read "off target, 0.44" against the month's 1,200."""
    row = score_kpis({"volunteer_signups": 531, "sr_pct_closed_within_target": 80}, "month", share=20 / 30)["kpis"]
    assert row["volunteer_signups"]["target_so_far"] == pytest.approx(800)
    assert row["volunteer_signups"]["score"] == pytest.approx(531 / 800)
    assert row["sr_pct_closed_within_target"]["target_so_far"] == 85  # a rate keeps its target


def test_scorecard_uses_the_target_for_the_period():
    assert score_kpis({"volunteer_hours": 1800}, "month")["kpis"]["volunteer_hours"]["score"] == 0.5  # 1800 / 3600
    assert score_kpis({"volunteer_hours": 1800}, "quarter")["kpis"]["volunteer_hours"]["score"] == pytest.approx(1 / 6)


def _kpi(**over) -> Kpi:
    fields = dict(id="k", name="K", description="d", unit="u", direction=HI, target=10.0, periods=("month",),
                  agency="a", dataset="service_requests", query="kpi_k", formula="f", parameters=MappingProxyType({}))
    return Kpi(**{**fields, **over})


def test_scorecard_with_given_declarations_and_no_values():
    assert score_kpis({}, "month", {"k": _kpi()}) == {"period": "month", "overall": None, "kpis": {}}
    assert score_kpis({"k": 5}, "month", {"k": _kpi()})["overall"] == 0.5


def test_scorecard_refuses_unknown_kpis_and_periods_a_kpi_does_not_allow():
    with pytest.raises(KeyError, match="unknown KPI ids \\['nope'\\]"):
        score_kpis({"nope": 1}, "month", {"k": _kpi()})
    with pytest.raises(ValueError, match="KPI 'k' is not scored by 'week'"):
        score_kpis({"k": 1}, "week", {"k": _kpi()})
    with pytest.raises(ValueError, match="day, week, month, quarter"):
        score_kpis({"k": 1}, "fortnight", {"k": _kpi()})
