"""Load the KPI declarations (datasets/kpis.yaml) into frozen dataclasses, checked at load time.

Why: a KPI's target, direction and formula are published next to its score, so a typo must fail at
start-up with the KPI and field named, not surface later as a wrong score on the front page.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from datasets.registry import Dataset, DeclarationError, datasets, read_yaml

PATH = Path(__file__).resolve().parent / "kpis.yaml"
PERIODS = ("day", "week", "month", "quarter")
DIRECTIONS = ("higher_is_better", "lower_is_better")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIRED = ("id", "name", "description", "unit", "direction", "target", "periods", "agency", "dataset", "query", "formula")
_OPTIONAL = ("target_note", "target_source", "channel", "parameters", "columns", "dashboard", "effective", "history")
_REDEFINABLE = ("formula", "target", "direction", "target_note")  # what an earlier definition may have differed in


@dataclass(frozen=True)
class Definition:
    """The KPI's yardstick from `effective` (an ISO date; None: from the start) until the next one:
    published, dated, so a reader sees when the formula, target or direction moved (issue 18)."""

    effective: str | None
    formula: str
    target: float | Mapping[str, float] = field(hash=False)
    direction: str
    target_note: str = ""
    note: str = ""  # why it was replaced by the next newer definition


@dataclass(frozen=True)
class Kpi:
    id: str
    name: str
    description: str
    unit: str
    direction: str
    target: float | Mapping[str, float] = field(hash=False)  # one number, or one per period
    periods: tuple[str, ...]
    agency: str
    dataset: str
    query: str
    formula: str
    target_note: str = ""
    parameters: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    columns: tuple[str, ...] = ()  # "dataset.column", every column the formula reads
    dashboard: str | None = None  # the page that explains the number (a path, e.g. /snow)
    target_source: str = ""  # where the target comes from ("why this target", with target_note)
    channel: str = ""  # who takes the requests without owning the outcome (the 311 call centre)
    definitions: tuple[Definition, ...] = ()  # newest first: the current one, then the earlier ones


    def target_for(self, period: str) -> float:
        """The target for one period; a period the KPI does not allow is an error, not a guess."""
        if period not in self.periods:
            raise ValueError(f"KPI {self.id!r} is not scored by {period!r}; allowed periods: {', '.join(self.periods)}")
        return self.target[period] if isinstance(self.target, Mapping) else self.target


def _fail(kpi_id: str, key: str, problem: str) -> DeclarationError:
    return DeclarationError(f"KPI {kpi_id!r}: field {key!r} {problem}")


def _number(value, kpi_id: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise _fail(kpi_id, key, f"must be a non-negative number, got {value!r}")
    return float(value)


def _kpi(raw: dict, known: Mapping[str, Dataset]) -> Kpi:
    if not isinstance(raw, dict):
        raise DeclarationError(f"each KPI must be a mapping, got {raw!r}")
    kpi_id = str(raw.get("id", "<no id>"))
    unknown = sorted(set(raw) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise _fail(kpi_id, unknown[0], f"is not a KPI field (unknown keys {unknown}); allowed: {', '.join(_REQUIRED + _OPTIONAL)}")
    for key in _REQUIRED:
        if raw.get(key) in (None, "", [], {}):
            raise _fail(kpi_id, key, "is missing or empty")
    for key in ("id", "query"):
        if not _NAME.match(str(raw[key])):
            raise _fail(kpi_id, key, f"must be lower_snake_case, got {raw[key]!r}")
    if raw["direction"] not in DIRECTIONS:
        raise _fail(kpi_id, "direction", f"must be one of {', '.join(DIRECTIONS)}, got {raw['direction']!r}")
    periods = raw["periods"]
    if not isinstance(periods, list) or any(p not in PERIODS for p in periods) or len(set(periods)) != len(periods):
        raise _fail(kpi_id, "periods", f"must be a list of distinct periods from {', '.join(PERIODS)}, got {periods!r}")
    if raw["dataset"] not in known:
        raise _fail(kpi_id, "dataset", f"names unknown dataset {raw['dataset']!r}; known: {', '.join(known)}")

    target = raw["target"]
    if isinstance(target, dict):
        if set(target) != set(periods):
            raise _fail(kpi_id, "target", f"per-period targets must cover exactly the periods {periods}, got {sorted(target)}")
        target = MappingProxyType({p: _number(v, kpi_id, f"target.{p}") for p, v in target.items()})
    else:
        target = _number(target, kpi_id, "target")

    formula = " ".join(str(raw["formula"]).split())
    parameters = raw.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise _fail(kpi_id, "parameters", f"must be a mapping of name: number, got {parameters!r}")
    for name, value in parameters.items():
        _number(value, kpi_id, f"parameters.{name}")
        if not re.search(rf"\b{re.escape(str(name))}\b", formula):
            raise _fail(kpi_id, "formula", f"must name the parameter {name!r} it depends on")

    columns = raw.get("columns") or []
    for ref in columns:
        ds_name, _, col = str(ref).rpartition(".")
        ds_name = ds_name or raw["dataset"]
        if ds_name not in known or col not in known[ds_name].column_names:
            raise _fail(kpi_id, "columns", f"names {ref!r}, which is not a declared column")
        if not re.search(rf"\b{re.escape(col)}\b", formula):
            raise _fail(kpi_id, "formula", f"must name the column {col!r} listed in columns")

    dashboard = raw.get("dashboard")
    if dashboard is not None and not re.match(r"^/[a-z0-9/-]*$", str(dashboard)):
        raise _fail(kpi_id, "dashboard", f"must be a page path like /snow, got {dashboard!r}")

    target_note = " ".join(str(raw.get("target_note", "")).split())
    current = Definition(effective=_date(raw.get("effective"), kpi_id, "effective"), formula=formula, target=target,
                         direction=raw["direction"], target_note=target_note)
    return Kpi(
        id=raw["id"], name=raw["name"], description=" ".join(str(raw["description"]).split()), unit=str(raw["unit"]),
        direction=raw["direction"], target=target, periods=tuple(periods), agency=" ".join(str(raw["agency"]).split()),
        dataset=raw["dataset"],
        query=raw["query"], formula=formula, target_note=target_note,
        parameters=MappingProxyType({k: float(v) for k, v in parameters.items()}), columns=tuple(columns),
        dashboard=dashboard, target_source=" ".join(str(raw.get("target_source", "")).split()),
        channel=" ".join(str(raw.get("channel", "")).split()),
        definitions=_definitions(current, raw.get("history") or [], kpi_id, periods),
    )


def _date(value, kpi_id: str, key: str) -> str | None:
    from datetime import date

    if value is None:
        return None
    try:
        return (value if isinstance(value, date) else date.fromisoformat(str(value))).isoformat()
    except ValueError:
        raise _fail(kpi_id, key, f"must be an ISO date like 2026-01-01, got {value!r}") from None


def _definitions(current: Definition, history: list, kpi_id: str, periods: list) -> tuple[Definition, ...]:
    """The current definition, then each earlier one (newest first): an entry names its effective date,
    why it changed (`note`) and what differed; what it leaves out is as in the next newer definition."""
    if not isinstance(history, list):
        raise _fail(kpi_id, "history", "must be a list of earlier definitions")
    if history and current.effective is None:
        raise _fail(kpi_id, "effective", "is needed when the KPI has a history: the date the current definition began")
    out = [current]
    for i, entry in enumerate(history):
        key = f"history[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"effective", "note", *_REDEFINABLE}:
            raise _fail(kpi_id, key, f"may hold effective, note and {', '.join(_REDEFINABLE)}, got {entry!r}")
        if not entry.get("note") or not set(entry) & set(_REDEFINABLE):
            raise _fail(kpi_id, key, "must say why it changed (note) and what was different")
        effective = _date(entry.get("effective"), kpi_id, f"{key}.effective")
        if effective is None or effective >= out[-1].effective:
            raise _fail(kpi_id, f"{key}.effective", "must be a date before the next newer definition's")
        newer = out[-1]
        target = entry.get("target", newer.target)
        if isinstance(target, dict):
            if set(target) != set(periods):
                raise _fail(kpi_id, f"{key}.target", f"per-period targets must cover exactly the periods {periods}")
            target = MappingProxyType({p: _number(v, kpi_id, f"{key}.target.{p}") for p, v in target.items()})
        elif "target" in entry:
            target = _number(target, kpi_id, f"{key}.target")
        direction = entry.get("direction", newer.direction)
        if direction not in DIRECTIONS:
            raise _fail(kpi_id, f"{key}.direction", f"must be one of {', '.join(DIRECTIONS)}")
        out.append(Definition(effective=effective, formula=" ".join(str(entry.get("formula", newer.formula)).split()),
                              target=target, direction=direction, note=" ".join(str(entry["note"]).split()),
                              target_note=" ".join(str(entry.get("target_note", newer.target_note)).split())))
    return tuple(out)


def load(path: Path | str = PATH, known: Mapping[str, Dataset] | None = None) -> dict[str, Kpi]:
    """Read and check one KPI file; `known` datasets default to the registry's."""
    path = Path(path)
    known = datasets() if known is None else known
    raw = read_yaml(path)
    if not isinstance(raw, dict) or set(raw) != {"kpis"} or not isinstance(raw["kpis"], list):
        raise DeclarationError(f"{path.name}: must hold exactly one key, 'kpis', a list of KPIs")
    out: dict[str, Kpi] = {}
    queries: set[str] = set()
    for entry in raw["kpis"]:
        try:
            kpi = _kpi(entry, known)
        except DeclarationError as exc:
            raise DeclarationError(f"{path.name}: {exc}") from None
        if kpi.id in out:
            raise DeclarationError(f"{path.name}: KPI {kpi.id!r}: field 'id' is declared twice")
        if kpi.query in queries:
            raise DeclarationError(f"{path.name}: KPI {kpi.id!r}: field 'query' {kpi.query!r} is used by another KPI")
        out[kpi.id] = kpi
        queries.add(kpi.query)
    return out


@cache
def kpis() -> dict[str, Kpi]:
    """Every declared KPI by id, in file order."""
    return load()


def get(kpi_id: str) -> Kpi:
    try:
        return kpis()[kpi_id]
    except KeyError:
        raise KeyError(f"unknown KPI {kpi_id!r}; known: {', '.join(kpis())}") from None
