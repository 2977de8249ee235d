"""Fixtures shared by every test: a tiny lake per test, the real sample files, the CLI as a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

import config

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(config.get("shared_data"))  # PULSE_SHARED_DATA, default ../shared/data beside the checkout


@pytest.fixture
def configure():
    """Settings for one test, handed in rather than put in the environment (Flask's
    create_app(test_config) habit): `configure(query_time_limit_ms=50)` installs the active settings
    with those changed (None: the default), for the test and the subprocesses it starts through
    run_etl; whatever was installed before comes back afterwards."""
    before = config.installed()

    def apply(**overrides) -> config.Settings:
        settings = config.active().replace(**overrides)
        config.install(settings)
        return settings

    yield apply
    config.install(before)


RATE_LIMITS = ("rate_limit_rows", "rate_limit_exports", "rate_limit_queries", "rate_limit_callbacks")


@pytest.fixture(autouse=True)
def no_rate_limits():
    """Every test runs without rate limits (the suite is one client address making thousands of
    requests a minute); a test of the limits configures them (tests/integration/test_rate_limits.py).
    Subprocesses started through child_env() inherit this."""
    before = config.installed()
    config.install(config.active().replace(**dict.fromkeys(RATE_LIMITS, "")))
    yield
    config.install(before)


@pytest.fixture
def lake_dir(tmp_path, configure) -> Path:
    """An empty lake in tmp_path: the data folder of this test's settings (default city)."""
    data = tmp_path / "data"
    configure(data_dir=data, city=None)
    return data


@pytest.fixture(scope="session")
def shared() -> Path:
    """The real public sample files; skipped when absent unless PULSE_REQUIRE_SHARED=1 (CI)."""
    if not (SHARED / "MANIFEST.md").exists():
        if os.environ.get("PULSE_REQUIRE_SHARED") == "1":
            pytest.fail(f"PULSE_REQUIRE_SHARED=1 but the real sample files are missing at {SHARED}")
        pytest.skip(f"real sample files not found at {SHARED} (set PULSE_REQUIRE_SHARED=1 to make this fail)")
    return SHARED


def child_env() -> dict[str, str]:
    """The environment that gives a subprocess this test's settings."""
    return {**os.environ, **config.active().as_env()}


def run_etl(*args: str, env: dict | None = None, check: bool = False) -> subprocess.CompletedProcess:
    """Run `python -m etl ...` for real, in the project root, with this test's environment."""
    proc = subprocess.run(
        [sys.executable, "-m", "etl", *args],
        cwd=ROOT, capture_output=True, text=True, env={**child_env(), **(env or {})}, timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"etl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def last_json(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def etl_cli():
    return run_etl


@contextmanager
def demo_lake_at(path: Path, scale: int, seed: int):
    """A demo lake built at `path` and set as PULSE_DATA_DIR (default city, filesystem cache) for
    the duration; module-scoped fixtures use it to share one lake between read-only tests."""
    from etl import demo
    from portal.reader import reset_reader

    with config.using(config.active().replace(data_dir=path, cache_type="filesystem", city=None)):
        demo.build(scale=scale, seed=seed)
        reset_reader()
        try:
            yield path
        finally:
            reset_reader()
