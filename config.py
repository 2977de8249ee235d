"""Every Pulse setting in one table, each overridable by an environment variable PULSE_<NAME>.

Why a table: the README, `python -m etl settings` and the test that every setting is documented all
read it, so a setting cannot exist without its help text (datasette's SETTINGS habit).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _shared_default() -> Path:
    """../shared/data beside the checkout; a clone made elsewhere (CI in /tmp) falls back to the
    workplace's shared folder."""
    beside = ROOT.parent / "shared" / "data"
    if beside.exists():
        return beside
    fallback = Path("/work/shared/data")
    return fallback if fallback.exists() else beside


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
    Setting("city", "nyc", "City profile for plain-schema loads and the demo: time zone and coordinate bounds (see datasets/cities.yaml)."),
    Setting("demo_scale", "small", "Size of the demo lake that `make run` builds when none exists: small, medium, large or a 311 row count."),
    Setting("demo_seed", "311", "Seed of the deterministic demo generator: the same seed gives the same lake."),
    Setting("file_rows", "1000000", "Largest number of rows written to one Parquet data file; bounds the cost of rewriting a file on upsert."),
    Setting("etl_memory", "700MB", "DuckDB memory limit of one load; beyond it DuckDB spills to PULSE_DATA_DIR/tmp."),
    Setting("max_future_days", "2", "A timestamp later than now plus this many days is rejected as far-future."),
    Setting("cache_type", "filesystem", "Query cache shared by the web workers: filesystem (under PULSE_DATA_DIR/cache), redis, or null (no caching)."),
    Setting("redis_url", "", "Redis URL for PULSE_CACHE_TYPE=redis, e.g. redis://127.0.0.1:6379/0."),
    Setting("cache_timeout", "86400", "Seconds a cached query result lives; entries are keyed by data version, so this only bounds the cache's size."),
    Setting("reader_memory", "200MB", "DuckDB memory limit of each web worker's reader; bounds the worker's resident memory."),
    Setting("query_time_limit_ms", "3000", "Time limit of one web query; past it the query is interrupted and the panel shows a message."),
    Setting("query_max_rows", "10000", "Most rows one web query returns; more are reported as truncated."),
    Setting("host", "127.0.0.1", "Address the portal listens on under `make run`."),
    Setting("port", "8050", "Port the portal listens on under `make run`."),
    Setting("require_shared", "0", "When 1, tests that need ../shared/data fail instead of skipping when it is absent (CI sets it)."),
    Setting("shared_data", str(_shared_default()), "Folder of real public sample files used by tests and benchmarks (default: ../shared/data beside the checkout, else /work/shared/data)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    """The current value of a setting: the environment wins over the default, read at call time."""
    setting = _BY_NAME[name]
    return os.environ.get(setting.env, setting.default)


def get_int(name: str) -> int:
    value = get(name)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{_BY_NAME[name].env} must be a whole number, not {value!r}") from None


def data_dir() -> Path:
    return Path(get("data_dir"))
