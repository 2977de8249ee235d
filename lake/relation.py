"""A version's data files as a relation with every column the reader expects, whatever each file holds.

Why: a declaration gains a column (datasets/*.yaml, decision 0026) while the lake's files are
immutable, so the files written before it lack it. Selecting the declared columns straight from
read_parquet would then fail ("column not found") on every route of that dataset until each old
file were rewritten. Here a missing column reads as a typed NULL instead: the files are read by
name (`union_by_name`: a column some files have and others lack is NULL in the latter), then joined
BY NAME with a typed empty relation holding every expected column (a column no file has comes from
that side alone, NULL, of the declared type). DuckDB still pushes filters and the projection into the
Parquet scan and drops the empty side (EXPLAIN shows one READ_PARQUET with the filters); what it costs
is binding by name, which reads every file's footer at each query, about a millisecond
(`python -m benchmarks --only columns`). So `columns`, the readers' view, fills only when a file lacks a
column: which columns a file holds is read once per file (files are immutable) and kept. The same fill
gives files written before the row stamps their `_created_at`/`_updated_at` (lake/stamps.py).

`typed` is an ordered mapping of column name to DuckDB type (a declaration's `duckdb_type`).
"""
from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from functools import lru_cache

import pyarrow.parquet as pq

from lake.sql import ident, lit

Typed = Mapping[str, str]


def empty(typed: Typed) -> str:
    """A relation with the `typed` columns and no rows: what a dataset never loaded reads as."""
    return "SELECT " + ", ".join(f"CAST(NULL AS {t}) AS {ident(n)}" for n, t in typed.items()) + " WHERE false"


def with_columns(select_sql: str, typed: Typed) -> str:
    """`select_sql` as a relation that has every one of the `typed` columns (and any other it has):
    its own values where it carries a column, NULL of the given type where it lacks it."""
    return f"(SELECT * FROM ({select_sql}) UNION ALL BY NAME {empty(typed)})"


def files(listed: str, typed: Typed, *, options: str = "") -> str:
    """The Parquet files of the SQL list `listed` (paths from our own manifests) as a relation with
    every `typed` column; `options` are further read_parquet options (`filename=true`)."""
    return with_columns(f"SELECT * FROM read_parquet({listed}, union_by_name=true{', ' + options if options else ''})", typed)


def columns(paths: list[str], typed: Typed) -> str:
    """SELECT exactly the `typed` columns, in order, from the Parquet files at `paths` (what a reader's
    view of a version is): NULL in the files that predate a column, read straight where none does."""
    listed = "[" + ", ".join(lit(p) for p in paths) + "]"
    holds = [held(p) for p in paths]  # every file (a lost one raises here), not only up to the first old one
    if all(set(typed) <= h for h in holds):
        return f"SELECT {', '.join(ident(n) for n in typed)} FROM read_parquet({listed})"
    return f"SELECT {', '.join(ident(n) for n in typed)} FROM {files(listed, typed)}"


def held(path: str) -> frozenset[str]:
    """The columns the Parquet file at `path` holds (its footer, read once: a data file never changes).
    A file that has gone since is FileNotFoundError here, before any answer has begun (a download is a
    clear 500, not a 200 whose body stops at its first line)."""
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "a data file of the version is missing", path)
    return _footer_columns(path)


@lru_cache(maxsize=65536)
def _footer_columns(path: str) -> frozenset[str]:
    return frozenset(pq.read_schema(path).names)
