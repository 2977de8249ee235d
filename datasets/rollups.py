"""Rollup declarations (datasets/rollups.yaml): per-version summaries the ETL materialises and the
reader serves, so the cold path of a dashboard reads thousands of rows instead of millions.

Two kinds. A `rollup` is an aggregate of additive counts, kept up to date from each load's delta
(etl/rollups.py). A `projection` is a narrow, row-wise copy of some columns, written sorted beside
each data file (etl/projections.py), for answers that cannot be summed from parts, such as exact
medians (docs/decisions/0007-close-time-projection.md).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from datasets.registry import DeclarationError, datasets, read_yaml
from lake.sql import ident

PATH = Path(__file__).resolve().parent / "rollups.yaml"
KINDS = ("rollup", "projection")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Rollup:
    name: str
    dataset: str
    description: str
    sql: str  # with {source} and {tz} placeholders
    keys: tuple[str, ...]  # the group-by columns (rollups)
    measures: tuple[str, ...]  # additive counts: a rollup of a union is the sum of the rollups
    in_memory: bool = True  # loaded into each worker's memory, or read from its Parquet file
    kind: str = "rollup"
    order_by: tuple[str, ...] = ()  # sort order inside each file (row-group pruning); rollups: default all keys

    def compile(self, source: str, tz_literal: str, local_day=None) -> str:
        """The SQL over `source` in the zone `tz_literal` (a quoted SQL string). `{local_day[col]}`
        becomes the local date of instant `col`: ICU's cast unless `local_day` supplies a faster
        expression with the same answer (etl/local_day.py)."""
        return self.sql.format(source=source, tz=tz_literal, local_day=local_day or _IcuDay(tz_literal))

    def summed(self, source: str) -> str:
        """One row per key of `source` (rows of this rollup, keys possibly repeated: a base and its
        delta, decision 0008), measures summed; keys whose measures all sum to zero are dropped, as
        a fresh rollup would not have them. Writers fold with it, readers sum with it."""
        keys = ", ".join(ident(k) for k in self.keys)
        sums = ", ".join(f"CAST(sum({ident(m)}) AS BIGINT) AS {ident(m)}" for m in self.measures)
        nonzero = " AND ".join(f"sum({ident(m)}) = 0" for m in self.measures)
        return f"SELECT {keys}, {sums} FROM ({source}) GROUP BY ALL HAVING NOT ({nonzero})"

    def fingerprint(self) -> str:
        """Changes whenever what a stored file holds would change: stored files of another
        fingerprint are not reused or served."""
        # Over the text with ICU's local days: a faster spelling of the same days keeps stored files.
        text = self.compile("{source}", "{tz}")
        return hashlib.sha256(f"{text}|{','.join(self.order_by)}".encode()).hexdigest()[:16]


class _IcuDay:
    """`{local_day[col]}` as ICU's conversion of instant `col` to the zone's wall clock, as a DATE."""

    def __init__(self, tz_literal: str):
        self.tz_literal = tz_literal

    def __getitem__(self, column: str) -> str:
        return f"CAST(timezone({self.tz_literal}, {column}) AS DATE)"


def _check(r: dict) -> None:
    name = r.get("name", "")
    if not _NAME.match(name) or name in datasets():
        raise DeclarationError(f"rollups.yaml: bad or clashing rollup name {name!r}")
    if r.get("dataset") not in datasets():
        raise DeclarationError(f"rollups.yaml: rollup {name!r} names unknown dataset {r.get('dataset')!r}")
    if "{source}" not in r.get("sql", ""):
        raise DeclarationError(f"rollups.yaml: rollup {name!r} must read {{source}}")
    kind = r.get("kind", "rollup")
    if kind not in KINDS:
        raise DeclarationError(f"rollups.yaml: {name!r} has kind {kind!r}; kinds: {', '.join(KINDS)}")
    if kind == "rollup" and (not r.get("keys") or not r.get("measures")):
        raise DeclarationError(f"rollups.yaml: rollup {name!r} must list its keys and (additive) measures")
    if kind == "rollup" and not set(r.get("order_by", ())) <= set(r["keys"]):
        raise DeclarationError(f"rollups.yaml: rollup {name!r} can only be ordered by its keys")
    if kind == "projection":
        # Row-wise, so the union of the per-file outputs is the output over the whole version.
        if re.search(r"\b(group\s+by|over|limit|distinct|join)\b", r["sql"], re.IGNORECASE):
            raise DeclarationError(f"rollups.yaml: projection {name!r} must be row-wise (no GROUP BY, window, "
                                   "LIMIT, DISTINCT or JOIN)")
        if not r.get("order_by") or r.get("in_memory", False):
            raise DeclarationError(f"rollups.yaml: projection {name!r} needs order_by and is never held in memory")


@cache
def rollups() -> dict[str, Rollup]:
    """Every declaration of either kind, by name (each is a {name} placeholder in named queries)."""
    raw = read_yaml(PATH)["rollups"]
    out = {}
    for r in raw:
        _check(r)
        projection = r.get("kind") == "projection"
        out[r["name"]] = Rollup(r["name"], r["dataset"], " ".join(r["description"].split()), " ".join(r["sql"].split()),
                                tuple(r.get("keys", ())), tuple(r.get("measures", ())),
                                False if projection else bool(r.get("in_memory", True)),
                                r.get("kind", "rollup"), tuple(r.get("order_by", ())))
    return out


def of(dataset: str) -> list[Rollup]:
    """The additive rollups of a dataset (etl/rollups.py keeps them up to date)."""
    return [r for r in rollups().values() if r.dataset == dataset and r.kind == "rollup"]


def projections(dataset: str) -> list[Rollup]:
    """The per-file projections of a dataset (etl/projections.py writes them)."""
    return [r for r in rollups().values() if r.dataset == dataset and r.kind == "projection"]


def dataset_of(name: str) -> str:
    """The dataset behind a query placeholder: itself, or the dataset a rollup summarises."""
    r = rollups().get(name)
    return r.dataset if r else name
