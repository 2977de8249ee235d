"""GET /openapi.json (OpenAPI 3.0.3) and GET /api (the same description as a plain HTML page).

Why generated: dataset ids, column filters, KPI ids and export formats all come from the
declarations (habit 1), and every numeric bound and default is imported from the constant or
query Param that enforces it, so the description cannot drift from what the API accepts. The response
schemas are strict where the shape is ours (no private column can appear in a row) and nullable
wherever a value may be missing; tests/integration/test_openapi.py runs schemathesis against them.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

import datasets
from api import apidocs, exports, httpcache, open311
from api.datasets import VERSIONS_PAGE, VERSIONS_PAGE_MAX
from api.rowquery import DEFAULT_LIMIT, EXPORT_OPTIONS, MAX_IN_VALUES, MAX_LIMIT, OPS
from api.v1 import HISTORY_DEFAULT, HISTORY_MAX
from datasets import kpis as kpi_decls
from portal.queries import DATE_RANGE, END, START, TARGET_HOURS, Param
from portal.queries_snow import HOURS

bp = Blueprint("openapi", __name__)

OP_WORDS = {"": "equals", "in": "is one of (comma-separated)", "gt": "is greater than",
            "gte": "is at least", "lt": "is less than", "lte": "is at most"}
# A bare date on a datetime column is a whole local day (api/rowquery.py, issue 15).
DAY_WORDS = {"": " A bare date (YYYY-MM-DD) is local midnight at the day's start.",
             "gte": " A bare date means from local midnight at the day's start.",
             "lt": " A bare date means before local midnight at the day's start.",
             "lte": " A bare date includes that whole local day (before the next local midnight).",
             "gt": " A bare date means after that whole local day (from the next local midnight)."}
# Query-value schemas per declared type; `datetime` also takes a bare date (read as local midnight).
_QUERY = {"string": {"type": "string"}, "integer": {"type": "integer", "format": "int64"},
          "number": {"type": "number"}, "boolean": {"type": "boolean"},
          "date": {"type": "string", "format": "date"}, "datetime": {"type": "string", "format": "date-time"}}
# Response-value schemas: formats are left out so a valid ISO value is never failed on a detail.
_CELL = {"string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
         "boolean": {"type": "boolean"}, "date": {"type": "string"}, "datetime": {"type": "string"},
         "geojson": {"type": "object"}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _null(schema: dict) -> dict:
    return {**schema, "nullable": True}


def _obj(props: dict, required=None, extra: bool | dict = True) -> dict:
    out = {"type": "object", "properties": props, "required": list(props if required is None else required)}
    if not out["required"]:
        del out["required"]
    out["additionalProperties"] = extra
    return out


STR, INT, NUM = {"type": "string"}, {"type": "integer"}, {"type": "number"}


def _columns() -> dict[str, dict]:
    """Every public, filterable column name across datasets: its types, allowed values and datasets."""
    out: dict[str, dict] = {}
    for ds in datasets.datasets().values():
        for c in ds.public_columns:
            entry = out.setdefault(c.name, {"types": [], "allowed": [], "open": False, "datasets": []})
            entry["types"].append(c.type)
            entry["datasets"].append(ds.name)
            if c.allowed is None:
                entry["open"] = True
            else:
                entry["allowed"] += [a for a in c.allowed if a not in entry["allowed"]]
    return out


def _value_schema(info: dict) -> dict:
    types = set(info["types"])
    schema = dict(_QUERY[types.pop()]) if len(types) == 1 else {"type": "string"}
    if not info["open"] and info["allowed"]:
        schema["enum"] = list(info["allowed"])
    return schema


def _cell_schema(info: dict) -> dict:
    types = set(info["types"])
    return _null(_CELL[types.pop()]) if len(types) == 1 else {}


def _param(name: str, where: str, schema: dict, description: str, required: bool = False, **extra) -> dict:
    return {"name": name, "in": where, "required": required or where == "path", "description": description,
            "schema": schema, **extra}


def _int_param(p: Param, description: str) -> dict:
    """A named query's whole-number parameter, with the bounds and default `queries.validate` enforces."""
    schema = {"type": "integer", "minimum": p.min, "maximum": p.max, "default": p.default}
    default = f"default {p.default}" if p.default is not None else "default: none"
    return _param(p.name, "query", {k: v for k, v in schema.items() if v is not None},
                  f"{description} {p.min} to {p.max} ({default}).")


