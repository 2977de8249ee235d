"""Every API error is JSON with a 4xx status and a message naming what was wrong: never a 500 page
or a traceback (issue 5, section 6). One handler for the whole app, one unknown-parameter check.

Why the handler is installed by the blueprints (`blueprint()`), app-wide: a test mounts one
blueprint on a bare Flask app and still gets the API's errors. Open311 answers in the GeoReport
v2 shape (a list of {code, description}, XML for .xml URLs); everything else as a JSON object.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from flask import Blueprint, Response, jsonify, request

from portal.admission import Busy

OPEN311 = "open311"  # the Open311 blueprint's name: its errors take the spec's shape


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


def blueprint(name: str, import_name: str, **options) -> Blueprint:
    """An API blueprint; mounting it installs the one ApiError handler on the app."""
    bp = Blueprint(name, import_name, **options)
    bp.record_once(lambda state: (state.app.register_error_handler(ApiError, respond),
                                  state.app.register_error_handler(Busy, busy)))
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
        raise ApiError(400, f"unknown parameter {unknown[0]!r}; {said}", parameter=unknown[0],
                       allowed=allowed if shown is None else shown, **detail)
