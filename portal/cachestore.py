"""The shared cache's backend, made safe to depend on: it never raises and never hangs, and it holds
a short lock per key so that simultaneous misses of one answer compute it once (issue 13).

Why a circuit: when Redis stops, every request would otherwise wait for a connection error (or a
socket time-out, after redis-py's ten retries) before computing uncached. After one failure a worker
skips the cache for PULSE_CACHE_RETRY_SECONDS and then tries it again, so the portal serves
uncached meanwhile and caching resumes by itself when Redis is back.

Why the lock lives in the backend: gunicorn workers share no memory. Redis takes `SET key token NX
PX ttl` (it expires if its holder dies); the filesystem cache an flock on one of LOCK_STRIPES files
beside it (the kernel releases it if its holder dies; two keys on one stripe only wait for each
other). The null cache never locks: nothing would be kept for the waiters anyway.
See docs/decisions/0013-production-serving.md.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
import uuid
from pathlib import Path

import config

log = logging.getLogger("pulse.cache")

SOCKET_TIMEOUT_S = 0.5  # one Redis call; a cached rows page of several MB takes ~50 ms on loopback
LOCK_STRIPES = 256
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class Lock:
    """A held lock; release() is idempotent. The base class is the lock of a cache that cannot lock
    (null, or down): holding it means "compute now"."""

    def release(self) -> None:
        pass


class _RedisLock(Lock):
    def __init__(self, client, key: str, token: str):
        self.client, self.key, self.token = client, key, token

    def release(self) -> None:
        if self.token:
            token, self.token = self.token, ""
            try:  # only our own token: a lock that expired and was taken by another stays theirs
                self.client.eval(_UNLOCK, 1, self.key, token)
            except Exception:  # noqa: BLE001  (it expires by itself)
                pass


# The stripes each thread holds. A lock taken inside another's computation (the query cache inside
# an HTTP answer) that falls on a stripe its own thread holds must not wait for itself: an flock of
# another descriptor of the same file is refused even in the same process, so it waited lock_wait_s
# and the read's deadline ran out (a 503 one nested pair in 256, seen in test_public_routes_fuzz).
_held = threading.local()


class _FileLock(Lock):
    def __init__(self, fd: int, stripe: tuple | None = None):
        self.fd: int | None = fd
        self.stripe = stripe

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            getattr(_held, "stripes", set()).discard(self.stripe)
            os.close(fd)  # closing the descriptor drops its flock


class Store:
    """A flask-caching backend behind a circuit: get/set/has/delete/clear never raise, and lock()
    answers at once (a Lock, or None when another process or thread holds it)."""

    def __init__(self, kind: str, inner, *, client=None, folder: Path | None = None):
        self.kind, self.inner, self.client, self.folder = kind, inner, client, folder
        self.lock_dir = Path(f"{folder}-locks") if folder else None
        self._down_until = 0.0
        self._guard = threading.Lock()

    # --- the circuit ----------------------------------------------------------------------------
    def available(self) -> bool:
        """False while the circuit is open (a recent failure, retried after PULSE_CACHE_RETRY_SECONDS)."""
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        retry = config.get_int("cache_retry_seconds")
        with self._guard:
            opened = self.available()
            self._down_until = time.monotonic() + retry
        if opened:
            log.warning("cache %s unreachable (%s: %s): serving uncached, retrying in %d s", self.kind,
                        type(exc).__name__, exc, retry)

    def _call(self, op: str, *args, default=None):
        if not self.available():
            return default
        was_down = self._down_until > 0
        try:
            result = getattr(self.inner, op)(*args)
        except Exception as exc:  # noqa: BLE001  (a cache never takes the portal down)
            self._failed(exc)
            return default
        if was_down:
            with self._guard:
                if self._down_until:
                    self._down_until = 0.0
                    log.warning("cache %s reachable again: caching resumed", self.kind)
        return result

    def get(self, key: str):
        return self._call("get", key)

    def set(self, key: str, value, timeout: int | None = None) -> bool:
        return bool(self._call("set", key, value, timeout, default=False))

    def has(self, key: str) -> bool:
        return bool(self._call("has", key, default=False))

    def delete(self, key: str) -> bool:
        return bool(self._call("delete", key, default=False))

    def clear(self) -> bool:
        return bool(self._call("clear", default=False))

    def ping(self) -> bool:
        """Whether the backend answers now (for /readyz), whatever the circuit says."""
        try:
            if self.kind == "redis":
                return bool(self.client.ping())
            if self.kind == "filesystem":
                return self.folder.is_dir() and os.access(self.folder, os.R_OK | os.W_OK | os.X_OK)
            return True
        except Exception:  # noqa: BLE001
            return False

    # --- locks ----------------------------------------------------------------------------------
    def lock(self, key: str, ttl_s: float) -> Lock | None:
        """The lock of `key` if free (held until release(), or `ttl_s` for Redis), else None. A cache
        that cannot lock, or is down, gives a Lock at once: the caller computes uncached."""
        if self.kind == "null" or not self.available():
            return Lock()
        try:
            if self.kind == "redis":
                name, token = f"pulse:lock:{key}", uuid.uuid4().hex
                if self.client.set(name, token, nx=True, px=max(1, int(ttl_s * 1000))):
                    return _RedisLock(self.client, name, token)
                return None
            return self._file_lock(key)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return Lock()

    def _file_lock(self, key: str) -> Lock | None:
        stripe = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % LOCK_STRIPES
        held = _held.__dict__.setdefault("stripes", set())
        if (str(self.lock_dir), stripe) in held:  # this thread holds it a level up: compute now
            return Lock()
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_dir / f"{stripe:03d}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:  # flock belongs to this open file description: threads of one process exclude each other too
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        held.add((str(self.lock_dir), stripe))
        return _FileLock(fd, (str(self.lock_dir), stripe))


def kind() -> str:
    """The configured backend: PULSE_CACHE_TYPE, else redis when PULSE_REDIS_URL is set, else filesystem."""
    return config.get("cache_type") or ("redis" if config.get("redis_url") else "filesystem")


def open_store(kind: str, location: str, timeout: int) -> Store:
    """A Store over flask-caching's own backend (no Flask app needed: the query layer stays web-free)."""
    from flask_caching.backends import FileSystemCache, NullCache, RedisCache

    if kind == "redis":
        if not location:
            raise ValueError("PULSE_CACHE_TYPE=redis needs PULSE_REDIS_URL")
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Short time-outs and no retries: a stopped Redis costs one refused connection, then the circuit.
        client = redis.Redis.from_url(location, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S,
                                      retry=Retry(NoBackoff(), 0))
        return Store(kind, RedisCache(host=client, default_timeout=timeout, key_prefix="pulse:"), client=client)
    if kind == "null":
        return Store(kind, NullCache())
    if kind == "filesystem":
        return Store(kind, FileSystemCache(location, threshold=5000, default_timeout=timeout), folder=Path(location))
    raise ValueError(f"PULSE_CACHE_TYPE must be filesystem, redis or null, not {kind!r}")