def _csv_list(name: str, items: dict, description: str, lo: int = 1, hi: int | None = None) -> dict:
    """A comma-separated list in the query string (form style, not exploded)."""
    schema = {"type": "array", "items": items, "minItems": lo}
    if hi is not None:
        schema["maxItems"] = hi
    return _param(name, "query", schema, description, style="form", explode=False)


def filter_parameters() -> list[dict]:
    """`col`, `col__in`, `col__gt`, .. for every public column of every dataset (geojson excepted)."""
    params = []
    for name, info in _columns().items():
        if set(info["types"]) == {"geojson"}:
            continue
        where = f" Column of: {', '.join(info['datasets'])}; a dataset without it answers 400."
        value = _value_schema(info)
        for suffix in OPS:
            key = f"{name}__{suffix}" if suffix else name
            text = f"Rows whose `{name}` {OP_WORDS[suffix]} the value{'s' if suffix == 'in' else ''}." + where
            if "datetime" in info["types"] and suffix in DAY_WORDS:
                text += DAY_WORDS[suffix]
            extra = {"x-pulse-column": name, "x-pulse-operator": suffix or "eq"}
            if suffix == "in":
                params.append({**_csv_list(key, value, text, hi=MAX_IN_VALUES), **extra})
            else:
                params.append({**_param(key, "query", value, text), **extra})
    return params


def _option_parameters(paged: bool) -> list[dict]:
    cols = [n for n, i in _columns().items() if set(i["types"]) != {"geojson"}]
    every = list(_columns())
    params = [
        _param("version", "query", {"type": "integer", "minimum": 1},
               "Read this published version instead of the current one (404 if it was never published, 410 if "
               "the retention policy has removed it)."),
        _csv_list("columns", {"type": "string", "enum": every},
                  "Only these public columns, in this order (default: all of them)."),
        _param("sort", "query", {"type": "string", "enum": cols + [f"-{c}" for c in cols]},
               "Order by this column; a leading '-' for descending. Missing values come last."),
        _csv_list("bbox", {"type": "number"}, "min_lon,min_lat,max_lon,max_lat: only rows inside this box "
                  "(datasets with latitude and longitude).", lo=4, hi=4),
    ]
    if paged:
        params += [
            _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                   f"Rows per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})."),
            _param("cursor", "query", STR, "Where the next page starts: copy it from the `next` link."),
        ]
    assert {p["name"] for p in params} >= set(EXPORT_OPTIONS)
    return params


# ---- schemas -----------------------------------------------------------------------------------

