"""Open311 GeoReport v2, read only (http://wiki.open311.org/GeoReport_v2/): the service list and
service requests of the current `service_requests` version, as JSON or XML, so an existing Open311
client reads Pulse unchanged. Only public columns are read; errors take the spec's shape.

service_code: the complaint type as a slug (lower case, each run of characters other than a-z and
0-9 made one '-') plus '-' and the first 6 hex digits of the SHA-256 of the exact complaint type:
"Noise - Street/Sidewalk" -> "noise-street-sidewalk-<6 hex>". It depends on the name alone, so it is
stable across versions, and it stays unique where slugs collide (NYC has both "ELEVATOR" and "Elevator").
"""
from __future__ import annotations

import hashlib
import re
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import jsonify, request

import config
import datasets
import lake
from api import httpcache
from api.datasets import run_limited
from api.errors import OPEN311, ApiError, blueprint, check_params, xml_response
from api.rowquery import MAX_IN_VALUES, RowQuery, parse_datetime
from portal.quoting import quoted

bp = blueprint(OPEN311, __name__, url_prefix="/open311/v2")  # its errors take the spec's shape (api/errors.py)

DATASET = "service_requests"
FORMATS = {"json": "application/json", "xml": "text/xml; charset=utf-8"}
WINDOW = timedelta(days=90)  # the spec's longest start_date..end_date span, and the default window
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_PAGE = 50, 1000, 1_000_000
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0
REQUEST_PARAMS = ("start_date", "end_date", "status", "service_code", "service_request_id", "page", "page_size",
                  "jurisdiction_id")
SERVICE_FIELDS = ("service_code", "service_name", "description", "metadata", "type", "keywords", "group")
REQUEST_FIELDS = ("service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url")
_COLUMNS = ("request_id", "status", "resolution_description", "complaint_type", "descriptor", "agency_name", "agency",
            "created", "resolution_updated", "closed", "due", "incident_address", "incident_zip", "latitude", "longitude")


def service_code(complaint_type: str) -> str:
    """The stable code of a complaint type (see the module docstring)."""
    slug = re.sub(r"[^a-z0-9]+", "-", complaint_type.lower()).strip("-") or "service"
    return f"{slug}-{hashlib.sha256(complaint_type.encode()).hexdigest()[:6]}"


def _reads(**_) -> dict:
    return httpcache.exact(DATASET)


