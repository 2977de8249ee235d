"""Every API error is JSON with a 4xx status and a message naming what was wrong: never a 500 page
or a traceback (issue 5, section 6). One handler for the whole app, one unknown-parameter check.

Why the handler is installed by the blueprints (`blueprint()`), app-wide: a test mounts one
blueprint on a bare Flask app and still gets the API's errors. Open311 answers in the GeoReport
v2 shape (a list of {code, description}, XML for .xml URLs); everything else as a JSON object.
The errors Flask and Werkzeug raise themselves (no route, a method a route does not take, a body
too large or not JSON, a server error) are JSON too, on every path (issue 13: they were Flask's
HTML page); a page that does not exist is still the portal's own "page not found" (api/not_found.py).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from flask import Blueprint, Response, jsonify, make_response, request
from werkzeug.exceptions import HTTPException

from lake.store import StoreUnavailable
from portal.admission import Busy
from portal.quoting import quoted
from portal.reader import QueryError, QueryTimeout, QueryTooBig

OPEN311 = "open311"  # the Open311 blueprint's name: its errors take the spec's shape
SODA = "soda"  # the SODA API's (api/soda.py): Socrata's clients read the error's `message`


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None, **detail):
        super().__init__(message)
        self.status, self.message, self.detail, self.headers = status, message, detail, headers or {}


def respond(exc: ApiError):
    if request.blueprint == OPEN311:
        if request.path.endswith(".xml"):
            root = ET.Element("errors")
            error = ET.SubElement(root, "error")
            ET.SubElement(error, "code").text = str(exc.status)
            ET.SubElement(error, "description").text = exc.message
            resp = xml_response(root, exc.status)
        else:
            resp = jsonify([{"code": exc.status, "description": exc.message}])
    elif request.blueprint == SODA:
        resp = jsonify({"error": exc.message, "message": exc.message, "status": exc.status, **exc.detail})
    else:
        resp = jsonify({"error": exc.message, "status": exc.status, **exc.detail})
    resp.status_code = exc.status
    resp.headers.update(exc.headers)
    return resp


def busy(exc: Busy):
    """Every read slot of this worker stayed taken (portal/admission.py): come back in a moment."""
    return respond(ApiError(503, f"the portal is busy with other reads; retry in {exc.retry_after} s",
                            headers={"Retry-After": str(exc.retry_after)}, retry_after=exc.retry_after))


def xml_response(root: ET.Element, status: int = 200) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, status=status, content_type="text/xml; charset=utf-8")


def http_error(exc: HTTPException):
    """Flask's and Werkzeug's own errors as the API's JSON, with their headers (Allow on a 405). A 500
    says nothing of its cause: Flask has logged it with its traceback."""
    if exc.code is None:
        return exc
    messages = {
        405: f"{request.method} is not allowed here: the portal is read-only; use GET (or HEAD)",
        413: "the request body is larger than this portal accepts",
        500: "the server failed to answer; the error has been logged",
    }
    resp = make_response(respond(ApiError(exc.code, messages.get(exc.code) or exc.description or exc.name)))
    for key, value in exc.get_headers():
        if key.lower() != "content-type":
            resp.headers[key] = value
    return resp


def store_unavailable(exc: StoreUnavailable):
    """A node over an object store that lacks a file an answer needs while the store is down: a 503
    to retry, never a 500 (lake/mirror.py)."""
    return respond(ApiError(503, "the data store is unreachable and this server does not hold the files this "
                                 "answer needs; try again in a few seconds", headers={"Retry-After": "5"}))


def _install(app) -> None:
    app.register_error_handler(ApiError, respond)
    app.register_error_handler(StoreUnavailable, store_unavailable)
    app.register_error_handler(Busy, busy)
    app.register_error_handler(HTTPException, http_error)


def blueprint(name: str, import_name: str, **options) -> Blueprint:
    """An API blueprint; mounting it installs the one ApiError handler (and the JSON answer to Flask's
    own errors) on the app."""
    bp = Blueprint(name, import_name, **options)
    bp.record_once(lambda state: _install(state.app))
    return bp


def check_params(allowed: Iterable[str], *, takes: str | None = None, shown: list[str] | None = None,
                 args=None, **detail) -> None:
    """400 naming the first parameter outside `allowed` (the request's args unless `args`). `takes`
    says in words what the endpoint takes and `shown` lists it, when the plain list would be long."""
    args = request.args if args is None else args
    allowed = list(allowed)
    unknown = sorted(key for key in args if key not in allowed)
    if unknown:
        said = takes or (f"allowed: {', '.join(allowed)}" if allowed else "this endpoint takes none")
        raise ApiError(400, f"unknown parameter {quoted(unknown[0])}; {said}", parameter=unknown[0],
                       allowed=allowed if shown is None else shown, **detail)


@contextmanager
def read_errors(**detail) -> Iterator[None]:
    """The read path's named errors as the API answers them (habit 4): past the time limit or the
    reader's memory a 503 (narrowing the filters helps), a refused parameter a 400 with the query
    layer's own message (and `detail`, such as the parameter)."""
    try:
        yield
    except QueryTimeout as exc:
        raise ApiError(503, f"the query was stopped after its time limit of {exc.limit_ms} ms; narrow the filters") from None
    except QueryTooBig:
        raise ApiError(503, "the query needed more memory than one web query may use; narrow the filters") from None
    except QueryError as exc:
        raise ApiError(400, str(exc), **detail) from None
