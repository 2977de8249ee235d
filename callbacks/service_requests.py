"""Redraw the 311 page when a filter changes or a new data version lands."""
from __future__ import annotations

from dash import Input, Output, callback

from callbacks import _panels
from layouts import _shell as shell
from layouts import service_requests as page
from portal import filters


@callback(
    [Output(page.ASOF, "children"), *_panels.outputs(page.PAGE, page.ASOF), Output(page.NOTE, "children")],
    [*[Input(cid, prop) for cid, prop in page.CONTROLS.values()], Input(shell.LIVE_STORE, "data")],
    prevent_initial_call=True,  # the page's layout arrives with its data (layouts/_shell.chart_page)
)
def update(start, end, borough, agency, complaint_type, period, versions):
    params = filters.sr_params({"start": start, "end": end, "borough": borough, "agency": agency,
                                "complaint_type": complaint_type, "period": period})
    return _panels.redraw(page.PAGE, params, versions)


_panels.draw_when_seen(page.PAGE)

_panels.sync_url(page.URL_SYNC, page.CONTROLS)

_panels.toggles(page.PERIOD)
