"""The frame every page shares, and the building blocks pages are made of (not a page itself: the
leading underscore keeps Dash Pages from registering it).

- `layout()`: skip link, header with navigation, the live-update bar (the data's own time in the
  city's zone, pause control, an aria-live region), the page container and a footer.
- `data_line(...)`, `sources_block(...)`: a page's first-screen "data through" line and, below its
  charts, the "Data and sources" line with the versions (issue 16: no internal names up top).
- `chart_card(panel)`: a panel's chart, its one-sentence summary, "view as table" and "download
  this data"; the ids come from the panel id, so callbacks/ derives them the same way.
- small labelled controls, so every filter has a visible label tied to its input.
"""
from __future__ import annotations

import json
from html import escape as html_escape

import dash
from dash import dcc, html

import config
from layouts._share import share
from portal import freshness
from web.site import NAV

LIVE_STORE = "data-version"
LIVE_POLL = "version-poll"
LIVE_TOGGLE = "live-toggle"
LIVE_STATUS = "live-status"
LIVE_ANNOUNCE = "live-announce"



def graph_id(panel_id: str) -> str:
    return f"{panel_id}-graph"


def summary_id(panel_id: str) -> str:
    return f"{panel_id}-summary"


def table_id(panel_id: str) -> str:
    return f"{panel_id}-table"


def download_id(panel_id: str) -> str:
    return f"{panel_id}-download"


def table_store_id(panel_id: str) -> str:
    """The store the page's callback writes a panel's table into; it is shown once its "view as
    table" is opened (decision 0021)."""
    return f"{panel_id}-table-data"


def table_toggle_id(panel_id: str) -> str:
    return f"{panel_id}-table-toggle"


def figure_id(panel_id: str) -> str:
    """The store the page's callback writes a panel's figure into; the graph draws it when it comes
    into view (assets/pulse.js, `offerFigure`; decision 0021)."""
    return f"{panel_id}-figure"


# Selection and zoom tools do nothing for these charts' readers but add ten tab stops per chart for a
# keyboard user (sixty on the 311 page); saving the image and resetting the axes stay.
MODEBAR_REMOVED = ["zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"]


BLANK = "blank"  # the `meta` of a blank figure: what a test (or a script) asks to know a chart is not drawn yet


def blank_figure(height: int) -> dict:
    """What a graph shows until its figure is drawn: nothing, at the chart's height. No axes: plotly
    draws empty axes with ticks and labels, ~50-150 ms each on the 311 page (decision 0021)."""
    return {"data": [], "layout": {"height": height, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "meta": BLANK,
                                   "xaxis": {"visible": False}, "yaxis": {"visible": False}}}


def _figure_height(figure) -> int | None:
    layout = (figure or {}).get("layout") if isinstance(figure, dict) else getattr(figure, "layout", None)
    height = layout.get("height") if isinstance(layout, dict) else getattr(layout, "height", None)
    return int(height) if height else None


def card_values(panel, view) -> list:
    """What a chart card shows of a PanelView: its figure, summary, table and download link, in the
    order of callbacks/_panels.outputs (the layout's first values and the page callback's are one)."""
    from portal.panels import TABLE_ROWS

    # the table as JSON: it waits in a store until its details are opened, and a store holds data, not components
    table = data_table(panel.title, view.columns, view.rows, view.total_rows, TABLE_ROWS).to_plotly_json()
    return [view.figure, view.summary, table, view.csv_href]


def chart_card(panel, view=None) -> html.Section:
    """One chart with its text alternative, its table and its download, under a heading; filled from
    `view` when the page renders with its data, else by the page's callback. The graph keeps the
    panel's height from the first paint (nothing below it moves when it is drawn) and draws its
    figure, kept in a store until then, when it comes near the screen (decision 0021)."""
    figure, summary, table, href = card_values(panel, view) if view is not None else (None, "Loading\u2026", None, "#")
    # The figure's own height when the page arrives with it (portal/figures.py sizes each for its legend
    # and labels), else the panel's: the box the graph keeps from the first paint to drawn.
    height = _figure_height(figure) or panel.height
    heading = f"{panel.id}-heading"
    # The height as a CSS variable on the card: the graph's own element is replaced when plotly.js has loaded.
    return html.Section(className="card", style={"--chart-height": f"{height}px"}, **{"aria-labelledby": heading}, children=[
        html.H2(panel.title, id=heading),
        html.P(id=summary_id(panel.id), className="summary", children=summary),
        dcc.Graph(id=graph_id(panel.id), className="chart", figure=blank_figure(height),
                  config={"displaylogo": False, "toImageButtonOptions": {"filename": panel.id},
                          "modeBarButtonsToRemove": MODEBAR_REMOVED}),
        html.Details(id=table_toggle_id(panel.id), className="as-table", children=[
            html.Summary(f"View \u201c{panel.title}\u201d as a table"),
            html.Div(id=table_id(panel.id), className="table-wrap", tabIndex="0",
                     role="region", **{"aria-label": f"{panel.title}, table"}),
        ]),
        html.A("Download this data (CSV)", id=download_id(panel.id), className="download", href=href,
               **{"aria-describedby": heading}),
        share(panel.id, panel.title),
        dcc.Store(id=figure_id(panel.id), data=figure),
        dcc.Store(id=table_store_id(panel.id), data=table),
    ])


