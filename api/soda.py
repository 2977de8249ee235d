"""Socrata's SODA 2.1 read API, so a script written against a city's Socrata portal (sodapy, RSocrata,
soda-js) runs against Pulse with only the domain changed (issue 18; docs/decisions/0017-soda-api.md).

Routes: `/resource/<id>.json|csv|geojson` (rows), `/resource/<id>/<row>.json` (one row by :id),
`/api/views/<id>.json` (metadata) and `/api/catalog/v1` (the Discovery API). `<id>` is the dataset's
Socrata alias from its declaration (`erm2-nwe9`) or its Pulse name. The query is portal/soda.py's,
through the worker's reader in a read slot; a page reads the version its pull started with
(portal/pins.py). Errors carry Socrata's `message` (sodapy shows it) beside the house's `error`.
"""
from __future__ import annotations

import json
from datetime import datetime
from email.utils import format_datetime

from flask import Response, jsonify, request

import datasets
import lake
from api import httpcache
from api.errors import ApiError, blueprint, check_params, read_errors
from api.rowquery import choose_manifest
from datasets import Dataset
from portal import admission, pins, soda, soda_catalog
from portal.quoting import quoted
from portal.soql import SoqlError

bp = blueprint("soda", __name__)

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "csv": "text/csv; charset=utf-8",
                 "geojson": "application/vnd.geo+json; charset=utf-8"}
# The answer depends on the version the pull pinned, which the URL does not show: a shared cache
# (deploy/nginx.conf's micro-cache) must not answer one client's page with another's version.
CACHE_CONTROL = "private, no-cache"
CATALOG_LIMIT = 100  # the Discovery API's default page
CATALOG_PARAMS = ("ids", "domains", "q", "limit", "offset", "only", "order", "categories", "tags")


def _dataset(key: str) -> Dataset:
    try:
        return datasets.by_soda_id(key)
    except KeyError:
        known = [soda_catalog.soda_id(ds) for ds in datasets.datasets().values()]
        raise ApiError(404, f"no dataset {quoted(key)}; known: {', '.join(known)}", code="not_found",
                       allowed=known) from None


def _format(fmt: str) -> str:
    if fmt not in CONTENT_TYPES:
        raise ApiError(404, f"no format {quoted(fmt)}; allowed: {', '.join(CONTENT_TYPES)}", allowed=list(CONTENT_TYPES))
    return fmt


def _query(ds: Dataset, args: dict[str, list[str]]) -> soda.SodaQuery:
    try:
        return soda.parse_request(ds, args)
    except SoqlError as exc:
        raise ApiError(400, str(exc), code="query.soql.invalid", clause=exc.clause, position=exc.position) from None


def _who() -> str:
    """The client a pull belongs to: its address and app token (never required, only told apart)."""
    token = request.headers.get("X-App-Token") or request.args.get("$$app_token") or ""
    return f"{request.remote_addr}|{token}"


def _manifest(ds: Dataset, q: soda.SodaQuery, fmt: str) -> lake.Manifest | None:
    """The version this page reads: the one its pull started with (portal/pins.py), while kept."""
    rest = sorted((k, v) for k in request.args if k not in ("$offset", "$$app_token") for v in request.args.getlist(k))
    version = pins.pinned_version(ds.name, repr((fmt, rest, _who())), q.offset, q.limit, lake.current_version(ds.name))
    return choose_manifest(ds, str(version)) if version is not None else None


def _headers(q: soda.SodaQuery, m: lake.Manifest | None) -> dict[str, str]:
    headers = {"X-SODA2-Fields": json.dumps(q.names), "X-SODA2-Types": json.dumps(q.types),
               "X-SODA2-Data-Out-Of-Date": "false", "X-Pulse-Version": str(m.version if m else 0),
               "Cache-Control": CACHE_CONTROL}
    if m is not None:
        headers["Last-Modified"] = format_datetime(datetime.fromisoformat(m.published_at), usegmt=True)
    return headers


def _answer(ds: Dataset, q: soda.SodaQuery, fmt: str, *, one: bool = False) -> Response:
    m = _manifest(ds, q, fmt)
    headers = _headers(q, m)
    etag = httpcache.etag_base({ds.name: m.version if m else None}, soda=request.query_string.decode("latin-1"),
                               path=request.path)
    matched = httpcache.not_modified(etag, headers)
    if matched is not None:
        return matched
    with read_errors(code="query.soql.invalid"), admission.read_slot():
        rows = soda.run(q, m, fmt).rows
    if one:
        if not rows:
            raise ApiError(404, "no row with that :id in this dataset", code="not_found")
        payload = rows[0][0].encode()
    else:
        payload = soda.body(q, rows, fmt)
    return Response(payload, headers={**headers, "ETag": f'"{etag}"'}, content_type=CONTENT_TYPES[fmt])


@bp.get("/resource/<key>.<fmt>")
def resource(key: str, fmt: str):
    """Rows of a dataset, as SODA 2.1 answers them (portal/soda.py)."""
    ds, fmt = _dataset(key), _format(fmt)
    return _answer(ds, _query(ds, {k: request.args.getlist(k) for k in request.args}), fmt)


@bp.get("/resource/<key>/<row>.json")
def resource_row(key: str, row: str):
    """One row by its :id (the primary key), as a JSON object."""
    ds = _dataset(key)
    q = _query(ds, {k: request.args.getlist(k) for k in request.args})
    soda.only_row(q, row)
    return _answer(ds, q, "json", one=True)


@bp.get("/api/views/<key>.json")
@bp.get("/api/views/<key>")
@httpcache.cached(lambda key, **_: httpcache.exact(_dataset(key).name), url=True)
def view(key: str):
    """A dataset's metadata in Socrata's view shape (sodapy's get_metadata)."""
    check_params(())
    return jsonify(soda_catalog.view(_dataset(key), request.url_root))


@bp.get("/api/catalog/v1")
@httpcache.cached(httpcache.exact, url=True)
def catalog():
    """The Discovery API over this portal's datasets: `ids`, `domains`, `q`, `limit`, `offset`."""
    check_params(CATALOG_PARAMS)
    limit, offset = _whole("limit", CATALOG_LIMIT), _whole("offset", 0)
    domains = request.args.getlist("domains")
    here = {request.host, request.host.split(":")[0]}
    chosen = soda_catalog.search(request.args.getlist("ids"), request.args.get("q"))
    if domains and not here & set(domains):
        chosen = []
    page = chosen[offset:offset + limit] if limit else chosen[offset:]
    return jsonify({"results": [soda_catalog.catalog_entry(ds, request.url_root, request.host) for ds in page],
                    "resultSetSize": len(chosen), "timings": {"serviceMillis": 0, "searchMillis": [0, 0]}})


def _whole(key: str, default: int) -> int:
    raw = request.args.get(key)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 10_000:
        raise ApiError(400, f"{key} must be a whole number from 0 to 10,000, not {quoted(raw)}", parameter=key)
    return int(raw)
