"""Materialise a version's rollups (datasets/rollups.yaml) as Parquet beside its data files, before
the version is published, so a reader never sees a version without them.

Rollup measures are counts, so a rollup can be kept as a large *base* file plus a small *delta*
file: the sum of every change since the base was written (+ the rows loads added, - the rows they
replaced), by key. A publish rewrites only the delta, so a micro-batch costs what the batch and the
changes since the last fold cost, not what the table costs; compaction folds the delta into a new
base once it has grown (docs/decisions/0008-rollup-base-and-delta.md). A key may therefore appear
in both files: every measure is summed by whoever reads them (the named queries all aggregate;
the reader sums the in-memory ones into one row per key).

Manifest entry: {"path": folder, "timezone", "base": file, "base_rows", "delta": file or absent,
"delta_rows"}, paths relative to the dataset folder. An entry written before deltas existed
({"path": file, "timezone"}) is a base without a delta.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import config
import datasets
import lake
import lake.write
from datasets import rollups as declared
from etl import local_day
from etl.upsert import Delta
from lake import relation
from lake.sql import ident, lit

# A delta is folded into its base (by compaction, etl/compact.py) once it holds more than FOLD_ROWS
# rows, or more than FOLD_MIN_ROWS and a FOLD_FRACTION-th of the base: rewriting the delta costs each
# publish a little more as it grows, rewriting the base costs what the table costs, and a small lake
# is not worth a compaction for a delta of a few rows.
FOLD_ROWS = 20_000
FOLD_MIN_ROWS = 2_000
FOLD_FRACTION = 20


def _change(r, delta: Delta, tz: str, days=None) -> str:
    """The rows of `r` that a load's delta adds, and those it takes away with their measures negated."""
    keys = ", ".join(ident(k) for k in r.keys)
    parts = [r.compile(f"({delta.plus})", tz, days)]
    if delta.minus:
        negated = ", ".join(f"-{ident(m)} AS {ident(m)}" for m in r.measures)
        parts.append(f"SELECT {keys}, {negated} FROM ({r.compile(f'({delta.minus})', tz, days)})")
    return " UNION ALL BY NAME ".join(f"({p})" for p in parts)


def _write(con, r, sql: str, folder: Path, sort: bool) -> tuple[str | None, int]:
    """(path, rows) of a new rollup file holding `sql`'s rows, with `sort` in its declared order
    (all its keys unless it names fewer: a sort on leading keys is enough for row-group pruning and
    cheaper); (None, 0) when there are none."""
    path = folder / f"{uuid.uuid4().hex}.parquet"
    order = (" ORDER BY " + ", ".join(ident(c) for c in r.order_by) if r.order_by else " ORDER BY ALL") if sort else ""
    rows = con.execute(f"COPY ({sql}{order}) TO {lit(str(path))} (FORMAT parquet, COMPRESSION zstd)").fetchone()[0]
    if not rows:
        path.unlink(missing_ok=True)
        return None, 0
    lake.write.fsync_file(path)
    return str(path), rows


def _entry(base_dir: Path, r, zone: str, base: tuple[str | None, int],
           delta: tuple[str | None, int] = (None, 0)) -> lake.RollupEntry:
    rel = lambda p: str(Path(p).relative_to(base_dir)) if p else None  # noqa: E731
    return lake.RollupEntry(path=f"rollups/{r.name}", timezone=zone, fingerprint=r.fingerprint(), base=rel(base[0]),
                            base_rows=base[1], delta=rel(delta[0]), delta_rows=delta[1] if delta[0] else 0)


def _folder(base_dir: Path, r) -> Path:
    folder = base_dir / "rollups" / r.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _whole(con, r, base_dir: Path, source_sql: str, zone: str) -> lake.RollupEntry:
    """A new base holding the whole rollup of `source_sql`, with no delta. Sorted by its keys when
    it is read from Parquet, so a query for one type or one range of days skips row groups."""
    return _entry(base_dir, r, zone, _write(con, r, source_sql, _folder(base_dir, r), sort=not r.in_memory))


def _with_change(con, r, base_dir: Path, old: lake.RollupEntry, delta: Delta, tz: str, zone: str,
                 days=None) -> lake.RollupEntry:
    """The previous base, and a new delta: the previous delta plus this load's change."""
    pieces = [_change(r, delta, tz, days)]
    if old.delta:
        pieces.append(f"SELECT * FROM read_parquet({lit(str(base_dir / old.delta))})")
    new_delta = _write(con, r, r.summed(" UNION ALL BY NAME ".join(f"({p})" for p in pieces)), _folder(base_dir, r),
                       sort=False)
    base = (str(base_dir / old.base) if old.base else None, old.base_rows)
    return _entry(base_dir, r, zone, base, new_delta)


