"""One load: file -> raw text table -> typed rows and rejects -> upsert -> new version + run log.

Every input record is accounted for: rows_in = inserted + updated + unchanged + rejected. A file
that cannot be read at all (empty, binary, unknown header) raises InputError before anything is
written, so the published data stays as it was.
"""
from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

import config
import datasets
import lake
import lake.write
from etl import formats as formats_mod
from etl import local_day, masking, projections, rollups, upsert, validate
from etl.errors import InputError
from etl.log import logger
from etl.sources import csvfile, read_raw
from lake import runlog
from lake.sql import ident

log = logger("load")

# From this size a load converts local times through per-day offsets (etl/local_day.py: naive
# local times in validation, and the local days of its rollups and projections):
# the table of offsets costs ~20 ms to build, which an ICU call per value repays from ~30k rows.
LOCAL_DAYS_MIN_BYTES = 16 << 20
CONFLICT_ATTEMPTS = 3  # loads of one dataset by writers on several hosts: how often a load is run again on top of another's


@dataclass
class LoadResult:
    dataset: str
    source: str
    format: str | None = None
    run_id: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8])
    version: int | None = None
    outcome: str = "failed"  # published | no_change | failed
    rows_in: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    seconds: float = 0.0
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    notes: dict = field(default_factory=dict)
    masked: dict = field(default_factory=dict)  # free-text column -> kept values with a phone number or e-mail masked
    error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def connect(city: datasets.City) -> duckdb.DuckDBPyConnection:
    """A private DuckDB for one load: the city's time zone for naive local times, bounded memory."""
    work = config.data_dir() / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": config.get("etl_memory"), "temp_directory": str(work / "duckdb")})
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = ?", [city.timezone])
    validate.register_functions(con)
    return con


class _Progress:
    """Stage progress on stderr when it is a terminal; silent otherwise (cron, CI, pipes)."""

    STAGES = ("read", "validate", "merge", "publish")

    def __init__(self, label: str):
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=len(self.STAGES), desc=label, unit="stage", file=sys.stderr, leave=False)

    def step(self, name: str) -> None:
        if self.bar:
            self.bar.set_postfix_str(name)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar:
            self.bar.close()


def load_file(dataset: str, path: str | Path, format_name: str | None = None, city: str | None = None,
              writer: str | None = None) -> LoadResult:
    """Load `path` into `dataset`; logs the run whatever happens, and returns what it did.

    `writer`: the key of the real-time writer making the load (etl/realtime.py), logged so pipeline
    health knows the writer counted a failure itself; None for a load by hand."""
    path = Path(path)
    result = LoadResult(dataset=dataset, source=str(path))
    started = time.monotonic()
    try:
        ds = datasets.get(dataset)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    progress = _Progress(f"{dataset} <- {path.name}")
    try:
        fmt = formats_mod.detect(dataset, path, format_name)
        result.format = fmt.name
        city_profile = datasets.city(city or fmt.city or config.get("city"))
        with lake.write.writer_lock(dataset):
            _run_until_published(ds, fmt, path, city_profile, result, progress)
    except InputError as exc:
        result.error = str(exc)
        raise
    except Exception as exc:
        if lake.is_out_of_space(exc):
            full = lake.StorageFull(dataset, lake.current_version(dataset), str(config.data_dir()))
            result.error = str(full)
            raise full from exc
        result.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        progress.close()
        result.seconds = round(time.monotonic() - started, 3)
        _log(result, writer)
    return result


def _run_until_published(ds, fmt, path: Path, city, result: LoadResult, progress: _Progress) -> None:
    """Run the load; when a writer on another host published first (over an object store, the
    conditional manifest creation refused ours: lake/write.py), run it again on top of that version."""
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        con = connect(city)
        try:
            _run(con, ds, fmt, path, city, result, progress)
            return
        except lake.VersionConflict as exc:
            if attempt == CONFLICT_ATTEMPTS:
                raise
            log.warning("%s; loading again on top of it (attempt %d)", exc, attempt + 1)
            lake.write.hold_current(ds.name)
        finally:
            con.close()


def _log(result: LoadResult, writer: str | None) -> None:
    """The load's line in the run log; on a full disk the line cannot be written either, and the
    load's own error (raised to the caller) says so rather than a second failure hiding it."""
    try:
        runlog.append({**result.to_dict(), "writer": writer} if writer else result.to_dict())
    except OSError as exc:
        if not lake.is_out_of_space(exc):
            raise
        log.warning("run log not written (no space left): %s", result.error or result.outcome)


