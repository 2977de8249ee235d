"""Dashboard panels: a chart's data, figure, one-sentence summary and table, from one definition.

Why one definition per panel: the chart, its text summary, its "view as table" and its "download
this data" CSV must all show exactly the same numbers, so they all come from the same DataFrame,
computed once by a cached named query (portal/queries.py, keyed by data version). No Dash here:
callbacks/ turns a PanelView into component properties, and api/charts.py serves the CSV.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pandas as pd

import config
from portal import cache, figures, geo, queries, wording
from portal.quoting import clipped, quoted
from portal.reader import QueryError, QueryTimeout, QueryTooBig, read_pool

TABLE_ROWS = 200  # the on-page table shows at most this many rows; the CSV always has them all
MESSAGE_CHARS = 400  # a panel's message says what was wrong in at most this many characters
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Panel:
    """One chart. `data(params)` returns the frame everything else is derived from; `params` names
    the page filters the panel reads (its URL query and CSV link carry exactly those); `queries` names
    the named queries `data` runs, so the datasets it shows are read off them, never listed by hand
    (tests/integration/test_dashboard_callbacks.py checks the list against what `data` runs)."""

    id: str
    page: str
    title: str
    params: tuple[str, ...]
    data: Callable[[dict], pd.DataFrame]
    figure: Callable[[pd.DataFrame, dict], object]
    summary: Callable[[pd.DataFrame, dict], str]
    empty: str = "No data matches these filters."
    columns: dict[str, str] = field(default_factory=dict)  # column -> heading; default: the column name
    off_table: tuple[str, ...] = ()  # columns too bulky for the on-page table (geometry); the CSV keeps them
    queries: tuple[str, ...] = ()
    height: int = 340  # px the chart's box keeps from the first paint (layouts/_shell.chart_card): its figure's height


@dataclass(frozen=True)
class PanelView:
    figure: dict
    summary: str
    columns: list[str]
    rows: list[list]
    total_rows: int
    csv_href: str
    ok: bool


_PANELS: dict[str, Panel] = {}


def register(*panels: Panel) -> None:
    for p in panels:
        if p.id in _PANELS and _PANELS[p.id] is not p:
            raise ValueError(f"panel {p.id!r} is defined twice")
        _PANELS[p.id] = p


def _load() -> None:
    from portal import panels_311, panels_snow, panels_volunteers  # noqa: F401  (they register)


def get(panel_id: str) -> Panel:
    _load()
    return _PANELS[panel_id]


def for_page(page: str) -> list[Panel]:
    _load()
    return [p for p in _PANELS.values() if p.page == page]


def query_frame(name: str, **params) -> pd.DataFrame:
    """A cached named query as a DataFrame (None-valued parameters mean "no filter")."""
    results, _ = queries.cached(name, **{k: v for k, v in params.items() if v not in (None, "")})
    return pd.DataFrame(results.rows, columns=list(results.columns))


def frame(panel: Panel, params: dict) -> pd.DataFrame:
    return panel.data({k: params.get(k) for k in panel.params})


def datasets_read(panel: Panel) -> tuple[str, ...]:
    """The datasets the panel's named queries read ({dataset} placeholders, portal/queries.py)."""
    return tuple(dict.fromkeys(d for name in panel.queries for d in queries.get(name).datasets))


def page_datasets(page: str) -> tuple[str, ...]:
    """The datasets a page shows: those its panels read, in panel order (its "Showing ..." line)."""
    return tuple(dict.fromkeys(d for p in for_page(page) for d in datasets_read(p)))


def versions_read(panel: Panel) -> dict[str, int | None]:
    current = queries.reader().versions()
    return {n: current.get(n) for n in datasets_read(panel)}


def csv_href(panel: Panel, params: dict) -> str:
    query = {k: params[k] for k in panel.params if params.get(k) not in (None, "")}
    return f"/api/v1/charts/{panel.id}.csv" + (f"?{urlencode(query)}" if query else "")


def to_csv(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, date_format="%Y-%m-%dT%H:%M:%S%z")
    return buf.getvalue()


