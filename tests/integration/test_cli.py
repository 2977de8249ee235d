"""The CLI names are an interface: `python -m etl load|status|versions|rejects ... --json` (issue 2)."""
import time

from tests.conftest import last_json
from tests.helpers import sr_row, write_csv


def test_load_json_reports_every_count(lake_dir, tmp_path, etl_cli):
    f = write_csv(tmp_path / "a.csv", [sr_row(1), sr_row(2), sr_row(3, status="Bogus")])
    started = time.monotonic()
    out = last_json(etl_cli("load", "service_requests", str(f), "--json", check=True))
    wall = time.monotonic() - started
    assert {k: out[k] for k in ("dataset", "version", "rows_in", "inserted", "updated", "unchanged", "rejected")} == {
        "dataset": "service_requests", "version": 1, "rows_in": 3, "inserted": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    # Issue 12: the old `seconds >= 0` could not fail. The load is timed inside the command: more
    # than nothing, less than the whole process took; every row in is accounted for.
    assert isinstance(out["seconds"], float) and 0 < out["seconds"] < wall
    assert out["rows_in"] == out["inserted"] + out["updated"] + out["unchanged"] + out["rejected"]


def test_a_second_load_of_the_same_file_counts_its_rows_unchanged(lake_dir, tmp_path, etl_cli):
    f = write_csv(tmp_path / "a.csv", [sr_row(1), sr_row(2)])
    etl_cli("load", "service_requests", str(f), check=True)
    out = last_json(etl_cli("load", "service_requests", str(f), "--json", check=True))
    assert (out["version"], out["rows_in"], out["inserted"], out["updated"], out["unchanged"]) == (1, 2, 0, 0, 2)


def test_load_is_quiet_when_not_on_a_terminal(lake_dir, tmp_path, etl_cli):
    proc = etl_cli("load", "service_requests", str(write_csv(tmp_path / "a.csv", [sr_row(1)])), "--json", check=True)
    assert proc.stderr == ""


def test_load_works_on_an_empty_lake_with_format_given(lake_dir, tmp_path, etl_cli):
    f = write_csv(tmp_path / "a.csv", [sr_row(1)])
    assert last_json(etl_cli("load", "service_requests", str(f), "--format", "plain", "--json", check=True))["inserted"] == 1
    bad = etl_cli("load", "service_requests", str(f), "--format", "boston311")
    assert bad.returncode == 2 and "lacks columns the boston311 format needs" in bad.stderr


def test_status_json_lists_every_dataset(lake_dir, tmp_path, etl_cli):
    etl_cli("load", "service_requests", str(write_csv(tmp_path / "a.csv", [sr_row(1)])), check=True)
    out = last_json(etl_cli("status", "--json", check=True))
    by_name = {d["name"]: d for d in out["datasets"]}
    assert set(by_name) >= {"service_requests", "plow_activity", "volunteer_signups"}
    sr = by_name["service_requests"]
    assert (sr["version"], sr["rows"], sr["outcome"]) == (1, 1, "published") and sr["last_load"]
    assert by_name["volunteer_signups"]["version"] is None


def test_versions_and_rejects(lake_dir, tmp_path, etl_cli):
    etl_cli("load", "service_requests", str(write_csv(tmp_path / "a.csv", [sr_row(1)])), check=True)
    etl_cli("load", "service_requests", str(write_csv(tmp_path / "b.csv", [sr_row(2), sr_row(3, status="?")])), check=True)
    versions = last_json(etl_cli("versions", "service_requests", "--json", check=True))["versions"]
    assert [(v["version"], v["rows"], v["inserted"], v["rejected"]) for v in versions] == [(1, 1, 1, 0), (2, 2, 1, 1)]
    rej = last_json(etl_cli("rejects", "service_requests", "--version", "2", "--json", check=True))
    assert rej["rejected"] == 1 and rej["rows"][0]["line"] == 3 and "status" in rej["rows"][0]["reason"]
    assert "line 3: status" in etl_cli("rejects", "service_requests", check=True).stdout


def test_unknown_dataset_is_status_2(lake_dir, etl_cli):
    proc = etl_cli("versions", "nope")
    assert proc.returncode == 2 and "unknown dataset 'nope'" in proc.stderr
