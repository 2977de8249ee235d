"""When each row entered the lake and when it last changed: two system columns every data file
carries beside the declared ones, `_created_at` and `_updated_at` (issue 18: Socrata's `:created_at`
and `:updated_at`, which scripts use to pull only what changed since their last run).

Why stamped per row at write time, not derived from versions: a data file is rewritten whole when
one of its rows changes (copy-on-write, etl/upsert.py) or when compaction merges it, so the version
that wrote a file says nothing about when each of its rows last changed. The upsert knows: a new key
gets the load's time in both, a changed row keeps its `_created_at` and gets the load's time in
`_updated_at`, a row carried over keeps both. Not declared columns: validation, the data dictionary,
downloads and the rows API never see them; the SODA API shows them as system fields. Files written
before the stamps existed read them as NULL (lake/relation.py, given `TYPED`).
"""
from __future__ import annotations

from datetime import UTC, datetime

CREATED = "_created_at"
UPDATED = "_updated_at"
TYPE = "TIMESTAMPTZ"
COLUMNS = (CREATED, UPDATED)
TYPED = dict.fromkeys(COLUMNS, TYPE)


def now() -> str:
    """This write's time as a SQL literal: one instant for every row a load stamps, to the millisecond
    (as SODA writes times: `$where=:updated_at > '<a time it showed>'` must not match that row again)."""
    t = datetime.now(UTC)
    return f"CAST('{t.replace(microsecond=t.microsecond // 1000 * 1000).isoformat()}' AS {TYPE})"

