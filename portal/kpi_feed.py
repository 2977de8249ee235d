"""A KPI's change feed (issue 18, item 5): each period's value, score and status (saying when the
status changed), and each change of the KPI's declared definition with its date, so a reader sees
when the yardstick moved. Built from the scorecard (portal/kpi_values.py, cached by data version)
and the declarations (datasets/kpis.py); written as Atom or JSON Feed by portal/feeds.py.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

from datasets import kpis as kpi_decls
from portal import kpi_values, scoring, wording
from portal.feeds import Entry, Feed, Link

PERIODS_SHOWN = 12  # earlier periods in the feed, beside the current one


def definition_json(d: kpi_decls.Definition) -> dict:
    """A definition as the API publishes it."""
    return {"effective": d.effective, "formula": d.formula, "target": _shown(d.target), "direction": d.direction,
            "target_note": d.target_note, "note": d.note}


def _stamp(day: date | str) -> str:
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(day, datetime.min.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _last_day(end: str) -> str:
    """A period's last day: its `end` is the first day after it (the scorecard says the same)."""
    return (date.fromisoformat(end) - timedelta(days=1)).isoformat()


def _shown(value):
    return dict(value) if isinstance(value, Mapping) else value


def _target(target: float | Mapping[str, float], unit: str) -> str:
    """A declared target in words (portal/wording.py): "2,000 requests", or one per period ("40 sign-ups
    a day, 280 sign-ups a week, ...")."""
    if isinstance(target, Mapping):
        return ", ".join(f"{wording.amount(v, unit)} a {period}" for period, v in target.items())
    return wording.amount(target, unit)


def _direction(direction: str) -> str:
    return direction.replace("_", " ")  # "lower_is_better" -> "lower is better"


def _changed(newer: kpi_decls.Definition, older: kpi_decls.Definition, unit: str) -> list[str]:
    """What moved between two definitions, in words: the formula quoted, a target with its unit."""
    said = {"formula": repr, "target": lambda t: _target(t, unit), "direction": _direction}
    return [f"{key} was {say(getattr(older, key))}, is {say(getattr(newer, key))}"
            for key, say in said.items() if getattr(older, key) != getattr(newer, key)]


def kpi_feed(kpi_id: str, period: str, base_url: str, as_of: date | None = None) -> Feed:
    """Newest first: the KPI's value for the current period and PERIODS_SHOWN before it, and its definitions."""
    kpi = kpi_decls.get(kpi_id)
    base = base_url.rstrip("/")
    api = f"{base}/api/v1/kpis/{kpi_id}"
    card = kpi_values.scorecard(period=period, as_of=as_of, history=PERIODS_SHOWN, only=kpi_id)
    row = card["kpis"][kpi_id]
    periods = [*row.get("history", []), {"start": row["start"], "end": row["end"], "actual": row["actual"],
                                         "score": row["score"]}]
    entries, before = [], None
    for p in periods:
        status = scoring.status(p["score"]).word
        moved = f" Status changed from {before} to {status}." if before is not None and before != status else ""
        score = "no score" if p["score"] is None else f"score {p['score']:.2f}"
        entries.append(Entry(
            id=f"{api}?period={period}&as_of={p['start']}", title=f"{kpi.name}, {period} from {p['start']}: "
            f"{wording.amount(p['actual'], kpi.unit)}", updated=_stamp(min(date.fromisoformat(p["end"]), kpi_values.city_today())),
            summary=f"{kpi.name} for the {period} {p['start']} to {_last_day(p['end'])}: {wording.amount(p['actual'], kpi.unit)}, "
                    f"{score} against a target of {wording.amount(kpi.target_for(period), kpi.unit)} ({status}).{moved}",
            data={"kind": "value", "period": period, "start": p["start"], "end": p["end"], "actual": p["actual"],
                  "score": p["score"], "status": status, "status_changed": bool(moved)},
            links=(Link(f"{api}?period={period}&as_of={p['start']}", type="application/json", title="kpi"),)))
        before = status
    for newer, older in zip(kpi.definitions, [*kpi.definitions[1:], None], strict=True):
        if newer.effective is None:
            continue
        what = "; ".join(_changed(newer, older, kpi.unit)) if older else "the definition first published"
        entries.append(Entry(
            id=f"{api}#definition-{newer.effective}", title=f"{kpi.name}: definition from {newer.effective}",
            updated=_stamp(newer.effective),
            summary=f"From {newer.effective}: {newer.formula} Target {_target(newer.target, kpi.unit)} "
                    f"({_direction(newer.direction)}). "
                    f"{'Changed: ' + what + '.' if older else what.capitalize() + '.'}"
                    f"{' Why: ' + older.note if older and older.note else ''}",
            data={"kind": "definition", **definition_json(newer)}, links=(Link(api, type="application/json", title="kpi"),)))
    entries.sort(key=lambda e: e.updated, reverse=True)
    return Feed(id=f"{api}/changes.atom?period={period}", title=f"{kpi.name}: values and definition changes",
                updated=entries[0].updated, author=kpi.agency, home=f"{base}/?period={period}",
                self_atom=f"{api}/changes.atom?period={period}", self_json=f"{api}/changes.json?period={period}",
                entries=tuple(entries))
