"""Bad input gets a documented outcome and loses nothing: rejects with reasons, or a one-line error
with exit status 2 and no new version (issue 2, 'bad-input cases')."""
import pytest

import lake
from etl.load import load_file, rejects
from tests.conftest import last_json
from tests.helpers import SR_HEADER, sr_row, write_csv


@pytest.fixture
def published(lake_dir, tmp_path):
    """A lake with one good version, to show that bad input leaves it current and intact."""
    load_file("service_requests", write_csv(tmp_path / "good.csv", [sr_row(i) for i in range(4)]))
    return lake.manifest("service_requests")


def assert_untouched(before):
    after = lake.manifest("service_requests")
    assert after.version == before.version and after.files == before.files


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", b"", "the file is empty"),
    ("blank.csv", b"\n\n  \n", "the file is empty"),
    ("garbage.csv", bytes(range(256)) * 40, "not a text file"),
    ("garbage.parquet", b"PAR1 this is not parquet", "unreadable as Parquet"),
    ("unknown.csv", b"foo,bar\n1,2\n", "unknown header for service_requests"),
    ("broken.json", b'[{"request_id": "1", ', "malformed JSON"),
    ("note.txt.pdf", b"%PDF-1.4", "unsupported file type"),
])
def test_unloadable_files_are_one_line_errors_with_status_2(published, tmp_path, etl_cli, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    proc = etl_cli("load", "service_requests", str(path))
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
    assert_untouched(published)


def test_missing_file_is_a_clear_error(published, etl_cli, tmp_path):
    proc = etl_cli("load", "service_requests", str(tmp_path / "nope.csv"))
    assert proc.returncode == 2 and "no such file" in proc.stderr


def test_truncated_file_rejects_only_the_cut_record(published, tmp_path):
    path = write_csv(tmp_path / "t.csv", [sr_row(i) for i in range(10, 14)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 25])  # cut mid-way through the last record
    r = load_file("service_requests", path)
    assert r.rows_in == 4 and r.inserted == 3 and r.rejected == 1
    assert rejects("service_requests", r.run_id)[0]["line"] == 5


def test_malformed_lines_are_rejected_rows_not_a_crash(published, tmp_path):
    good = ",".join(sr_row(20).values())
    text = ",".join(SR_HEADER) + "\n" + good + "\n" + "1,2,3\n" + good.replace("1020", "1021") + ",extra\n" + \
        ",".join(sr_row(22).values()) + "\n"
    path = tmp_path / "m.csv"
    path.write_text(text)
    r = load_file("service_requests", path)
    assert (r.rows_in, r.inserted, r.rejected) == (4, 2, 2)
    reasons = {q["line"]: q["reason"] for q in rejects("service_requests", r.run_id)}
    assert "missing columns" in reasons[3] and "too many columns" in reasons[4]


def test_latin1_input_decodes_correctly(published, tmp_path):
    path = write_csv(tmp_path / "l.csv", [sr_row(30, complaint_type="Café noise")], encoding="latin-1")
    assert load_file("service_requests", path).inserted == 1
    assert _value("complaint_type", "1030") == "Café noise"


def test_utf8_with_bom_decodes_correctly(published, tmp_path):
    path = write_csv(tmp_path / "b.csv", [sr_row(31, complaint_type="Señal dañada")], encoding="utf-8-sig")
    assert load_file("service_requests", path).inserted == 1
    assert _value("complaint_type", "1031") == "Señal dañada"


def test_an_undecodable_byte_rejects_its_row_only(published, tmp_path):
    path = write_csv(tmp_path / "u.csv", [sr_row(i) for i in range(40, 43)])
    path.write_bytes(path.read_bytes().replace(b"Missed Collection", "Missed Collectión".encode(), 1).replace(b"1041,", b"1041,\xff", 1))
    r = load_file("service_requests", path)
    assert (r.inserted, r.rejected) == (2, 1)
    assert "encoding" in rejects("service_requests", r.run_id)[0]["reason"]


def test_double_encoded_text_is_repaired(published, tmp_path):
    path = write_csv(tmp_path / "d.csv", [sr_row(44, complaint_type="CafÃ© noise")])
    r = load_file("service_requests", path)
    assert r.notes == {"complaint_type: double-encoded values repaired": 1}
    assert _value("complaint_type", "1044") == "Café noise"


def test_shuffled_columns_are_matched_by_name(published, tmp_path):
    header = list(reversed(SR_HEADER))
    path = write_csv(tmp_path / "s.csv", [sr_row(50, borough="QUEENS")], header=header)
    assert load_file("service_requests", path).inserted == 1
    assert _value("borough", "1050") == "QUEENS"


def test_duplicate_keys_in_one_file_keep_the_last_and_reject_the_rest(published, tmp_path):
    rows = [sr_row(60), sr_row(60, status="Closed", closed="2025-03-10T10:00:00-05:00"), sr_row(61)]
    r = load_file("service_requests", write_csv(tmp_path / "dup.csv", rows))
    assert (r.rows_in, r.inserted, r.rejected) == (3, 2, 1)
    superseded = rejects("service_requests", r.run_id)[0]
    assert (superseded["line"], superseded["reason"]) == (2, "duplicate key in this file: superseded by line 3")
    assert (superseded["raw"]["request_id"], superseded["raw"]["status"]) == ("1060", "Open"), "the losing row is kept"
    assert _value("status", "1060") == "Closed"


@pytest.mark.parametrize("override, reason", [
    ({"created": "not a date"}, "created: cannot read 'not a date' as datetime"),
    ({"created": ""}, "created is required"),
    ({"status": "Resolved"}, "status: 'Resolved' is not one of"),
    ({"latitude": "41.9", "longitude": "-87.6"}, "outside the New York City bounds"),
    ({"latitude": "north"}, "latitude: cannot read 'north' as number"),
    ({"closed": "2025-02-01T00:00:00-05:00", "status": "Closed"}, "closed before created"),
    ({"created": "2099-01-01T00:00:00Z"}, "is in the future"),
    ({"created": "0000-06-01T00:00:00Z"}, "is before the year 1"),  # DuckDB reads it; no export could write it
    ({"due": "0000-06-01T00:00:00Z"}, "(BC) 19:03:58-04:56:02 is before the year 1"),
    ({"borough": "GOTHAM"}, "borough: 'GOTHAM' is not one of"),
])
def test_invalid_values_are_rejected_with_their_reason(published, tmp_path, override, reason):
    r = load_file("service_requests", write_csv(tmp_path / "v.csv", [sr_row(70, **override), sr_row(71)]))
    assert (r.inserted, r.rejected) == (1, 1)
    got = rejects("service_requests", r.run_id)[0]
    assert reason in got["reason"] and got["line"] == 2 and got["raw"]["request_id"] == "1070"


def test_all_rows_rejected_publishes_nothing(published, tmp_path):
    r = load_file("service_requests", write_csv(tmp_path / "x.csv", [sr_row(80, status="Nope")]))
    assert (r.outcome, r.rejected) == ("no_change", 1)
    assert_untouched(published)


def test_json_and_ndjson_in_the_plain_schema_load(lake_dir, tmp_path, etl_cli):
    import json

    rows = [sr_row(i) for i in range(90, 93)]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "b.ndjson").write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    first = last_json(etl_cli("load", "service_requests", str(tmp_path / "a.json"), "--json", check=True))
    second = last_json(etl_cli("load", "service_requests", str(tmp_path / "b.ndjson"), "--json", check=True))
    assert (first["inserted"], second["unchanged"], second["rejected"]) == (3, 3, 1)


def _value(column, request_id):
    import duckdb

    m = lake.manifest("service_requests")
    return duckdb.connect().execute(
        f"SELECT {column} FROM read_parquet(?) WHERE request_id = ?", [lake.file_paths("service_requests", m), request_id]
    ).fetchone()[0]


def test_a_due_date_ahead_is_a_plan_not_an_error(published, tmp_path):
    """A due (expected) time may lie in the future; only event times may not (helper's finding)."""
    r = load_file("service_requests", write_csv(tmp_path / "due.csv", [sr_row(95, due="2030-01-01T00:00:00Z"),
                                                                     sr_row(96, due="2099-01-01T00:00:00Z")]))
    assert (r.inserted, r.rejected) == (1, 1)
    assert "more than ten years ahead" in rejects("service_requests", r.run_id)[0]["reason"]