def _schemas() -> dict:
    names = list(datasets.datasets())
    kpi_ids = list(kpi_decls.kpis())
    periods = list(kpi_decls.PERIODS)
    every = _columns()
    row = _obj({n: _cell_schema(i) for n, i in every.items()}, required=[], extra=False)
    per_dataset = lambda schema: _obj({n: schema for n in names}, extra=False)  # noqa: E731
    kpi_row = _obj({
        "id": {"type": "string", "enum": kpi_ids}, "name": STR, "description": STR, "agency": STR,
        "target_note": STR, "unit": STR, "direction": {"type": "string", "enum": list(kpi_decls.DIRECTIONS)},
        "actual": _null(NUM), "target": NUM, "score": _null(NUM),
        "status": _obj({"word": STR, "icon": STR}),
        "start": STR, "end": STR, "data_to": STR, "share_of_period": NUM, "target_so_far": _null(NUM),
        "on_pace_for": _null(NUM), "note": STR, "detail": {"type": "object"}, "channel": STR, "target_source": STR,
        "previous": _obj({"start": STR, "end": STR, "actual": _null(NUM), "score": _null(NUM), "change": _null(NUM),
                          "change_of": {"type": "string", "enum": ["value", "pace"]}}),
        "trace": _obj({"formula": STR, "query": STR, "parameters": {"type": "object"}, "dataset": STR,
                       "columns": {"type": "array", "items": STR}, "rows_url": STR}),
        "history": {"type": "array", "items": _obj({"start": STR, "end": STR, "actual": _null(NUM),
                                                   "score": _null(NUM)})},
    }, required=["id", "name", "actual", "target", "score", "status", "direction", "unit", "start", "end", "trace"])
    summary_props = {
        "name": {"type": "string", "enum": names}, "title": STR, "description": STR, "publisher": STR,
        "licence": _obj({"name": _null(STR), "url": _null(STR)}), "update_cadence": _null(STR),
        "version": _null(INT), "rows": INT, "published_at": _null(STR),
        "links": _obj({"self": STR, "rows": STR, "exports": {"type": "object", "additionalProperties": STR}}),
    }
    load_keys = ("rows_in", "inserted", "updated", "unchanged", "rejected")
    return {
        "Error": _obj({"error": STR, "status": {"type": "integer", "minimum": 400, "maximum": 599},
                       "parameter": STR, "allowed": {"type": "array"}, "suffixes": {"type": "array", "items": STR},
                       "type": STR, "retry_after": INT, "limit": STR}, required=["error", "status"]),
        "Health": _obj({"status": {"type": "string", "enum": ["ok"]},
                        "datasets": per_dataset(_null(_obj({"version": INT, "rows": INT, "published_at": STR})))}),
        "Readiness": _obj({"status": {"type": "string", "enum": ["ready", "degraded", "not_ready"]},
                           "checks": _obj({name: _obj({"ok": {"type": "boolean"}, "error": STR}, required=["ok"])
                                           for name in ("lake", "cache", "writers", "store", "reader")})}),
        "Versions": _obj({"datasets": per_dataset(_obj({"version": _null(INT), "published_at": _null(STR)})),
                          "checked_at": STR}),
        "Kpi": kpi_row,
        "Scorecard": _obj({
            "period": {"type": "string", "enum": periods}, "overall": _null(NUM),
            "kpis": {"type": "object", "additionalProperties": _ref("Kpi")},
            "as_of": STR, "start": STR, "end": STR, "overall_formula": STR,
            "versions": per_dataset(_null(INT)),
        }),
        "KpiWithHistory": {"allOf": [_ref("Kpi"), _obj({"period": {"type": "string", "enum": periods}, "as_of": STR,
                                                        "versions": per_dataset(_null(INT))})]},
        "DatasetSummary": _obj(summary_props),
        "Catalog": _obj({"datasets": {"type": "array", "items": _ref("DatasetSummary")}}),
        "Dataset": _obj({
            **summary_props,
            "contact": _null(STR), "theme": _null(STR), "time_column": _null(STR),
            "keywords": {"type": "array", "items": {"anyOf": [STR, NUM]}},  # YAML reads `311` as a number
            "primary_key": {"type": "array", "items": STR},
            "schema": {"type": "array", "items": _obj({
                "name": {"type": "string", "enum": list(every)}, "type": {"type": "string", "enum": list(_CELL)},
                "description": STR, "unit": _null(STR), "allowed": _null({"type": "array"}),
                "required": {"type": "boolean"},
                "free_text": {"type": "boolean", "description": "Written by people; phone numbers and e-mail "
                              "addresses in it are masked when loaded."}})},
            "versions": {"type": "array", "items": _obj({"version": INT, "published_at": STR, "rows": INT,
                                                         **{k: _null(INT) for k in load_keys}})},
            "versions_total": {"type": "integer", "minimum": 0, "description": "Versions kept, on every page."},
            "versions_next": {"type": "string", "description": "The page of older versions; absent on the last."},
        }, required=[*summary_props, "contact", "theme", "time_column", "keywords", "primary_key", "schema",
                     "versions", "versions_total"]),
        "Row": row,
        "Rows": _obj({"dataset": {"type": "string", "enum": names}, "version": _null(INT),
                      "columns": {"type": "array", "items": {"type": "string", "enum": list(every)}},
                      "rows": {"type": "array", "items": _ref("Row")},
                      "next": {"type": "string", "description": "The next page; absent on the last one."}},
                     required=["dataset", "version", "columns", "rows"]),
        "FeatureCollection": _obj({
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": _obj({
                "type": {"type": "string", "enum": ["Feature"]}, "geometry": _null({"type": "object"}),
                "properties": _ref("Row")})}}),
        "Open311Errors": {"type": "array", "items": _obj({"code": INT, "description": STR})},
        **status_schemas(names),
        "Open311Service": _obj({"service_code": STR, "service_name": STR, "description": STR,
                                "metadata": {"type": "boolean"}, "type": {"type": "string", "enum": ["realtime"]},
                                "keywords": STR, "group": _null(STR)}),
        "Open311Request": _obj({
            "service_request_id": STR, "status": {"type": "string", "enum": ["open", "closed"]},
            "status_notes": _null(STR), "service_name": STR, "service_code": STR, "description": _null(STR),
            "agency_responsible": _null(STR), "service_notice": STR, "requested_datetime": STR,
            "updated_datetime": _null(STR), "expected_datetime": _null(STR), "address": _null(STR),
            "address_id": STR, "zipcode": _null(STR), "lat": _null(NUM), "long": _null(NUM), "media_url": STR}),
        "DcatCatalog": _obj({
            "@context": STR, "@id": STR, "@type": STR, "conformsTo": STR, "describedBy": STR,
            "dataset": {"type": "array", "items": _obj({
                "title": STR, "description": STR, "keyword": {"type": "array", "items": STR}, "modified": STR,
                "publisher": {"type": "object"}, "contactPoint": {"type": "object"}, "identifier": STR,
                "accessLevel": STR, "distribution": {"type": "array", "items": {"type": "object"}}})},
        }),
        "DataPackage": _obj({
            "name": STR, "title": STR, "description": STR, "homepage": STR, "licenses": {"type": "array"},
            "resources": {"type": "array", "items": _obj({
                "name": {"type": "string", "enum": names}, "path": STR, "format": STR, "mediatype": STR,
                "schema": _obj({"fields": {"type": "array", "items": {"type": "object"}}}, required=["fields"])},
                required=["name", "path", "schema"])},
        }, required=["name", "resources"]),
    }


