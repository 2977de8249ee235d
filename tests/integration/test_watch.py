"""`python -m etl watch DIR` (issue 6): a drop folder. Each file is loaded exactly once and moved to
processed/ or, with its report, to failed/; a file still being written is left alone."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import lake
from tests.conftest import ROOT, child_env, last_json, run_etl
from tests.helpers import SR_HEADER, sr_row, write_csv

FAST = ("--quiet", "0.5", "--every", "0.3")


@pytest.fixture
def drop(lake_dir, tmp_path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def settled(path: Path) -> Path:
    """A file finished a while ago: its modification time well past the quiet period."""
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


def watch(drop: Path, *extra: str):
    return run_etl("watch", str(drop), "--once", "--json", *FAST, *extra)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_file_is_loaded_once_and_moved_to_processed(drop):
    settled(write_csv(drop / "batch1.csv", [sr_row(i) for i in range(5)]))
    proc = watch(drop)
    assert proc.returncode == 0, proc.stderr
    summary = last_json(proc)
    assert (summary["processed"], summary["failed"]) == (1, 0)
    (f,) = summary["files"]
    assert (f["dataset"], f["outcome"], f["version"], f["inserted"], f["format"]) == (
        "service_requests", "published", 1, 5, "plain")
    assert listing(drop) == ["processed"] and listing(drop / "processed") == ["batch1.csv"]
    assert last_json(watch(drop))["files"] == []  # nothing left to load
    assert lake.current_version("service_requests") == 1


def test_the_same_bytes_dropped_again_are_not_loaded_twice(drop):
    rows = [sr_row(i) for i in range(3)]
    settled(write_csv(drop / "a.csv", rows))
    watch(drop)
    settled(write_csv(drop / "a.csv", rows))  # the same file again, same name
    (again,) = last_json(watch(drop))["files"]
    assert again["outcome"] == "already_loaded" and again["moved_to"].startswith("processed/a-")
    assert lake.current_version("service_requests") == 1
    assert len(listing(drop / "processed")) == 2


def test_a_file_still_being_written_is_not_picked_up(drop):
    path = drop / "growing.csv"
    write_csv(path, [sr_row(0)])
    stop = threading.Event()

    def writer():  # a slow export: a line every 0.2 s, well inside the quiet period
        i = 1
        while not stop.is_set():
            with open(path, "a") as fh:
                fh.write(",".join(sr_row(i).values()) + "\n")
            i += 1
            time.sleep(0.2)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert last_json(watch(drop))["files"] == []
        assert listing(drop) == ["growing.csv"]
    finally:
        stop.set()
        t.join()
    rows = len(path.read_text().splitlines()) - 1
    settled(path)
    (f,) = last_json(watch(drop))["files"]
    assert f["inserted"] == rows and f["rejected"] == 0


@pytest.mark.parametrize("name", [".hidden.csv", "export.csv.part", "export.csv.tmp", "export.crdownload"])
def test_partial_and_hidden_files_are_ignored(drop, name):
    settled(write_csv(drop / name, [sr_row(0)]))
    assert last_json(watch(drop))["files"] == [] and listing(drop) == [name]


def test_a_renamed_part_file_is_loaded(drop):
    part = settled(write_csv(drop / "late.csv.part", [sr_row(1)]))
    part.rename(drop / "late.csv")
    assert last_json(watch(drop))["processed"] == 1


def test_an_unreadable_file_goes_to_failed_with_its_report(drop):
    settled(write_csv(drop / "mystery.csv", [{"foo": "1", "bar": "2"}]))
    proc = watch(drop)
    assert proc.returncode == 0
    (f,) = last_json(proc)["files"]
    assert f["outcome"] == "failed" and "matches no format" in f["error"]
    assert listing(drop / "failed") == ["mystery.csv", "mystery.csv.report.json"]
    report = json.loads((drop / "failed" / "mystery.csv.report.json").read_text())
    assert "matches no format" in report["error"]
    assert lake.current_version("service_requests") is None


def test_rejected_rows_are_reported_beside_the_processed_file(drop):
    rows = [sr_row(0), sr_row(1, status="Closed", closed="2025-02-01T08:00:00-05:00"), sr_row(2)]  # closed before created
    settled(write_csv(drop / "mixed.csv", rows))
    (f,) = last_json(watch(drop))["files"]
    assert (f["outcome"], f["inserted"], f["rejected"]) == ("published", 2, 1)
    report = json.loads((drop / "processed" / "mixed.csv.report.json").read_text())
    assert report["rejected"] == 1 and report["rejects"][0]["line"] == 3
    assert "closed before created" in report["rejects"][0]["reason"]


def test_a_file_whose_every_row_is_rejected_goes_to_failed(drop):
    settled(write_csv(drop / "bad.csv", [sr_row(0, created="yesterday")]))
    (f,) = last_json(watch(drop))["files"]
    assert f["moved_to"] == "failed/bad.csv" and f["rejected"] == 1
    assert json.loads((drop / "failed" / "bad.csv.report.json").read_text())["rejected"] == 1


def test_the_dataset_comes_from_the_header_or_a_subfolder(drop):
    signups = ["signup_id", "opportunity_id", "signed_up_at", "event_date", "borough", "attended", "hours", "volunteer_id"]
    settled(write_csv(drop / "signups.csv", [dict(zip(signups, ["SU-1", "OPP-1", "2025-03-01T10:00:00-05:00",
                                                                 "2025-03-08", "BRONX", "", "", "vol-1"], strict=True))]))
    (drop / "service_requests").mkdir()
    settled(write_csv(drop / "service_requests" / "sr.csv", [sr_row(0)], header=SR_HEADER))
    files = {f["file"]: f for f in last_json(watch(drop))["files"]}
    assert files["signups.csv"]["dataset"] == "volunteer_signups" and files["sr.csv"]["dataset"] == "service_requests"
    assert lake.current_version("volunteer_signups") == 1 and lake.current_version("service_requests") == 1
    assert listing(drop / "processed") == ["signups.csv", "sr.csv"]


def test_a_running_watcher_loads_what_is_dropped_and_a_second_one_is_refused(drop):
    proc = subprocess.Popen([sys.executable, "-m", "etl", "watch", str(drop), "--json", *FAST], cwd=ROOT, env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # the watcher is up and holds the folder
        second = watch(drop)
        assert second.returncode == 2 and "already watched" in second.stderr
        write_csv(drop / "live.csv.part", [sr_row(i) for i in range(4)]).rename(drop / "live.csv")
        deadline = time.monotonic() + 30
        while lake.current_version("service_requests") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lake.manifest("service_requests").rows == 4
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["processed"] == 1
