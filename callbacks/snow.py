"""Redraw the snow page when the storm or hours change or a new data version lands."""
from __future__ import annotations

from dash import Input, Output, callback

from callbacks import _panels
from layouts import _shell as shell
from layouts import snow as page
from portal import filters


@callback(
    [Output(page.ASOF, "children"), *_panels.outputs(page.PAGE, page.ASOF), Output(page.NOTE, "children")],
    [*[Input(cid, prop) for cid, prop in page.CONTROLS.values()], Input(shell.LIVE_STORE, "data")],
    prevent_initial_call=True,  # the page's layout arrives with its data (layouts/_shell.chart_page)
)
def update(storm_id, hours, target_hours, versions):
    params = filters.snow_params({"storm_id": storm_id, "hours": hours, "target_hours": target_hours})
    return _panels.redraw(page.PAGE, params, versions)


_panels.draw_when_seen(page.PAGE)

_panels.sync_url(page.URL_SYNC, page.CONTROLS)
