"""Rate limits per client address on what costs real work (issue 13): rows pages and Open311 answers,
downloads, chart CSVs and KPI answers, Dash callbacks. Over a limit: 429, `Retry-After` and a JSON
message. Generous by default and configurable (PULSE_RATE_LIMIT_*, flask-limiter's syntax, read at
each request; empty turns a group off).

What is not counted (flask-limiter's deduct_when): an answer served from a cache or a 304. The
CONTRACT with the HTTP cache (and with the rows API's own page cache): whoever answers from a cache
sets `flask.g.pulse_cache_hit = True`; a 304 is never counted either. A client already over its
limit is refused before the view runs, cached or not: the limit is checked before anything is known.
A cache that answers in a `before_request` hook registered before init() is never checked at all.

Counters live in Redis when PULSE_REDIS_URL is set (one count for every worker and machine), else in
each worker's memory (a client's allowance is then per worker). Redis down: counting falls back to
memory and goes back to Redis by itself; a limiter error never fails a request.
Client address: request.remote_addr, which ProxyFix (app.py, PULSE_TRUSTED_PROXIES) takes from
X-Forwarded-For only as far as the configured proxies wrote it, so a client cannot pick its own.
"""
from __future__ import annotations

import math
import time

from flask import Flask, g
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

import config
from api.errors import ApiError, respond
from portal.cachestore import SOCKET_TIMEOUT_S

# setting -> the endpoints whose work it limits (one shared count per group and client)
GROUPS: dict[str, tuple[str, ...]] = {
    "rate_limit_rows": ("api_datasets.rows", "soda.resource", "soda.resource_row", "open311.services", "open311.requests", "open311.one_request"),
    "rate_limit_exports": ("api_datasets.export",),
    "rate_limit_queries": ("charts.chart_csv", "api_v1.kpis", "api_v1.kpi", "embed_pages.embed", "embed_pages.image"),
    "rate_limit_callbacks": ("_dash-update-component",),  # under Dash's routes prefix, added by init()
}


def counted(response) -> bool:
    """Whether an answer costs the client part of its allowance: not one from a cache, not a 304
    (and not the 429 itself)."""
    return not (g.get("pulse_cache_hit") or response.status_code in (304, 429))


def storage() -> tuple[str, dict]:
    """Where the counters live: PULSE_REDIS_URL (short time-outs, no retries) or this worker's memory."""
    url = config.get("redis_url")
    if not url:
        return "memory://", {}
    return url, {"socket_timeout": SOCKET_TIMEOUT_S, "socket_connect_timeout": SOCKET_TIMEOUT_S}


def too_many(exc: RateLimitExceeded, limiter: Limiter):
    """429 with Retry-After (seconds until the breached window ends) and the API's JSON error (the
    spec's shape under /open311/). flask-limiter logs the breach itself, with the request id."""
    try:
        current = limiter.current_limit
        retry = max(1, math.ceil(current.window.reset_time - time.time())) if current else 1
    except Exception:  # noqa: BLE001  (the counters' store went away meanwhile)
        retry = 1
    return respond(ApiError(429, f"too many requests: the limit is {exc.description} per client; retry in {retry} s",
                            headers={"Retry-After": str(retry)}, limit=exc.description, retry_after=retry))


def init(app: Flask, routes_prefix: str = "/") -> Limiter:
    """Put the limits on `app`'s endpoints (after every route is registered)."""
    uri, options = storage()
    limiter = Limiter(get_remote_address, app=app, storage_uri=uri, storage_options=options, strategy="fixed-window",
                      key_prefix="pulse", headers_enabled=False, swallow_errors=True, in_memory_fallback_enabled=True)
    for setting, endpoints in GROUPS.items():
        shared = limiter.shared_limit(lambda setting=setting: config.get(setting), scope=setting.removeprefix("rate_limit_"),
                                      deduct_when=counted)
        for endpoint in endpoints:
            if endpoint.startswith("_dash"):
                endpoint = routes_prefix + endpoint
            app.view_functions[endpoint] = shared(app.view_functions[endpoint])
    app.register_error_handler(RateLimitExceeded, lambda exc: too_many(exc, limiter))
    return limiter


def client_addresses(wsgi_app):
    """`wsgi_app` reading the client's address (and scheme) from the X-Forwarded-* headers written by
    the PULSE_TRUSTED_PROXIES proxies in front, and only from those: with 0 it is the socket's peer."""
    proxies = config.get_int("trusted_proxies")
    return ProxyFix(wsgi_app, x_for=proxies, x_proto=proxies) if proxies > 0 else wsgi_app
