"""`?version=` on a chart, a KPI tile or a page: the data versions a link pins (issue 17, item 2;
issue 15, item 5), checked the way the rows API checks its own (api/rowquery.choose_manifest): a
version never published is a 404, one retention removed a 410 naming the oldest version kept."""
from __future__ import annotations

import datasets
from api.errors import ApiError
from api.rowquery import choose_manifest
from portal import embeds


def requested(t: embeds.Target, raw: str | None) -> dict[str, int]:
    """{dataset: version} that `raw` pins for `t` (empty when no version is given)."""
    if raw is None or raw == "":
        return {}
    try:
        written = embeds.parse_pins(t, raw)
    except ValueError as exc:
        raise ApiError(400, str(exc), parameter="version") from None
    return {name: choose_manifest(datasets.get(name), number).version for name, number in written.items()}