# ---- operations --------------------------------------------------------------------------------

def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    words = {400: "A parameter is not valid; the body names it.", 404: "No such resource; the body lists the known ones.",
             410: "That version was published once but removed by the retention policy; the body names the oldest kept.",
             413: "More rows than one answer holds; ask for a shorter period.",
             429: "Too many requests from this client (the body names the limit; answers from a cache and 304s "
                  "are not counted); Retry-After says in how many seconds to come back.",
             503: "The query ran past its time limit (narrow the filters), or every read slot stayed busy "
                  "(Retry-After says when to come back)."}
    return {str(c): _json(_ref("Error"), words[c]) for c in codes}


def _get(summary: str, description: str, responses: dict, params=(), example: str = "", tag: str = "") -> dict:
    op = {"summary": summary, "description": description, "parameters": list(params), "responses": responses,
          "x-pulse-example": example}
    if tag:
        op["tags"] = [tag]
    return {"get": op}


def _dataset_param() -> dict:
    return _param("dataset", "path", {"type": "string", "enum": list(datasets.datasets())}, "A dataset id.")


def _kpi_params(history: bool) -> list[dict]:
    params = [
        _param("period", "query", {"type": "string", "enum": list(kpi_decls.PERIODS), "default": "month"},
               "The calendar period scored (city time): day, ISO week, month or quarter."),
        _param("as_of", "query", {"type": "string", "format": "date"},
               f"A day inside the period, from {DATE_RANGE[0]} to {DATE_RANGE[1]} (default: today, or the newest "
               "311 request if the data ends earlier)."),
    ]
    if history:
        params.append(_param("history", "query",
                             {"type": "integer", "minimum": 0, "maximum": HISTORY_MAX, "default": HISTORY_DEFAULT},
                             f"How many earlier periods to include, 0 to {HISTORY_MAX}."))
    return params


