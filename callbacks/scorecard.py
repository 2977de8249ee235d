"""Redraw the scorecard when the period changes or a new data version lands."""
from __future__ import annotations

from datetime import date

from dash import Input, Output, State, callback

from callbacks import _panels
from layouts import _shell as shell
from layouts import scorecard as page
from portal import freshness, kpi_values


@callback(
    [Output(page.ASOF, "children"), Output(page.OVERALL, "children"), Output(page.TILES, "children")],
    [Input(page.PERIOD, "data"), Input(shell.LIVE_STORE, "data")],
    State(page.AS_OF, "data"),
)
def update(period, _versions, as_of):
    card = kpi_values.scorecard(period or "month", as_of=date.fromisoformat(as_of) if as_of else None,
                                history=page.HISTORY)
    return freshness.as_of(kpi_values.datasets_read()), page.overall(card), page.tiles(card)


_panels.sync_url(page.URL_SYNC, page.CONTROLS)

_panels.toggles(page.PERIOD)
