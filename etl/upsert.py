"""Merge a batch of valid rows into the current version by primary key and publish the result.

Classification: a key not in the lake is inserted; a key whose merged row equals the stored one
is unchanged; otherwise updated. Columns a source does not provide keep their stored values, so a
geometry file and an attributes file can both feed snow_segments. Only data files holding an
updated key are rewritten (copy-on-write at file granularity); inserted rows go to new files, so a
small batch costs a small write (docs/decisions/0001-lake-storage.md). Every row written carries
when its key entered the lake and when its values last changed (lake/stamps.py).
"""
from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass

import duckdb

import config
import lake
import lake.write
from datasets import Dataset
from lake import relation
from lake.sql import ident, lit
from lake.stamps import CREATED, UPDATED
from lake.stamps import TYPED as stamps_typed
from lake.stamps import now as stamp_now


@dataclass(frozen=True)
class Delta:
    """What a version changes, as SQL over the load's temp tables: rows it adds (new values of
    inserted and updated keys) and rows it takes away (old values of updated keys). Additive
    rollups are brought up to date from these alone (etl/rollups.py)."""

    plus: str
    minus: str | None


# The load's temp tables behind a Delta's SQL (rollups read them after upsert returns):
EXISTING = "_existing"  # stored rows whose keys are in the batch, with the file each is in
MERGED = "_merged"  # the batch over the stored values: `_outcome` (inserted/updated/unchanged) and `_file`


@dataclass
class UpsertCounts:
    """Source rows by outcome; with the rejects they add up to the load's rows in."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class UpsertResult:
    """What merging a batch did: its counts and, when it changed anything, the new version's file
    list and its Delta (both None when every row equals the stored one)."""

    counts: UpsertCounts
    files: list[lake.DataFile] | None = None
    delta: Delta | None = None

    @property
    def changed(self) -> bool:
        return self.files is not None


def _typed_select(ds: Dataset, source: str, alias: str = "") -> str:
    """Every declared column cast to its type (from `alias.` when given): the shape of a data file."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f"CAST({prefix}{ident(c.name)} AS {c.duckdb_type}) AS {ident(c.name)}" for c in ds.columns)


def _sort_columns(ds: Dataset) -> tuple[str, ...]:
    return ds.sort_by or ds.primary_key


def _already_sorted(con, ds: Dataset, select_sql: str) -> bool:
    """Whether the rows come out in sort order already, as exports and micro-batches usually do.

    A lag() pass costs milliseconds where a sort of a million wide rows costs about a second.
    """
    key = "struct_pack(" + ", ".join(f"{ident(c)} := {ident(c)}" for c in _sort_columns(ds)) + ")"
    out_of_order = con.execute(
        f"SELECT count(*) FILTER (WHERE prev > cur) FROM (SELECT {key} AS cur, lag({key}) OVER () AS prev FROM ({select_sql}))"
    ).fetchone()[0]
    return out_of_order == 0