def _if_none_match() -> dict:
    return _param("If-None-Match", "header", STR, "An ETag from an earlier answer: 304 if nothing changed.")


def paths() -> dict:
    ds = list(datasets.datasets())[0] if datasets.datasets() else "service_requests"
    kpi = list(kpi_decls.kpis())[0] if kpi_decls.kpis() else "kpi"
    formats = list(exports.FORMATS)
    not_modified = {"description": "Not modified since the ETag sent in If-None-Match."}
    export_content = {
        "text/csv": {"schema": STR},
        "application/json": {"schema": {"type": "array", "items": _ref("Row")}},
        "application/x-ndjson": {"schema": STR},
        "application/geo+json": {"schema": _ref("FeatureCollection")},
        "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
    }
    return {
        "/healthz": _get("Health", "200 with every dataset's current version (null if never loaded).",
                         {"200": _json(_ref("Health"), "The portal is up.")}, example="/healthz", tag="portal"),
        "/readyz": _get("Readiness", "Whether this worker can serve well, with each check: the lake readable "
                        "(every CURRENT and its manifest), the shared cache reachable, the real-time writers alive, the object "
                        "store answering, every current version's files readable by this worker. 200 ready; 200 "
                        "degraded when only the cache, a writer, the store or a version's files failed (answers are "
                        "computed uncached, or the version before is served); 503 not_ready when the lake cannot be read.",
                        {"200": _json(_ref("Readiness"), "Ready or degraded."),
                         "503": _json(_ref("Readiness"), "Not ready: no readable lake.")},
                        example="/readyz", tag="portal"),
        "/api/v1/version": _get(
            "Data versions", "The current version of every dataset, with an ETag: poll it and get 304 until a "
            "load publishes.", {"200": _json(_ref("Versions"), "Every dataset's version."), "304": not_modified},
            [_if_none_match()], example="/api/v1/version", tag="kpis"),
        "/api/v1/kpis": _get(
            "Scorecard", "Every KPI's value, target, score and status for one period, and the overall score.",
            {"200": _json(_ref("Scorecard"), "The scorecard."), **_errors(400, 429, 503)}, _kpi_params(False),
            example="/api/v1/kpis?period=week", tag="kpis"),
        "/api/v1/kpis/{kpi_id}": _get(
            "One KPI", "One KPI with its history and how each number was computed.",
            {"200": _json(_ref("KpiWithHistory"), "The KPI."), **_errors(400, 404, 429, 503)},
            [_param("kpi_id", "path", {"type": "string", "enum": list(kpi_decls.kpis())}, "A KPI id."),
             *_kpi_params(True)], example=f"/api/v1/kpis/{kpi}?period=month&history=3", tag="kpis"),
        "/api/v1/kpis/{kpi_id}/rows.csv": _get(
            "Rows behind a KPI", "The rows one KPI's value is computed from for the period holding as_of (up to "
            "as_of), as CSV, with the columns that decide each row's part (days to close, on time, within the "
            "window): counting, summing or taking the median of them reproduces the value. 413 when a period "
            "holds more rows than one answer: ask for a shorter period.",
            {"200": {"description": "The input rows, with an attachment filename naming the period and versions.",
                     "content": {"text/csv": {"schema": STR}}}, **_errors(400, 404, 413, 429, 503)},
            [_param("kpi_id", "path", {"type": "string", "enum": list(kpi_decls.kpis())}, "A KPI id."),
             *_kpi_params(False)], example=f"/api/v1/kpis/{kpi}/rows.csv?period=day", tag="kpis"),
        "/api/v1/datasets": _get(
            "Catalog", "Every declared dataset with its current version and links. Takes no parameters.",
            {"200": _json(_ref("Catalog"), "The catalog."), **_errors(400)}, example="/api/v1/datasets",
            tag="datasets"),
        "/api/v1/datasets/{dataset}": _get(
            "Dataset", "Metadata, the public schema (the data dictionary) and the published versions with "
            "what each load changed: the newest `versions_limit` below `versions_before`, oldest first; "
            "`versions_next` (absent on the last page) links to the older ones.",
            {"200": _json(_ref("Dataset"), "The dataset."), **_errors(400, 404)},
            [_dataset_param(),
             _param("versions_limit", "query",
                    {"type": "integer", "minimum": 1, "maximum": VERSIONS_PAGE_MAX, "default": VERSIONS_PAGE},
                    f"How many versions to list, 1 to {VERSIONS_PAGE_MAX}."),
             _param("versions_before", "query", {"type": "integer", "minimum": 1},
                    "List only versions with a smaller number (the next page's link sets it).")],
            example=f"/api/v1/datasets/{ds}?versions_limit=1", tag="datasets"),
        "/api/v1/datasets/{dataset}/rows": _get(
            "Rows", "Filtered rows, one keyset page at a time. Filter on any public column: `col=v`, "
            "`col__in=a,b`, `col__gt`, `col__gte`, `col__lt`, `col__lte`; several filters are ANDed. "
            "Text that names something (a borough, a complaint type, an agency) matches in any case with `=` "
            "and `__in`; a resident's own words and comparisons (`__gt`...) match exactly. On a "
            "datetime column a bare date is a local day: `created__lte=2026-11-20` includes that whole day. "
            "Follow `next` for the following page (it pins the version).",
            {"200": _json(_ref("Rows"), "One page of rows."), **_errors(400, 404, 410, 429, 503)},
            [_dataset_param(), *_option_parameters(paged=True), *filter_parameters()],
            example=f"/api/v1/datasets/{ds}/rows?limit=5", tag="datasets"),
        "/api/v1/datasets/{dataset}/export.{format}": _get(
            "Export", "The filtered rows of one version as a streamed download (same filters as rows, no paging). "
            "GeoJSON only for datasets with a location; an error after the download started is written into "
            "the body.",
            {"200": {"description": "The file, with an attachment filename, an ETag and X-Pulse-Version.",
                     "content": export_content},
             "304": not_modified, **_errors(400, 404, 410, 429, 503)},
            [_dataset_param(), _param("format", "path", {"type": "string", "enum": formats}, "The file format."),
             _if_none_match(), *_option_parameters(paged=False), *filter_parameters()],
            example=f"/api/v1/datasets/{ds}/export.csv", tag="datasets"),
        **open311_paths(),
        **_soda_paths(),
        **status_paths(),
        **chart_paths(),
        **_finder_paths(),
        **_embed_paths(),
        "/data.json": _get("DCAT-US catalog", "The portal as a DCAT-US v1.1 (Project Open Data) catalog.",
                           {"200": _json(_ref("DcatCatalog"), "The catalog.")}, example="/data.json", tag="standards"),
        "/datapackage.json": _get("Data Package", "Every dataset as a Frictionless tabular resource.",
                                  {"200": _json(_ref("DataPackage"), "The data package.")},
                                  example="/datapackage.json", tag="standards"),
        "/openapi.json": _get("This description", "The OpenAPI 3.0.3 description of this API.",
                              {"200": _json({"type": "object"}, "The description.")}, example="/openapi.json",
                              tag="portal"),
        "/api": _get("API docs", "This description as a plain HTML page.",
                     {"200": {"description": "The page.", "content": {"text/html": {"schema": STR}}}},
                     example="/api", tag="portal"),
    }


