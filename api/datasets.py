"""The dataset API (issue 5, sections 2, 3 and 6): catalog, metadata with versions, filtered and
keyset-paged rows, and streamed exports, all derived from the declarations and read from one lake
version chosen when the request starts. Only public columns ever leave.
"""
from __future__ import annotations

import json
import logging

from flask import Response, has_request_context, jsonify, request, stream_with_context, url_for

import datasets
import lake
from api import exports, httpcache
from api.errors import ApiError, blueprint, check_params, read_errors
from api.rowquery import dataset_or_404, encode_cursor, parse
from portal import admission
from portal import rows as row_reads
from portal.quoting import quoted
from portal.reader import QueryTimeout
from portal.rows import geometry as _geometry
from portal.rows import to_json

bp = blueprint("api_datasets", __name__, url_prefix="/api/v1")

log = logging.getLogger(__name__)

def _one(name: str, **_) -> dict | None:
    """The version of the dataset in the URL, read from CURRENT (None for an unknown one: its 404
    is not stored)."""
    return httpcache.exact(name) if name in datasets.datasets() else None


def _page_version(name: str, **_) -> dict | None:
    """The version a rows page reads: ?version=N while retention keeps it (afterwards the view
    answers 410, never a stored page), else the current one; not cached before the first load (it
    may publish between two reads of CURRENT) or for a malformed version (the view's 400)."""
    if name not in datasets.datasets():
        return None
    current, raw = lake.current_version(name), request.args.get("version")
    if raw is None:
        return None if current is None else {name: current}
    if not (raw.isascii() and raw.isdigit()) or current is None or not 1 <= int(raw) <= current:
        return None
    return {name: int(raw)} if lake.has_version(name, int(raw)) else None


def _links(name: str) -> dict:
    return {
        "self": url_for("api_datasets.dataset", name=name),
        "rows": url_for("api_datasets.rows", name=name),
        "exports": {fmt: url_for("api_datasets.export", name=name, fmt=fmt) for fmt in _formats(datasets.get(name))},
    }


def _formats(ds) -> list[str]:
    return row_reads.export_formats(ds)


def _summary(ds) -> dict:
    m = lake.manifest(ds.name)
    return {
        "name": ds.name,
        "title": ds.title,
        "description": ds.description,
        "publisher": ds.publisher,
        "licence": {"name": ds.licence_name, "url": ds.licence_url},
        "update_cadence": ds.update_cadence,
        "version": m.version if m else None,
        "rows": m.rows if m else 0,
        "published_at": m.published_at if m else None,
        "links": _links(ds.name),
    }


@bp.get("/datasets")
@httpcache.cached(httpcache.exact)
def catalog():
    """Every declared dataset with its current version and links."""
    check_params(())
    return jsonify({"datasets": [_summary(ds) for ds in datasets.datasets().values()]})


VERSIONS_PAGE = 100  # versions listed per page of /datasets/<name> (at most VERSIONS_PAGE_MAX)
VERSIONS_PAGE_MAX = 1000


def _int_param(key: str, low: int, high: int | None = None) -> int | None:
    raw = request.args.get(key)
    if raw is None:
        return None
    value = int(raw) if raw.isascii() and raw.isdigit() else None  # no signs, spaces, underscores
    if value is None or value < low or (high is not None and value > high):
        bound = f"{low}..{high}" if high is not None else f"{low} or more"
        raise ApiError(400, f"{key} must be a whole number, {bound}; got {quoted(raw)}", parameter=key)
    return value


@bp.get("/datasets/<name>")
@httpcache.cached(_one)
def dataset(name: str):
    """Metadata, the public schema, and the versions with what each load changed: the newest
    `versions_limit` (default 100) below `versions_before`, oldest first, and `versions_next` for
    the older ones. A real-time feed makes thousands of versions; a page reads only its manifests."""
    ds = dataset_or_404(name)
    check_params(("versions_limit", "versions_before"))
    limit = _int_param("versions_limit", 1, VERSIONS_PAGE_MAX) or VERSIONS_PAGE
    before = _int_param("versions_before", 1)
    schema = [{"name": c.name, "type": c.type, "description": c.description, "unit": c.unit,
               "allowed": list(c.allowed) if c.allowed is not None else None, "required": c.required,
               "free_text": c.free_text}
              for c in ds.public_columns]
    load_keys = ("rows_in", "inserted", "updated", "unchanged", "rejected")
    numbers = lake.version_numbers(name)  # listed once: a version published meanwhile waits for the next request
    kept = [n for n in numbers if before is None or n < before]
    versions = [{"version": m.version, "published_at": m.published_at, "rows": m.rows,
                 **{k: m.load.get(k) for k in load_keys}} for m in lake.versions(name, numbers=kept[-limit:])]
    paging = {"versions_total": len(numbers)}
    if len(kept) > limit and versions:
        paging["versions_next"] = url_for("api_datasets.dataset", name=name, versions_limit=limit,
                                          versions_before=versions[0]["version"])
    return jsonify({**_summary(ds), "contact": ds.contact, "keywords": list(ds.keywords), "theme": ds.theme,
                    "primary_key": list(ds.primary_key), "time_column": ds.time_column,
                    "schema": schema, "versions": versions, **paging})


@bp.get("/datasets/<name>/rows")
@httpcache.cached(_page_version)
def rows(name: str):
    """Filtered rows, one keyset page at a time; `next` (absent on the last page) names the version.

    A page is stored by the HTTP cache keyed by the version read (`_page_version`) and the query
    string: a page of one version never changes (habit 10), and the rows API's first page is what
    clients and crawlers ask for over and over (docs/decisions/0011-one-read-path.md, 0015)."""
    ds = dataset_or_404(name)
    return Response(_page(ds, httpcache.versions_chosen().get(name)), mimetype="application/json")


