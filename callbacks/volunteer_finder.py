"""Redraw the volunteer finder page (/volunteer) when a new data version lands, for the same search."""
from __future__ import annotations

from urllib.parse import parse_qsl

from dash import Input, Output, State, callback

from layouts import _shell as shell
from layouts import volunteer as page
from portal import freshness


@callback(Output(page.FINDER, "children"), Input(shell.LIVE_STORE, "data"), State("_pages_location", "search"),
          prevent_initial_call=True)
def refresh(versions, search):
    freshness.catch_up(versions)
    return page.finder(dict(parse_qsl((search or "").lstrip("?"))))
