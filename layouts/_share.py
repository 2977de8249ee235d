"""Share a chart or a KPI tile (issue 17, item 1): the one small control every chart card and KPI
tile carries, and the links it offers, made in one place (decision 0022).

The control is server-made and static (`share(target_id)`); its fields are built and filled when it is
opened, from `/embed/<id>/share.json?<the view in the address bar>` (assets/pulse.js): the filters change in
the browser after the page is made, and the versions with every publish, so the links are computed
when asked for, by `links()` below, which the oEmbed answer and the embed page use too.
"""
from __future__ import annotations

import json
from html import escape
from urllib.parse import urlencode

import dash
from dash import html

from portal import embeds

RESIZE_SCRIPT = embeds.RESIZE_SCRIPT
EMBED_HEIGHT = {"chart": 560, "kpi": 420}  # the iframe's height before the embed reports its own


def page_path(page: str) -> str:
    """The address of a dashboard page, as Dash Pages registered it (layouts/<page>.py)."""
    for entry in dash.page_registry.values():
        if entry["module"].rsplit(".", 1)[-1] == page:
            return entry["path"]
    raise KeyError(page)


def _query(params: dict) -> str:
    return f"?{urlencode(params)}" if params else ""


def permalink(t: embeds.Target, state: dict, pins: str = "") -> str:
    """The full page with this view, scrolled to and naming this chart or tile (`chart=`/`kpi=`)."""
    named = {"kpi": t.key} if t.kind == "kpi" else {"chart": t.id}
    return page_path(t.page) + _query({**state, **named, **({"version": pins} if pins else {})})


def embed_url(t: embeds.Target, state: dict, pins: str = "", **options) -> str:
    return f"/embed/{t.id}" + _query({**state, **({"version": pins} if pins else {}), **options})


def csv_url(t: embeds.Target, state: dict, pins: str = "") -> str:
    """The data behind the view: a chart's CSV (pinnable), or the rows behind a KPI's number."""
    if t.kind == "kpi":
        return f"/api/v1/kpis/{t.key}/rows.csv" + _query(state)
    return f"/api/v1/charts/{t.id}.csv" + _query({**state, **({"version": pins} if pins else {})})


def snippet(base: str, t: embeds.Target, src: str, height: int | None = None) -> str:
    """The HTML a partner pastes: a full-width, titled iframe, and the script that sizes it to the
    height the embed reports ({"pulse-height": N}, docs in README "Share and embed")."""
    height = height or EMBED_HEIGHT[t.kind]
    return (f'<iframe src="{escape(base + src)}" title="{escape(t.title)} (Pulse)" width="100%" height="{height}" '
            f'style="border:0;width:100%" loading="lazy" data-pulse-embed></iframe>'
            f'<script src="{escape(base + RESIZE_SCRIPT)}" async></script>')


def links(base: str, t: embeds.Target, state: dict, versions: dict) -> dict:
    """Every link the share control offers for `t` in view `state` at `versions` (absolute: they
    leave the site)."""
    pins = embeds.pin_text(versions)
    query = _query(state)
    return {
        "title": t.title,
        "permalink": base + permalink(t, state),
        "pinned_permalink": base + permalink(t, state, pins),
        "embed": base + embed_url(t, state),
        "snippet": snippet(base, t, embed_url(t, state)),
        "pinned_snippet": snippet(base, t, embed_url(t, state, pins)),
        "png": f"{base}/embed/{t.id}.png{query}",
        "svg": f"{base}/embed/{t.id}.svg{query}",
        "csv": base + csv_url(t, state),
        "version": pins,
    }


FIELDS = (("permalink", "Link to this view"), ("pinned_permalink", "Link pinned to these data versions"),
          ("snippet", "Embed code"), ("pinned_snippet", "Embed code, pinned to these data versions"))
DOWNLOADS = (("png", "PNG image"), ("svg", "SVG image"), ("csv", "Data (CSV)"))


FORM = json.dumps({"fields": FIELDS, "downloads": DOWNLOADS}, separators=(",", ":"))


def share(target_id: str, title: str) -> html.Details:
    """The share control of one chart or KPI tile: closed, it is one small "Share" button. Its body
    (a labelled read-only field per link, the downloads and a polite status) is built in the browser
    when it is first opened, from `data-form` (assets/pulse.js): rendered up front, the six controls
    of the 311 page were 114 Dash components in the first render, which blocked its main thread
    (decision 0024)."""
    return html.Details(className="share", **{"data-share": target_id, "data-form": FORM}, children=[
        html.Summary("Share", **{"aria-label": f"Share \u201c{title}\u201d"}),
    ])
