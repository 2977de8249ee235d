"""What a free-text column's declaration promises, in the tokens a load writes and the sentence the
catalog shows (decision 0014).

Why here and not in etl/: the write side masks and the read side describes the masking, and both
must say the same thing; declarations are the one package both import.
"""
from __future__ import annotations

PHONE_MASK = "[phone removed]"
EMAIL_MASK = "[email removed]"

NOTE = (f"Free text: phone numbers and e-mail addresses in it are replaced by {PHONE_MASK} and {EMAIL_MASK} "
        "when it is loaded.")


def dataset_note(ds) -> str:
    """One sentence naming a dataset's free-text columns, for catalogs that describe a dataset as a
    whole (DCAT-US has no column level); empty when it has none."""
    names = [c.name for c in ds.public_columns if c.free_text]
    if not names:
        return ""
    return (f"Free-text columns ({', '.join(names)}): phone numbers and e-mail addresses in them are replaced by "
            f"{PHONE_MASK} and {EMAIL_MASK} when they are loaded.")
