"""What every page says about its data: which version it shows and how fresh that is.

The dashboards print these lines and poll /api/v1/version for a change; both read the reader's
state, so what a page says it shows is what its queries read.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import config
import datasets
from portal.reader import reader


def versions() -> dict[str, int | None]:
    return dict(reader().versions())


def local_time(iso: str | None) -> str:
    if not iso:
        return "unknown"
    zone = ZoneInfo(datasets.city(config.get("city")).timezone)
    return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def headline() -> str:
    """'Data as of <the newest publish>' across every dataset."""
    published = [p for p in reader().published_at().values() if p]
    return f"Data as of {local_time(max(published))}" if published else "No data loaded yet"


def as_of(names: tuple[str, ...] | list[str]) -> str:
    """'service_requests v12 (published 2026-11-20 14:05 EST), ...' for the datasets a page reads."""
    current, published = reader().versions(), reader().published_at()
    parts = []
    for name in names:
        v = current.get(name)
        parts.append(f"{name} v{v} (published {local_time(published.get(name))})" if v else f"{name}: not loaded")
    return "Showing " + "; ".join(parts) + "."
