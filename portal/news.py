"""What a page announces when new data arrives, in the page's own terms (issue 16): the one count a
reader of that page follows ("New snow data: 14 more street segments plowed"), computed from the
same panel data the page draws, for the page's own filters. Never dataset or version names.

The page carries this digest beside its "data through" line; the browser compares it with the
previous one and speaks the difference at most once a minute (assets/pulse.js). A filter change
gives a new `key`, so it is a new baseline, not news. No Dash here.
"""
from __future__ import annotations

import json

import pandas as pd

from portal import panels


def _latest_sum(df: pd.DataFrame, column: str, order: str, group: str) -> int:
    """A running total per group (cumulative by `order`): the sum of each group's latest value."""
    return int(df.sort_values(order).groupby(group).tail(1)[column].sum())


# page -> (lead, panel, how to count its frame, what the count is of: (one, many))
PAGE_NEWS = {
    "snow": ("New snow data", "snow-progress", lambda df: _latest_sum(df, "segments_serviced", "hour", "route_priority"),
             ("street segment plowed", "street segments plowed")),
    "service_requests": ("New 311 data", "sr-volume", lambda df: int(df["requests"].sum()), ("request", "requests")),
    "volunteers": ("New volunteer data", "vol-by-day", lambda df: int(df["signups"].sum()), ("sign-up", "sign-ups")),
}


def digest(page: str, params: dict) -> dict | None:
    """{"lead", "key", "counts": {what: n}, "one": {what: its singular}} for a chart page, or None when the page has no count or
    its panel cannot be computed now (a time-out: nothing to announce, the chart says why)."""
    if page not in PAGE_NEWS:
        return None
    lead, panel_id, count, (one, many) = PAGE_NEWS[page]
    panel = panels.get(panel_id)
    try:
        df = panels.frame(panel, params)
    except Exception:  # noqa: BLE001  the panel itself reports the failure in its card
        return None
    key = json.dumps({k: params.get(k) for k in panel.params}, sort_keys=True, default=str)
    return {"lead": lead, "key": f"{page}:{key}", "counts": {many: 0 if df.empty else count(df)}, "one": {many: one}}