def _cell(value):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, bool):  # before int: True is an int, and "1" says nothing in a "more than" column
        return "yes" if value else "no"
    if isinstance(value, float):  # the page's one rounding of a measure (portal/wording.py)
        return wording.number(value)
    if isinstance(value, int):
        return f"{value:,}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _context() -> dict:
    """What a view depends on besides its filters, its data versions and the code (cache.key): the
    city (time zone of the summaries), the tile URL and the boundary files the maps draw."""
    files = {name: config.geo_dir() / name for name, _ in geo.LAYERS.values()}
    return {"city": config.get("city"), "tiles": config.get("map_tile_url"),
            "geo": {n: [str(f), f.stat().st_mtime if f.exists() else None] for n, f in files.items()}}


def render(panel: Panel, params: dict) -> PanelView:
    """Everything a chart card shows. A time-out, a rejected parameter or an empty result becomes a
    message in place of the chart, never a broken chart or a server error.

    Views are cached across workers like the queries they come from, keyed by panel, filters and
    data version: a redraw with nothing new (another reader, another worker) reads the finished
    figure instead of building it again (issue 4: building the figures was most of a callback).
    A failed view is not kept, so a time-out is retried."""
    if not panel.queries:  # a panel that names no query has no versions to key it by
        return _render(panel, params)
    key = cache.key(f"panel:{panel.id}", {"params": params, "context": _context()}, versions_read(panel))
    view, _ = cache.cached(key, lambda: _render(panel, params), keep=lambda v: v.ok)
    return view


def render_all(panels: list[Panel], params: dict) -> list[PanelView]:
    """`render` of each panel, in order, a few at a time: one panel's query runs in DuckDB (which
    releases the GIL) while another's figure is built, so a cold page is not the sum of its panels."""
    if len(panels) < 2:
        return [render(p, params) for p in panels]
    with read_pool(min(len(panels), 4)) as pool:
        return list(pool.map(lambda p: render(p, params), panels))


HELD = "Not drawn: a filter above needs a fix (the message under the filters says which and how)."


def held(panel: Panel, params: dict) -> PanelView:
    """What a panel shows while a filter of its page is wrong: a pointer to the one message beside
    the filters (portal/filter_messages.py), not the query's own words again (issue 16); an empty
    figure, so the pointer is read once, in the summary."""
    return PanelView(figures.message("").to_plotly_json(), HELD, [], [], 0, csv_href(panel, params), False)


def _failed(text: str, href: str) -> PanelView:
    text = clipped(text, MESSAGE_CHARS)
    return PanelView(figures.message(text).to_plotly_json(), text, [], [], 0, href, False)


def _render(panel: Panel, params: dict) -> PanelView:
    """The view, or a message in its place. A failure nobody named still becomes a message (logged):
    one panel must not take the page's other charts down with it (issue 13: an uncaught DuckDB
    out-of-memory error in one panel broke all six charts of /service-requests)."""
    href = csv_href(panel, params)
    try:
        df = frame(panel, params)
    except QueryTimeout:
        return _failed("This chart took too long to compute. Try a shorter date range or fewer filters.", href)
    except QueryTooBig:
        return _failed("This chart needs more memory than one chart may use. Try a shorter date range or fewer "
                       "filters.", href)
    except (QueryError, KeyError, ValueError) as e:
        return _failed(f"This chart cannot be drawn for these filters: {e}", href)
    except Exception:
        return _unexpected(panel, params, href)
    try:
        return _drawn(panel, params, df, href)
    except Exception:
        return _unexpected(panel, params, href)


def _drawn(panel: Panel, params: dict, df: pd.DataFrame, href: str) -> PanelView:
    shown = df.drop(columns=[c for c in panel.off_table if c in df.columns])
    headings = [panel.columns.get(c, c) for c in shown.columns]
    if df.empty:
        return PanelView(figures.message(panel.empty).to_plotly_json(), panel.empty, headings, [], 0, href, True)
    rows = [[_cell(v) for v in row] for row in shown.head(TABLE_ROWS).itertuples(index=False)]
    figure = panel.figure(df, params)  # a plotly Figure, or its JSON dict when built directly (the snow map)
    return PanelView(figure if isinstance(figure, dict) else figure.to_plotly_json(), panel.summary(df, params),
                     headings, rows, len(df), href, True)


def _unexpected(panel: Panel, params: dict, href: str) -> PanelView:
    log.exception("panel %s failed for %s", panel.id, {k: quoted(v) for k, v in params.items()})
    return _failed("This chart could not be drawn because of an error on our side; it has been logged.", href)

