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

OPEN311 = "open311"  # the Open311 blueprint's name: its errors take the spec's shape


class ApiError(Exception):
    def __init__(self, status: int, message: str, **detail):
        super().__init__(message)
        self.status, self.message, self.detail = status, message, detail


def respond(exc: ApiError):
    if request.blueprint == OPEN311:
        if request.path.endswith(".xml"):
            root = ET.Element("errors")
            error = ET.SubElement(root, "error")
            ET.SubElement(error, "code").text = str(exc.status)
            ET.SubElement(error, "description").text = exc.message
            return xml_response(root, exc.status)
        return jsonify([{"code": exc.status, "description": exc.message}]), exc.status
    return jsonify({"error": exc.message, "status": exc.status, **exc.detail}), exc.status


def xml_response(root: ET.Element, status: int = 200) -> Response:
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, status=status, content_type="text/xml; charset=utf-8")


def blueprint(name: str, import_name: str, **options) -> Blueprint:
    """An API blueprint; mounting it installs the one ApiError handler on the app."""
    bp = Blueprint(name, import_name, **options)
    bp.record_once(lambda state: state.app.register_error_handler(ApiError, respond))
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
