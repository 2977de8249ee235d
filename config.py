"""Every Pulse setting in one table, and the Settings object a process runs with.

Why a table: the README and the test that every setting is documented both read it, so a setting
cannot exist without its help text (datasette's SETTINGS habit).

Why an object (Flask's `create_app(test_config)`, Datasette's settings on the instance): the app
and the tests hand settings in (`app.create_app(Settings.from_env(data_dir=...))`, `using(...)`)
instead of editing the environment. Operators still set PULSE_<NAME> variables: `from_env` reads
them over the defaults. A process with no installed settings reads the environment at each call.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str

    @property
    def env(self) -> str:
        return f"PULSE_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", str(ROOT / "data"), "Folder holding the lake (Parquet versions, manifests, quarantine, run log)."),
    Setting("lake_url", "", "Where the lake lives: empty keeps it in PULSE_DATA_DIR/lake; s3://bucket/prefix puts it in an S3-compatible object store (endpoint, region and credentials from the standard AWS_* variables), and PULSE_DATA_DIR/lake becomes this node's read-through cache of it (docs/deploy.md, several nodes)."),
    Setting("lake_cache_bytes", "20000000000", "With PULSE_LAKE_URL: most bytes of data files a node keeps in its local cache; past it the least recently used are removed (they are fetched again when needed)."),
    Setting("lake_poll_seconds", "0.5", "With PULSE_LAKE_URL: how long a web worker trusts the current version it last read from the object store before asking again; a publish shows on every node within this (plus the dashboards' PULSE_LIVE_POLL_SECONDS)."),
    Setting("lake_timeout_s", "1", "With PULSE_LAKE_URL: seconds to connect to the object store before it counts as down; a node then serves the versions it holds and /readyz says degraded."),
    Setting("city", "nyc", "City profile for plain-schema loads and the demo: time zone and coordinate bounds (see datasets/cities.yaml)."),
    Setting("demo_scale", "small", "Size of the demo lake that `make run` builds when none exists: small, medium, large or a 311 row count."),
    Setting("demo_seed", "311", "Seed of the deterministic demo generator: the same seed gives the same lake."),
    Setting("file_rows", "1000000", "Largest number of rows written to one Parquet data file; bounds the cost of rewriting a file on upsert."),
    Setting("etl_memory", "600MB", "DuckDB memory limit of one load; beyond it DuckDB spills to PULSE_DATA_DIR/tmp."),
    Setting("max_future_days", "2", "A timestamp later than now plus this many days is rejected as far-future."),
    Setting("cache_type", "", "Query cache shared by the web workers: empty picks redis when PULSE_REDIS_URL is set, else filesystem (under PULSE_DATA_DIR/cache); or name one: filesystem, redis, null (no caching)."),
    Setting("redis_url", "", "Redis URL, e.g. redis://127.0.0.1:6379/0: setting it is enough to share the query cache and the rate-limit counters between all workers (and machines) through Redis."),
    Setting("cache_timeout", "86400", "Seconds a cached query result lives; entries are keyed by data version, so this only bounds the cache's size."),
    Setting("cache_retry_seconds", "5", "After the shared cache (Redis) fails to answer, each worker serves uncached and tries it again after this many seconds; /readyz says degraded meanwhile."),
    Setting("reader_memory", "200MB", "DuckDB memory limit of each web worker's reader; bounds the worker's resident memory."),
    Setting("query_time_limit_ms", "3000", "Time limit of one web query; past it the query is interrupted and the panel shows a message."),
    Setting("export_time_limit_s", "600", "Time limit, in seconds, of one streamed download (/export.<fmt>), from its first to its last byte; past it the query is interrupted and the body ends with an error line."),
    Setting("query_max_rows", "10000", "Most rows one web query returns; more are reported as truncated."),
    Setting("soda_max_limit", "50000", "Largest $limit of one SODA page (/resource/<id>.json); a larger one is a 400 naming it, never a silently shorter page (clients page with $offset until a short page)."),
    Setting("soda_pin_seconds", "3600", "How long a SODA pull paging with $offset keeps reading the version its first page read (decision 0017): each page pins the next offset of the same query and client to its version."),
    Setting("live_poll_seconds", "5", "How often an open dashboard asks whether a new data version has landed; it redraws only when one has."),
    Setting("announce_seconds", "60", "The least time between two spoken announcements of new data on a page (its aria-live region); what arrives meanwhile is said together in the next one."),
    Setting("geo_dir", "", "Folder with boroughs.geojson and community_districts.geojson for the maps (default: PULSE_DATA_DIR/geo, generated with the demo)."),
    Setting("map_tile_url", "", "Optional raster tile URL template ({z}/{x}/{y}) drawn under the maps (as MapLibre maps, with the full plotly.js); empty means SVG maps without tiles, so maps work offline."),
    Setting("simulate", "1", "When 1, `make run` starts `python -m etl simulate` beside the web server (a storm and a day of service in accelerated time); 0 turns it off."),
    Setting("simulate_speed", "60", "Simulated seconds per real second of `python -m etl simulate` (it never writes times later than now)."),
    Setting("open311_url", "", "Open311 GeoReport v2 endpoint base (e.g. https://city.example/open311/v2) that `python -m etl poll open311` and the Procfile worker poll when no URL is given."),
    Setting("poll_seconds", "60", "Seconds between two polls of an Open311 feed (`python -m etl poll open311 --every`)."),
    Setting("poll_timeout", "30", "Seconds one HTTP request of the poller may take, connecting and reading, before it counts as hung and is retried."),
    Setting("watch_quiet_seconds", "2", "A file in a drop folder (`python -m etl watch`) is loaded only once its size and time stayed unchanged this long and across two scans."),
    Setting("compact_files", "16", "A micro-batch publish that leaves a version with more data files than this compacts the small ones into a new version."),
    Setting("keep_versions", "100", "Retention: the newest this many versions of a dataset stay readable by number (at least 2)."),
    Setting("keep_hours", "6", "Retention: every version published in the last this many hours stays readable by number too."),
    Setting("keep_daily", "30", "Retention: for this many days, each day's last version stays readable as a daily snapshot; any other older version answers 410."),
    Setting("host", "127.0.0.1", "Address the portal listens on under `make run`."),
    Setting("port", "8050", "Port the portal listens on under `make run`."),
    Setting("web_workers", "", "Gunicorn worker processes (gunicorn.conf.py); empty: WEB_CONCURRENCY when set, else one per CPU, at least 2. Each holds its own DuckDB reader (PULSE_READER_MEMORY)."),
    Setting("web_threads", "", "Request threads per gunicorn worker (gunicorn.conf.py); empty: 4, i.e. four per CPU with one worker per CPU."),
    Setting("read_slots", "2", "Heavy reads (a rows page or an Open311 answer not in the cache, a chart CSV) one worker runs at once; more wait for a slot."),
    Setting("export_slots", "2", "Downloads (/export.<fmt>) one worker streams at once; more wait for a slot. Bounds the worker's memory beside PULSE_READER_MEMORY."),
    Setting("read_queue_ms", "1000", "Longest wait for a read or download slot; past it the answer is 503 with Retry-After. The wait counts toward the query's PULSE_QUERY_TIME_LIMIT_MS."),
    Setting("rate_limit_rows", "20/second;600/minute", "Rate limit per client address of rows pages and Open311 answers computed for it (flask-limiter syntax, ';' between limits; empty: none). Cached answers and 304s are not counted."),
    Setting("rate_limit_exports", "30/minute;300/hour", "Rate limit per client address of downloads (/export.<fmt>); empty: none. 304s are not counted."),
    Setting("rate_limit_queries", "20/second;600/minute", "Rate limit per client address of chart CSVs, KPI answers, embeds and their images computed for it; empty: none. Cached answers and 304s are not counted."),
    Setting("rate_limit_callbacks", "30/second;1200/minute", "Rate limit per client address of Dash callbacks (POST /_dash-update-component); empty: none."),
    Setting("trusted_proxies", "0", "How many proxies in front of the portal append to X-Forwarded-For (1 behind deploy/nginx.conf): the client address rate limits key on is read from that header only then."),
    Setting("require_shared", "0", "When 1, tests that need ../shared/data fail instead of skipping when it is absent (CI sets it)."),
    Setting("shared_data", str(ROOT.parent / "shared" / "data"), "Folder of real public sample files used by tests and benchmarks (default: ../shared/data beside the checkout)."),
    Setting("max_request_bytes", "1048576", "Largest request body the portal reads, in bytes (Flask's MAX_CONTENT_LENGTH); a larger one is a 413 with a JSON message. The largest real Dash callback body is about 3 KB."),
    Setting("public_url", "", "The portal's public address, e.g. https://data.city.example: citations, code examples, data.json and page metadata use it instead of the Host header a request sends. Empty: each request's own address (for `make run`)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """A whole set of setting values (strings, as the environment holds them)."""

    values: Mapping[str, str]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Defaults, then PULSE_<NAME> variables of `environ` (default: this process's), then
        `overrides` by setting name (None restores the default)."""
        environ = os.environ if environ is None else environ
        values = {s.name: environ.get(s.env, s.default) for s in SETTINGS}
        return cls(MappingProxyType(values)).replace(**overrides)

    def replace(self, **overrides) -> Settings:
        unknown = sorted(set(overrides) - set(_BY_NAME))
        if unknown:
            raise KeyError(f"no setting {unknown[0]!r}; settings: {', '.join(_BY_NAME)}")
        values = dict(self.values)
        for name, value in overrides.items():
            values[name] = _BY_NAME[name].default if value is None else str(value)
        return Settings(MappingProxyType(values))

    def get(self, name: str) -> str:
        return self.values[_BY_NAME[name].name]

    def get_int(self, name: str) -> int:
        return _whole(name, self.get(name))

    def data_dir(self) -> Path:
        return Path(self.get("data_dir"))

    def as_env(self) -> dict[str, str]:
        """The PULSE_<NAME> variables that give a child process (a loader, a gunicorn) these settings."""
        return {s.env: self.values[s.name] for s in SETTINGS}


