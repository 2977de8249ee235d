"""Faults on a running portal, with real processes: a loader SIGKILLed while it publishes, and a
disk that fills up during a load. In both, visitors keep getting answers and the lake keeps the
version it had (issue 13, "Faults").
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import ROOT, serve, stop_portal

ROUTES = ["/api/v1/version", "/api/v1/kpis", "/api/v1/datasets/service_requests/rows?limit=20", "/snow",
          "/api/v1/datasets/service_requests/export.csv?status=Closed&created__gte=2026-06-01", "/healthz"]


class Traffic:
    """Threads asking for every route in turn until stopped; every answer's status is kept."""

    def __init__(self, base: str, threads: int = 4):
        self.base, self.statuses, self.errors = base, [], []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self.stop.is_set():
            for path in ROUTES:
                try:
                    with urllib.request.urlopen(self.base + path, timeout=30) as r:
                        r.read()
                        self.statuses.append(r.status)
                except urllib.error.HTTPError as e:
                    self.statuses.append(e.code)
                except OSError as e:
                    self.errors.append(repr(e))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def current(portal) -> int:
    return int((portal.data_dir / "lake" / "service_requests" / "CURRENT").read_text())


def big_export(path: Path, rows: int, seed: int) -> Path:
    """A NYC 311 export of requests the lake has not seen (the demo's generator with another seed)."""
    subprocess.run([sys.executable, "-c", f"from etl.demo_nyc311 import write_nyc311_csv; "
                    f"write_nyc311_csv({str(path)!r}, {rows}, seed={seed})"], cwd=ROOT, check=True, timeout=300)
    return path


def wait_for(path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.parametrize("point, seed", [("files-written", 91), ("manifest-written", 92)])
def test_a_loader_killed_while_publishing_under_traffic_costs_no_visitor_an_answer(portal, tmp_path, point, seed):
    before = current(portal)
    source = big_export(tmp_path / "more.csv", 20_000, seed)
    with Traffic(portal.url) as traffic:
        time.sleep(1)
        load = subprocess.Popen([sys.executable, "-m", "etl", "load", "service_requests", str(source)], cwd=ROOT,
                                env={**portal.env(), "PULSE_TEST_PAUSE_AT": point}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        wait_for(portal.data_dir / f"paused-at-{point}")
        os.kill(load.pid, signal.SIGKILL)
        load.wait(timeout=10)
        (portal.data_dir / f"paused-at-{point}").unlink()
        time.sleep(2)
    assert load.returncode == -signal.SIGKILL
    assert current(portal) == before
    assert traffic.errors == [] and traffic.statuses and set(traffic.statuses) == {200}, \
        (traffic.errors[:3], sorted(set(traffic.statuses)))
    # the kernel released the writer's lock: the same load, run again, publishes the next version
    portal.etl("load", "service_requests", str(source))
    assert current(portal) > before  # (and compaction may follow it with one more)


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def small_disk(tmp_path):
    """mount(megabytes): a tmpfs of that size, mounted for the test (root, as `make test` runs here)
    and unmounted after."""
    where = tmp_path / "disk"
    where.mkdir()

    def mount(megabytes: int) -> Path:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}M", "tmpfs", str(where)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        return where

    yield mount
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_fails_the_load_with_a_clear_message_and_the_portal_serves_on(portal, small_disk, tmp_path):
    # A disk with the lake and 3 MB to spare; the load below writes ~10 MB of Parquet.
    data = small_disk(size_of(portal.data_dir / "lake") // 2**20 + 4) / "data"
    shutil.copytree(portal.data_dir / "lake", data / "lake")
    full = serve(data)
    try:
        before = (data / "lake" / "service_requests" / "CURRENT").read_text().strip()
        source = big_export(tmp_path / "big.csv", 300_000, 93)
        with Traffic(full.url) as traffic:
            out = subprocess.run([sys.executable, "-m", "etl", "load", "service_requests", str(source)], cwd=ROOT,
                                 env=full.env(), capture_output=True, text=True, timeout=600)
        assert out.returncode == 3, out.stderr[-2000:]
        assert "no space left on the lake's disk" in out.stderr
        assert f"version {before} stays current" in out.stderr
        assert "Traceback" not in out.stderr
        assert (data / "lake" / "service_requests" / "CURRENT").read_text().strip() == before
        assert not list((data / "lake" / "service_requests" / "data").glob(".staging-*")), "no half-written files left"
        assert traffic.errors == [] and set(traffic.statuses) == {200}, sorted(set(traffic.statuses))
        # the version that stayed current reads back whole, through the portal
        assert full.etl("status", "--json").returncode == 0
    finally:
        stop_portal(full)
