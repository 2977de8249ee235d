"""Live refresh, in the browser: poll /api/v1/version (ETag, 304 when nothing changed), update the
version store only when a version changed (the page callbacks redraw on that), announce it in the
aria-live region, and let the reader pause it (WCAG 2.2.2). The functions live in assets/pulse.js."""
from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, clientside_callback

from layouts import _shell as shell

clientside_callback(
    ClientsideFunction("pulse", "pollVersion"),
    Output(shell.LIVE_STORE, "data"),
    Input(shell.LIVE_POLL, "n_intervals"),
    State(shell.LIVE_STORE, "data"),
    prevent_initial_call=True,
)

clientside_callback(
    ClientsideFunction("pulse", "announce"),
    [Output(shell.LIVE_ANNOUNCE, "children"), Output(shell.LIVE_STATUS, "children")],
    Input(shell.LIVE_STORE, "data"),
    prevent_initial_call=True,
)

clientside_callback(
    ClientsideFunction("pulse", "togglePause"),
    [Output(shell.LIVE_POLL, "disabled"), Output(shell.LIVE_TOGGLE, "children"), Output(shell.LIVE_TOGGLE, "aria-pressed")],
    Input(shell.LIVE_TOGGLE, "n_clicks"),
    prevent_initial_call=True,
)
