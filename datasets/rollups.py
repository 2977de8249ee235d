"""Rollup declarations (datasets/rollups.yaml): per-version summaries the ETL materialises and the
reader serves, so the cold path of a dashboard reads thousands of rows instead of millions."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from datasets.registry import DeclarationError, datasets

PATH = Path(__file__).resolve().parent / "rollups.yaml"


@dataclass(frozen=True)
class Rollup:
    name: str
    dataset: str
    description: str
    sql: str  # with {source} and {tz} placeholders
    keys: tuple[str, ...]  # the group-by columns
    measures: tuple[str, ...]  # additive counts: a rollup of a union is the sum of the rollups
    in_memory: bool = True  # loaded into each worker's memory, or read from its Parquet file

    def compile(self, source: str, tz_literal: str) -> str:
        return self.sql.format(source=source, tz=tz_literal)


@cache
def rollups() -> dict[str, Rollup]:
    raw = yaml.safe_load(PATH.read_text(encoding="utf-8"))["rollups"]
    out = {}
    for r in raw:
        if not re.match(r"^[a-z][a-z0-9_]*$", r.get("name", "")) or r["name"] in datasets():
            raise DeclarationError(f"rollups.yaml: bad or clashing rollup name {r.get('name')!r}")
        if r.get("dataset") not in datasets():
            raise DeclarationError(f"rollups.yaml: rollup {r['name']!r} names unknown dataset {r.get('dataset')!r}")
        if "{source}" not in r.get("sql", ""):
            raise DeclarationError(f"rollups.yaml: rollup {r['name']!r} must read {{source}}")
        if not r.get("keys") or not r.get("measures"):
            raise DeclarationError(f"rollups.yaml: rollup {r['name']!r} must list its keys and (additive) measures")
        out[r["name"]] = Rollup(r["name"], r["dataset"], " ".join(r["description"].split()), " ".join(r["sql"].split()),
                                tuple(r["keys"]), tuple(r["measures"]), bool(r.get("in_memory", True)))
    return out


def of(dataset: str) -> list[Rollup]:
    return [r for r in rollups().values() if r.dataset == dataset]


def dataset_of(name: str) -> str:
    """The dataset behind a query placeholder: itself, or the dataset a rollup summarises."""
    r = rollups().get(name)
    return r.dataset if r else name
