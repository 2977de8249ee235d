"""Draw the scorecard when the period changes; when a new data version lands, rewrite each tile's
parts in place.

Why two callbacks: Dash 4 remounts every component whose parent's `children` are replaced (a new
React key per render), so rebuilding the tiles on each version moved focus to <body>, closed the open
"How is this computed?" and sent the presenter's next arrow key back to tile 1 (issue 16). The live
refresh therefore writes only the tiles' own parts (class, body, the inside of the details), by
pattern-matching ids; the tiles, their headings and their <details> stay the same elements.
"""
from __future__ import annotations

from dash import ALL, Input, Output, State, callback, ctx, no_update

from callbacks import _panels
from layouts import _shell as shell
from layouts import scorecard as page
from portal import freshness


@callback(
    [Output(page.ASOF, "children"), Output(page.OVERALL, "children"), Output(page.TILES, "children"),
     Output(page.SOURCES, "children")],
    Input(page.PERIOD, "data"),
    State(page.AS_OF, "data"),
    prevent_initial_call=True,  # the page's layout arrives with its tiles (layouts/scorecard.layout)
)
def update(period, as_of):
    """Another period: the tiles drawn anew (layouts/scorecard.rendered)."""
    return page.rendered(period, as_of)


def _parts(kind: str) -> list[str]:
    """The KPI ids of the tile parts of one kind now on the page, in the order Dash expects them."""
    return [o["id"]["kpi"] for o in ctx.outputs_list[3 + ("tile", "body", "how").index(kind)]]


@callback(
    [Output(page.ASOF, "children", allow_duplicate=True), Output(page.OVERALL, "children", allow_duplicate=True),
     Output(page.SOURCES, "children", allow_duplicate=True),
     Output(page.tile_id("tile", ALL), "className"), Output(page.tile_id("body", ALL), "children"),
     Output(page.tile_id("how", ALL), "children")],
    Input(shell.LIVE_STORE, "data"),
    [State(page.PERIOD, "data"), State(page.AS_OF, "data")],
    prevent_initial_call=True,
)
def refresh(versions, period, as_of):
    """A new version: the same tiles, their parts rewritten. A KPI that is not on the page (the period
    changed meanwhile) is left to `update`; one that left the scorecard keeps its last value."""
    freshness.catch_up(versions)
    card = page.card_for(period, as_of)
    tiles, bodies, hows = _parts("tile"), _parts("body"), _parts("how")
    if isinstance(card, str):
        return (page.data_line(), page.refused(card), no_update,
                [no_update] * len(tiles), [no_update] * len(bodies), [no_update] * len(hows))
    kpis = card["kpis"]
    pick = lambda ids, draw: [draw(kpis[i]) if i in kpis else no_update for i in ids]  # noqa: E731
    return (page.data_line(card), page.overall(card), page.sources_line(),
            pick(tiles, page.tile_class), pick(bodies, page.tile_body), pick(hows, page.tile_how))


_panels.sync_url(page.URL_SYNC, page.CONTROLS)

_panels.toggles(page.PERIOD)
