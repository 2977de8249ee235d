"""Routes of shared charts and KPI tiles (issue 17, items 2-4; decision 0022):

- `/embed/<id>?<view>[&version=][&border=0][&theme=dark]`: the embed page (layouts/_embed.py);
- `/embed/<id>.png|.svg?<view>[&version=][&size=og|twitter]`: the view as an image, drawn on the
  server (portal/embeds.preview_png), the social previews' og:image and twitter:image;
- `/embed/<id>/share.json?<view>`: what the share control offers (layouts/_share.links);
- `/oembed?url=<permalink>&maxwidth=&maxheight=&format=json`: a `rich` oEmbed 1.0 answer.

Only `/embed/...` may be framed by another site (web/headers.py). Bad input is a 4xx JSON answer.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Response, jsonify, request

import config
from api import httpcache, pins
from api.errors import ApiError, blueprint, check_params, read_errors
from layouts import _embed, _share
from portal import admission, embeds
from portal.quoting import quoted
from portal.reader import pinned, reader

bp = blueprint("embed", __name__)  # JSON: described in /openapi.json (api/openapi_embed.py)
# HTML pages and images, like the dashboards themselves: described in the README ("Share and embed")
pages_bp = blueprint("embed_pages", __name__)
ASSETS = Path(__file__).resolve().parents[1] / "assets"
OEMBED_WIDTH = 640  # the width an oEmbed answer states when the consumer gives no maxwidth
PROVIDER = "Pulse"


def _target(target_id: str) -> embeds.Target:
    try:
        return embeds.target(target_id)
    except KeyError:
        raise ApiError(404, f"no chart or KPI {quoted(target_id)} to embed") from None


def _view(t: embeds.Target, *options: str) -> tuple[dict, dict[str, int]]:
    """(view state, pinned versions) of this request, after refusing parameters `t` does not take."""
    check_params((*t.params, "version", *options), takes=f"this embed takes: {', '.join((*t.params, 'version', *options))}")
    return embeds.view_state(t, request.args), pins.requested(t, request.args.get("version"))


def _shown(t: embeds.Target, state: dict, versions: dict[str, int]) -> embeds.Shown:
    with pinned(versions), read_errors(), admission.read_slot():
        try:
            return embeds.shown(t, state)
        except (ValueError, KeyError) as exc:  # a KPI's period or as_of the scorecard refuses
            raise ApiError(400, str(exc).strip("'\"")) from None


def _asset(name: str) -> str:
    """An /assets URL fingerprinted with the file's time, as Dash links its own (served immutable)."""
    import dash

    return f"{dash.get_asset_url(name)}?m={(ASSETS / name).stat().st_mtime}"


@pages_bp.get("/embed/<target_id>")
@httpcache.cached(clock=httpcache.city_day, url=True)
def embed(target_id: str):
    t = _target(target_id)
    state, versions = _view(t, "border", "theme")
    theme = request.args.get("theme", "light")
    if theme not in _embed.THEMES:
        raise ApiError(400, f"theme must be one of {', '.join(_embed.THEMES)}, not {quoted(theme)}", parameter="theme")
    s = _shown(t, state, versions)
    base = request.url_root.rstrip("/")
    from app import plotly_basic_bundle

    bundle = plotly_basic_bundle()
    html = _embed.page(t, s, back=base + _share.permalink(t, state, embeds.pin_text(versions)),
                       canonical=base + _share.embed_url(t, state, embeds.pin_text(versions)), pinned=bool(versions),
                       theme=theme, border=request.args.get("border", "1") not in ("0", "false", "no"),
                       poll_seconds=config.get_int("live_poll_seconds"),
                       plotly_src=_asset(bundle) if bundle else None, asset=_asset)
    return Response(html, mimetype="text/html")


