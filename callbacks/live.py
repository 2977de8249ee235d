"""Live refresh, in the browser: poll /api/v1/version (ETag, 304 when nothing changed) and update the
version store only when a version changed (the page callbacks redraw on that); while the reader has
paused (WCAG 2.2.2) keep asking, hold what arrives and say "Paused — new data waiting"; resuming
releases it. One callback for the tick and the button, so the store and the bar never disagree.

Announcements are not a callback: assets/pulse.js compares the digest each redraw leaves on the
page's "data through" line and speaks at most once a minute (PULSE_ANNOUNCE_SECONDS, issue 16).
The functions live in assets/pulse.js."""
from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, clientside_callback

from layouts import _shell as shell

clientside_callback(
    ClientsideFunction("pulse", "live"),
    [Output(shell.LIVE_STORE, "data"), Output(shell.LIVE_STATUS, "children"), Output(shell.LIVE_TOGGLE, "children"),
     Output(shell.LIVE_TOGGLE, "aria-pressed")],
    [Input(shell.LIVE_POLL, "n_intervals"), Input(shell.LIVE_TOGGLE, "n_clicks")],
    State(shell.LIVE_STORE, "data"),
    prevent_initial_call=True,
)
