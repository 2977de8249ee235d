"""The share and oEmbed routes in the OpenAPI description (layouts/_embed_routes.py; issue 17), beside
api/openapi.py as api/openapi_soda.py is. The embed pages and images are pages, described in the
README ("Share and embed")."""
from __future__ import annotations

from api.openapi import STR, _errors, _get, _json, _param
from portal import embeds

INT = {"type": "integer"}


def _targets() -> list[str]:
    return [t.id for page in (*embeds.PAGE_PARAMS, "scorecard") for t in embeds.page_targets(page)]


def embed_paths() -> dict:
    links = {"type": "object", "properties": {k: STR for k in (
        "title", "permalink", "pinned_permalink", "embed", "snippet", "pinned_snippet", "png", "svg", "csv", "version")},
        "required": ["permalink", "pinned_permalink", "snippet", "png", "svg", "csv"]}
    oembed = {"type": "object", "properties": {
        "version": {"type": "string", "enum": ["1.0"]}, "type": {"type": "string", "enum": ["rich"]}, "html": STR,
        "width": INT, "height": INT, "title": STR, "provider_name": STR, "provider_url": STR, "thumbnail_url": STR,
        "thumbnail_width": INT, "thumbnail_height": INT},
        "required": ["version", "type", "html", "width", "height"]}
    return {
        "/embed/{target_id}/share.json": _get(
            "Share links", "What a chart's or KPI tile's share control offers for a view: its permalink, the same "
            "pinned to the data versions now shown, the embed snippet (pinned or live), and PNG, SVG and CSV "
            "downloads. Takes the view's parameters (a page's whole query: those the target does not read are "
            "ignored) and version=dataset:N,... to start from pinned versions.",
            {"200": _json(links, "The links, absolute."), **_errors(400, 404, 410)},
            [_param("target_id", "path", {"type": "string", "enum": _targets()}, "A chart's id, or kpi-<KPI id>."),
             _param("version", "query", STR, "Pinned versions: dataset:N[,dataset:N], or N for a target reading one.")],
            example="/embed/sr-volume/share.json?borough=BRONX", tag="portal"),
        "/oembed": _get(
            "oEmbed", "oEmbed (https://oembed.com/, the spec's version one) for a permalink of this site (a dashboard page, naming a chart "
            "with chart= or a KPI with kpi=; its first chart otherwise) or an /embed/ URL: a rich answer whose html "
            "is the embed snippet. format=xml is not served (501, as the spec allows); another site's URL is a 404.",
            {"200": _json(oembed, "The oEmbed answer."), "501": _json({"type": "object"}, "format=xml."),
             **_errors(400, 404)},
            [_param("url", "query", STR, "A permalink of this site.", required=True),
             _param("maxwidth", "query", {"type": "integer", "minimum": 1, "maximum": 10000}, "Widest the html may be."),
             _param("maxheight", "query", {"type": "integer", "minimum": 1, "maximum": 10000}, "Tallest it may be."),
             _param("format", "query", {"type": "string", "enum": ["json"]}, "json, the only format served; "
                    "xml answers 501 Not Implemented, as the oEmbed spec says, anything else a 400.")],
            example="/oembed?url=http://localhost/service-requests?chart=sr-volume", tag="portal"),
    }