def _soda_paths() -> dict:
    from api.openapi_soda import feed_paths, soda_paths  # they build on this module's helpers

    return {**soda_paths(), **feed_paths()}


def _finder_paths() -> dict:
    from api.openapi_finder import finder_paths  # it builds on this module's helpers

    return finder_paths()


def _embed_paths() -> dict:
    from api.openapi_embed import embed_paths  # builds on this module's helpers

    return embed_paths()


def chart_paths() -> dict:
    """The dashboards' "download this data" links (api/charts.py): each chart takes some of these."""
    from portal import panels

    ids = sorted(p.id for page in ("service_requests", "snow", "volunteers") for p in panels.for_page(page))
    date = {"type": "string", "format": "date"}
    params = [
        _param("panel_id", "path", {"type": "string", "enum": ids}, "A dashboard chart's id."),
        _param("start", "query", date, f"First local day, {START.min} to {START.max} (311 and volunteer charts)."),
        _param("end", "query", date, f"Last local day, included, {END.min} to {END.max} (311 and volunteer charts)."),
        _param("period", "query", {"type": "string", "enum": ["day", "week", "month"]}, "Bucket size (311 volume)."),
        _param("borough", "query", STR, "One borough."),
        _param("agency", "query", STR, "One agency (311)."),
        _param("complaint_type", "query", STR, "One complaint type (311)."),
        _param("storm_id", "query", STR, "A storm (snow charts)."),
        _int_param(HOURS, "Show the storm as it stood this many hours after it began (snow charts; none: as of its "
                          "newest observation, now for a storm in progress),"),
        _int_param(TARGET_HOURS, "Target hours to a first pass (snow charts),"),
        _param("version", "query", STR, "Read these data versions, not the current ones: dataset:N[,dataset:N], or N "
               "for a chart reading one dataset (404 if never published, 410 if removed by retention)."),
    ]
    return {"/api/v1/charts/{panel_id}.csv": _get(
        "Chart data", "Exactly the rows a dashboard chart draws, as CSV, for the chart's filters; a filter left "
        "out takes the value the chart's page opens with (the last 90 days of 311 data, the latest storm); a "
        "parameter the chart does not take is a 400.",
        {"200": {"description": "The chart's data, with an attachment filename naming the data versions.",
                 "content": {"text/csv": {"schema": STR}}}, **_errors(400, 404, 410, 429, 503)},
        params, example="/api/v1/charts/sr-backlog.csv?start=2026-11-01&end=2026-11-20", tag="portal")}


