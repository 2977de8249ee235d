"""What a request may send: a body of at most PULSE_MAX_REQUEST_BYTES, and, to Dash's callback
endpoint, a body shaped as Dash's renderer sends one for a callback the portal has.

Why: Dash reads a callback body as it is. A 20 MB filter value took a worker to 1.7 GB, and a body
that is not JSON, has the wrong shape or names an output no callback has ended in Dash's own
KeyError or AttributeError, a 500 (issue 13, hostile review). The largest body the real pages send
is 2.8 KB (the 311 page with a long complaint type typed, measured in Chromium), so the default of
1 MiB refuses nothing real. A bad body is a 400 with a JSON message before Dash sees it.
"""
from __future__ import annotations

from dash import Dash
from dash.exceptions import DependencyException
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

import config
from api.errors import ApiError, respond
from portal.quoting import quoted

UPDATE_COMPONENT = "_dash-update-component"
PAGE_ROUTER = "_pages_location"  # Dash's page router reads its inputs (pathname, search) as text


def install(app: Dash) -> None:
    """Check every request's size, and every callback body, before a view reads it."""
    endpoint = app.config.routes_pathname_prefix + UPDATE_COMPONENT

    @app.server.before_request
    def _limits():
        limit = config.get_int("max_request_bytes")
        request.max_content_length = limit  # a body sent without a length stops at the limit as it is read
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge()
        if request.endpoint == endpoint and request.method == "POST":
            problem = callback_problem(_json_body(), app.callback_map)
            if problem:
                raise ApiError(400, f"not a callback request this portal answers: {problem}")

    # An unknown file under /_dash-component-suites/ raised Dash's DependencyException: a 500.
    app.server.register_error_handler(DependencyException, lambda _: respond(ApiError(404, "no such component file")))


def _json_body():
    """The body's JSON; None when it is not JSON (callback_problem says so)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:  # JSON nested past Python's recursion limit: not a ValueError, so not silenced
        raise ApiError(400, "not a callback request this portal answers: its JSON is nested too deeply") from None


def callback_problem(body, callbacks: dict) -> str | None:
    """What is wrong with a callback body, in words, or None when it is what the renderer sends:
    an object naming a server callback's output, its inputs and state in the callback's order (id
    and property each), its outputs likewise, and changedPropIds as texts."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    output = body.get("output")
    cb = callbacks.get(output) if isinstance(output, str) else None
    if cb is None or "callback" not in cb:  # clientside callbacks are in the map too, without a function
        return f"no server callback has the output {quoted(output)}"
    for key in ("inputs", "state"):
        wanted, given = cb.get(key, []), body.get(key, [])
        if not isinstance(given, list) or len(given) != len(wanted):
            return f"{key} must list the callback's {len(wanted)} {key}"
        for want, got in zip(wanted, given, strict=True):
            if not _is(got, want["id"], want["property"]):
                return f"{key} must be {', '.join(w['id'] + '.' + w['property'] for w in wanted)}, in that order"
            if want["id"] == PAGE_ROUTER and not isinstance(got.get("value"), (str, type(None))):
                return f"{PAGE_ROUTER}.{want['property']} must be a text"
    specs = cb["output"] if isinstance(cb["output"], (list, tuple)) else [cb["output"]]
    outputs = body.get("outputs")
    outputs = outputs if isinstance(cb["output"], (list, tuple)) else [outputs]
    if not isinstance(outputs, list) or len(outputs) != len(specs) or not all(
            _is(got, spec.component_id, spec.component_property, getattr(spec, "allow_duplicate", False))
            for got, spec in zip(outputs, specs, strict=False)):
        return "outputs must name the callback's outputs, in order"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "changedPropIds must be a list of texts"
    return None


def _is(item, component_id, prop: str, duplicate: bool = False) -> bool:
    """Whether `item` (from a body) names `component_id`.`prop`; a pattern-matching id (a dict, or
    its JSON text in the callback map) takes a list of such items. An output a second callback may
    also write (allow_duplicate) is sent as `prop@<hash>`."""
    def same(given) -> bool:
        return given == prop or (duplicate and isinstance(given, str) and given.split("@", 1)[0] == prop)

    pattern = isinstance(component_id, dict) or (isinstance(component_id, str) and component_id.startswith("{"))
    if pattern:
        return isinstance(item, list) and all(
            isinstance(i, dict) and isinstance(i.get("id"), dict) and same(i.get("property")) for i in item)
    return isinstance(item, dict) and item.get("id") == component_id and same(item.get("property"))
