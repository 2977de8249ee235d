"""/volunteer: the volunteer finder inside the site (issue 17, item 5). The same server-rendered finder
as the embed (web/finder_page.py), a plain GET form, so it needs no plotly and searches by reloading
the page with the new query; the weekly count and the results redraw when a version lands
(callbacks/volunteer_finder.py). Below it, the snippet a partner pastes to embed the finder."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import dcc, html
from flask import request

from web import finder_page

FINDER = "finder-page"

dash.register_page(__name__, path=finder_page.PAGE_PATH, name="Volunteer finder", title="Volunteer finder \u00b7 Pulse",
                   description="Open volunteer opportunities near you that still need people, with calendar and JSON feeds.")


def finder(query: dict) -> dcc.Markdown:
    """The finder for `query` as one Markdown component holding its escaped HTML (as _shell.data_table does)."""
    view = finder_page.build_view(query)
    return dcc.Markdown(finder_page.fragment(view, finder_page.PAGE_PATH, request.url_root), dangerously_allow_html=True,
                        className="finder-md")


def layout(**query):
    search = urlencode({k: v for k, v in query.items() if v})
    return html.Div([
        html.Link(rel="stylesheet", href=finder_page.static_url("finder.css")),
        html.Div(id=FINDER, children=finder(query)),
        html.Section(className="finder-share", **{"aria-labelledby": "finder-embed-heading"}, children=[
            html.H2("Put this finder on your site", id="finder-embed-heading"),
            html.P("Paste this into your page: the finder shows this search, sizes itself to its content and keeps its "
                   "count live. No account or key is needed."),
            html.Pre(html.Code(finder_page.snippet(request.url_root, search)), tabIndex="0",
                     **{"aria-label": "Embed code"}),
        ]),
    ])
