"""Compaction and retention (issue 6): many small versions are merged into few files without changing
any answer; versions past retention are removed and answer 410; files nothing kept references are
deleted, and nothing a kept version needs ever is."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

import lake
from datasets import rollups
from etl import compact
from etl.load import load_file
from lake.errors import VersionPruned
from tests.conftest import ROOT, child_env, last_json, run_etl
from tests.helpers import sr_row, write_csv


def version_rows(version: int) -> list[tuple]:
    m = lake.manifest("service_requests", version)
    with duckdb.connect() as con:
        return con.execute("SELECT * FROM read_parquet(?) ORDER BY request_id",
                           [lake.file_paths("service_requests", m)]).fetchall()


def micro_batches(tmp_path, n: int, start: int = 0, pause: float = 0.0) -> None:
    """n loads of 3 new requests each, each but the first also closing a request of the one before."""
    for b in range(start, start + n):
        time.sleep(pause)
        rows = [sr_row(b * 10 + i, created=f"2025-03-{1 + b % 28:02d}T0{i}:00:00-05:00") for i in range(3)]
        if b:
            rows.append(sr_row((b - 1) * 10, status="Closed", created=f"2025-03-{1 + (b - 1) % 28:02d}T00:00:00-05:00",
                               closed=f"2025-03-{1 + b % 28:02d}T12:00:00-05:00"))
        load_file("service_requests", write_csv(tmp_path / f"b{b}.csv", rows))


def on_disk(folder: str = "data") -> set[str]:
    base = lake.dataset_dir("service_requests")
    return {str(p.relative_to(base)) for p in (base / folder).rglob("*.parquet")}


def test_compaction_merges_small_files_and_every_answer_stays_the_same(lake_dir, tmp_path):
    micro_batches(tmp_path, 12)
    before = {m.version: version_rows(m.version) for m in lake.versions("service_requests")}
    files_before = len(lake.manifest("service_requests").files)
    assert files_before >= 12

    result = compact.compact("service_requests")
    assert result["compacted"] and result["version"] == 13 and result["files_after"] == 1
    assert result["files_merged"] == files_before and result["versions_pruned"] == 0
    for version, rows in before.items():  # every retained version answers exactly as before
        assert version_rows(version) == rows
    assert version_rows(13) == before[12]
    m, before_m = lake.manifest("service_requests"), lake.manifest("service_requests", 12)
    assert m.rows == before_m.rows
    source = f"read_parquet({lake.file_paths('service_requests', m)!r})"
    def summed(r, entry) -> list:
        files = lake.entry_paths("service_requests", entry)
        return duckdb.connect().execute(r.summed(f"SELECT * FROM read_parquet({files!r})") + " ORDER BY ALL").fetchall()

    for r in rollups.of("service_requests"):  # same rows: rollups that still equal a fresh aggregate
        fresh = duckdb.connect().execute(f"{r.compile(source, repr('America/New_York'))} ORDER BY ALL").fetchall()
        assert summed(r, m.rollups[r.name]) == summed(r, before_m.rollups[r.name]) == fresh, r.name
    for entry in m.rollups.values():  # summaries kept per data file cover the new files
        if entry.kind == "projection":
            assert set(entry.files_by_data_file) == {f.path for f in m.files}
    assert m.load["source"] == "compaction" and (m.load["inserted"], m.load["updated"]) == (0, 0)
    assert compact.compact("service_requests")["compacted"] is False  # one file: nothing to merge


def test_a_compacted_version_serves_the_same_api_and_dashboard_answers(lake_dir, tmp_path):
    from app import server
    from portal import queries
    from portal.reader import reset_reader

    micro_batches(tmp_path, 6)
    client = server.test_client()
    reset_reader()
    url = "/api/v1/datasets/service_requests/rows?limit=100&sort=created"
    api_before = client.get(url).json["rows"]
    query = ("sr_open_backlog", {"start": "2025-03-01", "end": "2025-03-31"})
    dash_before = queries.run(query[0], **query[1]).rows
    compact.compact("service_requests")
    reset_reader()
    after = client.get(url).json
    assert after["version"] == 7 and after["rows"] == api_before
    assert queries.run(query[0], **query[1]).rows == dash_before


def test_retention_keeps_the_newest_versions_and_older_ones_answer_410(lake_dir, tmp_path, configure):
    from app import server

    # Paused: a file is deleted only if written over 0.1 s before the oldest kept version (etl/compact.py).
    micro_batches(tmp_path, 8, pause=0.2)
    kept = {v: version_rows(v) for v in (6, 7, 8)}
    configure(keep_versions=3, keep_hours=0)
    result = compact.compact("service_requests", merge=False)
    assert (result["oldest"], result["versions_pruned"]) == (6, 5)
    assert [m.version for m in lake.versions("service_requests")] == [6, 7, 8]
    assert {v: version_rows(v) for v in kept} == kept
    with pytest.raises(VersionPruned, match="removed by the retention policy"):
        lake.manifest("service_requests", 2)

    client = server.test_client()
    gone = client.get("/api/v1/datasets/service_requests/rows?version=2")
    assert gone.status_code == 410 and gone.json["oldest"] == 6 and "version 2 was removed" in gone.json["error"]
    assert client.get("/api/v1/datasets/service_requests/export.csv?version=5").status_code == 410
    assert client.get("/api/v1/datasets/service_requests/rows?version=6").status_code == 200
    unknown = client.get("/api/v1/datasets/service_requests/rows?version=99")
    assert unknown.status_code == 404 and unknown.json["allowed"] == [6, 7, 8]

    # Files: exactly what the kept versions reference is left on disk.
    referenced = {f.path for m in lake.versions("service_requests") for f in m.files}
    assert on_disk() == referenced
    summaries = [r for m in lake.versions("service_requests") for r in m.rollups.values()]
    assert on_disk("rollups") == {p for r in summaries if r.kind == "rollup" for p in r.files}
    assert on_disk("projections") == {p for r in summaries if r.kind == "projection" for p in r.files}
    cli = run_etl("versions", "service_requests", "--json", env={"PULSE_KEEP_VERSIONS": "3"})
    assert [v["version"] for v in last_json(cli)["versions"]] == [6, 7, 8]


def test_retention_by_age_keeps_every_young_version(lake_dir, tmp_path, configure):
    micro_batches(tmp_path, 5)
    configure(keep_versions=2, keep_hours=1)  # all five are minutes old
    assert compact.compact("service_requests")["versions_pruned"] == 0
    configure(keep_hours=0)
    result = compact.compact("service_requests")  # the compaction version (6) and 5 are the newest two
    assert (result["version"], result["oldest"], result["versions_pruned"]) == (6, 5, 4)
    assert version_rows(5) == version_rows(6)


def test_orphans_of_killed_loads_are_deleted_but_new_files_are_not(lake_dir, tmp_path):
    micro_batches(tmp_path, 3)
    data = lake.dataset_dir("service_requests") / "data"
    orphan, staging, fresh = data / "dead0000.parquet", data / ".staging-dead", data / "fresh000.parquet"
    orphan.write_bytes(b"PAR1")
    staging.mkdir()
    old = time.time() - 3600
    for p in (orphan, staging):
        os.utime(p, (old, old))
    fresh.write_bytes(b"PAR1")  # written after the oldest kept version: a load in flight could own it
    result = compact.compact("service_requests", merge=False)
    assert result["files_deleted"] == 1 and not orphan.exists() and not staging.exists() and fresh.exists()


def test_compaction_runs_by_itself_past_the_file_threshold(lake_dir, tmp_path):
    env = {"PULSE_COMPACT_FILES": "4"}
    for b in range(7):
        rows = [sr_row(b * 10 + i) for i in range(2)]
        run_etl("load", "service_requests", str(write_csv(tmp_path / f"c{b}.csv", rows)), env=env, check=True)
    versions = lake.versions("service_requests")
    assert any(m.load.get("source") == "compaction" for m in versions)
    assert len(versions[-1].files) <= 4 and versions[-1].rows == 14


def test_a_compaction_killed_before_it_publishes_changes_nothing(lake_dir, tmp_path):
    micro_batches(tmp_path, 4)
    rows = version_rows(4)
    proc = subprocess.Popen([sys.executable, "-m", "etl", "compact", "service_requests"], cwd=ROOT,
                            env={**child_env(), "PULSE_TEST_PAUSE_AT": "manifest-written"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    marker = lake_dir / "paused-at-manifest-written"
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), proc.stderr
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert lake.current_version("service_requests") == 4 and version_rows(4) == rows
    assert last_json(run_etl("compact", "service_requests", "--json", check=True))["datasets"][0]["version"] == 5
    assert version_rows(5) == rows


def _backdate(version: int, when: datetime) -> None:
    """Rewrite a manifest's publish time: a lake with a history of several days, made in a second."""
    path = lake.dataset_dir("service_requests") / "versions" / f"{version:08d}.json"
    body = json.loads(path.read_text())
    body["published_at"] = when.isoformat(timespec="milliseconds")
    path.write_text(json.dumps(body))


