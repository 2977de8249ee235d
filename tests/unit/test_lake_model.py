"""The manifest is parsed in one place (lake/model.py): what a stored version says, typed, and written
back exactly as it was read, so every version ever published stays readable (issue 12)."""
from __future__ import annotations

import json

import pytest

from lake.model import DataFile, Manifest, ProjectionEntry, RollupEntry

ROLLUP = {"path": "rollups/sr_daily_flow", "timezone": "America/New_York", "fingerprint": "abc",
          "base": "rollups/sr_daily_flow/b.parquet", "base_rows": 120, "delta": "rollups/sr_daily_flow/d.parquet",
          "delta_rows": 7}
PROJECTION = {"kind": "projection", "path": "projections/sr_close_times", "timezone": "America/New_York",
              "fingerprint": "def", "files": {"data/a.parquet": "projections/sr_close_times/p1.parquet",
                                              "data/b.parquet": "projections/sr_close_times/p2.parquet"}}
LEGACY = {"path": "rollups/sr_created_daily.parquet", "timezone": "America/New_York"}  # before deltas existed


def manifest_json(rollups: dict) -> str:
    return json.dumps({"dataset": "service_requests", "version": 3, "published_at": "2026-12-04T01:02:03.000+00:00",
                       "rows": 10, "files": [{"path": "data/a.parquet", "rows": 4, "key_min": "1", "key_max": "9"},
                                             {"path": "data/b.parquet", "rows": 6, "key_min": None, "key_max": None}],
                       "load": {"rows_in": 10}, "rollups": rollups})


def test_entries_are_typed_by_kind():
    m = Manifest.from_json(manifest_json({"flow": ROLLUP, "close": PROJECTION, "old": LEGACY}))
    assert isinstance(m.rollups["flow"], RollupEntry) and isinstance(m.rollups["close"], ProjectionEntry)
    assert m.files[0] == DataFile("data/a.parquet", 4, "1", "9")
    assert m.rollups["flow"].files == ["rollups/sr_daily_flow/b.parquet", "rollups/sr_daily_flow/d.parquet"]
    assert m.rollups["close"].files == ["projections/sr_close_times/p1.parquet", "projections/sr_close_times/p2.parquet"]
    assert m.rollups["old"].legacy_file == "rollups/sr_created_daily.parquet"
    assert m.rollups["old"].files == ["rollups/sr_created_daily.parquet"] and m.rollups["flow"].legacy_file is None


@pytest.mark.parametrize("entry", [ROLLUP, PROJECTION, LEGACY, {**ROLLUP, "delta": None, "delta_rows": 0}],
                         ids=["rollup", "projection", "legacy", "rollup-without-delta"])
def test_a_manifest_is_written_back_as_it_was_read(entry):
    text = manifest_json({"x": entry})
    again = json.loads(Manifest.from_json(text).to_json())
    expected = json.loads(text)
    if entry.get("delta") is None and "base" in entry:
        expected["rollups"]["x"] = {k: v for k, v in entry.items() if k not in ("delta", "delta_rows")}
    assert again == expected


@pytest.mark.parametrize(("fingerprint", "zone", "holds"), [
    ("abc", "America/New_York", True), ("zzz", "America/New_York", False), ("abc", "America/Chicago", False)])
def test_an_entry_holds_what_is_declared_only_in_its_zone_and_fingerprint(fingerprint, zone, holds):
    assert RollupEntry.from_dict(ROLLUP).holds(fingerprint, zone) is holds
    assert ProjectionEntry.from_dict({**PROJECTION, "fingerprint": "abc"}).holds(fingerprint, zone) is holds


def test_an_entry_from_before_fingerprints_is_taken_as_current():
    old = RollupEntry.from_dict({k: v for k, v in ROLLUP.items() if k != "fingerprint"})
    assert old.holds("anything", "America/New_York") and not old.holds("anything", "Europe/Paris")


def test_a_version_references_its_data_rollup_and_projection_files():
    m = Manifest.from_json(manifest_json({"flow": ROLLUP, "close": PROJECTION}))
    assert m.referenced() == {"data/a.parquet", "data/b.parquet", "rollups/sr_daily_flow",
                              "rollups/sr_daily_flow/b.parquet", "rollups/sr_daily_flow/d.parquet",
                              "projections/sr_close_times", "projections/sr_close_times/p1.parquet",
                              "projections/sr_close_times/p2.parquet"}


def test_only_the_pending_delta_counts_toward_a_fold():
    assert RollupEntry.from_dict(ROLLUP).pending_delta_rows == 7
    assert RollupEntry.from_dict({**ROLLUP, "delta": None}).pending_delta_rows == 0
