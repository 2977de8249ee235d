"""Every API error is JSON with a 4xx status and a message naming what was wrong: never a 500 page
or a traceback (issue 5, section 6)."""
from __future__ import annotations

from flask import jsonify


class ApiError(Exception):
    def __init__(self, status: int, message: str, **detail):
        super().__init__(message)
        self.status, self.message, self.detail = status, message, detail


def respond(exc: ApiError):
    return jsonify({"error": exc.message, "status": exc.status, **exc.detail}), exc.status


def register(bp) -> None:
    bp.register_error_handler(ApiError, respond)
