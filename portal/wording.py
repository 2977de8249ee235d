"""Numbers in the words people use: every panel summary, table cell and scorecard tile formats its
figures here, so a figure reads the same wherever it stands (issue 16: "13.0 sign-ups", "0.0 days" for
a 56-minute median, "Across 1 boroughs", "14,418 hours" beside "14,418.5 hours" on one page).

The rules, one per kind of figure:
- a count is whole, with thousands separators, and its noun agrees with it ("1 borough", "13 sign-ups");
- a measure (hours served, a score, a ratio) has one rounding: whole from 100 up, else one decimal,
  and never a needless ".0" ("14,418 hours", "2.5 hours", "2 hours");
- a share is a percentage with the same rounding, never rounded to 0% or 100% when it is neither;
- a duration is said in the unit that reads: minutes under an hour, hours under a day, else days.
"""
from __future__ import annotations

import math

from portal import scoring

NO_VALUE = "no value"
TIME_UNITS = {"minutes": 1 / 60, "hours": 1.0, "days": 24.0}  # a unit of time, in hours
DURATION_UNITS = ("days",)  # a KPI declared in days is a time to do something: said in the unit that reads


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _rounded(x: float, decimals: int) -> str:
    text = f"{x:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def number(x) -> str:
    """A measure with its one rounding: whole from 100 up, else one decimal, no needless ".0"."""
    if _missing(x):
        return NO_VALUE
    x = float(x)
    return _rounded(x, 0 if abs(x) >= 100 else 1)


def whole(n) -> str:
    """A count: whole, with thousands separators (a count that arrives as 13.0 is 13)."""
    if _missing(n):
        return NO_VALUE
    return f"{round(float(n)):,}"


def plural(n, singular: str, plural_form: str | None = None) -> str:
    """The noun that agrees with `n`: the singular for exactly one, else the plural (default: "s"
    added, "y" after a consonant becoming "ies")."""
    if not _missing(n) and round(float(n)) == 1 and float(n) == round(float(n)):
        return singular
    if plural_form:
        return plural_form
    if singular.endswith("y") and singular[-2:-1] not in tuple("aeiou"):
        return singular[:-1] + "ies"
    return singular + "s"


def singular(plural_form: str) -> str:
    """The singular of a declared plural unit ("sign-ups" -> "sign-up", "opportunities" -> "opportunity")."""
    if plural_form.endswith("ies"):
        return plural_form[:-3] + "y"
    if plural_form.endswith("s") and not plural_form.endswith("ss"):
        return plural_form[:-1]
    return plural_form


def count(n, noun: str, plural_form: str | None = None) -> str:
    """A count with its noun: "1 borough", "13 sign-ups", "1,748 requests"."""
    if _missing(n):
        return NO_VALUE
    return f"{whole(n)} {plural(round(float(n)), noun, plural_form)}"


def measured(x, noun: str, plural_form: str | None = None) -> str:
    """A measure with its noun, agreeing with the figure as shown: "1 hour", "1.5 hours", "14,418 hours"."""
    if _missing(x):
        return NO_VALUE
    text = number(x)
    return f"{text} {plural(float(text.replace(',', '')), noun, plural_form)}"


def percent(x) -> str:
    """A share in percent with the measure's rounding; a share that is neither 0 nor 100 never reads
    as either ("99.96%" is "99.9%", not "100%", which would say every one was on time)."""
    if _missing(x):
        return NO_VALUE
    x = float(x)
    text = number(x)
    if text == "100" and x < 100:
        text = "99.9"
    elif text == "0" and x > 0:
        text = "0.1" if x >= 0.05 else "less than 0.1"
    return f"{text}%"


def duration(hours, more_than: bool = False) -> str:
    """A length of time in the unit that reads: "56 minutes", "5.2 hours", "30.7 days"."""
    if _missing(hours):
        return NO_VALUE
    hours = float(hours)
    if hours < 1:
        minutes = round(hours * 60)
        words = "less than a minute" if minutes < 1 else count(minutes, "minute")
    elif hours < 24:
        words = measured(hours, "hour")
    else:
        words = measured(hours / 24, "day")
    return f"more than {words}" if more_than else words


def amount(x, unit: str) -> str:
    """A figure in a declared unit (datasets/kpis.yaml: "%", "days", "hours", or a plural noun of what
    is counted): a share, a duration, a measure of time, or a count."""
    if _missing(x):
        return "no data"
    if unit == "%":
        return percent(x)
    if unit in DURATION_UNITS:
        return duration(float(x) * TIME_UNITS[unit])
    if unit in TIME_UNITS:
        return measured(x, singular(unit), unit)
    return count(x, singular(unit), unit)


def times(ratio) -> str:
    """A ratio as "10.4 times"."""
    return f"{number(ratio)} times"


def score(s) -> str:
    """A score with the word that says whether it is good: "0.57 \u2014 off target" (a score is read to
    two decimals, as the scorecard explains: 1.00 is on target), the tiles' own word for the status."""
    if _missing(s):
        return "no score"
    return f"{float(s):.2f} \u2014 {scoring.status(s).word}"
