"""A version whose files cannot be read (a file lost, an object store that did not answer) is one
dataset's fault: the pages' reader keeps serving what it served before, under that version's own
number, every other page stays up, and the version is opened as soon as its files can be read. (The
rows API and downloads read the lake's current version themselves: for them such a version is a JSON
500, tests/integration/test_hostile_input.py.)"""
from __future__ import annotations

import logging
import shutil

import pytest

import lake
from etl.load import load_file
from portal.reader import LakeReader, reader, reset_reader
from tests.helpers import sr_row, write_csv

SR = "service_requests"
PAGES = ["/", "/snow", "/volunteers", "/data", "/_dash-layout", "/api/v1/version", "/api/v1/kpis"]


@pytest.fixture
def client(lake_dir, configure, monkeypatch):
    configure(cache_type="null")  # every answer computed now, from what the reader has open
    monkeypatch.setattr(LakeReader, "RETRY_UNREADABLE_S", 0.0)  # tried again at once (the default rests 5 s)
    reset_reader()
    from app import server

    yield server.test_client()
    reset_reader()


def _files_of(version: int) -> set[str]:
    return set(lake.file_paths(SR, lake.manifest(SR, version)))


def _count() -> int:
    """The rows of service requests that the pages' queries read (through the worker's reader)."""
    return reader().query(f"SELECT count(*) FROM {{{SR}}}").rows[0][0]


def _hide(paths, tmp_path) -> list[tuple[str, str]]:
    """Move `paths` aside; returns (where it was, where it is) to put them back."""
    moved = []
    for i, path in enumerate(sorted(paths)):
        aside = str(tmp_path / f"aside-{i}.parquet")
        shutil.move(path, aside)
        moved.append((path, aside))
    return moved


def test_a_new_version_that_cannot_be_read_leaves_the_last_one_served_under_its_own_number(client, tmp_path, caplog):
    load_file(SR, write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(5)]))
    assert reader().versions()[SR] == 1
    load_file(SR, write_csv(tmp_path / "b.csv", [sr_row(100 + i) for i in range(3)]))
    moved = _hide(_files_of(2) - _files_of(1), tmp_path)
    assert moved, "version 2 adds a file of its own"

    with caplog.at_level(logging.ERROR, logger="portal.reader"):
        assert reader().versions(at_least={SR: 2})[SR] == 1, "not version 2's number over version 1's rows"
        assert reader().versions(at_least={SR: 2})[SR] == 1  # tried again: still not readable
    assert _count() == 5, "version 1's rows"
    assert caplog.text.count("service_requests v2 could not be opened; still serving v1") == 1, "logged once"
    for page in PAGES:
        assert client.get(page).status_code == 200, page

    for path, aside in moved:  # the object store answers again
        shutil.move(aside, path)
    with caplog.at_level(logging.WARNING, logger="portal.reader"):
        assert reader().versions(at_least={SR: 2})[SR] == 2
    assert "service_requests v2 opened after all" in caplog.text
    assert _count() == 8


def test_a_dataset_that_cannot_be_opened_at_all_takes_no_other_page_down(client, tmp_path, caplog):
    load_file(SR, write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(5)]))
    moved = _hide(_files_of(1), tmp_path)  # before this worker ever opened it

    with caplog.at_level(logging.ERROR, logger="portal.reader"):
        for page in PAGES:
            assert client.get(page).status_code == 200, page
    assert reader().versions()[SR] is None, "served as not loaded, not as an empty version 1"
    assert _count() == 0
    assert "service_requests v1 could not be opened; served as not loaded" in caplog.text

    for path, aside in moved:
        shutil.move(aside, path)
    assert reader().versions(at_least={SR: 1})[SR] == 1
    assert _count() == 5


def test_a_version_that_could_not_be_opened_is_not_tried_again_at_every_request(client, tmp_path, monkeypatch):
    # Every query waits for the reader's lock while it tries, and over an object store a try may wait
    # for its time-outs: a version given up on rests RETRY_UNREADABLE_S before the next.
    monkeypatch.setattr(LakeReader, "RETRY_UNREADABLE_S", 3600.0)
    load_file(SR, write_csv(tmp_path / "a.csv", [sr_row(i) for i in range(5)]))
    assert reader().versions()[SR] == 1
    load_file(SR, write_csv(tmp_path / "b.csv", [sr_row(100 + i) for i in range(3)]))
    moved = _hide(_files_of(2) - _files_of(1), tmp_path)
    assert reader().versions(at_least={SR: 2})[SR] == 1
    for path, aside in moved:
        shutil.move(aside, path)
    assert reader().versions(at_least={SR: 2})[SR] == 1, "resting: not tried again yet"
    assert reader().unreadable() == {SR: 2}
