"""/snow: one storm's plowing, hour by hour since it began; the page people hammer during a storm,
so every panel reads a cached, version-keyed query (?storm_id=&hours=&target_hours=)."""
from __future__ import annotations

import dash
from dash import dcc

from layouts import _shell as shell
from portal import filter_messages, filters, freshness, panels_snow, queries, queries_snow

PAGE = "snow"
STORM, HOURS, TARGET = "snow-storm", "snow-hours", "snow-target"
ASOF, URL_SYNC, NOTE = "snow-asof", "snow-url-sync", "snow-filter-note"
CONTROLS = {"storm_id": (STORM, "value"), "hours": (HOURS, "value"), "target_hours": (TARGET, "value")}

dash.register_page(__name__, path="/snow", name="Snow", title="Snow operations \u00b7 Pulse",
                   description="How fast plows reach every street after a storm begins, by route priority and district.")


def _storm_label(s: dict) -> str:
    """"Storm Ava (2025-01-07)": the day it began in the city, as its id says (STORM-2025-01-07); the
    UTC day disagreed for an evening start (issue 16)."""
    started = freshness.local_day(s["started"]) if s.get("started") is not None else ""
    return f"{s.get('name') or s['storm_id']} ({started})"


def _whole_input(label: str, control_id: str, param, value: int | None, placeholder: str = ""):
    """A number box bounded by the named query parameter it feeds (portal/queries*.py)."""
    return shell.field(label, control_id, dcc.Input(id=control_id, type="number", min=param.min, max=param.max, step=1,
                                                    value=value, debounce=True, placeholder=placeholder))


def layout(**query):
    p = filters.snow_params(query)
    storms = filters.storms()
    return shell.chart_page(PAGE, "Snow operations", "How quickly plows reach the city's streets after a storm begins. "
                          "Priority-1 routes (main roads, bus and emergency routes) are plowed first.", ASOF, URL_SYNC, "Choose the storm", [
            shell.choice(STORM, "Storm", [(s["storm_id"], _storm_label(s)) for s in storms], p["storm_id"],
                         placeholder="Latest storm"),
            # empty: the storm as of now (or its end), so a storm five hours old opens at hour five (issue 15)
            _whole_input("Show the storm at this many hours after it began", HOURS, queries_snow.HOURS, p["hours"],
                         placeholder="now"),
            _whole_input(f"Target hours to first pass (official: {panels_snow.official_target()}; another value is a what-if)", TARGET,
                         queries.TARGET_HOURS, p["target_hours"]),
            shell.filter_note(NOTE, filter_messages.note(PAGE, p)),
    ], p)
