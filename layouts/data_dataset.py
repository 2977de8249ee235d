"""/data/<dataset_id>: one dataset for a journalist: what it is, how fresh, every column, every version
and what each load changed, downloads, copy-paste examples and how to cite it."""
from __future__ import annotations

import dash
from dash import html
from flask import request

import datasets
from portal import catalog_page
from portal.quoting import clipped


def _named(dataset_id) -> str:
    """The dataset id from the path, as the title and the "no such dataset" text repeat it: its start
    only, as every echo of a visitor's value (portal/quoting.py)."""
    return clipped(str(dataset_id))


dash.register_page(__name__, path_template="/data/<dataset_id>", name="Dataset",
                   title=lambda dataset_id=None, **_: f"{_named(dataset_id)} \u00b7 Open data \u00b7 Pulse",
                   description="A dataset's description, data dictionary, versions, downloads and citation.")


def _table(caption: str, headers: list[str], rows: list[list], cls: str = "data") -> html.Div:
    """A table in a focusable scroll box, so a phone scrolls the table, not the page."""
    return html.Div(className="table-scroll", tabIndex="0", role="region", **{"aria-label": caption}, children=html.Table(className=cls, children=[
        html.Caption(caption),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in headers])),
        html.Tbody([html.Tr([html.Th(r[0], scope="row"), *[html.Td(v) for v in r[1:]]]) for r in rows]),
    ]))


def _base_url() -> str:
    try:
        return request.url_root
    except RuntimeError:  # outside a request (tests calling the layout)
        return "http://127.0.0.1:8050/"


def layout(dataset_id: str | None = None, version: str | None = None, **_):
    if dataset_id not in datasets.datasets():
        return html.Div([html.H1("No such dataset"),
                         html.P(["There is no dataset called \u201c", _named(dataset_id), "\u201d. See ",
                                 html.A("the catalog", href="/data"), "."])])
    ds = datasets.get(dataset_id)
    fresh = catalog_page.freshness(dataset_id)
    health = fresh["health"]
    versions = catalog_page.history(dataset_id)
    # ?version=N (the citation's link) pins the downloads, examples, row count and citation to that
    # version, or to the nearest kept one when retention removed it (catalog_page.pinned, issue 15)
    pin = catalog_page.pinned(dataset_id, version)
    latest, current = pin["current"], pin["version"]
    base = _base_url()
    examples = catalog_page.examples(dataset_id, current, base)
    n = lambda v: "" if v is None else f"{v:,}"  # noqa: E731
    return html.Div([
        html.P(html.A("\u2190 All datasets", href="/data")),
        html.H1(ds.title),
        html.P(ds.description, className="intro"),
        html.Dl(className="facts", children=[
            html.Dt("Dataset id"), html.Dd(html.Code(dataset_id)),
            html.Dt("Publisher"), html.Dd(f"{ds.publisher} ({ds.contact})"),
            html.Dt("Licence"), html.Dd(html.A(ds.licence_name, href=ds.licence_url)),
            html.Dt("Updated"), html.Dd(ds.update_cadence),
            html.Dt("Freshness"), html.Dd(fresh["words"], className="overdue" if fresh["overdue"] else "fresh"),
            html.Dt("Current version"), html.Dd(f"v{latest}" if latest else "not loaded"),
            html.Dt("Rows"), html.Dd(n(health.get("rows")) if current == latest else
                                     f"{n(pin['rows'])} in version {current} ({n(health.get('rows'))} in version {latest})"),
            html.Dt("Pipeline"), html.Dd(catalog_page.pipeline_words(health)),
            html.Dt("Primary key"), html.Dd(", ".join(ds.primary_key)),
        ]),
        html.H2("Download"),
        *([html.P(pin["note"], className="pin-note", role="note")] if pin["note"] else []),
        html.P(f"These links are pinned to version {current}; the current version is {latest}.")
        if current != latest else html.P(f"These links are pinned to version {current}, so a download never mixes versions."),
        html.Ul(className="downloads", children=[
            html.Li(html.A(f"{d['label']} (version {current})", href=d["url"], download="")) for d in
            catalog_page.downloads(dataset_id, current)
        ] + [html.Li(html.A("Rows API (JSON, filtered and paged)", href=f"/api/v1/datasets/{dataset_id}/rows"))]),
        html.H2("Cite this"),
        html.P(catalog_page.citation(dataset_id, base, version=current), className="cite"),
        html.H2("Use it from code"),
        *[html.Div(className="example", children=[html.H3(lang), html.Pre(html.Code(code), tabIndex="0", **{"aria-label": f"{lang} example"})])
          for lang, code in examples.items()],
        html.H2("Data dictionary"),
        _table(f"The {len(ds.public_columns)} public columns of {dataset_id}", ["Column", "Type", "Description", "Unit",
                                                                               "Allowed values", "Notes"],
               [[c["name"], c["type"], c["description"], c["unit"], c["allowed"], c["note"]]
                for c in catalog_page.dictionary(dataset_id)]),
        html.H2("Version history"),
        html.P("Every load publishes a new version; older versions stay downloadable with ?version=N while the "
               "retention policy keeps them. " + catalog_page.retention_words()),
        _table(f"The newest {len(versions)} versions and what each load changed",
               ["Version", "Published", "Rows", "Rows in", "Inserted", "Updated", "Unchanged", "Rejected"],
               [[f"v{v['version']}", v["published"], n(v["rows"]), n(v["rows_in"]), n(v["inserted"]),
                 n(v["updated"]), n(v["unchanged"]), n(v["rejected"])] for v in versions]),
    ])