def status_schemas(names: list[str]) -> dict:
    """Pipeline health (api/status.py, portal/pipeline_health.py)."""
    error = _null(_obj({"at": _null(STR), "message": _null(STR), "source": _null(STR)}, required=["at", "message"]))
    writer = _obj({
        "kind": {"type": "string", "enum": ["poll", "watch", "simulate"]}, "name": STR,
        "state": {"type": "string", "enum": ["running", "backing_off", "stopped", "dead", "stale", "unknown"]},
        "error_count": INT, "last_error": _null(_obj({"at": STR, "message": STR, "dataset": _null(STR)})),
        **{k: STR for k in ("started_at", "heartbeat_at", "last_poll_at", "last_success_at", "last_scan_at",
                            "watermark", "simulated_to")}, "every": NUM,
    }, required=["kind", "state", "error_count", "last_error"])
    return {
        "DatasetStatus": _obj({
            "dataset": {"type": "string", "enum": names}, "version": _null(INT), "rows": INT, "published_at": _null(STR),
            "last_load": _null(_obj({"at": _null(STR), "outcome": STR, "version": _null(INT), "source": _null(STR)})),
            "last_poll": _null(STR), "lag_seconds": _null(NUM), "last_error": error, "error_count": INT,
            "state": {"type": "string", "enum": ["live", "degraded", "failing", "idle"]},
            "writers": {"type": "array", "items": writer}}),
        "Status": _obj({"checked_at": STR, "datasets": _obj({n: _ref("DatasetStatus") for n in names}, extra=False)}),
    }


def status_paths() -> dict:
    return {"/api/v1/status": _get(
        "Pipeline health", "Per dataset: current version, last successful load, last poll of its feed, lag (seconds "
        "since Pulse last confirmed it holds what its source has), last error, errors in the last 24 hours, and the "
        "state of each poller, watcher or simulator feeding it. Takes no parameters; never cached.",
        {"200": _json(_ref("Status"), "Every dataset's pipeline health."), **_errors(400)},
        example="/api/v1/status", tag="portal")}