def _usable(con, r, dataset: str, entry: lake.SummaryEntry | None, zone: str) -> lake.RollupEntry | None:
    """The previous version's entry, if it can be brought up to date (same time zone and
    declaration), an entry from before deltas existed read as a base (its rows counted once)."""
    if not isinstance(entry, lake.RollupEntry) or not entry.holds(r.fingerprint(), zone):
        return None
    if entry.legacy_file is None:
        return entry
    return lake.RollupEntry(path=entry.path, timezone=entry.timezone, base=entry.legacy_file,
                            base_rows=_rows(con, lake.entry_paths(dataset, entry)[0]))


def _read_files(dataset: str, base_dir: Path, files: list[lake.DataFile]) -> str:
    """SQL reading a version's data files, every declared column (NULL in a file written before the
    column was declared, lake/relation.py): the source of a rollup computed whole."""
    return f"({relation.columns([str(base_dir / f.path) for f in files], datasets.get(dataset).typed)})"


def _rows(con, path: str) -> int:
    return con.execute(f"SELECT count(*) FROM read_parquet({lit(path)})").fetchone()[0]  # from the footer


def materialise(con, dataset: str, files: list[lake.DataFile], previous: lake.Manifest | None = None,
                delta: Delta | None = None, fast_days: bool = False) -> dict[str, lake.RollupEntry]:
    """{rollup name: manifest entry} for the version made of `files`.

    Days are the city's days (PULSE_CITY); the time zone is recorded so a reader configured for
    another city knows not to use them. `fast_days` (a big load) computes them through a table of
    UTC offsets instead of ICU per value (etl/local_day.py): the same days, faster.
    """
    todo = declared.of(dataset)
    if not todo or not files:
        return {}
    base_dir = lake.dataset_dir(dataset)
    zone = datasets.city(config.get("city")).timezone
    tz = lit(zone)
    days = local_day.prepare(con, zone) if fast_days else None
    out, files_source = {}, None  # the version's files as SQL: made once, and only if a rollup is made whole
    for r in todo:
        old = _usable(con, r, dataset, previous.rollups.get(r.name) if previous else None, zone)
        if delta is not None and previous is None:  # a first version: the batch is everything
            out[r.name] = _whole(con, r, base_dir, r.compile(f"({delta.plus})", tz, days), zone)
        elif delta is not None and old is not None:
            out[r.name] = _with_change(con, r, base_dir, old, delta, tz, zone, days)
        else:
            files_source = files_source or _read_files(dataset, base_dir, files)
            out[r.name] = _whole(con, r, base_dir, r.compile(files_source, tz, days), zone)
    return out


def _due(entry: lake.SummaryEntry | None) -> bool:
    if not isinstance(entry, lake.RollupEntry):
        return False
    rows = entry.pending_delta_rows
    return rows > FOLD_ROWS or (rows > FOLD_MIN_ROWS and rows * FOLD_FRACTION > entry.base_rows)


def fold_due(m: lake.Manifest) -> bool:
    """Whether any rollup of the version has a delta large enough to fold into its base."""
    return any(_due(m.rollups.get(r.name)) for r in declared.of(m.dataset))


def fold(con, m: lake.Manifest, everything: bool = False) -> dict[str, lake.SummaryEntry]:
    """The version's rollup entries with each due delta (every delta with `everything`) folded into
    a new base. The rows the entries stand for do not change, so neither does any answer.

    With `everything` (`compact --full`), also brought to what is declared today: a rollup the
    version lacks, or has in another time zone, is computed from its files; an entry from before
    deltas is restated as a base."""
    base_dir = lake.dataset_dir(m.dataset)
    zone = datasets.city(config.get("city")).timezone
    out = dict(m.rollups)
    for r in declared.of(m.dataset):
        e = m.rollups.get(r.name)
        if everything and not (isinstance(e, lake.RollupEntry) and e.holds(r.fingerprint(), zone)) and m.files:
            source = _read_files(m.dataset, base_dir, m.files)
            out[r.name] = _whole(con, r, base_dir, r.compile(source, lit(zone), local_day.prepare(con, zone)), zone)
            continue
        if everything and e.legacy_file:  # an entry from before deltas: restate it
            path = lake.entry_paths(m.dataset, e)[0]
            _folder(base_dir, r)  # the entry's folder, which publishing syncs
            out[r.name] = _entry(base_dir, r, e.timezone, (path, _rows(con, path)))
            continue
        if not isinstance(e, lake.RollupEntry) or not e.delta or not (everything or _due(e)):
            continue
        source = " UNION ALL BY NAME ".join(f"(SELECT * FROM read_parquet({lit(p)}))" for p in lake.entry_paths(m.dataset, e))
        out[r.name] = _entry(base_dir, r, e.timezone, _write(con, r, r.summed(source), _folder(base_dir, r),
                                                             sort=not r.in_memory))
    return out