def write_files(con: duckdb.DuckDBPyConnection, ds: Dataset, select_sql: str) -> list[lake.DataFile]:
    """Write the rows of `select_sql`, sorted, into new Parquet files of at most PULSE_FILE_ROWS rows."""
    file_rows = max(lake.write.ROW_GROUP, config.get_int("file_rows"))
    groups_per_file = max(1, file_rows // lake.write.ROW_GROUP)
    base = lake.dataset_dir(ds.name)
    staging = base / "data" / f".staging-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    order = "" if _already_sorted(con, ds, select_sql) else " ORDER BY " + ", ".join(ident(c) for c in _sort_columns(ds))
    try:
        # zstd level 1 with Parquet v2 encodings (delta-packed times and integers): at 1M NYC rows,
        # 15% less CPU than zstd level 3 with v1 and a 10% smaller file (docs/benchmarks-history.md, ingest).
        con.execute(
            f"COPY ({select_sql}{order}) TO {lit(str(staging))} "
            f"(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARQUET_VERSION V2, ROW_GROUP_SIZE {lake.write.ROW_GROUP}, "
            f"ROW_GROUPS_PER_FILE {groups_per_file}, PER_THREAD_OUTPUT false, FILENAME_PATTERN 'part_{{i}}')"
        )
        written = sorted(staging.glob("*.parquet"), key=lambda p: int(p.stem.split("_")[-1]))
        out = []
        for path in written:
            final = lake.write.new_data_path(ds.name)
            path.rename(final)
            out.append(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return _describe(con, ds, out)


def _describe(con, ds: Dataset, paths) -> list[lake.DataFile]:
    if not paths:
        return []
    key = ident(ds.primary_key[0])
    rows = con.execute(
        f"SELECT filename, count(*), CAST(min({key}) AS VARCHAR), CAST(max({key}) AS VARCHAR) "
        f"FROM read_parquet(?, filename=true) GROUP BY filename",
        [[str(p) for p in paths]],
    ).fetchall()
    base = lake.dataset_dir(ds.name)
    stats = {r[0]: r for r in rows}
    out = []
    for p in paths:
        r = stats.get(str(p))
        if r is None:  # an empty file: no rows to keep
            p.unlink(missing_ok=True)
            continue
        out.append(lake.DataFile(path=str(p.relative_to(base)), rows=r[1], key_min=r[2], key_max=r[3]))
    return out


def upsert(con: duckdb.DuckDBPyConnection, ds: Dataset, batch: str, provided: tuple[str, ...],
           current: lake.Manifest | None) -> UpsertResult:
    """Classify `batch` (one row per key, with `_n` = source rows folded into it) against `current`;
    when anything is inserted or updated, write the new version's files and say what changed."""
    stamp = stamp_now()
    if current is None or not current.files:
        return _into_empty(con, ds, batch, stamp)
    _stored_rows(con, ds, batch, current)
    _merge(con, ds, batch, provided, stamp)
    counts = _counts(con)
    if not counts.inserted and not counts.updated:  # every row equals the stored one: no new version
        return UpsertResult(counts)
    files = _rewrite_updated(con, ds, current)
    files += write_files(con, ds, f"SELECT {_typed_select(ds, MERGED)}, {STAMPS} FROM {MERGED} WHERE _outcome = 'inserted'")
    return UpsertResult(counts, files, _delta(ds))


STAMPS = f"{CREATED}, {UPDATED}"


def _into_empty(con, ds: Dataset, batch: str, stamp: str) -> UpsertResult:
    """A first load: every key is inserted; later rows of a change log update the first."""
    keys, rows = con.execute(f"SELECT count(*), coalesce(sum(_n), 0) FROM {batch}").fetchone()
    counts = UpsertCounts(inserted=keys, updated=rows - keys)
    if keys == 0:
        return UpsertResult(counts)
    everything = f"SELECT {_typed_select(ds, batch)} FROM {batch}"
    stamped = f"SELECT {_typed_select(ds, batch)}, {stamp} AS {CREATED}, {stamp} AS {UPDATED} FROM {batch}"
    return UpsertResult(counts, write_files(con, ds, stamped), Delta(plus=everything, minus=None))


def _key_join(ds: Dataset, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{ident(k)} = {right}.{ident(k)}" for k in ds.primary_key)


def _stored_rows(con, ds: Dataset, batch: str, current: lake.Manifest) -> None:
    """Create EXISTING: the stored rows whose keys are in the batch, with the file each is in."""
    candidates = _candidate_files(con, ds, batch, current)
    if candidates:
        base = lake.dataset_dir(ds.name)
        # a file written before a column was declared, or before the stamps, reads them as NULL
        stored = relation.files("?", {**ds.typed, **stamps_typed}, options="filename=true")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {EXISTING} AS
            SELECT e.* FROM {stored} e SEMI JOIN {batch} b ON {_key_join(ds, 'e', 'b')}""",
            [[str(base / f.path) for f in candidates]],
        )
    else:
        cols = ", ".join(f"CAST(NULL AS {c.duckdb_type}) AS {ident(c.name)}" for c in ds.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {EXISTING} AS SELECT {cols}, CAST(NULL AS VARCHAR) AS filename, "
                    f"CAST(NULL AS TIMESTAMPTZ) AS {CREATED}, CAST(NULL AS TIMESTAMPTZ) AS {UPDATED} LIMIT 0")


def _merge(con, ds: Dataset, batch: str, provided: tuple[str, ...], stamp: str) -> None:
    """Create MERGED: each batch row over its stored values, with `_outcome`, the stored `_file` and
    the stamps a written row gets (a new key: now in both; a changed one keeps its creation).

    A column the source does not provide keeps its stored value; a row is unchanged when every
    provided column equals the stored one."""
    merged_cols = ", ".join(
        (f"b.{ident(c.name)}" if c.name in provided else f"e.{ident(c.name)}") + f" AS {ident(c.name)}"
        for c in ds.columns
    )
    same = " AND ".join(
        f"b.{ident(c.name)} IS NOT DISTINCT FROM e.{ident(c.name)}" for c in ds.columns if c.name in provided
    ) or "TRUE"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {MERGED} AS
        SELECT {merged_cols}, b._n AS _n, e.filename AS _file,
               CASE WHEN e.filename IS NULL THEN 'inserted' WHEN {same} THEN 'unchanged' ELSE 'updated' END AS _outcome,
               CASE WHEN e.filename IS NULL THEN {stamp} ELSE e.{CREATED} END AS {CREATED}, {stamp} AS {UPDATED}
        FROM {batch} b LEFT JOIN {EXISTING} e ON {_key_join(ds, 'e', 'b')}"""
    )


def _counts(con) -> UpsertCounts:
    """Source rows by outcome: a new key's first row is an insert, its later rows (a change log) updates."""
    counts = UpsertCounts()
    for outcome, keys_n, rows_n in con.execute(
        f"SELECT _outcome, count(*), sum(_n) FROM {MERGED} GROUP BY _outcome"
    ).fetchall():
        if outcome == "inserted":
            counts.inserted += keys_n
            counts.updated += rows_n - keys_n
        elif outcome == "updated":
            counts.updated += rows_n
        else:
            counts.unchanged += rows_n
    return counts


def _rewrite_updated(con, ds: Dataset, current: lake.Manifest) -> list[lake.DataFile]:
    """The current files, each one holding an updated key rewritten with the new values (copy-on-write)."""
    base = lake.dataset_dir(ds.name)
    keys = ", ".join(ident(k) for k in ds.primary_key)
    affected = {r[0] for r in con.execute(f"SELECT DISTINCT _file FROM {MERGED} WHERE _outcome = 'updated'").fetchall()}
    files: list[lake.DataFile] = []
    for f in current.files:
        path = str(base / f.path)
        if path not in affected:
            files.append(f)
            continue
        updated = f"{MERGED} WHERE _file = {lit(path)} AND _outcome = 'updated'"
        files += write_files(
            con, ds,
            f"""SELECT {_typed_select(ds, 'o', 'o')}, o.{CREATED}, o.{UPDATED}
                FROM {relation.files(f"[{lit(path)}]", {**ds.typed, **stamps_typed})} o
                ANTI JOIN (SELECT {keys} FROM {updated}) u USING ({keys})
                UNION ALL BY NAME
                SELECT {_typed_select(ds, MERGED)}, {STAMPS} FROM {updated}""",
        )
    return files


def _delta(ds: Dataset) -> Delta:
    """The new values of inserted and updated keys, and the old values of updated ones."""
    keys = ", ".join(ident(k) for k in ds.primary_key)
    return Delta(
        plus=f"SELECT {_typed_select(ds, MERGED)} FROM {MERGED} WHERE _outcome IN ('inserted', 'updated')",
        minus=f"""SELECT {_typed_select(ds, 'e', 'e')} FROM {EXISTING} e
                  SEMI JOIN (SELECT {keys} FROM {MERGED} WHERE _outcome = 'updated') u USING ({keys})""",
    )


def _candidate_files(con, ds: Dataset, batch: str, current: lake.Manifest) -> list[lake.DataFile]:
    """Files whose key range can hold a key of the batch (all files for a composite key)."""
    if len(ds.primary_key) != 1 or any(f.key_min is None for f in current.files):
        return list(current.files)
    key = ident(ds.primary_key[0])
    con.execute("CREATE OR REPLACE TEMP TABLE _ranges(i INTEGER, kmin VARCHAR, kmax VARCHAR)")
    con.executemany("INSERT INTO _ranges VALUES (?, ?, ?)", [[i, f.key_min, f.key_max] for i, f in enumerate(current.files)])
    hit = {r[0] for r in con.execute(
        f"SELECT DISTINCT r.i FROM _ranges r JOIN {batch} b ON CAST(b.{key} AS VARCHAR) BETWEEN r.kmin AND r.kmax"
    ).fetchall()}
    return [f for i, f in enumerate(current.files) if i in hit]
