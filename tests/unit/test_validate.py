"""etl/validate.py and etl/rules.py: the reject rules, and the plan that compiles them into one SELECT.

Each case runs the compiled plan over a one-row raw table of text, as a load does (STYLE habit 2:
a row that cannot be read is a reject with a reason naming the column and the value)."""
from __future__ import annotations

import json

import duckdb
import pytest

import datasets
from etl import formats, rules, validate
from tests.helpers import SR_HEADER, sr_row

SR = datasets.get("service_requests")
NYC = datasets.city("nyc")


def judge(row: dict, header: list[str] | None = None, fmt=None) -> dict:
    """The plan's answer for one raw row: typed values, `_reason`, `_notes`, `_raw`."""
    header = tuple(header or row)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'America/New_York'")
        validate.register_functions(con)
        con.execute("CREATE TABLE raw AS SELECT " + ", ".join(f"CAST(? AS VARCHAR) AS \"{h}\"" for h in header)
                    + ", 7 AS _line", [row.get(h) for h in header])
        plan = validate.plan(SR, fmt or formats.plain("service_requests", "csv"), header, NYC, 30, "raw", header[:1])
        cur = con.execute(plan.sql)
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))
    finally:
        con.close()


def test_a_good_row_has_no_reason_no_notes_and_keeps_no_raw_text():
    out = judge(sr_row(1))
    assert (out["_reason"], out["_notes"], out["_raw"], out["_line"]) == ("", "", None, 7)
    assert out["request_id"] == "1001" and out["latitude"] == 40.65 and out["created"].isoformat() == "2025-03-02T08:00:00-05:00"


@pytest.mark.parametrize(("change", "reason"), [
    ({"status": "Bogus"}, "status: 'Bogus' is not one of: Open, Assigned, In Progress, Pending, Started, Email Sent, "
                          "Draft, Unspecified, Closed"),
    ({"latitude": "north"}, "latitude: cannot read 'north' as number"),
    ({"latitude": "95"}, "latitude: 95.0 is above the maximum 90; coordinates (95.0, -73.95) are outside the New York City bounds"),
    ({"longitude": "-181"}, "longitude: -181.0 is below the minimum -180; "
                            "coordinates (40.65, -181.0) are outside the New York City bounds"),
    ({"request_id": "  "}, "request_id is required"),
    ({"created": "2999-01-01T00:00:00Z"}, "created: 2998-12-31 19:00:00-05 is in the future"),
    ({"closed": "2025-01-01T00:00:00-05:00"}, "closed before created"),
    ({"incident_zip": "1234"}, "incident_zip: '1234' does not match ^[0-9]{5}$"),
])
def test_each_rule_rejects_with_a_reason_naming_the_column_and_value(change, reason):
    row = {**sr_row(1), "incident_zip": "11215", **change}
    out = judge(row)
    assert out["_reason"] == reason
    assert json.loads(out["_raw"]) == {"request_id": row["request_id"]}  # the carried raw values, for the quarantine


def test_columns_the_file_lacks_are_not_provided_and_read_as_null():
    plan = validate.plan(SR, formats.plain("service_requests", "csv"), tuple(SR_HEADER), NYC, 30, "raw", ())
    assert plan.provided == tuple(SR_HEADER)
    assert judge(sr_row(1))["due"] is None


def test_a_missing_required_source_column_is_not_this_format():
    with pytest.raises(Exception, match="lacks columns the plain format needs: status"):
        judge({k: v for k, v in sr_row(1).items() if k != "status"})


def test_double_encoded_text_is_repaired_and_noted():
    out = judge(sr_row(1, complaint_type="CafÃ© noise"))
    assert (out["complaint_type"], out["_notes"], out["_reason"]) == ("Café noise", "fixed:complaint_type", "")


def test_free_text_is_masked_and_noted_per_column_and_kind():
    """Issue 13: phone numbers and e-mail addresses in a declared free-text column never reach the lake."""
    out = judge(sr_row(1, resolution_description="Call Ana at 617-555-0123 or ana@city.example.",
                       descriptor="Resident: ring 617 555 0199"))
    assert out["resolution_description"] == "Call Ana at [phone removed] or [email removed]."
    assert out["descriptor"] == "Resident: ring [phone removed]"
    assert set(out["_notes"].split(",")) == {"phone:descriptor", "phone:resolution_description", "email:resolution_description"}
    assert out["_reason"] == ""


def test_columns_not_declared_free_text_are_published_as_read():
    out = judge(sr_row(1, incident_address="212-639-9675 Main St", resolution_description="Closed 2022-01-19 11:42:16"))
    assert (out["incident_address"], out["resolution_description"], out["_notes"]) == (
        "212-639-9675 Main St", "Closed 2022-01-19 11:42:16", "")


def test_required_rule_of_a_column_the_file_does_not_provide():
    # A file without the column cannot be read as holding it: the rule fires for every row.
    assert rules.column_rules(SR.column("status"), '"status"', '"t:status"', None, None, "2030-01-01") == [
        ('"status" IS NULL AND NULL IS NULL ', "'status is required'"),
        ('"status" IS NOT NULL AND "status" NOT IN (\'Open\', \'Assigned\', \'In Progress\', \'Pending\', \'Started\', '
         "'Email Sent', 'Draft', 'Unspecified', 'Closed')",
         "'status: ' || '''' || left(CAST(\"status\" AS VARCHAR), 60) || '''' || ' is not one of: Open, Assigned, "
         "In Progress, Pending, Started, Email Sent, Draft, Unspecified, Closed'"),
    ]


def test_row_rules_check_bounds_only_when_coordinates_are_provided():
    assert [r[1] for r in rules.row_rules(SR, NYC, ("request_id",))] == ["'closed before created'"]
    assert len(rules.row_rules(SR, NYC, ("request_id", "latitude"))) == 2
