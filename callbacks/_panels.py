"""What every chart page's callback does: render each panel of the page for the parameters, hand each
figure to its graph when the graph comes into view, and keep the URL query in step with the filters
so the view is a citable link."""
from __future__ import annotations

import json

from dash import ALL, ClientsideFunction, Input, Output, State, clientside_callback

from layouts import _shell as shell
from portal import filter_messages, freshness, news, panels


def outputs(page: str, asof_id: str | None = None) -> list[Output]:
    """Each panel's figure, summary, table and download; then, given the page's "as of" id, its "Data
    and sources" line (layouts/_shell.sources_block)."""
    out = []
    for p in panels.for_page(page):
        out += [Output(shell.figure_id(p.id), "data"), Output(shell.summary_id(p.id), "children"),
                Output(shell.table_store_id(p.id), "data"), Output(shell.download_id(p.id), "href")]
    return out + ([Output(shell.sources_id(asof_id), "children")] if asof_id else [])


def values(page: str, params: dict) -> list:
    """Each panel's outputs; while a filter is wrong the panels wait and point to the filter bar's message."""
    out = []
    page_panels = panels.for_page(page)
    for p, view in zip(page_panels, shell.panel_views(page, params), strict=True):
        out += shell.card_values(p, view)
    return out


def redraw(page: str, params: dict, seen: dict | None = None) -> list:
    """A chart page's outputs for its parameters: the "data through" line of the datasets its panels
    read (with the page's news digest), `values`, the "Data and sources" line, then what is wrong with
    the filters (shell.filter_note). `seen`: the versions the page's live store holds, read at least."""
    freshness.catch_up(seen)
    names = panels.page_datasets(page)
    line = shell.data_line(freshness.data_words(names), news.digest(page, params))
    return [line, *values(page, params), shell.sources(freshness.sources(names)), problems(page, params)]


def problems(page: str, params: dict) -> list:
    """The filter bar's message: one line per wrong filter, or nothing."""
    return shell.note_lines(filter_messages.note(page, params))


def draw_when_seen(page: str) -> None:
    """Each panel's figure goes from its store to its graph at once if the graph is on or near the
    screen, else when it is scrolled to (assets/pulse.js, `offerFigure`): a page draws the charts
    one can see, not all of them, before it answers a click. Its table (up to TABLE_ROWS rows,
    thousands of elements on /snow) is built once its "view as table" has been opened (decision 0021)."""
    for p in panels.for_page(page):
        clientside_callback(
            "function (clicks, table) { return clicks ? table : window.dash_clientside.no_update; }",
            Output(shell.table_id(p.id), "children"),
            Input(shell.table_toggle_id(p.id), "n_clicks"),
            Input(shell.table_store_id(p.id), "data"),
            prevent_initial_call=True,
        )
        clientside_callback(  # an initial call too: the page's layout arrives with its figures
            ClientsideFunction("pulse", "offerFigure"),
            Output(shell.graph_id(p.id), "figure"),
            Input(shell.figure_id(p.id), "data"),
            State(shell.graph_id(p.id), "id"),
        )


def sync_url(store_id: str, controls: dict[str, tuple[str, str]]) -> None:
    """Write the filters into the address bar (history.replaceState: no reload, no re-render), so a
    copied link restores this view; the page layout reads the same names back (assets/pulse.js)."""
    names = json.dumps(list(controls))
    clientside_callback(
        f"function() {{ return window.pulse.syncUrl({names}, Array.from(arguments)); }}",
        Output(store_id, "data"),
        [Input(cid, prop) for cid, prop in controls.values()],
    )


def toggles(group_id: str) -> None:
    """Keep a toggle group's store and its buttons' aria-pressed in step (layouts/_shell.toggle_group)."""
    clientside_callback(
        ClientsideFunction("pulse", "toggle"),
        [Output(group_id, "data"), Output(shell.option_id(group_id, ALL), "aria-pressed")],
        Input(shell.option_id(group_id, ALL), "n_clicks"),
        State(group_id, "data"),
        prevent_initial_call=True,
    )
