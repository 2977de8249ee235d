"""A query-result cache shared by all gunicorn workers, keyed by query, parameters and data version.

Why the data version is in the key: a new version can never be served stale, and an unchanged one is
never recomputed (STYLE habit 10). The backends are flask-caching's own (FileSystemCache by default,
RedisCache when PULSE_REDIS_URL is set), used without a Flask app so the query layer stays free of
web code, behind portal/cachestore.py: a cache that is down is skipped, never a 500, and
simultaneous misses of one key compute it once (decision 0013).
"""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TypeVar

import config
from portal.cachestore import Store, kind, open_store

T = TypeVar("T")
_POLL_S = (0.005, 0.05)  # a waiter looks for the value after 5 ms, then less often, up to every 50 ms


@cache
def _store(kind: str, location: str, timeout: int) -> Store:
    return open_store(kind, location, timeout)


def backend() -> Store:
    """The configured backend (settings are read each call, so tests can switch them). Its get, set,
    has, delete and clear never raise: while it is unreachable they miss and do nothing."""
    chosen = kind()
    location = config.get("redis_url") if chosen == "redis" else str(config.data_dir() / "cache")
    return _store(chosen, location, config.get_int("cache_timeout"))


def lock_wait_s() -> float:
    """How long a miss waits for another worker computing the same answer before computing it too:
    the web time limit of the query that computes it, plus a second."""
    return config.get_int("query_time_limit_ms") / 1000 + 1


def cached(key: str, compute: Callable[[], T], timeout: int | None = None,
           keep: Callable[[T], bool] | None = None) -> tuple[T, bool]:
    """(value, hit): the value stored under `key`, else compute() stored there (unless `keep` says
    no: a failed answer is retried, not kept; None is never kept). Of simultaneous misses in any
    worker, one computes while the others wait for its value (the key's lock; a bounded wait,
    lock_wait_s(), then they compute too). A generic door: the query cache and HTTP bodies share it."""
    store = backend()
    value = store.get(key)
    if value is not None:
        return value, True
    deadline = time.monotonic() + lock_wait_s()
    pause = _POLL_S[0]
    while True:
        lock = store.lock(key, ttl_s=2 * lock_wait_s())
        if lock is not None:
            try:
                value = store.get(key)  # stored by the holder we waited for
                if value is not None:
                    return value, True
                return _computed(store, key, compute, timeout, keep), False
            finally:
                lock.release()
        if time.monotonic() >= deadline:
            return _computed(store, key, compute, timeout, keep), False
        time.sleep(pause)
        pause = min(pause * 2, _POLL_S[1])
        value = store.get(key)
        if value is not None:
            return value, True


def _computed(store: Store, key: str, compute: Callable[[], T], timeout: int | None,
              keep: Callable[[T], bool] | None) -> T:
    value = compute()
    if value is not None and (keep is None or keep(value)):
        store.set(key, value, timeout)
    return value


ROOT = Path(__file__).resolve().parent.parent
# Where answers are shaped: the query layer and the API that serves it (a cached rows page is the
# API's JSON). Every project module they import, directly or not, is in the fingerprint too.
ENTRY_POINTS = ("portal/*.py", "api/*.py")
DECLARATIONS = ("datasets/*.yaml",)


def code_fingerprint(root: Path | None = None) -> str:
    """A hash of the code and declarations that shape an answer: a deploy that changes a query, a
    KPI, how rollups are summed (datasets/rollups.py) or how the lake is read (lake/) must not be
    answered from entries computed by the old code (the data version alone would not change).
    The running code's is computed once per process; another tree's (a test's copy) each call."""
    return _deployed() if root is None else _fingerprint(Path(root).resolve())


@functools.cache
def _deployed() -> str:
    return _fingerprint(ROOT)


def _fingerprint(root: Path) -> str:
    return fingerprint_files(root, {p for pattern in DECLARATIONS for p in root.glob(pattern)} | import_closure(root))


def fingerprint_files(root: Path, files) -> str:
    """A hash of these files' paths under `root` and their bytes."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def import_closure(root: Path, entry_points: tuple[str, ...] = ENTRY_POINTS) -> set[Path]:
    """The project's own modules reachable by import from `entry_points` (read from the source, not
    from what happens to be imported in this process); packages bring their __init__.py."""
    todo = [p for pattern in entry_points for p in root.glob(pattern)]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imported(path, root):
            todo += _module_files(root, name)
    return seen


_PARSING = threading.Lock()


def _imported(path: Path, root: Path) -> set[str]:
    """Dotted names a module imports (`from a import b` gives a and a.b: b may be a module)."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    names = set()
    with _PARSING:  # CPython 3.11's parser is not safe in two threads at once (a SystemError, seen under gthread)
        tree = ast.parse(path.read_bytes(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""  # from . import x
            module = ".".join(x for x in (base, node.module or "") if x)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _module_files(root: Path, dotted: str) -> list[Path]:
    """The files of a project module and of the packages it sits in (their __init__.py run first)."""
    parts = dotted.split(".")
    out = []
    for i in range(1, len(parts) + 1):
        base = root.joinpath(*parts[:i])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                out.append(candidate)
    return out


def key(name: str, params: dict, versions: dict) -> str:
    body = json.dumps({"q": name, "p": params, "v": versions, "c": code_fingerprint()}, sort_keys=True, default=str)
    return f"q:{name}:" + hashlib.sha256(body.encode()).hexdigest()[:32]


def get_or_compute(name: str, params: dict, versions: dict, compute):
    """(value, hit): the cached value for this query, parameters and versions, else compute() stored."""
    return cached(key(name, params, versions), compute)
