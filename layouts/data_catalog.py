"""/data: the open data catalog, every dataset with its freshness, size, version and licence."""
from __future__ import annotations

import dash
from dash import html

from portal import catalog_page

dash.register_page(__name__, path="/data", name="Open data", title="Open data catalog \u00b7 Pulse",
                   description="Every dataset behind the dashboards: download it, query it, cite it.")


def layout(**_):
    rows = catalog_page.summary_rows()
    return html.Div([
        html.H1("Open data catalog"),
        html.P(["Every dataset behind the dashboards, free to download, query and reuse. Machine-readable: ",
                html.A("data.json", href="/data.json"), " (DCAT-US), ", html.A("datapackage.json", href="/datapackage.json"),
                " (Frictionless) and ", html.A("the API", href="/api"), "."], className="intro"),
        html.Div(className="table-scroll", tabIndex="0", role="region", **{"aria-label": "Datasets"}, children=html.Table(className="data catalog", children=[
            html.Caption("Datasets"),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                ("Dataset", "Publisher", "Updated", "Freshness", "Version", "Rows", "Licence")])),
            html.Tbody([html.Tr([
                html.Th(scope="row", children=[html.A(r["title"], href=f"/data/{r['name']}"), html.Br(),
                                               html.Small(r["description"][:160] + ("\u2026" if len(r["description"]) > 160 else ""))]),
                html.Td(r["publisher"]), html.Td(r["cadence"]),
                html.Td(html.Span(("Overdue. " if r["overdue"] else "On schedule. ") + r["freshness"].split(";")[0] + ".",
                                  className="overdue" if r["overdue"] else "fresh")),
                html.Td(f"v{r['version']}" if r["version"] else "not loaded"), html.Td(f"{r['rows']:,}"),
                html.Td(r["licence"]),
            ]) for r in rows]),
        ])),
    ])
