"""Phone numbers and e-mail addresses in free-text columns, found and masked in SQL (decision 0014).

Why SQL (RE2, through DuckDB's regexp functions) and not Python: masking runs inside validation's
one set-based pass over every row of a load, the ingest hot path; a Python function per value would
cost more than the rest of the load.

Why these shapes and no more: what a person types in a note is a North-American number written the
usual ways ((617) 555-0123, 617-555-0123, 617.555.0123, 1 617 555 0123, with an extension), an
international one (+44 20 7946 0958), or seven to ten bare digits right after "call", "phone", "tel"
or "fax". Bare digit runs with no such word stay: in the real exports they are BBLs (3076690029),
BINs (3235056), case numbers (101004113298) and coordinates, never phone numbers. The shapes are
specified case by case in tests/unit/test_masking.py and measured against every field of the real
sample files in tests/integration/test_free_text.py.
"""
from __future__ import annotations

from datasets.free_text import EMAIL_MASK, PHONE_MASK
from lake.sql import lit

# An extension: "x12", "ext. 12", "extension 1234".
_EXT = r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?"
# Area code and exchange start with 2-9 (NANP); the trailing \b refuses a longer run of digits.
_NANP_SEPARATED = r"\b(?:1[ .-]?)?[2-9]\d{2}[ .-][2-9]\d{2}[ .-]\d{4}" + _EXT + r"\b"
_NANP_PARENTHESES = r"(?:\b1[ .-]?)?\(\s?[2-9]\d{2}\s?\)[ .-]?[2-9]\d{2}[ .-]?\d{4}" + _EXT + r"\b"
# "+", a country code, then groups of digits: at least five more, in three groups or more.
_INTERNATIONAL = r"\+[1-9]\d{0,2}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}" + _EXT + r"\b"
# Bare or local digits only after a word that says a phone number follows; group 1 (the word) is kept.
_AFTER_A_WORD = (r"\b((?:call|phone|telephone|tel|fax|cell|mobile|ph)\.?:?\s*(?:(?:#|no\.?|number|at|is|on|us|me)\s*){0,2})"
                 r"(?:1[ .-]?)?(?:[2-9]\d{2}[ .-]?)?[2-9]\d{2}[ .-]?\d{4}" + _EXT + r"\b")
PHONE = "(?i)" + "|".join([_AFTER_A_WORD, _INTERNATIONAL, _NANP_PARENTHESES, _NANP_SEPARATED])
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"

KINDS = ("phone", "email")
_KEEP_THE_WORD = r"\1"  # RE2's rewrite: group 1 of _AFTER_A_WORD, empty for the other shapes


def found(kind: str, text: str) -> str:
    """SQL true where the text expression `text` holds a `kind` ("phone" or "email").

    Most notes hold neither, and a regular expression costs ~0.6 µs a value whatever its pattern:
    a contains() test per digit (or for '@') decides first, in a tenth of that."""
    if kind == "phone":
        digits = " OR ".join(f"contains({text}, '{d}')" for d in "0123456789")
        return f"(CASE WHEN {digits} THEN regexp_matches({text}, {lit(PHONE)}) ELSE false END)"
    if kind == "email":
        return f"(CASE WHEN contains({text}, '@') THEN regexp_matches({text}, {lit(EMAIL)}) ELSE false END)"
    raise ValueError(kind)


def masked(text: str) -> str:
    """SQL of `text` with every e-mail address and phone number replaced by its mask. E-mail first, so
    an address whose local part looks like a number goes as one address."""
    email_gone = f"regexp_replace({text}, {lit(EMAIL)}, {lit(EMAIL_MASK)}, 'g')"
    return f"regexp_replace({email_gone}, {lit(PHONE)}, {lit(_KEEP_THE_WORD + PHONE_MASK)}, 'g')"