def test_each_days_last_version_is_kept_as_a_daily_snapshot(lake_dir, tmp_path, configure):
    micro_batches(tmp_path, 6, pause=0.2)
    now = datetime.now(UTC)
    for version, days_ago, hours in ((1, 40, 0), (2, 3, 2), (3, 3, 1), (4, 2, 0)):
        _backdate(version, now - timedelta(days=days_ago, hours=hours))
    snapshot_rows = {v: version_rows(v) for v in (3, 4)}
    configure(keep_versions=2, keep_hours=12)
    result = compact.compact("service_requests", merge=False)
    # 5 and 6 are the newest two; 3 and 4 were the last of their days; 1 is past 30 days; 2 was not its day's last
    assert (result["oldest"], result["snapshots"], result["versions_pruned"]) == (5, [3, 4], 2)
    assert [m.version for m in lake.versions("service_requests")] == [3, 4, 5, 6]
    assert {v: version_rows(v) for v in (3, 4)} == snapshot_rows
    for gone in (1, 2):
        with pytest.raises(VersionPruned):
            lake.manifest("service_requests", gone)
    configure(keep_daily=3)  # now the 3-day-old snapshot expires, the 2-day-old one stays
    assert compact.compact("service_requests", merge=False)["snapshots"] == [4]
    assert [m.version for m in lake.versions("service_requests")] == [4, 5, 6]


def test_compacted_files_are_one_row_group_each_and_full_rewrites_to_file_size(lake_dir, tmp_path):
    for b in range(3):
        path = tmp_path / f"big{b}.parquet"
        with duckdb.connect() as con:
            con.execute(f"""COPY (SELECT 'K' || lpad(CAST(i AS VARCHAR), 8, '0') AS request_id,
                TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i) AS created, 'Open' AS status, 'DSNY' AS agency,
                'Missed Collection' AS complaint_type FROM range({b * 60_000}, {(b + 1) * 60_000}) t(i))
                TO '{path}' (FORMAT parquet)""")
        load_file("service_requests", path)
    rows = version_rows(3)
    assert compact.compact("service_requests")["files_after"] == 2  # 3 x 60,000 rows: each under 3/4 of a group
    assert sorted(f.rows for f in lake.manifest("service_requests").files) == [57_120, 122_880]
    assert version_rows(4) == rows
    assert compact.compact("service_requests", full=True)["files_after"] == 1  # 180,000 < PULSE_FILE_ROWS
    assert version_rows(5) == rows
