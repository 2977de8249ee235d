"""Read the lake through DuckDB: one connection per process, a view per dataset version.

Why views named by version (`service_requests__v42`): a query is compiled against the versions
current when it starts, so it reads exactly one version of each dataset and can report which, even
if a load publishes meanwhile. Noticing a new version costs one small file read per dataset
(`CURRENT`), done at most every `check_interval` seconds, so many gunicorn workers can poll while
one ETL process writes, with no lock between them (docs/decisions/0001-lake-storage.md).
Only public columns are exposed: personal fields never reach the web side.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

import config
import datasets
import lake
from datasets import rollups as rollup_decls
from lake import relation
from lake.sql import lit
from portal import admission


class QueryError(ValueError):
    """A query was asked for with a bad name or bad parameters; the message says which and why."""


class QueryTimeout(Exception):
    """A query ran past its time limit and was interrupted."""

    def __init__(self, name: str, limit_ms: int):
        super().__init__(f"query {name!r} was stopped after its time limit of {limit_ms} ms")
        self.name, self.limit_ms = name, limit_ms


class QueryTooBig(Exception):
    """A query needed more memory than the worker's reader may use (PULSE_READER_MEMORY) and DuckDB
    gave up: like a time-out, the asker narrows the filters; never a 500 (issue 13)."""

    def __init__(self, name: str):
        super().__init__(f"query {name!r} needed more memory than one web query may use")
        self.name = name


log = logging.getLogger(__name__)
# What opening a version's files can raise when one is lost, cut short or unreachable: DuckDB's errors,
# the operating system's (a file's footer read by pyarrow, lake/relation.held) and pyarrow's.
UNREADABLE = (duckdb.Error, OSError, pa.ArrowException)
# The versions a request pinned (`?version=`, issue 17): every query, cache key and "as of" line
# under `pinned()` reads these instead of the current ones. A context variable rather than a
# parameter, so the panels' and KPIs' code reads an older version through the same door unchanged.
_PINS: ContextVar[dict[str, int] | None] = ContextVar("pulse_pins", default=None)
PINNED_KEPT = 16  # pinned versions whose views a worker keeps (oldest used dropped first)
# DuckDB's own words stay in the log: they quote the generated SQL (a tampered cursor showed its
# fragments in a 400), which is nothing a visitor needs (issue 13).
VALUE_DOES_NOT_FIT = "a value does not fit its column's type or range"


@dataclass(frozen=True)
class Results:
    """What a query returns: plain rows, never a cursor (datasette's Results)."""

    columns: tuple[str, ...]
    rows: list[tuple]
    truncated: bool
    versions: dict[str, int | None]
    elapsed_ms: float = 0.0
    name: str = ""

    def dicts(self) -> list[dict]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame.from_records(self.rows, columns=list(self.columns))


@dataclass
class _State:
    versions: dict[str, int | None] = field(default_factory=dict)
    published_at: dict[str, str | None] = field(default_factory=dict)
    checked_at: float = 0.0


class LakeReader:
    """The process's window on the lake. Thread-safe: each query runs on its own cursor."""

    RETRY_UNREADABLE_S = 5.0  # how long a version that could not be opened is left before trying again

    def __init__(self, check_interval: float = 0.5, threads: int | None = None):
        self.check_interval = check_interval
        self._con = duckdb.connect(config={"memory_limit": config.get("reader_memory")})
        self._con.execute("SET enable_progress_bar = false")
        self._con.execute("SET TimeZone = 'UTC'")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        self._lock = threading.Lock()
        self._state = _State()
        self._views: dict[str, str] = {}
        self._pinned: dict[tuple[str, int, str | None], dict[str, str]] = {}
        self._zone: str | None = None
        # dataset -> (its current version that could not be opened, when to try it again: monotonic)
        self._unreadable: dict[str, tuple[int | None, float]] = {}

    def versions(self, at_least: Mapping[str, object] | None = None) -> dict[str, int | None]:
        """Current version of every dataset, refreshing the views if one moved. `at_least`: versions a
        reader has already seen (a page told by the other worker): any newer than this reader's makes
        it look now rather than within its check interval, so the page is not redrawn from older data."""
        with self._lock:
            now = time.monotonic()
            stale = now - self._state.checked_at >= self.check_interval or not self._state.versions
            stale = stale or self._behind(at_least or {})
            if stale or datasets.city(config.get("city")).timezone != self._zone:
                self._refresh()
                self._state.checked_at = now
            return {**self._state.versions, **pins()}

    def unreadable(self) -> dict[str, int | None]:
        """Dataset -> its current version, which this reader could not open (it serves the one before,
        or none): for /readyz."""
        self.versions()
        with self._lock:
            return {name: version for name, (version, _) in self._unreadable.items()}

    def _behind(self, seen: Mapping[str, object]) -> bool:
        return any(isinstance(v, int) and name in self._state.versions and v > (self._state.versions[name] or 0)
                   for name, v in seen.items())

    def _refresh(self) -> None:
        zone = datasets.city(config.get("city")).timezone
        rebuild = zone != self._zone  # rollups hold the city's days: a new zone needs new ones
        self._zone = zone
        for name in datasets.datasets():
            version = lake.current_version(name)  # CURRENT unreadable is the lake's fault: /readyz not ready
            if not rebuild and version == self._state.versions.get(name) and name in self._state.versions:
                self._unreadable.pop(name, None)  # serving what is current (a version given up was rolled back)
                continue
            if not rebuild and self._resting(name, version):
                continue
            try:
                m = lake.manifest(name, version) if version is not None else None
                made = self._open(name, m)
            except UNREADABLE as exc:
                # One dataset's version that cannot be read (a file lost, an object store that did not
                # answer) must not take down the pages of the others, nor be served under its number
                # with the previous version's rows: the previous version stays, or, at a first opening,
                # none (pages say no data is loaded). Logged once; tried again after RETRY_UNREADABLE_S.
                keep = name in self._views and not rebuild
                if self._unreadable.get(name, (-1,))[0] != version:
                    log.error("%s v%s could not be opened; %s: %s", name, version,
                              f"still serving v{self._state.versions.get(name)}" if keep
                              else "served as not loaded until it can be", exc)
                self._unreadable[name] = (version, time.monotonic() + self.RETRY_UNREADABLE_S)
                if keep:
                    continue
                m, made = None, self._open(name, None)
            else:
                if self._unreadable.pop(name, (-1,))[0] == version:
                    log.warning("%s v%s opened after all: its files can be read now", name, version)
            self._state.versions[name] = m.version if m else None
            self._state.published_at[name] = m.published_at if m else None
            for relation_name, made_name in made.items():
                self._retire(relation_name, made_name)
                self._views[relation_name] = made_name

    def _resting(self, name: str, version: int | None) -> bool:
        """Whether `version` of `name` failed to open a moment ago: not tried again at every request
        (under the lock every query needs; over an object store each try may wait for its timeouts)."""
        failed, retry_at = self._unreadable.get(name, (-1, 0.0))
        return failed == version and time.monotonic() < retry_at

    def _open(self, name: str, m: lake.Manifest | None) -> dict[str, str]:
        """{relation: its new view or table}: the dataset's view of version `m` and its rollups'. Made
        whole before any takes the place of the current ones (`_refresh`); if one cannot be made, those
        already made are dropped (an in-memory rollup table holds memory)."""
        made: dict[str, str] = {}
        try:
            made[name] = self._create_view(name, m)
            for r in [*rollup_decls.of(name), *rollup_decls.projections(name)]:
                made[r.name] = self._create_rollup(r, m, made[name])
        except BaseException:
            for relation_name, made_name in made.items():
                if made_name not in (self._views.get(relation_name), self._views.get(f"{relation_name}__previous")):
                    self._drop(made_name)
            raise
        return made

    def published_at(self) -> dict[str, str | None]:
        """When each dataset's current version was published (read once per version)."""
        self.versions()
        with self._lock:
            published = dict(self._state.published_at)
        return {**published, **{n: lake.manifest(n, v).published_at for n, v in pins().items()}}

    def _create_rollup(self, r, m: lake.Manifest | None, source_view: str, tag: str = "v") -> str:
        """A small in-memory table from the version's materialised rollup, a view of its Parquet
        file(s) (a large rollup sorted by day, or a projection), or the same SQL live over the version
        if it has none, or has them made for another time zone or declaration."""
        table = f"{r.name}__{tag}{m.version if m else 0}"
        zone = datasets.city(config.get("city")).timezone
        stored = m.rollups.get(r.name) if m else None
        files = self._stored_files(r, stored, zone)
        if files:
            listed = "[" + ", ".join(lit(f) for f in files) + "]"  # paths from our own manifest
            if r.in_memory:  # one row per key: a base and its delta summed (Rollup.summed)
                source = f"SELECT * FROM read_parquet({listed})"
                self._con.execute(f'CREATE OR REPLACE TABLE "{table}" AS {r.summed(source) if len(files) > 1 else source}')
            else:  # a key may appear in the base and in the delta; every query sums the measures
                self._con.execute(f'CREATE OR REPLACE VIEW "{table}" AS SELECT * FROM read_parquet({listed})')
        else:  # none stored, or stored in another city's days or for another declaration
            table += "__live_" + "".join(ch if ch.isalnum() else "_" for ch in zone).lower()
            self._con.execute(f'CREATE OR REPLACE VIEW "{table}" AS {r.compile(chr(34) + source_view + chr(34), lit(zone))}')
        return table

    @staticmethod
    def _stored_files(r, stored: lake.SummaryEntry | None, zone: str) -> list[str]:
        """The files of the stored entry, if it is of `r`'s kind and holds what `r` declares in `zone`."""
        if stored is None or stored.kind != r.kind or not stored.holds(r.fingerprint(), zone):
            return []
        return lake.entry_paths(r.dataset, stored)

    def _create_view(self, name: str, m: lake.Manifest | None, tag: str = "v") -> str:
        typed = datasets.get(name).public_typed
        view = f"{name}__{tag}{m.version if m else 0}"
        files = lake.file_paths(name, m) if m else []
        if files:  # paths from our own manifest; a file written before a column was declared reads it as NULL
            self._con.execute(f'CREATE OR REPLACE VIEW "{view}" AS {relation.columns(files, typed)}')
        else:
            self._con.execute(f'CREATE OR REPLACE VIEW "{view}" AS {relation.empty(typed)}')
        return view

    def _pinned_views(self, name: str, version: int) -> dict[str, str]:
        """The relations of an older `version` of dataset `name` (itself and its rollups), made once
        per worker and kept for the PINNED_KEPT most recently pinned versions. Named `__pin<N>`, apart
        from the current ones `_retire` drops. Call with the lock held."""
        found = self._pinned.pop((name, version, self._zone), None)
        if found is None:
            m = lake.manifest(name, version)
            found = {name: self._create_view(name, m, "pin")}
            for r in [*rollup_decls.of(name), *rollup_decls.projections(name)]:
                found[r.name] = self._create_rollup(r, m, found[name], "pin")
        self._pinned[(name, version, self._zone)] = found  # most recently used last
        while len(self._pinned) > PINNED_KEPT:
            for stale in self._pinned.pop(next(iter(self._pinned))).values():
                self._con.execute(f'DROP VIEW IF EXISTS "{stale}"')
                self._con.execute(f'DROP TABLE IF EXISTS "{stale}"')
        return found

    def _retire(self, name: str, new: str) -> None:
        """Keep the relation `new` replaces (queries already compiled may still read it) and drop
        the one before that."""
        old = self._views.get(name)
        if not old or old == new:
            return
        stale = self._views.pop(f"{name}__previous", None)
        if stale and stale != new:
            self._drop(stale)
        self._views[f"{name}__previous"] = old

    def _drop(self, relation_name: str) -> None:
        """Drop the view or table of that name, whichever it is."""
        kinds = {k for (k,) in self._con.execute(
            "SELECT 'TABLE' FROM duckdb_tables() WHERE table_name = $n UNION ALL "
            "SELECT 'VIEW' FROM duckdb_views() WHERE view_name = $n", {"n": relation_name}).fetchall()}
        for kind in kinds:
            self._con.execute(f'DROP {kind} IF EXISTS "{relation_name}"')

    def query(self, sql: str, params: list | dict | None = None, *, name: str = "sql",
              time_limit_ms: int = 2000, max_rows: int = 10_000) -> Results:
        """Run `sql` with {dataset} placeholders bound to the current version's view.

        Values go in as bound parameters, never into the SQL text. At most `max_rows` rows come
        back (cap + 1 are fetched to report truncation); past `time_limit_ms` the query is
        interrupted and QueryTimeout raised.
        """
        self.versions()
        with self._lock:  # the numbers and the views together: a refresh between them would mislabel rows
            current = self._state.versions
            versions = {**current, **pins()}
            views = {n: f'"{self._views[n]}"' for n in [*datasets.datasets(), *rollup_decls.rollups()]}
            for name, version in pins().items():  # an older version: its own views (issue 17)
                if version != current.get(name):
                    views.update({n: f'"{v}"' for n, v in self._pinned_views(name, version).items()})
        used = {rollup_decls.dataset_of(n): versions[rollup_decls.dataset_of(n)] for n in views if "{" + n + "}" in sql}
        return self.execute(sql.format(**views), params, name=name, versions=used, time_limit_ms=time_limit_ms,
                            max_rows=max_rows)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._con.cursor()

    def execute(self, sql: str, params: list | dict | None = None, *, name: str = "sql",
                versions: dict[str, int | None] | None = None, time_limit_ms: int = 2000,
                max_rows: int = 10_000) -> Results:
        """Run finished SQL (no placeholders) on its own cursor, with the time limit and row cap of
        query(). For callers that chose their version themselves (portal/rows.py reads the files of
        the manifest a request started with); `versions` is what they read, for the Results.
        Inside a read slot the limit is what the wait for the slot left of it (portal/admission.py)."""
        left_ms = admission.time_left_ms(time_limit_ms)
        if left_ms <= 0:  # the wait for a slot used the whole budget
            raise QueryTimeout(name, time_limit_ms)
        time_limit_ms = left_ms
        cursor = self._cursor()
        timer = threading.Timer(time_limit_ms / 1000, cursor.interrupt)
        started = time.perf_counter()
        timer.start()
        try:
            cursor.execute(sql, params or [])
            rows = cursor.fetchmany(max_rows + 1)
            columns = tuple(d[0] for d in cursor.description)
        except duckdb.InterruptException:
            raise QueryTimeout(name, time_limit_ms) from None
        except duckdb.OutOfMemoryException as exc:
            log.warning("query %s ran out of memory: %s", name, exc)
            raise QueryTooBig(name) from None
        except duckdb.DataError as exc:  # a bound value DuckDB cannot cast (ConversionException, OutOfRange...)
            log.info("query %s refused a value: %s", name, exc)
            raise QueryError(f"{VALUE_DOES_NOT_FIT} (query {name!r})") from None
        finally:
            timer.cancel()
            cursor.close()
        return Results(columns=columns, rows=rows[:max_rows], truncated=len(rows) > max_rows, versions=versions or {},
                       elapsed_ms=round((time.perf_counter() - started) * 1000, 3), name=name)

    @contextmanager
    def stream(self, sql: str, params: list | None = None, *, name: str = "export", time_limit_s: float = 600,
               batch_rows: int = 10_000, buffer: str | None = None) -> Iterator[pa.RecordBatchReader]:
        """An Arrow batch reader over finished SQL, one batch in memory at a time (a download's memory
        stays flat), on its own cursor, closed when the block ends. Past `time_limit_s` for the whole
        block the query is interrupted and QueryTimeout raised. `buffer`: how far DuckDB's threads
        may run ahead of the reader (streaming_buffer_size, this cursor only)."""
        cursor = self._cursor()
        fired = threading.Event()

        def stop() -> None:
            fired.set()
            cursor.interrupt()

        timer = threading.Timer(time_limit_s, stop)
        timer.start()
        try:
            if buffer:
                cursor.execute(f"SET streaming_buffer_size = {lit(buffer)}")
            yield cursor.sql(sql, params=params or []).to_arrow_reader(batch_rows)
        except (duckdb.InterruptException, OSError):  # Arrow's reader reports DuckDB's interrupt as OSError
            if fired.is_set():
                raise QueryTimeout(name, round(time_limit_s * 1000)) from None
            raise
        finally:
            timer.cancel()
            cursor.close()


@contextmanager
def pinned(versions: dict[str, int]) -> Iterator[None]:
    """Inside the block every read through the reader sees dataset `name` at version `versions[name]`
    (checked by the caller: api/pins.py) and the others at their current version."""
    token = pin(versions)
    try:
        yield
    finally:
        unpin(token)


def pin(versions: dict[str, int]):
    """`pinned` for a request whose start and end are two hooks (web/pagepins.py): a token for unpin."""
    return _PINS.set({**pins(), **versions})


def unpin(token) -> None:
    _PINS.reset(token)


def read_pool(workers: int) -> ThreadPoolExecutor:
    """A thread pool whose threads read with this request's pins: a new thread starts with an empty
    context, so without this a pinned page's panels, read a few at a time, would read the current data."""
    return ThreadPoolExecutor(max_workers=workers, initializer=_PINS.set, initargs=(_PINS.get(),))


def pins() -> dict[str, int]:
    """The versions pinned for this request (empty: everything current)."""
    return dict(_PINS.get() or {})


_reader: LakeReader | None = None
_reader_lock = threading.Lock()


def reader() -> LakeReader:
    """The process-wide reader (one per gunicorn worker), created on first use."""
    global _reader
    with _reader_lock:
        if _reader is None:
            _reader = LakeReader()
        return _reader


def reset_reader() -> None:
    """Forget the process reader (tests that switch PULSE_DATA_DIR)."""
    global _reader
    with _reader_lock:
        _reader = None


def close_reader() -> None:
    """Close the process reader's DuckDB and forget it. Gunicorn's master calls this before it forks
    (gunicorn.conf.py): a DuckDB opened while the app was preloaded must not be shared by the workers
    (its threads do not survive a fork); each worker opens its own on first use."""
    global _reader
    with _reader_lock:
        if _reader is not None:
            _reader._con.close()
        _reader = None
