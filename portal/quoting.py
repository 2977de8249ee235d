"""How a value a visitor sent is repeated back in a message: quoted, and cut short.

Why: every error names the value it refused, and a message repeated the whole value. One callback
POST with a 20 MB filter value answered 315 MB (each of six panels said it twice) and took a worker
to 1.7 GB (issue 13, hostile review). A message needs only enough of the value to recognise it.
"""
from __future__ import annotations

import reprlib

QUOTED_CHARS = 60  # at most this many characters of a text value appear in a message

# For values that are not text (a list or a dict sent where a filter value goes): reprlib writes a
# bounded repr without building the whole one first, however large or deep the value.
_OTHER = reprlib.Repr()  # Python 3.11's Repr takes no arguments
_OTHER.maxlevel, _OTHER.maxlist, _OTHER.maxtuple, _OTHER.maxdict, _OTHER.maxset = 2, 4, 4, 4, 4
_OTHER.maxstring = _OTHER.maxother = _OTHER.maxlong = 20


def clipped(text: str, limit: int = QUOTED_CHARS) -> str:
    """`text` cut to `limit` characters, with "…" after when it was cut."""
    return text if len(text) <= limit else text[:limit] + "\u2026"


def quoted(value, limit: int = QUOTED_CHARS) -> str:
    """repr(value) as a message quotes it: a text cut to `limit` characters with "…" after."""
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else repr(value[:limit]) + "\u2026"
    return _OTHER.repr(value)
