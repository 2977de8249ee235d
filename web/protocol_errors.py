"""A request gunicorn refuses before Pulse sees it (a request line over 8,190 bytes, a malformed
header) gets a JSON answer with a message, as every other refusal does, instead of gunicorn's HTML.

Why: the SODA clients read a refusal's JSON `message` (sodapy raises "Unknown response format" on
HTML), and a 100 KB `$query` in a GET is what a hostile or careless script sends first. Gunicorn
writes these answers itself with `gunicorn.util.write_error`, which its workers look up at call
time, so installing this writer in the worker (gunicorn.conf.py's post_fork) covers every refusal
the HTTP parser makes, whatever the status (400, 414, 431, 501). The application's own errors never
reach it: Flask answers those (api/errors.py).
"""
from __future__ import annotations

import json

LINE_LIMIT = 8190  # gunicorn's largest request line (its `limit_request_line` ceiling), set in gunicorn.conf.py
HINTS = {
    414: f"The request line (method, path and query) is longer than {LINE_LIMIT:,} bytes. Send a shorter "
         "query: fewer values in an IN list, or several requests.",
    431: "The request's headers are too large.",
}
HEADERS = {
    "Content-Type": "application/json",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Connection": "close",
}


def answer(status: int, reason: str, detail: str) -> bytes:
    """The whole HTTP response for a refusal: status line, headers and a JSON body naming the problem."""
    message = HINTS.get(status, f"The request is not valid HTTP: {detail}" if detail else "The request is not valid HTTP.")
    body = json.dumps({"error": reason, "message": message, "status": status}).encode()
    head = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in HEADERS.items()), f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn.util.write_error's signature and behaviour (never blocks the worker), a JSON body."""
    from gunicorn import util

    util.write_nonblock(sock, answer(status_int, reason, mesg))


def install() -> None:
    """Make this process's gunicorn workers write their refusals as JSON."""
    from gunicorn import util

    util.write_error = write_error
