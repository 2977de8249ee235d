"""The SODA 2.1 routes and the change feeds in the OpenAPI description (api/soda.py, api/feeds.py;
issue 18), kept beside api/openapi.py so that module stays one screenful per kind of route. Bounds
come from the code that enforces them."""
from __future__ import annotations

import datasets
from api.openapi import STR, _errors, _get, _json, _param
from api.soda import CATALOG_LIMIT, CATALOG_PARAMS, CONTENT_TYPES
from datasets import kpis as kpi_decls
from portal import soda, soda_catalog
from portal.soql.parse import MAX_CHARS

OBJECT = {"type": "object", "additionalProperties": True}
CLAUSE_WORDS = {
    "$select": "Fields and expressions to return, with AS aliases: count(*), sum, avg, min, max, count(distinct ...), "
               "date_trunc_ymd|ym|y, date_extract_*, case(...), upper, lower; `*` for every field.",
    "$where": "A condition: comparisons, AND/OR/NOT, IS [NOT] NULL, BETWEEN, IN (...), LIKE, starts_with, "
              "within_circle(field, lat, lon, metres), within_box(field, north, west, south, east); times quoted ISO.",
    "$order": "Expressions with ASC or DESC; :id is the primary key. Ties are broken by :id (or the groups).",
    "$group": "Expressions (or $select aliases) to group by.",
    "$having": "A condition on the groups (needs $group or an aggregate).",
    "$q": "Words that must all appear, in any case, in some text field.",
    "$query": "A whole SoQL statement (SELECT ... WHERE ... GROUP BY ... HAVING ... ORDER BY ... SEARCH ... LIMIT ... "
              "OFFSET ...); no other $ clause may come with it.",
}


def _ids() -> list[str]:
    out = []
    for ds in datasets.datasets().values():
        out += [soda_catalog.soda_id(ds)] + ([ds.name] if ds.socrata is not None else [])
    return out


def _clauses() -> list[dict]:
    params = [_param(k, "query", {"type": "string", "maxLength": MAX_CHARS}, words) for k, words in CLAUSE_WORDS.items()]
    return params + [
        _param("$limit", "query", {"type": "integer", "minimum": 0, "maximum": int(soda.max_limit()),
                                   "default": soda.DEFAULT_LIMIT},
               "Rows per page (never fewer than asked while rows remain; above the maximum a 400)."),
        _param("$offset", "query", {"type": "integer", "minimum": 0, "maximum": soda.MAX_OFFSET, "default": 0},
               "Rows to skip; a pull paging with $offset reads its first page's version throughout."),
        _param("$$app_token", "query", STR, "Accepted and never required."),
        _param("$$exclude_system_fields", "query", {"type": "string", "enum": ["true", "false"]},
               "false: `*` includes :id."),
    ]


def soda_paths() -> dict:
    ids = _param("id", "path", {"type": "string", "enum": _ids()}, "A dataset's Socrata alias (erm2-nwe9) or name.")
    fmt = _param("format", "path", {"type": "string", "enum": list(CONTENT_TYPES)}, "json, csv or geojson.")
    rows = {"200": {"description": "One page of rows, Socrata's way: numbers as strings, missing fields left out; "
                                   "X-SODA2-Fields and X-SODA2-Types name the fields and their types.",
                    "content": {"application/json": {"schema": {"type": "array", "items": OBJECT}},
                                "text/csv": {"schema": STR},
                                "application/vnd.geo+json": {"schema": OBJECT}}},
            "304": {"description": "Not modified since the ETag sent in If-None-Match."},
            **_errors(400, 404, 410, 429, 503)}
    view = _get("Socrata view", "A dataset's metadata in Socrata's view shape (columns with fieldName, dataTypeName, "
                "description).", {"200": _json(OBJECT, "The view."), **_errors(400, 404)}, [ids],
                example="/api/views/erm2-nwe9.json", tag="soda")
    catalog = [_param("ids", "query", STR, "Only this dataset (repeatable)."),
               _param("domains", "query", STR, "Only datasets of this domain (repeatable): this portal's host."),
               _param("q", "query", STR, "Words the title, description or keywords must all hold."),
               _param("limit", "query", {"type": "integer", "minimum": 0, "maximum": 10_000, "default": CATALOG_LIMIT},
                      "Results per page."),
               _param("offset", "query", {"type": "integer", "minimum": 0, "maximum": 10_000}, "Results to skip."),
               *[_param(k, "query", STR, "Accepted and ignored.") for k in CATALOG_PARAMS
                 if k not in ("ids", "domains", "q", "limit", "offset")]]
    return {
        "/resource/{id}.{format}": _get(
            "SODA 2.1 rows", "Rows of a dataset queried with SoQL, as Socrata's SODA 2.1 answers them.", rows,
            [ids, fmt, *_clauses()], example="/resource/erm2-nwe9.json?$where=borough='BRONX'&$limit=5", tag="soda"),
        "/resource/{id}/{row}.json": _get(
            "SODA 2.1 row", "One row by its :id (the primary key).",
            {"200": _json(OBJECT, "The row."), "304": rows["304"], **_errors(400, 404, 410, 429, 503)},
            [ids, _param("row", "path", STR, "The row's :id.")], example="/resource/erm2-nwe9/1000.json", tag="soda"),
        "/api/views/{id}.json": view,
        "/api/views/{id}": view,
        "/api/catalog/v1": _get(
            "Socrata Discovery API", "This portal's datasets as Socrata's catalog lists them (sodapy's datasets()).",
            {"200": _json({"type": "object", "properties": {"results": {"type": "array", "items": OBJECT},
                                                            "resultSetSize": {"type": "integer"}},
                           "required": ["results", "resultSetSize"]}, "One page of results."), **_errors(400)},
            catalog, example="/api/catalog/v1?ids=erm2-nwe9", tag="soda"),
    }


def feed_paths() -> dict:
    """Atom and JSON Feed of each dataset's versions and each KPI's values and definitions."""
    dataset = _param("dataset", "path", {"type": "string", "enum": list(datasets.datasets())}, "A dataset id.")
    kpi = _param("kpi_id", "path", {"type": "string", "enum": list(kpi_decls.kpis())}, "A KPI id.")
    period = _param("period", "query", {"type": "string", "enum": list(kpi_decls.PERIODS)},
                    "The period of the values (default month, else the KPI's first); one the KPI is scored by.")

    def feed(kind: str, what: str, params: list, example: str, tag: str) -> dict:
        content = ({"application/atom+xml": {"schema": STR}} if kind == "atom"
                   else {"application/feed+json": {"schema": OBJECT}})
        return _get(f"{what} ({'Atom' if kind == 'atom' else 'JSON Feed'})", f"{what}, newest first.",
                    {"200": {"description": "The feed.", "content": content}, **_errors(400, 404, 503)}, params,
                    example=example, tag=tag)

    out = {}
    for kind in ("atom", "json"):
        out[f"/data/{{dataset}}/changes.{kind}"] = feed(
            kind, "A dataset's versions with what each load did", [dataset],
            f"/data/service_requests/changes.{kind}", "datasets")
        out[f"/api/v1/kpis/{{kpi_id}}/changes.{kind}"] = feed(
            kind, "A KPI's values per period and the changes of its definition", [kpi, period],
            f"/api/v1/kpis/sr_open_backlog/changes.{kind}", "kpis")
    return out

