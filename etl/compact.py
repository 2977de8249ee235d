"""Compaction and retention: micro-batches every few seconds must neither slow queries down nor grow
the lake without bound (docs/decisions/0006-realtime-ingest.md).

Compaction merges the current version's small data files (under 3/4 of a compacted file) into
sorted files of one row group (122,880 rows, PULSE_FILE_ROWS / 8) and publishes them as a new version holding
exactly the same rows, so every answer stays the same; its rollups are the previous version's, with
any rollup delta that has grown folded into its base (etl/rollups.py; every delta with `--full`). The
merged files hold the newest rows, which is where closures and other updates land: kept small, an
update rewrites megabytes, not a 1M-row file. `--full` rewrites everything into PULSE_FILE_ROWS files.

Retention keeps the newest PULSE_KEEP_VERSIONS versions, every version younger than
PULSE_KEEP_HOURS (one number, OLDEST: both rules keep a suffix of the chain), and, older than that,
each day's last version for PULSE_KEEP_DAILY days (a citable daily snapshot; its manifest stays).
Clean-up writes OLDEST, deletes the other older manifests, then every file no kept version can
reference; a version removed answers VersionPruned (the API's 410).

Why the clean-up reads only the kept manifests older than OLDEST and OLDEST's own: a file enters a
version's list when it is written and leaves it for good when rewritten, and the load that writes
it holds the writer lock after the previous version was published. So a file is referenced by a
kept version if and only if one of those manifests lists it or it was written after OLDEST was
published.
"""
from __future__ import annotations

import os
import shutil
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb

import config
import datasets
import lake
import lake.write
from etl import rollups, upsert
from lake import relation
from lake.sql import ident, lit
from lake.stamps import COLUMNS as stamp_columns
from lake.stamps import TYPED as stamps_typed

MIN_KEEP_VERSIONS = 2  # the current version and the one before: readers may still be finishing a query on it
MTIME_MARGIN_S = 0.1  # a file must predate OLDEST's publication by this much to be deleted (file times are coarse)
ORPHAN_GRACE_S = 3600  # over an object store: an unlisted object this young may be a publish under way
FOLDERS = ("data", "rollups", "projections")  # where a version's files live (lake/__init__.py)
HOT_FRACTION = 8  # compacted files hold at most PULSE_FILE_ROWS / 8 rows (one 122,880-row group by default)


def _connect() -> duckdb.DuckDBPyConnection:
    work = config.data_dir() / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": config.get("etl_memory"), "temp_directory": str(work / "duckdb")})
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    return con


