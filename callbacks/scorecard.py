"""Redraw the scorecard when the period changes or a new data version lands."""
from __future__ import annotations

from dash import Input, Output, State, callback

from callbacks import _panels
from datasets.kpis import PERIODS
from layouts import _shell as shell
from layouts import scorecard as page
from portal import freshness, kpi_values


@callback(
    [Output(page.ASOF, "children"), Output(page.OVERALL, "children"), Output(page.TILES, "children")],
    [Input(page.PERIOD, "data"), Input(shell.LIVE_STORE, "data")],
    State(page.AS_OF, "data"),
)
def update(period, _versions, as_of):
    """The page's own checks, as the API's (issue 13): an unknown period is the default month; an as_of
    the API refuses (not a date, out of range, in the future) is the API's message in place of the
    scores, never a silent switch to the current month (issue 15)."""
    period = period if isinstance(period, str) and period in PERIODS else "month"
    try:
        day = page.as_of_day(as_of)
    except ValueError as e:
        return freshness.as_of(kpi_values.datasets_read()), page.refused(str(e)), []
    card = kpi_values.scorecard(period, as_of=day, history=page.HISTORY)
    return freshness.as_of(kpi_values.datasets_read()), page.overall(card), page.tiles(card)


_panels.sync_url(page.URL_SYNC, page.CONTROLS)

_panels.toggles(page.PERIOD)
