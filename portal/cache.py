"""A query-result cache shared by all gunicorn workers, keyed by query, parameters and data version.

Why the data version is in the key: a new version can never be served stale, and an unchanged one is
never recomputed (STYLE habit 10). The backends are flask-caching's own (FileSystemCache by default,
RedisCache when configured), used without a Flask app so the query layer stays free of web code.
"""
from __future__ import annotations

import functools
import hashlib
import json
from functools import cache
from pathlib import Path

from flask_caching.backends import FileSystemCache, NullCache, RedisCache

import config


@cache
def _backend(kind: str, location: str, timeout: int):
    if kind == "redis":
        if not location:
            raise ValueError("PULSE_CACHE_TYPE=redis needs PULSE_REDIS_URL")
        import redis

        return RedisCache(host=redis.Redis.from_url(location), default_timeout=timeout, key_prefix="pulse:")
    if kind == "null":
        return NullCache()
    if kind == "filesystem":
        return FileSystemCache(location, threshold=5000, default_timeout=timeout)
    raise ValueError(f"PULSE_CACHE_TYPE must be filesystem, redis or null, not {kind!r}")


def backend():
    """The configured backend (settings are read each call, so tests can switch them)."""
    kind = config.get("cache_type")
    location = config.get("redis_url") if kind == "redis" else str(config.data_dir() / "cache")
    return _backend(kind, location, config.get_int("cache_timeout"))


@functools.cache
def code_fingerprint() -> str:
    """A hash of the read side's code and declarations: a deploy that changes a query or a KPI must
    not be answered from entries computed by the old code (the data version alone would not change)."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*root.glob("portal/*.py"), *root.glob("datasets/*.yaml"), *root.glob("datasets/*.py")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def key(name: str, params: dict, versions: dict) -> str:
    body = json.dumps({"q": name, "p": params, "v": versions, "c": code_fingerprint()}, sort_keys=True, default=str)
    return f"q:{name}:" + hashlib.sha256(body.encode()).hexdigest()[:32]


def get_or_compute(name: str, params: dict, versions: dict, compute):
    """(value, hit): the cached value for this query, parameters and versions, else compute() stored."""
    store = backend()
    k = key(name, params, versions)
    value = store.get(k)
    if value is not None:
        return value, True
    value = compute()
    store.set(k, value)
    return value, False