def _page(ds, current: int | None = None) -> bytes:
    """One page as the JSON text jsonify writes, read from `current` unless the request names a version."""
    q = parse(ds, request.args, paged=True, current=current)
    sql, params = q.sql(paged=True)
    page = _run(q, sql, params, max_rows=q.limit)  # LIMIT limit + 1: truncated says there is a next page
    width = len(q.columns)
    geo = {c.name for c in q.ds.public_columns if c.type == "geojson"}
    body = {
        "dataset": ds.name,
        "version": q.version,
        "columns": q.columns,
        "rows": [{c: _cell(c, v, geo) for c, v in zip(q.columns, row[:width], strict=True)} for row in page.rows],
    }
    if page.truncated:
        args = request.args.to_dict()
        args.update(cursor=encode_cursor(q, page.rows[-1][width:]), version=str(q.version))
        body["next"] = url_for("api_datasets.rows", name=ds.name, **args)
    return jsonify(body).get_data()


def _cell(column: str, value, geo: set[str]):
    return json.loads(value) if column in geo and value else to_json(value)


def run_limited(q, sql: str, params: list, *, max_rows: int | None = None) -> list[tuple]:
    """The rows of `sql` over `q`'s version through the reader (habit 4); a 503 past the time limit."""
    return _run(q, sql, params, max_rows=max_rows).rows


def _run(q, sql: str, params: list, *, max_rows: int | None = None):
    """One query in a read slot of this worker (portal/admission.py: a bounded wait, counted in its
    time limit; Busy is the API's 503 with Retry-After), its named errors answered by read_errors."""
    with read_errors(), admission.read_slot():
        return row_reads.run(q, sql, params, max_rows=max_rows)


@bp.get("/datasets/<name>/export.<fmt>")
def export(name: str, fmt: str):
    """The filtered rows of one version as a streamed file, with an ETag and cache headers."""
    ds = dataset_or_404(name)
    if fmt not in exports.FORMATS:  # one list: portal.rows.EXPORT_FORMATS
        raise ApiError(404, f"no export format {quoted(fmt)}; allowed: {', '.join(_formats(ds))}", allowed=_formats(ds))
    geometry = _geometry(ds)
    if fmt == "geojson" and geometry is False:
        raise ApiError(404, f"{name} has no location columns, so no GeoJSON export; allowed: {', '.join(_formats(ds))}",
                       allowed=_formats(ds))
    q = parse(ds, request.args, paged=False)
    # The HTTP cache's ETag and Cache-Control (decision 0015): flask-compress, coding the stream,
    # appends ":<coding>" to the tag, which not_modified recognises.
    etag = httpcache.etag_base({name: q.version})
    headers = {
        "ETag": f'"{etag}"',
        "Cache-Control": httpcache.cache_control(pinned="version" in request.args),
        "Content-Disposition": f'attachment; filename="{name}-v{q.version or 0}.{fmt}"',
        "X-Pulse-Version": str(q.version or 0),
    }
    matched = httpcache.not_modified(etag, headers)
    if matched is not None:
        return matched
    if fmt == "geojson" and geometry is None:
        q.columns += [c for c in ("longitude", "latitude") if c not in q.columns]
    if fmt == "geojson" and geometry and geometry not in q.columns:
        q.columns.append(geometry)
    # CSV lines and JSON texts are made by the query itself (decision 0004); Parquet gets typed columns.
    columns = [ds.column(c) for c in q.columns]
    select = {"csv": lambda: exports.csv_line(columns), "parquet": lambda: None}.get(
        fmt, lambda: exports.json_line(columns, fmt, geometry or None))()
    sql, params = q.sql(paged=False, select=[select] if select else None)
    writers = {
        "csv": exports.csv_chunks,
        "json": exports.json_chunks,
        "ndjson": exports.ndjson_chunks,
        "geojson": exports.geojson_chunks,
        "parquet": exports.parquet_chunks,
    }
    head = exports.csv_header(q.columns) if fmt == "csv" else b""
    slot = admission.acquire("export")  # held until the body ends or the client goes (Busy: a 503)
    resp = Response(stream_with_context(_stream(sql, params, writers[fmt], head, slot)), headers=headers,
                    content_type=exports.FORMATS[fmt])
    resp.call_on_close(slot.release)  # a body never iterated (HEAD, a client gone) frees it too
    return resp


def _stream(sql: str, params: list, writer, head: bytes, slot: admission.Slot):
    """Batches from one query over the chosen version, through the reader with the export time limit
    (PULSE_EXPORT_TIME_LIMIT_S); an error after the headers goes into the body, in fixed words (the
    exception's own text, DuckDB's included, goes to the log: issue 13). `head` (the CSV header)
    goes out before the query starts, so the download begins at once. The download's slot is given
    back however the body ends."""
    try:
        if head:
            yield head
        with row_reads.stream(sql, params, batch_rows=exports.BATCH_ROWS, buffer=exports.STREAM_BUFFER) as batches:
            yield from writer(batches)
    except QueryTimeout as exc:  # our own words: the query and its limit
        yield f"\n\nerror: the download stopped: QueryTimeout: {exc}\n".encode()
    except Exception:  # headers are sent: the body is all we can still tell the client with
        log.exception("export stopped: %s", request.full_path if has_request_context() else "")
        yield b"\n\nerror: the download stopped because of an error on the server; it has been logged\n"
    finally:
        slot.release()
