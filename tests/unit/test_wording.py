"""The words numbers are said in (portal/wording.py), as a specification: issue 16 found "13.0 sign-ups",
"0.0 days" for a 56-minute median, "Across 1 boroughs", and "14,418 hours" beside "14,418.5 hours"."""
from __future__ import annotations

import math

import pytest

from portal import wording


@pytest.mark.parametrize("n, noun, expected", [
    (13.0, "sign-up", "13 sign-ups"),
    (1, "borough", "1 borough"),
    (5, "borough", "5 boroughs"),
    (0, "request", "0 requests"),
    (1748, "request", "1,748 requests"),
    (1, "opportunity", "1 opportunity"),
    (2, "opportunity", "2 opportunities"),
    (2, "day", "2 days"),  # a vowel before the y: no "ies"
    (518.4, "sign-up", "518 sign-ups"),  # a count is whole, even a pace
    (1, "community district", "1 community district"),
    (None, "request", "no value"),
    (math.nan, "request", "no value"),
])
def test_a_count_is_whole_and_its_noun_agrees(n, noun, expected):
    assert wording.count(n, noun) == expected


def test_an_irregular_plural_is_given():
    assert wording.count(3, "open opportunity", "open opportunities") == "3 open opportunities"
    assert wording.count(1, "open opportunity", "open opportunities") == "1 open opportunity"


@pytest.mark.parametrize("x, expected", [
    (14418.5, "14,418"), (14418.0, "14,418"), (2795.2, "2,795"), (100.0, "100"), (99.94, "99.9"),
    (30.7, "30.7"), (2.0, "2"), (10.44, "10.4"), (0.04, "0"), (-0.04, "0"), (0, "0"),
])
def test_a_measure_has_one_rounding_and_no_needless_decimal(x, expected):
    assert wording.number(x) == expected


@pytest.mark.parametrize("hours, expected", [
    (56 / 60, "56 minutes"),
    (1 / 60, "1 minute"),
    (0.001, "less than a minute"),
    (1, "1 hour"),
    (5.24, "5.2 hours"),
    (23.9, "23.9 hours"),
    (24, "1 day"),
    (30.7 * 24, "30.7 days"),
    (2.25 * 24, "2.2 days"),
    (None, "no value"),
])
def test_a_duration_is_in_the_unit_that_reads(hours, expected):
    assert wording.duration(hours) == expected


def test_a_lower_bound_says_more_than():
    assert wording.duration(0.5, more_than=True) == "more than 30 minutes"


@pytest.mark.parametrize("x, expected", [
    (32.0, "32%"), (63.84, "63.8%"), (85, "85%"), (100, "100%"), (0, "0%"),
    (99.96, "99.9%"),  # not every one: never "100%"
    (0.06, "0.1%"), (0.01, "less than 0.1%"),  # some: never "0%"
])
def test_a_share_is_a_percentage_that_never_rounds_to_all_or_none(x, expected):
    assert wording.percent(x) == expected


@pytest.mark.parametrize("x, unit, expected", [
    (0.039, "days", "56 minutes"),  # the scorecard's median days to close, on a day with quick closes
    (2.1, "days", "2.1 days"),
    (3.0, "days", "3 days"),
    (85.0, "%", "85%"),
    (1277, "requests", "1,277 requests"),
    (39.9, "sign-ups", "40 sign-ups"),  # a change of pace in sign-ups is still sign-ups
    (1, "sign-ups", "1 sign-up"),
    (14418.5, "hours", "14,418 hours"),  # hours served: a measure, not a duration to convert
    (2.5, "hours", "2.5 hours"),
    (1.0, "hours", "1 hour"),
    (None, "requests", "no data"),
])
def test_a_figure_in_a_declared_unit(x, unit, expected):
    assert wording.amount(x, unit) == expected


@pytest.mark.parametrize("plural_form, expected", [
    ("sign-ups", "sign-up"), ("requests", "request"), ("hours", "hour"), ("opportunities", "opportunity"),
    ("days", "day"), ("%", "%"),
])
def test_a_declared_plural_unit_has_a_singular(plural_form, expected):
    assert wording.singular(plural_form) == expected


@pytest.mark.parametrize("score, expected", [
    (0.5712, "0.57 \u2014 off target"),
    (0.93, "0.93 \u2014 near target"),
    (1.0, "1.00 \u2014 on target"),
    (1.57, "1.57 \u2014 on target"),
    (None, "no score"),
])
def test_the_overall_score_comes_with_its_word(score, expected):
    assert wording.score(score) == expected


def test_a_ratio_is_times():
    assert wording.times(10.44) == "10.4 times"
