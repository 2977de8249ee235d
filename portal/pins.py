"""Stable SODA paging: a pull that pages with $offset reads one data version from its first page to
its last (issue 18; docs/decisions/0017-soda-api.md).

Why a chain of offset -> version bindings in the shared cache: Socrata's clients send no cookie, no
If-None-Match and no version; each page differs from the previous only in $offset. So each page
served binds the *next* offset of the same query and client (offset + limit) to the version it read,
for PULSE_SODA_PIN_SECONDS, and a page whose offset is bound reads that version. A first page
(offset 0, or an offset nothing bound) reads the current version. Two identical pulls from one
address share a binding only if their pages interleave exactly; a late one starts its own chain at 0.
With the cache down (or PULSE_CACHE_TYPE=null) every page reads the current version, as before.
"""
from __future__ import annotations

import hashlib

import config
from portal import cache

# A binding once used is kept this long, not PULSE_SODA_PIN_SECONDS: a pull of a million rows in
# sodapy's default 1,000-row pages would otherwise leave a thousand live keys in a cache that holds
# a few thousand (FileSystemCache prunes past 5,000), crowding out the answers it keeps.
RETRY_SECONDS = 120


def _key(dataset: str, query: str, offset: int) -> str:
    digest = hashlib.blake2b(query.encode(), digest_size=16).hexdigest()
    return f"soda-pin:{dataset}:{digest}:{offset}"


def pinned_version(dataset: str, query: str, offset: int, limit: int, current: int | None) -> int | None:
    """The version this page reads (the one bound to its offset, else `current`), after binding the
    next page's offset to it. `query`: the request without its $offset, and who asks."""
    store = cache.backend()
    version = store.get(_key(dataset, query, offset)) if offset else None
    if isinstance(version, int):  # used: kept only long enough for the client to retry this page
        store.set(_key(dataset, query, offset), version, timeout=RETRY_SECONDS)
    else:
        version = current
    if version is not None and limit:
        store.set(_key(dataset, query, offset + limit), version, timeout=config.get_int("soda_pin_seconds"))
    return version