def _run(con, ds, fmt, path: Path, city, result: LoadResult, progress: _Progress) -> None:
    """Read and validate, fold duplicate keys, quarantine rejects, merge, and publish a version if anything changed."""
    plan, malformed = _validate(con, ds, fmt, path, city)
    progress.step("read")
    good_rows = con.execute("SELECT count(*) FROM checked").fetchone()[0]
    result.rows_in = good_rows + len(malformed)
    result.notes = _notes(con)
    result.masked = _masked(con, [c.name for c in ds.free_text_columns if c.name in plan.provided])
    progress.step("validate")
    dup_rejects = _one_row_per_key(con, ds, fmt)
    _write_rejects(con, ds.name, result, malformed, dup_rejects)
    current = lake.manifest(ds.name)
    merged = upsert.upsert(con, ds, "batch", plan.provided, current)
    result.inserted, result.updated, result.unchanged = merged.counts.inserted, merged.counts.updated, merged.counts.unchanged
    progress.step("merge")
    if not merged.changed:
        result.outcome = "no_change"
        result.version = current.version if current else None
    else:
        _publish(con, ds, path, result, merged, current)
    progress.step("publish")


def _one_row_per_key(con, ds, fmt) -> str:
    """Create the view `batch` (the good rows, one per key, `_n` = rows folded into it); returns the
    SQL of the duplicates rejected on the way (none for a change log, whose later rows are updates).

    Several rows for one key: the last in the file wins. In a change log (keep_last) the earlier
    ones were updates; elsewhere they are rejected as duplicates, naming the line that won.
    """
    keys = ", ".join(ident(k) for k in ds.primary_key)
    # Most files have none, so a cheap aggregate decides whether the window pass is needed at all.
    has_duplicates = con.execute(
        f"SELECT count(*) FROM (SELECT {keys} FROM checked WHERE _reason = '' GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()[0]
    no_rejects = "SELECT NULL::BIGINT AS line, NULL::VARCHAR AS reason, NULL::VARCHAR AS raw WHERE false"
    if not has_duplicates:
        con.execute("CREATE OR REPLACE TEMP VIEW batch AS SELECT *, 1 AS _n FROM checked WHERE _reason = ''")
        return no_rejects
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE ranked AS
        SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY _line DESC) AS _rank,
               count(*) OVER (PARTITION BY {keys}) AS _n, max(_line) OVER (PARTITION BY {keys}) AS _winner
        FROM checked WHERE _reason = ''"""
    )
    if fmt.duplicates == "keep_last":
        con.execute("CREATE OR REPLACE TEMP VIEW batch AS SELECT * EXCLUDE (_rank, _winner) FROM ranked WHERE _rank = 1")
        return no_rejects
    con.execute("CREATE OR REPLACE TEMP VIEW batch AS SELECT * EXCLUDE (_n, _rank, _winner), 1 AS _n FROM ranked WHERE _rank = 1")
    # The superseded row's values as read (typed), since only rejected rows keep their raw text.
    values = ", ".join(f"{ident(c)} := {ident(c)}" for c in ds.column_names)
    return ("SELECT _line AS line, 'duplicate key in this file: superseded by line ' || _winner AS reason, "
            f"CAST(to_json(struct_pack({values})) AS VARCHAR) AS raw FROM ranked WHERE _rank > 1")


def _publish(con, ds, path: Path, result: LoadResult, merged: upsert.UpsertResult, current) -> None:
    """Publish the merged files as the next version, with its rollups and projections and the load's counts."""
    load = {k: getattr(result, k) for k in ("run_id", "source", "format", "rows_in", "inserted", "updated", "unchanged", "rejected")}
    fast_days = path.stat().st_size >= LOCAL_DAYS_MIN_BYTES  # worth ~30 ms of offsets (etl/local_day.py)
    files = merged.files
    m = lake.write.publish(ds.name, files, load, expected_parent=current.version if current else None,
                           rollups={**rollups.materialise(con, ds.name, files, current, merged.delta, fast_days=fast_days),
                                    **projections.materialise(con, ds.name, files, current, fast_days=fast_days)})
    result.version, result.outcome = m.version, "published"


