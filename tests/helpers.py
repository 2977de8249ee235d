"""Small builders for test input: files in the datasets' own (plain) schema, a Dash callback body."""
from __future__ import annotations

import csv
from pathlib import Path

SR_HEADER = ["request_id", "created", "closed", "status", "agency", "complaint_type", "borough", "latitude", "longitude"]


def sr_row(i: int, status: str = "Open", closed: str = "", **over) -> dict:
    row = {
        "request_id": str(1000 + i),
        "created": f"2025-03-{1 + i % 28:02d}T08:00:00-05:00",
        "closed": closed,
        "status": status,
        "agency": "DSNY",
        "complaint_type": "Missed Collection",
        "borough": "BROOKLYN",
        "latitude": "40.65",
        "longitude": "-73.95",
    }
    row.update(over)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None, encoding: str = "utf-8") -> Path:
    header = header or list(rows[0])
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def watch_cache(monkeypatch) -> list[tuple[str, dict, bool]]:
    """Record (name, versions, hit) of every portal.cache.get_or_compute call, so a test sees a hit
    happen rather than inferring it from a key it computed itself (issue 12)."""
    from portal import cache

    seen: list[tuple[str, dict, bool]] = []
    original = cache.get_or_compute

    def spy(name, params, versions, compute):
        value, hit = original(name, params, versions, compute)
        seen.append((name, versions, hit))
        return value, hit

    monkeypatch.setattr(cache, "get_or_compute", spy)
    return seen


# The pages router's callback as the portal's own pages POST it to /_dash-update-component: its
# body needs no state, so a test can send it as a browser does (tests of headers and CORS).
ROUTER_CALLBACK = {
    "output": ".._pages_content.children..._pages_store.data..",
    "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
    "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/data"},
               {"id": "_pages_location", "property": "search", "value": ""}],
    "changedPropIds": ["_pages_location.pathname", "_pages_location.search"],
}