@pages_bp.get("/embed/<target_id>.<any(png, svg):kind>")
@httpcache.cached(clock=httpcache.city_day)
def image(target_id: str, kind: str):
    t = _target(target_id)
    state, versions = _view(t, "size")
    size = request.args.get("size", "og")
    if size not in embeds.SIZES:
        raise ApiError(400, f"size must be one of {', '.join(embeds.SIZES)}, not {quoted(size)}", parameter="size")
    try:
        with pinned(versions), read_errors(), admission.read_slot():
            body = embeds.preview_image(t, state, size, kind)
    except embeds.PreviewFailed as exc:
        raise ApiError(503, str(exc), headers={"Retry-After": "60"}) from None
    return Response(body, mimetype="image/png" if kind == "png" else "image/svg+xml",
                    headers={"Content-Disposition": f'inline; filename="{t.id}.{kind}"'})


@bp.get("/embed/<target_id>/share.json")
@httpcache.cached(url=True)
def share(target_id: str):
    t = _target(target_id)
    # the page's whole query, as the share control sends it: what this target does not read is ignored
    state, versions = embeds.view_state(t, request.args), pins.requested(t, request.args.get("version"))
    with pinned(versions):
        read = {n: v for n, v in reader().versions().items() if n in t.datasets}
    return jsonify(_share.links(request.url_root.rstrip("/"), t, state, read))


@bp.get("/oembed")
@httpcache.cached(url=True)
def oembed():
    """oEmbed 1.0 (https://oembed.com/): a `rich` answer whose html is the embed snippet."""
    check_params(("url", "maxwidth", "maxheight", "format"))
    fmt = request.args.get("format", "json")
    if fmt == "xml":  # the spec's answer for a format the provider does not serve
        raise ApiError(501, "format 'xml' is not served; use format=json", parameter="format")
    if fmt != "json":
        raise ApiError(400, f"format must be json (or xml, not served), not {quoted(fmt)}", parameter="format")
    base = request.url_root.rstrip("/")
    t, state, version = _permalink_target(request.args.get("url") or "", base)
    width = _bound("maxwidth", OEMBED_WIDTH)
    height = _bound("maxheight", _share.EMBED_HEIGHT[t.kind])
    src = _share.embed_url(t, state, version)
    return jsonify({"version": "1.0", "type": "rich", "title": t.title, "provider_name": PROVIDER,
                    "provider_url": base + "/", "html": _share.snippet(base, t, src, height), "width": width,
                    "height": height, "thumbnail_url": f"{base}/embed/{t.id}.png?{urlencode({**state, 'size': 'twitter'})}",
                    "thumbnail_width": embeds.SIZES["twitter"][0], "thumbnail_height": embeds.SIZES["twitter"][1]})


def _bound(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= 10_000):
        raise ApiError(400, f"{name} must be a whole number of pixels from 1 to 10000, not {quoted(raw)}",
                       parameter=name)
    return min(default, int(raw))


def _permalink_target(url: str, base: str) -> tuple[embeds.Target, dict, str]:
    """The chart or tile a permalink (or an embed URL) of this site shows; 404 for any other URL."""
    parts = urlsplit(url)
    if not url or f"{parts.scheme}://{parts.netloc}" != base:
        raise ApiError(404, f"no embeddable view at {quoted(url)}: give a permalink of this site ({base}/...)",
                       parameter="url")
    args = dict(parse_qsl(parts.query))
    try:
        if parts.path.startswith("/embed/"):
            t = embeds.target(parts.path.removeprefix("/embed/"))
        else:
            t = page_target(parts.path, args)
    except KeyError:
        raise ApiError(404, f"no embeddable view at {quoted(url)}", parameter="url") from None
    return t, embeds.view_state(t, args), args.get("version", "")


def page_target(path: str, args: dict) -> embeds.Target:
    """The chart (`chart=`) or KPI (`kpi=`) a dashboard page's permalink names, else the page's first."""
    pages = [e["module"].rsplit(".", 1)[-1] for e in _pages() if e["path"] == (path.rstrip("/") or "/")]
    if not pages or pages[0] not in (*embeds.PAGE_PARAMS, "scorecard"):
        raise KeyError(path)
    found = embeds.page_targets(pages[0])
    named = args.get("chart") or (embeds.KPI_PREFIX + args["kpi"] if args.get("kpi") else None)
    chosen = [t for t in found if t.id == named] if named else found[:1]
    if not chosen:
        raise KeyError(named)
    return chosen[0]


def _pages() -> list[dict]:
    import dash

    return [e for e in dash.page_registry.values() if "path" in e]
