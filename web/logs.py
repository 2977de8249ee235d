"""Log lines as JSON, each with the id of the request it belongs to (issue 13).

gunicorn.conf.py installs these through logging's dictConfig: `Json` formats the app's own records
and gunicorn's error log, `AccessJson` gunicorn's access log (it reads the atoms gunicorn hands
every access record), and `RequestIdFilter` puts web/requestid.py's id on each record.
"""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from web import requestid


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to a record: the id of the request the logging thread serves, or '-'."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = requestid.current() or "-"
        return True


def _when(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class Json(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": _when(record), "level": record.levelname, "logger": record.name,
               "message": record.getMessage(), "request_id": getattr(record, "request_id", "-"),
               "pid": record.process}
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def _number(value) -> int | None:
    return value if isinstance(value, int) else int(value) if isinstance(value, str) and value.isdigit() else None


class AccessJson(logging.Formatter):
    """gunicorn's access record as one JSON object. gunicorn passes its atoms (h: client, m: method,
    U: path, q: query, s: status, B: bytes, M: milliseconds, {name}i / {name}o: request / response
    headers) as the record's args; the request id is the response's X-Request-Id."""

    def format(self, record: logging.LogRecord) -> str:
        atoms = record.args if isinstance(record.args, dict) else {}

        def atom(name: str):
            value = atoms.get(name, "-")
            if isinstance(value, str):
                value = value.replace('\\"', '"')  # gunicorn escapes quotes for its text format
            return None if value in ("-", "") else value

        out = {"time": _when(record), "remote": atom("h"), "method": atom("m"), "path": atom("U"),
               "query": atom("q"), "status": _number(atom("s")), "bytes": _number(atom("B")),
               "duration_ms": _number(atom("M")), "request_id": atom("{x-request-id}o") or "-",
               "referer": atom("f"), "user_agent": atom("a"), "pid": record.process}
        return json.dumps(out, ensure_ascii=False, default=str)