def _validate(con, ds, fmt, path: Path, city) -> tuple[validate.Plan, list[dict]]:
    """Create `checked`: every parsed record typed and judged, with `_line`, `_reason` and `_raw`.

    A CSV is parsed, validated and stored in one parallel pass straight from DuckDB's reader; a
    format whose SQL uses a window (which reorders rows) and the JSON and Parquet readers go through
    an intermediate text table instead. Returns the plan and the malformed records.
    """
    wanted = {c.source for c in fmt.columns if c.source} | set(fmt.may_have) | set(fmt.reads)
    wanted_lower = {w.lower() for w in wanted}
    max_future = config.get_int("max_future_days")
    tmp = config.data_dir() / "tmp"
    local_days = path.stat().st_size >= LOCAL_DAYS_MIN_BYTES
    if local_days:
        local_day.prepare_naive(con)

    def source(relation: str, header: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        kept = tuple(h for h in header if h.lower() in wanted_lower)
        present = {h.lower() for h in header}
        # Optional source columns absent from this file: SQL expressions may still name them.
        absent = [f"CAST(NULL AS VARCHAR) AS {ident(n)}" for n in sorted(wanted) if n.lower() not in present]
        cols = ", ".join([*(ident(h) for h in kept), *absent, "_line"])
        return f"(SELECT {cols} FROM {relation})", kept

    if fmt.reader == "csv" and not any(c.sql and " OVER " in c.sql.upper() for c in fmt.columns):
        dialect = csvfile.read_header(path)

        def select(scan: str) -> str:
            relation, kept = source(f"(SELECT *, NULL::BIGINT AS _line FROM {scan})", dialect.header)
            return validate.plan(ds, fmt, dialect.header, city, max_future, relation, kept, local_days).sql

        plan = validate.plan(ds, fmt, dialect.header, city, max_future, "raw", ())
        malformed = csvfile.read_csv(con, path, dialect, "checked", tmp, select)
        return plan, malformed
    header, malformed = read_raw(con, fmt.reader, path, "raw", tmp, keep=wanted)
    relation, kept = source("raw", header)
    plan = validate.plan(ds, fmt, header, city, max_future, relation, kept, local_days)
    con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS {plan.sql}")
    return plan, malformed


NOTE_LABELS = {
    "placeholder": "placeholder values read as empty",
    "fixed": "double-encoded values repaired",
    "phone": "values with a phone number masked",
    "email": "values with an e-mail address masked",
}


def _notes(con) -> dict:
    """Counts of placeholders read as empty, of repaired text, and of free text masked, per column.

    Masks are counted in the rows kept only: a rejected row's text is never published."""
    notes = {}
    for flag, every, kept in con.execute(
        "SELECT flag, count(*), count(*) FILTER (WHERE kept) FROM (SELECT unnest(string_split(_notes, ',')) AS flag, "
        "_reason = '' AS kept FROM checked WHERE _notes <> '') GROUP BY flag ORDER BY flag"
    ).fetchall():
        kind, name = flag.split(":", 1)
        n = kept if kind in masking.KINDS else every
        if n:
            notes[f"{name}: {NOTE_LABELS[kind]}"] = n
    return notes


def _masked(con, columns: list[str]) -> dict[str, int]:
    """Per free-text column the file provides, the kept values in which anything was masked (0 included,
    so a reader sees the column was looked at)."""
    counts = dict.fromkeys(columns, 0)
    kinds = " OR ".join(f"starts_with(f, '{kind}:')" for kind in masking.KINDS)
    for name, n in con.execute(
        f"SELECT name, count(*) FROM (SELECT unnest(list_distinct(list_transform(list_filter(string_split(_notes, ','), "
        f"lambda f: {kinds}), lambda f: split_part(f, ':', 2)))) AS name FROM checked WHERE _notes <> '' AND _reason = '') GROUP BY name"
    ).fetchall():
        counts[name] = n
    return counts


def _write_rejects(con, dataset: str, result: LoadResult, malformed: list[dict], dup_rejects: str) -> None:
    """Quarantine every rejected record with its line, reason and raw values, as Parquet.

    The raw values are those of the source columns the format reads (a wide export's unused
    columns are never held in memory); the line number leads back to the whole record.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE _malformed(line BIGINT, reason VARCHAR, raw VARCHAR)")
    if malformed:
        con.executemany("INSERT INTO _malformed VALUES (?, ?, ?)", [[m["line"], m["reason"], m["raw"]] for m in malformed])
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE rejects AS
        SELECT _line AS line, _reason AS reason, _raw AS raw FROM checked WHERE _reason <> ''
        UNION ALL {dup_rejects}
        UNION ALL SELECT line, reason, raw FROM _malformed
        ORDER BY line"""
    )
    result.rejected = con.execute("SELECT count(*) FROM rejects").fetchone()[0]
    if result.rejected:
        out = lake.write.rejects_path(dataset, result.run_id)
        tmp = out.with_suffix(".tmp")
        con.execute(
            f"COPY (SELECT ? AS run_id, ? AS source, line, reason, raw FROM rejects) TO '{tmp}' (FORMAT parquet)",
            [result.run_id, result.source],
        )
        tmp.rename(out)
        lake.write.keep(dataset, out)


def _raw_values(raw: str | None):
    """A rejected record's raw values as a dict (the `_line` helper dropped), or the raw text."""
    if not raw or not raw.startswith("{"):
        return raw
    values = json.loads(raw)
    values.pop("_line", None)
    return values


def rejects(dataset: str, run_id: str) -> list[dict]:
    try:
        path = Path(lake.local_path(dataset, f"rejects/{run_id}.parquet"))
    except FileNotFoundError:  # over an object store: that load quarantined nothing
        return []
    if not path.exists():
        return []
    con = duckdb.connect()
    try:
        cur = con.execute("SELECT line, reason, raw FROM read_parquet(?) ORDER BY line", [str(path)])
        return [{"line": line, "reason": reason, "raw": _raw_values(raw)}
                for line, reason, raw in cur.fetchall()]
    finally:
        con.close()