def open311_paths() -> dict:
    """Open311 GeoReport v2 (api/open311.py): errors are the spec's list of {code, description}."""
    fmt = _param("format", "path", {"type": "string", "enum": list(open311.FORMATS)}, "json or xml.")
    jurisdiction = _param("jurisdiction_id", "query", STR, "Accepted and ignored: Pulse serves one city.")

    def answer(schema: dict, description: str, *codes: int) -> dict:
        words = {400: "A parameter is not valid.", 404: "No such format or request.",
                 429: "Too many requests from this client; Retry-After says when to come back.",
                 503: "The query ran past its time limit, or every read slot stayed busy (Retry-After)."}
        out = {"200": {"description": description, "content": {"application/json": {"schema": schema},
                                                                "text/xml": {"schema": STR}}}}
        for c in codes:
            out[str(c)] = {"description": words[c], "content": {"application/json": {"schema": _ref("Open311Errors")},
                                                                "text/xml": {"schema": STR}}}
        return out

    services = {"type": "array", "items": _ref("Open311Service")}
    reqs = {"type": "array", "items": _ref("Open311Request")}
    when = "A W3C datetime (or a date, read as local midnight); start_date..end_date spans at most 90 days."
    return {
        "/open311/v2/services.{format}": _get(
            "Open311 services", "One service per complaint type in the current 311 data.",
            answer(services, "The service list.", 400, 404, 429, 503), [fmt, jurisdiction],
            example="/open311/v2/services.json", tag="open311"),
        "/open311/v2/requests.{format}": _get(
            "Open311 requests", "311 requests newest first (default: the last 90 days), paged with page and "
            "page_size. A service_request_id makes every other filter ignored.",
            answer(reqs, "One page of requests.", 400, 404, 429, 503),
            [fmt, jurisdiction,
             _param("start_date", "query", {"type": "string", "format": "date-time"}, when),
             _param("end_date", "query", {"type": "string", "format": "date-time"}, when),
             _csv_list("status", {"type": "string", "enum": ["open", "closed"]}, "open, closed or both."),
             _csv_list("service_code", STR, "Only these service codes (from services).", hi=MAX_IN_VALUES),
             _csv_list("service_request_id", STR, "Only these requests.", hi=MAX_IN_VALUES),
             _param("page", "query", {"type": "integer", "minimum": 1, "maximum": open311.MAX_PAGE},
                    "Page number, from 1."),
             _param("page_size", "query", {"type": "integer", "minimum": 1, "maximum": open311.MAX_PAGE_SIZE},
                    f"Requests per page (default {open311.DEFAULT_PAGE_SIZE}).")],
            example="/open311/v2/requests.json?status=open&page_size=10", tag="open311"),
        "/open311/v2/requests/{service_request_id}.{format}": _get(
            "Open311 request", "One request, as a list of one.", answer(reqs, "The request.", 400, 404, 429, 503),
            [_param("service_request_id", "path", STR, "The request's id."), fmt, jurisdiction],
            example="/open311/v2/requests/1000.json", tag="open311"),
    }


def spec(base_url: str = "/") -> dict:
    """The whole OpenAPI document, served from `base_url`."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Pulse open-data API", "version": "1",
                 "description": "The city's open data: datasets with filtered rows and downloads, KPIs with their "
                                "scores, and the DCAT-US and Data Package catalogs. Read-only, no key needed. "
                                "Every error is JSON: {\"error\", \"status\", ...}."},
        "servers": [{"url": base_url.rstrip("/") or "/"}],
        "tags": [{"name": n} for n in ("datasets", "kpis", "standards", "open311", "soda", "portal")],
        "paths": paths(),
        "components": {"schemas": _schemas()},
    }


@bp.get("/openapi.json")
@httpcache.cached(httpcache.no_data, url=True)  # from the declarations and the code alone
def openapi_json():
    return jsonify(spec(request.url_root))


@bp.get("/api")
@httpcache.cached(httpcache.no_data, url=True)
def api_docs():
    return Response(apidocs.render(spec(request.url_root)), content_type="text/html; charset=utf-8")
