"""One id per request, in the access log, the app's own log lines and the response (issue 13).

Why: an operator following one slow or failed request reads its access line (gunicorn.conf.py), the
warnings the app logged while serving it (web/logs.py adds the id to every record) and, from a
user, the `X-Request-Id` header of the answer. A proxy in front (deploy/nginx.conf) may send its
own id; a well-formed one is kept so the proxy's log and ours agree, anything else is replaced.
WSGI middleware, not a Flask hook, so Dash's routes, errors and streamed downloads carry it too.
"""
from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from werkzeug.wsgi import ClosingIterator

HEADER = "X-Request-Id"
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}\Z")  # 8-128 characters, nothing a log could misread
_current: ContextVar[str | None] = ContextVar("pulse_request_id", default=None)


def current() -> str | None:
    """The id of the request this thread is serving, or None outside a request."""
    return _current.get()


def choose(given: str | None) -> str:
    """The client's (or proxy's) id when well-formed, else a new one."""
    return given if given and WELL_FORMED.match(given) else uuid.uuid4().hex


class RequestIds:
    """WSGI middleware: sets the id for the request's thread (the app reads it as the X-Request-Id
    request header and through current()) and adds it to the response's headers."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        rid = choose(environ.get("HTTP_X_REQUEST_ID"))
        environ["HTTP_X_REQUEST_ID"] = rid
        token = _current.set(rid)

        def start(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"] + [(HEADER, rid)]
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, start)
        except BaseException:
            _forget(token)
            raise
        # a streamed body is written after this returns: the id stays set until the server closes it
        return ClosingIterator(body, [lambda: _forget(token)])


def _forget(token) -> None:
    try:
        _current.reset(token)
    except ValueError:  # closed from another thread than the one that served it
        _current.set(None)
