"""<link rel="alternate"> in the head of the pages the change feeds are about (issue 18, item 5): a
dataset's catalog page names its feed, the scorecard names each KPI's, so a feed reader given the
page's address finds them. Added where Dash writes the page shell (its interpolate_index), from the
declarations alone."""
from __future__ import annotations

from html import escape

from flask import request

import datasets
from datasets import kpis as kpi_decls

TYPES = (("atom", "application/atom+xml"), ("json", "application/feed+json"))


def links(path: str) -> str:
    """The link tags for the page at `path` (empty for a page with no feed)."""
    feeds: list[tuple[str, str]] = []
    parts = path.strip("/").split("/")
    if len(parts) == 2 and parts[0] == "data" and parts[1] in datasets.datasets():
        ds = datasets.get(parts[1])
        feeds = [(f"{ds.title}: new versions", f"/data/{ds.name}/changes")]
    elif path == "/":
        feeds = [(f"{k.name}: values and definition changes", f"/api/v1/kpis/{k.id}/changes") for k in kpi_decls.kpis().values()]
    return "".join(f'<link rel="alternate" type="{kind}" title="{escape(title)}" href="{escape(href)}.{ext}">'
                   for title, href in feeds for ext, kind in TYPES)


def install(app) -> None:
    shell = app.interpolate_index

    def interpolate_index(**kwargs):
        kwargs["metas"] = kwargs.get("metas", "") + links(request.path)
        return shell(**kwargs)

    app.interpolate_index = interpolate_index
