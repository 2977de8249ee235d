"""etl/masking.py: which text in a free-text column is a phone number or an e-mail address, and what
it becomes (issue 13, "Free text published verbatim"; decision 0014).

Each case runs the SQL a load runs, in DuckDB. The negatives are the shapes of real values in the
sample files (../shared/data): dates and times as each export writes them, case and request numbers,
BBLs and BINs, addresses, coordinates, ZIP codes, counts and ranges."""
from __future__ import annotations

import duckdb
import pytest

from datasets.free_text import EMAIL_MASK, PHONE_MASK
from etl import masking
from lake.sql import lit

PHONE, EMAIL = PHONE_MASK, EMAIL_MASK


def run(text: str) -> tuple[bool, bool, str]:
    """(phone found, e-mail found, masked text) for one value, as the load's SQL computes them."""
    t = lit(text)
    return sql(f"SELECT {masking.found('phone', t)}, {masking.found('email', t)}, {masking.masked(t)}")


def sql(query: str) -> tuple:
    con = duckdb.connect()
    try:
        return con.execute(query).fetchone()
    finally:
        con.close()


@pytest.mark.parametrize("text, expected", [
    # North-American numbers as the real notes write them (values from the sample files)
    ("Regards   Rich DiMarzo  781-853-9016 ", f"Regards   Rich DiMarzo  {PHONE} "),  # Boston closure_reason
    ("call the Office of Environmental Investigations at 212-442-3372 to schedule",
     f"call the Office of Environmental Investigations at {PHONE} to schedule"),
    ("For complaint status, call (718) 722-2876.", f"For complaint status, call {PHONE}."),
    ("please call 311 (or 212-639-9675 if calling", f"please call 311 (or {PHONE} if calling"),
    ("please call (212) NEW-YORK (212-639-9675).", f"please call (212) NEW-YORK ({PHONE})."),
    ("The Trevor Lifeline, 866.4.U.TREVOR (866.488.7386), is", f"The Trevor Lifeline, 866.4.U.TREVOR ({PHONE}), is"),
    # the other usual ways of writing one
    ("212 639 9675", PHONE),
    ("(212)639-9675", PHONE),
    ("( 212 ) 639-9675", PHONE),
    ("1-800-555-1212", PHONE),
    ("1 (800) 555-1212", PHONE),
    ("+1 (212) 639-9675", PHONE),
    ("+1-212-639-9675", PHONE),
    # extensions go with the number
    ("212-639-9675 x123, then", f"{PHONE}, then"),
    ("212-639-9675x5", PHONE),
    ("(212) 639-9675 ext. 12", PHONE),
    ("212.639.9675 extension 4410", PHONE),
    # international
    ("+44 20 7946 0958", PHONE),
    ("+33 1 23 45 67 89", PHONE),
    ("+49 (30) 1234 5678", PHONE),
    # bare or local digits only after a word that announces a number; the word stays
    ("call 2126399675", f"call {PHONE}"),
    ("Tel: 639-9675", f"Tel: {PHONE}"),
    ("phone 6399675", f"phone {PHONE}"),
    ("Phone #: 212-639-9675", f"Phone #: {PHONE}"),
    ("call us at 639-9675", f"call us at {PHONE}"),
    ("FAX no. 212 6399675", f"FAX no. {PHONE}"),
    ("cell: 1 212 639 9675", f"cell: {PHONE}"),
    # every occurrence
    ("212-639-9675 or 718-520-4974", f"{PHONE} or {PHONE}"),
])
def test_a_phone_number_is_masked(text, expected):
    assert run(text) == (True, False, expected)


@pytest.mark.parametrize("text, expected", [
    ("Please contact us  envisionwilliamsburg@wiggiomail.com if you're interested",  # the volunteer summary
     f"Please contact us  {EMAIL} if you're interested"),
    ("first.last+311@dep.nyc.gov", EMAIL),
    ("write to A_B-c@mail.city.example.org.", f"write to {EMAIL}."),
    ("a@b.co and c@d.org", f"{EMAIL} and {EMAIL}"),
])
def test_an_email_address_is_masked(text, expected):
    assert run(text) == (False, True, expected)


def test_both_in_one_value_are_masked_and_both_found():
    assert run("Email jo@city.example or call 617-555-0123") == (True, True, f"Email {EMAIL} or call {PHONE}")


@pytest.mark.parametrize("text", [
    # dates and times as the exports write them
    "03/11/2011 04:33:47 PM", "2022-01-19 11:42:16", "2013-10-31T02:08:00.000", "2014-01-03T10:21:00-06:00",
    "2025-12-26T19:01:45.123456+00:00", "Case Closed. Closed date : Wed Jan 19 11:42:16 EST 2022 Resolved",
    "weekdays from 9AM to 5PM", "March 17 2011", "2011-2012 school year", "011/2012", "1766482619000",
    # case, request and service numbers
    "101004113298", "Duplicate of case 101004120177", "14-00684314", "52345678", "SR 311-12345678", "SNW-409",
    "490676cb-4563-4fa1-9374-8379abcdef12", "971e6018277a5c84", "220102_1616",
    # BBLs and BINs (10 and 7 bare digits), state-plane coordinates
    "3076690029", "BBL 3076690029", "BIN 3235056", "1006187", "1006187, 234567",
    # addresses and ZIP codes
    "830 Fifth Avenue", "212 West 95th Street", "124 Gale Place", "Suite 300-1234", "5 22nd St\nNew York, NY 10010",
    "11432-0123", "99432-01234", "09 MANHATTAN", "Route 26", "Ward 20",
    # coordinates
    "(40.6326745532508, -73.89124182389159)", "40.767711,-73.970516", "0.0263273639",
    # counts, ranges, money and the short numbers of city services
    "250-1000 volunteers", "1,000,000", "$1,234.56", "please call 311", "called 3 times", "phone calls 12",
    "+5 degrees", "+20 30",
    # an @ that is not an address
    "@NYCParks", "Meet @ 10am", "user@localhost",
])
def test_real_shapes_that_are_not_a_phone_or_an_address_stay(text):
    assert run(text) == (False, False, text)


def test_masking_twice_changes_nothing_more():
    """A download loaded back (the `plain` format) must not change again: the masks hold no digits and no '@'."""
    once = run("call 212-639-9675 or jo@city.example")[2]
    assert run(once) == (False, False, once)


def test_null_stays_null():
    assert sql(f"SELECT {masking.found('phone', 'NULL')}, {masking.masked('NULL')}") == (False, None)