def _window_clock() -> int | None:
    """Without start_date and end_date the window is the last 90 days up to now: a new one each minute."""
    return None if {"start_date", "end_date", "service_request_id"} & set(request.args) else int(time.time() // 60)


@bp.get("/services.<fmt>")
@httpcache.cached(_reads)
def services(fmt: str):
    """One service per distinct complaint type; its group is the agency that handles most of it."""
    _check_format(fmt)
    check_params(("jurisdiction_id",))
    q = _query()
    sql = (f"SELECT complaint_type, mode(agency), mode(agency_name), count(*) FROM ({q.source()}) AS src "
           "GROUP BY complaint_type ORDER BY complaint_type")
    out = [{"service_code": service_code(name), "service_name": name,
            "description": f"{name} requests handled by {agency_name or agency} ({n:,} in the current data).",
            "metadata": False, "type": "realtime", "keywords": "", "group": agency}
           for name, agency, agency_name, n in run_limited(q, sql, [])]
    return _respond(fmt, out, "services", "service", q)


@bp.get("/requests.<fmt>")
@httpcache.cached(_reads, clock=_window_clock)
def requests(fmt: str):
    """Requests newest first, filtered as the spec says and paged with page/page_size."""
    _check_format(fmt)
    check_params(REQUEST_PARAMS)
    q = _query()
    page, size = _whole("page", 1, MAX_PAGE), _whole("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    ids = _list("service_request_id")
    if ids:  # the spec: a service_request_id makes every other filter ignored
        q.where.append(f"request_id IN ({', '.join('?' for _ in ids)})")
        q.params += ids
    else:
        _filter_dates(q)
        _filter_status(q)
        _filter_codes(q)
    return _respond(fmt, _fetch(q, size, (page - 1) * size), "service_requests", "request", q)


@bp.get("/requests/<rid>.<fmt>")
@httpcache.cached(_reads)
def one_request(rid: str, fmt: str):
    """The spec returns a list of one; an unknown id is a 404."""
    _check_format(fmt)
    check_params(("jurisdiction_id",))
    q = _query()
    q.where.append("request_id = ?")
    q.params.append(rid)
    found = _fetch(q, 1, 0)
    if not found:
        raise ApiError(404, f"no service request with id {quoted(rid)}")
    return _respond(fmt, found, "service_requests", "request", q)


def _query() -> RowQuery:
    ds = datasets.get(DATASET)
    return RowQuery(ds=ds, manifest=lake.manifest(DATASET), columns=list(_COLUMNS))


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ApiError(404, f"no format {quoted(fmt)}; use .json or .xml")


def _list(name: str) -> list[str]:
    values = [v.strip() for v in request.args.get(name, "").split(",") if v.strip()]
    if len(values) > MAX_IN_VALUES:
        raise ApiError(400, f"{name} takes at most {MAX_IN_VALUES} values")
    return values


def _whole(name: str, default: int, most: int) -> int:
    raw = request.args.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= most:
        raise ApiError(400, f"{name} must be a whole number from 1 to {most}, not {quoted(raw)}")
    return int(raw)


def _when(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        return parse_datetime(raw.replace("Z", "+00:00") if raw.endswith("Z") else raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a W3C datetime like 2026-11-20T14:05:00-05:00, not {quoted(raw)}") from None


def _filter_dates(q: RowQuery) -> None:
    """Missing ends make a 90-day window: the last 90 days, or 90 days either side of the one given."""
    start, end = _when("start_date"), _when("end_date")
    if start is None and end is None:
        end = datetime.now(UTC)
    try:
        start = end - WINDOW if start is None else start
        end = start + WINDOW if end is None else end
    except OverflowError:
        raise ApiError(400, "start_date and end_date must lie between the years 1 and 9999, 90 days inside") from None
    if end < start:
        raise ApiError(400, "end_date must not be before start_date")
    if end - start > WINDOW:
        raise ApiError(400, f"start_date to end_date spans {(end - start).days} days; the limit is 90")
    q.where.append("created BETWEEN CAST(? AS TIMESTAMPTZ) AND CAST(? AS TIMESTAMPTZ)")
    q.params += [start.isoformat(), end.isoformat()]


def _filter_status(q: RowQuery) -> None:
    wanted = {s.lower() for s in _list("status")}
    if wanted - {"open", "closed"}:
        raise ApiError(400, f"status must be open, closed or both, not {quoted(request.args['status'])}")
    if len(wanted) == 1:
        q.where.append("status = 'Closed'" if "closed" in wanted else "status <> 'Closed'")


def _filter_codes(q: RowQuery) -> None:
    codes = set(_list("service_code"))
    if not codes:
        return
    names = [n for (n,) in run_limited(q, f"SELECT DISTINCT complaint_type FROM ({q.source()}) AS src", [])
             if service_code(n) in codes]
    q.where.append(f"complaint_type IN ({', '.join('?' for _ in names)})" if names else "false")
    q.params += names


def _fetch(q: RowQuery, limit: int, offset: int) -> list[dict]:
    sql, params = q.sql(paged=False)
    sql = (f"SELECT * FROM ({sql}) AS q ORDER BY created DESC, request_id DESC "
           f"LIMIT {int(limit)} OFFSET {int(offset)}")
    return [_request(dict(zip(_COLUMNS, row, strict=True))) for row in run_limited(q, sql, params)]


def _request(r: dict) -> dict:
    zone = ZoneInfo(datasets.city(config.get("city")).timezone)

    def w3c(value: datetime | None) -> str | None:
        return value.astimezone(zone).isoformat(timespec="seconds") if value else None

    return {
        "service_request_id": r["request_id"],
        "status": "closed" if r["status"] == "Closed" else "open",
        "status_notes": r["resolution_description"],
        "service_name": r["complaint_type"],
        "service_code": service_code(r["complaint_type"]),
        "description": r["descriptor"],
        "agency_responsible": r["agency_name"] or r["agency"],
        "service_notice": "",
        "requested_datetime": w3c(r["created"]),
        "updated_datetime": w3c(r["resolution_updated"] or r["closed"] or r["created"]),
        "expected_datetime": w3c(r["due"]),
        "address": r["incident_address"],
        "address_id": "",
        "zipcode": r["incident_zip"],
        "lat": r["latitude"],
        "long": r["longitude"],
        "media_url": "",
    }


def _respond(fmt: str, items: list[dict], root_tag: str, item_tag: str, q: RowQuery):
    if fmt == "json":
        resp = jsonify(items)
    else:
        root = ET.Element(root_tag)
        for item in items:
            node = ET.SubElement(root, item_tag)
            for key, value in item.items():
                text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
                ET.SubElement(node, key).text = _XML_UNSAFE.sub("\ufffd", text)
        resp = xml_response(root)
    resp.headers["X-Pulse-Version"] = str(q.version or 0)
    return resp
