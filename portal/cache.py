"""A query-result cache shared by all gunicorn workers, keyed by query, parameters and data version.

Why the data version is in the key: a new version can never be served stale, and an unchanged one is
never recomputed (STYLE habit 10). The backends are flask-caching's own (FileSystemCache by default,
RedisCache when configured), used without a Flask app so the query layer stays free of web code.
"""
from __future__ import annotations

import ast
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


def _imported(path: Path, root: Path) -> set[str]:
    """Dotted names a module imports (`from a import b` gives a and a.b: b may be a module)."""
    package = path.relative_to(root).with_suffix("").parts[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
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
    store = backend()
    k = key(name, params, versions)
    value = store.get(k)
    if value is not None:
        return value, True
    value = compute()
    store.set(k, value)
    return value, False
