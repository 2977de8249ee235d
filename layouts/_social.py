"""The <head> of a permalink (issue 17, items 3 and 4): the oEmbed discovery link, and Open Graph and
Twitter card metadata whose description is the view's summary sentence and whose images are that
exact view drawn on the server (/embed/<id>.png, 1200x628 and 800x418).

Added where Dash writes the page shell (its interpolate_index), as web/feedlinks.py adds the feeds.
A dashboard page names one chart or tile with `chart=`/`kpi=`; without, its first is described. The
summary costs the view's (cached) query; a view that cannot be read still gets the discovery link
and a title, never a broken page.
"""
from __future__ import annotations

import logging
import re
from html import escape
from urllib.parse import urlencode

from flask import request

from layouts import _embed_routes
from portal import embeds
from portal.reader import pinned

log = logging.getLogger(__name__)
DASH_SOCIAL = re.compile(r'<meta (?:property|name)="(?:og|twitter):[^"]*" content="[^"]*"\s*/?>\s*')


def head(base: str, path: str, args: dict) -> str:
    """The link and meta tags for the page at `path` with query `args` ('' for a page with no chart)."""
    try:
        t = _embed_routes.page_target(path, args)
    except KeyError:
        return ""
    url = base + path + (f"?{urlencode(args)}" if args else "")
    tags = [f'<link rel="alternate" type="application/json+oembed" title="{escape(t.title)}" '
            f'href="{escape(base)}/oembed?{escape(urlencode({"url": url, "format": "json"}))}">']
    state = embeds.view_state(t, args)
    summary = _summary(t, state, args.get("version"))
    images = {size: f"{base}/embed/{t.id}.png?{urlencode({**state, **_pin(args), 'size': size})}" for size in embeds.SIZES}
    w, h = embeds.SIZES["og"]
    meta = [("property", "og:type", "website"), ("property", "og:site_name", "Pulse"), ("property", "og:title", t.title),
            ("property", "og:description", summary), ("property", "og:url", url),
            ("property", "og:image", images["og"]), ("property", "og:image:width", str(w)),
            ("property", "og:image:height", str(h)), ("property", "og:image:alt", f"{t.title}: {summary}"),
            ("name", "twitter:card", "summary_large_image"), ("name", "twitter:title", t.title),
            ("name", "twitter:description", summary), ("name", "twitter:image", images["twitter"]),
            ("name", "twitter:image:alt", f"{t.title}: {summary}")]
    tags += [f'<meta {attr}="{name}" content="{escape(value)}">' for attr, name, value in meta]
    return "".join(tags)


def _pin(args: dict) -> dict:
    return {"version": args["version"]} if args.get("version") else {}


def _summary(t: embeds.Target, state: dict, version: str | None) -> str:
    try:
        from api import pins

        with pinned(pins.requested(t, version)):
            return embeds.shown(t, state).summary
    except Exception:  # the page still loads and says why on its own; the preview is only text then
        log.info("no summary for the preview of %s", t.id, exc_info=True)
        return f"{t.title}, from the city's performance data on Pulse."


def install(app) -> None:
    shell = app.interpolate_index

    def interpolate_index(**kwargs):
        ours = head(request.url_root.rstrip("/"), request.path, request.args.to_dict())
        metas = kwargs.get("metas", "")
        if ours:  # Dash Pages writes page-level og:/twitter: tags; a view's own replace them
            metas = DASH_SOCIAL.sub("", metas)
        kwargs["metas"] = metas + ours
        return shell(**kwargs)

    app.interpolate_index = interpolate_index

