"""KPI scoring in the CityScore manner, and the calendar periods scores are computed over.

Pure functions, no I/O: a score is actual / target (or target / actual when lower is better), so
1.0 means "on target" whatever the unit, and an overall score is the mean of the KPI scores.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from datasets.kpis import DIRECTIONS, PERIODS, Kpi
from datasets.kpis import kpis as declared_kpis

SCORE_MIN = 0.0
SCORE_MAX = 2.0
"""Scores are clamped to [SCORE_MIN, SCORE_MAX]: the overall score is a mean, and one wildly good KPI
(a backlog of 3 against a target of 2,000 would score 667) must not hide the others being off target."""

ON_TARGET_AT = 1.0
NEAR_TARGET_AT = 0.9
_TOLERANCE = 1e-9  # a score shown as 1.00 must not read "near target" because of float rounding


@dataclass(frozen=True)
class Status:
    """A word and an icon name, so the status never depends on colour alone (WCAG 1.4.1)."""

    word: str
    icon: str


ON_TARGET = Status("on target", "check")
NEAR_TARGET = Status("near target", "dash")
OFF_TARGET = Status("off target", "cross")
NO_DATA = Status("no data", "question")
IN_PROGRESS = Status("in progress", "hourglass")  # a value not yet decided (a storm inside its window), not a miss


def _value(x: float | None, name: str) -> float | None:
    """None and NaN are missing; negatives are a bug upstream, never a score."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return None
    if x < 0 or math.isinf(x):
        raise ValueError(f"{name} must be a finite non-negative number, got {x!r}")
    return x


def _clamp(score: float) -> float:
    return min(SCORE_MAX, max(SCORE_MIN, score))


def kpi_score(actual: float | None, target: float | None, direction: str) -> float | None:
    """Score one KPI against its target; None when it cannot be scored.

    Zero rules (a ratio with a zero side would divide by zero or be meaningless):
    - higher_is_better, target 0: None, since every actual meets a zero target, a ratio says nothing;
    - higher_is_better, actual 0 (target > 0): SCORE_MIN;
    - lower_is_better, actual 0 (target > 0): SCORE_MAX, nothing left to improve;
    - lower_is_better, target 0: 1.0 when actual is 0 (met exactly), SCORE_MIN otherwise.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    actual, target = _value(actual, "actual"), _value(target, "target")
    if actual is None or target is None:
        return None
    if direction == "higher_is_better":
        return None if target == 0 else _clamp(actual / target)
    if target == 0:
        return 1.0 if actual == 0 else SCORE_MIN
    return SCORE_MAX if actual == 0 else _clamp(target / actual)


def status(score: float | None) -> Status:
    if score is None or math.isnan(score):
        return NO_DATA
    if score >= ON_TARGET_AT - _TOLERANCE:
        return ON_TARGET
    if score >= NEAR_TARGET_AT - _TOLERANCE:
        return NEAR_TARGET
    return OFF_TARGET


def overall_score(scores: Iterable[float | None]) -> float | None:
    """Mean of the scores that exist: a KPI without data neither helps nor drags the city's score."""
    present = [s for s in scores if s is not None and not math.isnan(s)]
    return sum(present) / len(present) if present else None


def _start_date(period: str, day: date) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())  # ISO week: Monday start
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)


def _next_start(period: str, start: date) -> date:
    if period in ("day", "week"):
        return start + timedelta(days=1 if period == "day" else 7)
    months = 1 if period == "month" else 3
    month0 = start.month - 1 + months
    return start.replace(year=start.year + month0 // 12, month=month0 % 12 + 1)


def period_bounds(period: str, as_of: date | datetime) -> tuple[date, date] | tuple[datetime, datetime]:
    """Half-open [start, end) of the day, ISO week, calendar month or quarter containing `as_of`.

    A date gives dates; a datetime gives midnights in its own tzinfo, so convert to the city's time
    zone first (a period is a local calendar period; with zoneinfo, midnights stay correct over DST).
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    day = as_of.date() if isinstance(as_of, datetime) else as_of
    start = _start_date(period, day)
    end = _next_start(period, start)
    if isinstance(as_of, datetime):
        return datetime.combine(start, time(), as_of.tzinfo), datetime.combine(end, time(), as_of.tzinfo)
    return start, end


def previous_periods(period: str, as_of: date | datetime, n: int) -> list[tuple]:
    """The n whole periods before the one containing `as_of`, oldest first (the current one excluded)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    bounds = []
    start, _ = period_bounds(period, as_of)
    for _ in range(n):
        start, end = period_bounds(period, start - timedelta(days=1))
        bounds.append((start, end))
    return bounds[::-1]


def target_so_far(kpi: Kpi, period: str, share: float) -> float:
    """The target a period's first `share` (0 < share <= 1) should have reached: a total whose target
    grows with the period's length (one per period in the declaration) is pro-rated, so 531 sign-ups
    20 days into a 30-day month are on pace for 796 of 1,200, not "off target" (issue 15); a rate,
    median or level keeps its target."""
    target = kpi.target_for(period)
    return target * share if isinstance(kpi.target, Mapping) else target


def score_kpis(values: Mapping[str, float | None], period: str, kpis: Mapping[str, Kpi] | None = None,
               share: float = 1.0) -> dict:
    """Score each KPI in `values` (id -> actual) for one period against its declaration; `share` is how
    much of the period the values cover (the period so far), and totals are scored against their
    target pro-rated to it (target_so_far).

    Returns {"period", "overall", "kpis": {id: {name, actual, target, target_so_far, score, status,
    direction, unit}}}. `kpis` defaults to the declared ones (datasets/kpis.yaml, read once and cached);
    an unknown id is an error.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    kpis = declared_kpis() if kpis is None else kpis
    unknown = sorted(set(values) - set(kpis))
    if unknown:
        raise KeyError(f"unknown KPI ids {unknown}; known: {', '.join(kpis)}")
    rows = {}
    for kpi_id, actual in values.items():
        kpi = kpis[kpi_id]
        pace = target_so_far(kpi, period, share)
        score = kpi_score(actual, pace, kpi.direction)
        rows[kpi_id] = {"name": kpi.name, "actual": actual, "target": kpi.target_for(period), "target_so_far": pace,
                        "score": score, "status": status(score), "direction": kpi.direction, "unit": kpi.unit}
    return {"period": period, "overall": overall_score(r["score"] for r in rows.values()), "kpis": rows}