def target_rows(full: bool = False) -> int:
    """Rows per compacted file, whole row groups: PULSE_FILE_ROWS with `full`, else an eighth of it."""
    groups = max(1, config.get_int("file_rows") // lake.write.ROW_GROUP)
    return lake.write.ROW_GROUP * (groups if full else max(1, groups // HOT_FRACTION))


def small_files(m: lake.Manifest, full: bool = False) -> list[lake.DataFile]:
    """The files compaction rewrites: those under 3/4 of a compacted file (so a merge's remainder is
    merged again next time, and a file count stays bounded), or all of them with `full`."""
    limit = target_rows() * 3 // 4
    return [f for f in m.files if full or f.rows < limit]


def _merge(dataset: str, full: bool, files_too: bool = True) -> dict:
    """Under the writer lock: rewrite the small files of the current version (unless not `files_too`),
    and fold the rollup deltas that have grown (all of them with `full`), as a new version holding
    the same rows."""
    m = lake.manifest(dataset)
    out = {"dataset": dataset, "version_before": m.version if m else None, "version": m.version if m else None,
           "files_before": len(m.files) if m else 0, "files_after": len(m.files) if m else 0,
           "files_merged": 0, "rows_rewritten": 0, "rollups_folded": 0, "compacted": False}
    if m is None:
        return out
    merge = small_files(m, full) if files_too else []
    merge = merge if len(merge) >= 2 else []
    folding = full or rollups.fold_due(m)
    if not merge and not folding:
        return out
    con = _connect()
    try:
        new = _rewrite(con, dataset, merge, full) if merge else []
        merged = {f.path for f in merge}
        files = [f for f in m.files if f.path not in merged] + new
        folded = rollups.fold(con, m, everything=full) if folding else dict(m.rollups)
        summaries = {**folded, **_per_file_summaries(con, dataset, files, m)}  # written for new files, else reused
    finally:
        con.close()
    rows = sum(f.rows for f in new)
    if rows != sum(f.rows for f in merge):  # never publish a version that lost or gained a row
        raise RuntimeError(f"{dataset}: compaction wrote {rows} rows for {sum(f.rows for f in merge)}")
    n_folded = sum(1 for r in rollups.declared.of(dataset) if folded.get(r.name) != m.rollups.get(r.name))
    if not merge and summaries == m.rollups:
        return out
    load = {"run_id": f"compact-{uuid.uuid4().hex[:8]}", "source": "compaction", "format": None, "rows_in": 0,
            "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0,
            "compaction": {"files_before": len(m.files), "files_after": len(files), "files_merged": len(merge),
                           "rollups_folded": n_folded}}
    published = lake.write.publish(dataset, files, load, expected_parent=m.version, rollups=summaries)
    out.update(version=published.version, files_after=len(files), files_merged=len(merge), rows_rewritten=rows,
               rollups_folded=n_folded, compacted=True)
    return out


def _rewrite(con, dataset: str, merge: list[lake.DataFile], full: bool) -> list[lake.DataFile]:
    """The rows of `merge` rewritten as sorted files of target_rows() (or the full size) rows each."""
    ds = datasets.get(dataset)
    base = lake.dataset_dir(dataset)
    typed = ", ".join(f"CAST({ident(c.name)} AS {c.duckdb_type}) AS {ident(c.name)}" for c in ds.columns)
    order = ", ".join(ident(c) for c in (ds.sort_by or ds.primary_key))
    listed = "[" + ", ".join(lit(str(base / f.path)) for f in merge) + "]"
    size = target_rows(full)
    new: list[lake.DataFile] = []
    stamps = ", ".join(stamp_columns)  # each row keeps when it entered the lake and last changed
    con.execute(f"CREATE TEMP TABLE _merge AS SELECT {typed}, {stamps}, row_number() OVER (ORDER BY {order}) - 1 AS _i "
                f"FROM {relation.files(listed, {**ds.typed, **stamps_typed})}")  # NULL where a file predates a column
    total = con.execute("SELECT count(*) FROM _merge").fetchone()[0]
    columns = ", ".join([*(ident(c.name) for c in ds.columns), *stamp_columns])
    for lo in range(0, total, size):  # one write per output file, each already in sort order
        new += upsert.write_files(con, ds, f"SELECT {columns} FROM _merge WHERE _i >= {lo} AND _i < {lo + size} "
                                           "ORDER BY _i")
    return new


def _per_file_summaries(con, dataset: str, files: list[lake.DataFile], previous: lake.Manifest) -> dict:
    """Summaries kept per data file (projections, etl/projections.py) for the new files; additive
    rollups depend only on the rows, which compaction does not change, so they are reused as they are."""
    try:
        from etl import projections
    except ImportError:  # a checkout without projections
        return {}
    return projections.materialise(con, dataset, files, previous)


# ---- retention -----------------------------------------------------------------------------------

def _published(dataset: str, version: int) -> datetime | None:
    try:
        return datetime.fromisoformat(lake.manifest(dataset, version).published_at)
    except KeyError:
        return None


def first_kept(dataset: str, now: datetime | None = None) -> int | None:
    """The start of the kept suffix: the newest KEEP_VERSIONS, and all younger than KEEP_HOURS."""
    current = lake.current_version(dataset)
    if current is None:
        return None
    oldest = lake.oldest_version(dataset)
    keep_n = max(MIN_KEEP_VERSIONS, config.get_int("keep_versions"))
    by_count = max(oldest, current - keep_n + 1)
    cutoff = (now or datetime.now(UTC)) - timedelta(hours=float(config.get("keep_hours")))
    lo, hi = oldest, by_count  # versions are published in time order: binary search for the cutoff
    while lo < hi:
        mid = (lo + hi) // 2
        published = _published(dataset, mid)
        if published is not None and published >= cutoff:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _day(t: datetime, zone: ZoneInfo) -> date:
    return t.astimezone(zone).date()


def retained(dataset: str, now: datetime | None = None) -> tuple[int | None, list[int]]:
    """(OLDEST, the daily snapshots older than it that are kept)."""
    keep_from = first_kept(dataset, now)
    if keep_from is None:
        return None, []
    zone = ZoneInfo(datasets.city(config.get("city")).timezone)
    today = _day(now or datetime.now(UTC), zone)
    days = config.get_int("keep_daily")
    previous_oldest = lake.oldest_version(dataset)
    older = [v for v in lake.write.stored_versions(dataset) if v < keep_from]
    snapshots = []
    for v in older:
        published = _published(dataset, v)
        if published is None or (today - _day(published, zone)).days >= days:
            continue
        if v < previous_oldest:  # kept by an earlier clean-up, so already its day's last version
            snapshots.append(v)
            continue
        following = _published(dataset, v + 1)
        if following is not None and _day(following, zone) > _day(published, zone):
            snapshots.append(v)
    return keep_from, snapshots


def _cleanup(dataset: str) -> dict:
    """Under the writer lock: apply retention, then delete what no kept version can reference."""
    out = {"oldest": None, "snapshots": [], "versions_pruned": 0, "files_deleted": 0, "bytes_freed": 0}
    keep_from, snapshots = retained(dataset)
    if keep_from is None:
        return out
    base = lake.dataset_dir(dataset)
    if keep_from > lake.oldest_version(dataset):
        lake.write.set_oldest(dataset, keep_from)  # first: a reader now gets "pruned", not a crash
    doomed = [v for v in lake.write.stored_versions(dataset) if v < keep_from and v not in snapshots]
    lake.write.remove_versions(dataset, doomed)
    out["versions_pruned"] = len(doomed)
    kept = [lake.manifest(dataset, v) for v in [*snapshots, keep_from]]
    referenced = set().union(*(m.referenced() for m in kept))
    cutoff = datetime.fromisoformat(kept[-1].published_at).timestamp() - MTIME_MARGIN_S
    if lake.store.is_remote():
        # Object times are whole seconds and another host's writer may be uploading the files of a
        # version it has not yet published: keep every file a version from OLDEST on lists, and any
        # unlisted object younger than ORPHAN_GRACE_S.
        newer = [lake.manifest(dataset, v) for v in lake.version_numbers(dataset) if v > keep_from]
        referenced |= set().union(*(m.referenced() for m in newer))
        cutoff = time.time() - ORPHAN_GRACE_S
        unreferenced = [o for o in lake.write.remote_files(dataset, FOLDERS) if o.key not in referenced and o.modified < cutoff]
        lake.write.remove_remote_files(dataset, [o.key for o in unreferenced])
        out.update(oldest=keep_from, snapshots=snapshots, files_deleted=len(unreferenced),
                   bytes_freed=sum(o.size for o in unreferenced))
        return out
    for folder in FOLDERS:
        for p in (base / folder).rglob("*") if (base / folder).exists() else ():
            rel = str(p.relative_to(base))
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            if p.is_dir():  # a staging folder left by a killed load (we hold the lock: none is live)
                if p.name.startswith(".staging-") and st.st_mtime < cutoff:
                    shutil.rmtree(p, ignore_errors=True)
                continue
            if ".staging-" in rel:
                continue
            if rel in referenced or st.st_mtime >= cutoff:
                continue
            p.unlink(missing_ok=True)
            out["files_deleted"] += 1
            out["bytes_freed"] += st.st_size
    out.update(oldest=keep_from, snapshots=snapshots)
    return out


def compact(dataset: str, full: bool = False, merge: bool = True, wait_seconds: float = 600.0,
            files_too: bool = True) -> dict:
    """Merge small files and fold grown rollup deltas (neither with merge=False; only the deltas
    with files_too=False) and apply retention, holding the dataset's writer lock."""
    started = time.monotonic()
    with lake.write.writer_lock(dataset, wait_seconds):
        out = _merge(dataset, full, files_too) if merge else {"dataset": dataset, "compacted": False}
        out.update(_cleanup(dataset))
    out["seconds"] = round(time.monotonic() - started, 3)
    return out


def _retention_due(dataset: str, m: lake.Manifest) -> bool:
    """Cheap test after each publish: more versions than kept by count, and the oldest past the age limit."""
    oldest = lake.oldest_version(dataset)
    if m.version - oldest + 1 <= max(MIN_KEEP_VERSIONS, config.get_int("keep_versions")):
        return False
    published = _published(dataset, oldest)
    return published is None or published < datetime.now(UTC) - timedelta(hours=float(config.get("keep_hours")))


def after_publish(dataset: str) -> dict | None:
    """What the real-time writers (poll, watch, simulate, load) call after each publish: compact when
    the current version has more than PULSE_COMPACT_FILES files or a rollup delta due for folding,
    apply retention when it is due."""
    m = lake.manifest(dataset)
    if m is None:
        return None
    threshold = config.get_int("compact_files")
    if threshold > 0 and len(m.files) > threshold and len(small_files(m)) >= 2:
        return compact(dataset)  # folds grown rollup deltas too
    if rollups.fold_due(m):
        return compact(dataset, files_too=False)  # PULSE_COMPACT_FILES=0 still means: leave data files be
    if _retention_due(dataset, m):
        return compact(dataset, merge=False)
    return None


def disk_usage(dataset: str) -> dict:
    """Files and bytes on disk of a dataset's data and rollups (the benchmark and the docs quote it)."""
    base = lake.dataset_dir(dataset)
    files = n = 0
    for folder in FOLDERS:
        for root, _, names in os.walk(base / folder):
            for name in names:
                files += 1
                n += os.path.getsize(os.path.join(root, name))
    return {"files": files, "bytes": n}