_installed: list[Settings] = []
_installed_lock = threading.Lock()


def install(settings: Settings | None) -> None:
    """Make `settings` this process's settings (create_app does; None goes back to the environment)."""
    with _installed_lock:
        _installed[:] = [settings] if settings is not None else []


def installed() -> Settings | None:
    return _installed[0] if _installed else None


def active() -> Settings:
    """The installed settings, or the environment's as they are now."""
    return installed() or Settings.from_env()


@contextmanager
def using(settings: Settings) -> Iterator[Settings]:
    """Run with `settings` installed, then restore what was there (tests, `etl demo` building
    another folder's lake)."""
    before = installed()
    install(settings)
    try:
        yield settings
    finally:
        install(before)


def get(name: str) -> str:
    """The current value of a setting: the installed settings', else the environment's over the
    default, read at call time."""
    settings = installed()
    if settings is not None:
        return settings.get(name)
    setting = _BY_NAME[name]
    return os.environ.get(setting.env, setting.default)


def get_int(name: str) -> int:
    return _whole(name, get(name))


def _whole(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{_BY_NAME[name].env} must be a whole number, not {value!r}") from None


def data_dir() -> Path:
    return Path(get("data_dir"))


def geo_dir() -> Path:
    return Path(get("geo_dir") or data_dir() / "geo")