def data_table(caption: str, columns: list[str], rows: list[list], total: int, limit: int):
    """The "view as table" of a chart, as one Markdown component holding an escaped HTML table.
    Why not html.Table: a table of a few hundred Dash components made the renderer block the page
    for seconds (measured: 15-48 s for the snow page's four tables in headless Chromium); one
    component with the same <table>, <caption> and <th scope> costs nothing."""
    if not rows:
        return html.P("No rows.")
    return dcc.Markdown(table_html(caption, columns, rows, total), dangerously_allow_html=True, className="table-md")


def table_html(caption: str, columns: list[str], rows: list[list], total: int) -> str:
    """An escaped HTML table with its caption and column headers (and a note when `rows` is a part
    of `total`): the dashboards' and the embeds' "view as table" (layouts/_embed.py)."""
    esc = html_escape
    head = "".join(f'<th scope="col">{esc(str(c))}</th>' for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    note = "" if total <= len(rows) else f"<p>First {len(rows):,} of {total:,} rows; the CSV has them all.</p>"
    return (f'{note}<table class="data"><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def field(label: str, control_id: str, control, hint: str | None = None) -> html.Div:
    """A visible label tied to its control (and an optional hint read with it)."""
    extra = [html.Small(hint, id=f"{control_id}-hint", className="hint")] if hint else []
    return html.Div(className="field", children=[html.Label(label, htmlFor=control_id), control, *extra])


def choice(control_id: str, label: str, options: list, value, *, placeholder: str = "All") -> html.Div:
    """A text box with suggestions (a native datalist): labelled by its <label>, typed or picked by
    keyboard, and its value shows in the URL as written. Options are values or (value, label) pairs.
    Why not dcc.Dropdown: in Dash 4 its tab stop is an aria-hidden input and its name is its value,
    not its label (axe: aria-hidden-focus), so a screen reader hears "All" rather than "Borough"."""
    pairs = [list(o) if isinstance(o, tuple) else [o] for o in options]
    # The options as one attribute, made into <option>s when the box is first focused (assets/pulse.js):
    # as components, the 311 page's 225 were rendered by Dash before its charts (decision 0024).
    return html.Div(className="field", children=[
        html.Label(label, htmlFor=control_id),
        dcc.Input(id=control_id, type="search", list=f"{control_id}-options", value=value or "", debounce=True,
                  placeholder=placeholder, autoComplete="off", spellCheck=False, className="choice"),
        html.Datalist(id=f"{control_id}-options", **{"data-options": json.dumps(pairs, separators=(",", ":"))}),
    ])


def choice_options(datalist) -> list:
    """The (value, label) pairs a `choice`'s datalist offers (label None when it is the value)."""
    return [(o[0], o[1] if len(o) > 1 else None) for o in json.loads(datalist.to_plotly_json()["props"]["data-options"])]


def date_input(control_id: str, label: str, value: str) -> html.Div:
    """A date as text (YYYY-MM-DD, said in the label so screen readers hear it): it types, pastes and
    reads back exactly, unlike a calendar widget."""
    return field(f"{label} (YYYY-MM-DD)", control_id, dcc.Input(
        id=control_id, type="text", value=value, debounce=True, inputMode="numeric", pattern=r"\d{4}-\d{2}-\d{2}",
        minLength=10, maxLength=10, placeholder="YYYY-MM-DD", autoComplete="off"))


def filter_note(note_id: str, lines: list[str]) -> html.Div:
    """The one place a page says what is wrong with its filters (portal/filter_messages.py), inside the
    filter bar; a polite status, so a correction typed in a box is heard once, not from every chart."""
    return html.Div(id=note_id, className="filter-note", role="status", children=note_lines(lines))


def note_lines(lines: list[str]) -> list:
    return [html.P(line) for line in lines]


def option_id(group_id: str, value: str) -> dict:
    return {"group": group_id, "value": value}


def toggle_group(group_id: str, label: str, options: list[tuple[str, str]], value: str) -> html.Div:
    """A row of toggle buttons (aria-pressed) for one-of-a-few choices; the chosen value is kept in
    the dcc.Store `group_id` (callbacks/_panels.toggles keeps store and buttons in step).
    Why not dcc.RadioItems: in Dash 4 it renders labels with role=option around the inputs, which
    axe reports as nested-interactive, with no accessible name for the group."""
    label_id = f"{group_id}-label"
    return html.Div(className="field toggles", children=[
        html.Span(label, id=label_id, className="toggles-label"),
        html.Div(role="group", className="toggle-row", **{"aria-labelledby": label_id}, children=[
            html.Button(text, id=option_id(group_id, v), n_clicks=0, type="button", className="toggle",
                        **{"aria-pressed": "true" if v == value else "false"})
            for v, text in options
        ]),
        dcc.Store(id=group_id, data=value),
    ])


def sources_id(asof_id: str) -> str:
    return f"{asof_id}-sources"


def chart_page(page: str, title: str, intro: str, asof_id: str, url_sync_id: str, filters_label: str,
               controls: list, params: dict) -> html.Div:
    """A dashboard page: heading, "data through" line, a filter bar, a card per panel, and the
    "Data and sources" line, rendered with their data for `params` (the page's filters from its URL):
    the page arrives whole, its callback runs only when a filter or the data changes, and no text
    arrives later to push a chart down (decision 0021). The views are the callback's, cached by data
    version."""
    from portal import news, panels

    page_panels = panels.for_page(page)
    names = panels.page_datasets(page)
    return html.Div([
        page_header(title, intro, asof_id, data_line(freshness.data_words(names), news.digest(page, params))),
        html.Div(className="filters", role="search", **{"aria-label": filters_label}, children=controls),
        dcc.Store(id=url_sync_id),
        html.Div(className="cards", children=[chart_card(panel, view) for panel, view
                                              in zip(page_panels, panel_views(page, params), strict=True)]),
        sources_block(sources_id(asof_id), sources(freshness.sources(names))),
    ])


def panel_views(page: str, params: dict) -> list:
    """Each panel's view for the page's filters; while a filter is wrong the panels wait and point to
    the filter bar's message (portal/filter_messages.py). The layout and the page callback both ask."""
    from portal import filter_messages, panels

    page_panels = panels.for_page(page)
    if filter_messages.problems(page, params):
        return [panels.held(p, params) for p in page_panels]
    return panels.render_all(page_panels, params)


def page_header(title: str, intro: str, asof_id: str, asof="") -> html.Div:
    return html.Div(className="page-head", children=[
        html.H1(title),
        html.P(intro, className="intro"),
        html.P(id=asof_id, className="asof", children=asof),
    ])


def data_line(text: str, news: dict | None = None) -> html.Span:
    """The first-screen line ("Data through 04:22 EST; published 04:25 EST."), carrying in
    `data-news` what the announcer compares between two renders (portal/news.py, assets/pulse.js)."""
    extra = {"data-news": json.dumps(news, separators=(",", ":"))} if news else {}
    return html.Span(text, className="data-line", **extra)


def sources_block(block_id: str, children="") -> html.Section:
    """Where the versions a page shows are named, below its content, beside how to cite them."""
    heading = f"{block_id}-heading"
    return html.Section(className="sources", **{"aria-labelledby": heading}, children=[
        html.H2("Data and sources", id=heading),
        html.P(id=block_id, children=children),
    ])


def sources(rows: list[dict]) -> list:
    """'Service Requests (service_requests version 12, published 2026-11-20 04:25 EST) · ...', each
    linked to its catalog page, where the citation is."""
    out: list = ["Showing "]
    for i, r in enumerate(rows):
        if i:
            out.append("; ")
        if r["version"]:
            out += [html.A(r["title"], href=r["href"]),
                    f" ({r['name']} v{r['version']}, published {r['published']})"]
        else:
            out += [html.A(r["title"], href=r["href"]), f" ({r['name']}: not loaded)"]
    out.append(". To cite one, open it: its catalog page gives the citation and the pinned downloads.")
    return out


def live_bar() -> html.Div:
    """The data's own time, a pause control for the automatic refresh (WCAG 2.2.2), and the polite
    live region the announcer (assets/pulse.js) writes at most once a minute. `data-zone` is the
    city's zone, so the browser's clock reads in it too (one clock on a page)."""
    return html.Div(className="live-bar", children=[
        html.Span(id=LIVE_STATUS, children=freshness.headline(), **{"data-zone": freshness.zone_name()}),
        html.Button("Pause live updates", id=LIVE_TOGGLE, n_clicks=0, className="live-toggle",
                    **{"aria-pressed": "false"}),
        html.Div(id=LIVE_ANNOUNCE, className="visually-hidden", role="status",
                 **{"aria-live": "polite", "data-min-seconds": config.get("announce_seconds")}),
    ])


def layout() -> html.Div:
    """Called on every page load, so the versions the page starts from are current."""
    return html.Div(className="site", children=[
        html.A("Skip to main content", href="#main", className="skip-link"),
        html.Header(className="site-header", children=[
            html.A("Pulse", href="/", className="brand", **{"aria-label": "Pulse home: the city scorecard"}),
            html.Nav(**{"aria-label": "Main"}, children=html.Ul([
                html.Li(dcc.Link(text, href=href)) for href, text in NAV
            ])),
            live_bar(),
        ]),
        html.Main(id="main", tabIndex="-1", children=dash.page_container),
        html.Footer(className="site-footer", children=[
            html.P(["Open data from the city's operational systems. Every number links to the rows behind it; see ",
                    html.A("the open data catalog", href="/data"), ", ", html.A("the API", href="/api"), " and ",
                    html.A("data.json", href="/data.json"), "."]),
        ]),
        dcc.Store(id=LIVE_STORE, data=freshness.versions()),
        dcc.Interval(id=LIVE_POLL, interval=1000 * config.get_int("live_poll_seconds")),
    ])
