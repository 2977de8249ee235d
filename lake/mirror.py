"""A node's read-through copy of a lake that lives in an object store (PULSE_LAKE_URL=s3://...).

The copy has the local lake's layout under PULSE_DATA_DIR/lake/<dataset>/, so every reader keeps
reading local paths and a warm node queries at local-disk speed:
    CURRENT              the newest pointer this node has read (so a restarted worker with the
                         store down still knows what it holds)
    versions/<N>.json    manifests, fetched once (immutable)
    data/, rollups/, projections/   data files, fetched on first use (immutable), least recently
                         used out past PULSE_LAKE_CACHE_BYTES

Nothing here is needed for correctness: the store holds every version; a wiped node fetches the
pointer, the manifest and the files a query needs, and serves again. Why poll the pointer (at most
every PULSE_LAKE_POLL_SECONDS per worker and dataset) rather than a Redis message: one small GET
needs no second moving part, and a node that missed a message would stay stale; the dashboards
already poll every PULSE_LIVE_POLL_SECONDS (docs/decisions/0016-lake-on-object-storage.md).

When the store does not answer, a node serves the newest version it holds, says so on /readyz
(`health()`), and asks again after RETRY_AFTER_FAILURE_S, so a down store costs a request at most
one connect timeout every few seconds rather than every request.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import config
from lake import store
from lake.model import Manifest

RETRY_AFTER_FAILURE_S = 5.0
STALE_AT_MOST = 3  # poll intervals a worker may answer from its last pointer read while it asks again
TOUCH_EVERY_S = 60.0  # a file's mtime is its last use, refreshed at most this often
EVICT_GRACE_S = 600.0  # a file used this recently is never evicted (a load or query may be reading it)
FILE_FOLDERS = ("data", "rollups", "projections", "rejects")

_pointers: dict[tuple, tuple[int | None, float]] = {}
_listings: dict[tuple, tuple[int | None, float, list[int]]] = {}
_oldest: dict[tuple, tuple[int, float]] = {}
_health: dict = {"ok": True, "error": None, "since": None, "retry_at": 0.0}
_lock = threading.Lock()


Where = tuple[str, str]  # (PULSE_LAKE_URL, PULSE_DATA_DIR): which lake, and this node's copy of it


def _where() -> Where:
    return config.get("lake_url"), config.get("data_dir")


def _k(dataset: str, where: Where | None = None) -> tuple[str, str, str]:
    """What this process remembers is per lake, node folder and dataset (a test or `etl demo` may
    switch lakes within one process)."""
    return (*(where or _where()), dataset)


def _base(dataset: str, where: Where | None = None) -> Path:
    return Path((where or _where())[1]) / "lake" / dataset


def health() -> dict:
    """{"ok": bool, "error": str|None, "since": epoch seconds of the first failure}, for /readyz."""
    return {k: _health[k] for k in ("ok", "error", "since")}


def failed(exc: Exception) -> None:
    """Note that the store did not answer (health(), and a rest before asking again)."""
    with _lock:
        if _health["ok"]:
            _health["since"] = time.time()
        _health.update(ok=False, error=str(exc), retry_at=time.monotonic() + RETRY_AFTER_FAILURE_S)


def _answered() -> None:
    with _lock:
        _health.update(ok=True, error=None, since=None, retry_at=0.0)


def _store_resting() -> bool:
    """After a failure, wait RETRY_AFTER_FAILURE_S before asking again."""
    return not _health["ok"] and time.monotonic() < _health["retry_at"]


def forget() -> None:
    """Drop what this process remembers of the store (tests; a worker after a fork keeps none anyway)."""
    _pointers.clear()
    _listings.clear()
    _oldest.clear()
    _asking.clear()
    _missing_shared.clear()
    _answered()


# ---- the pointer -----------------------------------------------------------------------------

def read_pointer(dataset: str, where: Where | None = None) -> tuple[int | None, str | None]:
    """(the version the store's pointer names, its ETag), asked now; StoreUnavailable if it cannot answer.
    What a writer bases a publish on."""
    where = where or _where()
    try:
        obj = store.store_at(where[0]).get(f"{dataset}/CURRENT")
    except store.StoreUnavailable as exc:
        failed(exc)
        raise
    _answered()
    version = int(obj.body.decode().strip()) if obj else None
    _remember(dataset, version, where)
    return version, (obj.etag if obj else None)


def current(dataset: str) -> int | None:
    """The current version as this node knows it, asked of the store at most every
    PULSE_LAKE_POLL_SECONDS; while the store does not answer, the newest version held here.

    A worker in use does not wait for the store: an answer up to STALE_AT_MOST poll intervals old is
    given at once and the pointer asked for beside the request (one thread per dataset and process),
    so a query never waits on a round trip (the warm-node benchmark saw one on the request path cost
    a fast query 10-20%). The first ask, or one after the worker sat idle, waits for the answer."""
    where = _where()
    known = _pointers.get(_k(dataset, where))
    poll = float(config.get("lake_poll_seconds"))
    age = time.monotonic() - known[1] if known else None
    if age is not None and age < poll:
        return known[0]
    if age is None or age > STALE_AT_MOST * poll:  # first ask, or a worker idle a while: wait for the answer
        return _ask(dataset, where, known)
    _ask_beside(dataset, where, known)
    return known[0]


_asking: dict[tuple, tuple[int, float]] = {}  # key -> (pid, since) of a pointer read under way


def _ask_beside(dataset: str, where: Where, known: tuple[int | None, float]) -> None:
    """Read the pointer in a thread unless one of this process is already at it (a thread of the
    process gunicorn forked from does not count: threads do not survive a fork)."""
    key = _k(dataset, where)
    with _lock:
        under_way = _asking.get(key)
        if under_way and under_way[0] == os.getpid() and time.monotonic() - under_way[1] < 30:
            return
        _asking[key] = (os.getpid(), time.monotonic())

    def ask() -> None:
        try:
            _ask(dataset, where, known)
        finally:
            _asking.pop(key, None)

    threading.Thread(target=ask, name=f"lake-pointer-{dataset}", daemon=True).start()


def _ask(dataset: str, where: Where, known: tuple[int | None, float] | None) -> int | None:
    if _store_resting():
        return _newest_held(dataset, known, where)
    try:
        return read_pointer(dataset, where)[0]
    except store.StoreUnavailable:
        held = _newest_held(dataset, known, where)
        _pointers[_k(dataset, where)] = (held, time.monotonic())
        return held


def _newest_held(dataset: str, known: tuple[int | None, float] | None, where: Where | None = None) -> int | None:
    """With the store silent: the newest version this worker or another on the node has read."""
    versions = [v for v in (_held(dataset, where), known[0] if known else None) if v is not None]
    return max(versions) if versions else None


def _held(dataset: str, where: Where | None = None) -> int | None:
    try:
        return int((_base(dataset, where) / "CURRENT").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _remember(dataset: str, version: int | None, where: Where | None = None) -> None:
    where = where or _where()
    _pointers[_k(dataset, where)] = (version, time.monotonic())
    if version is not None and version != _held(dataset, where):
        folder = _base(dataset, where)
        folder.mkdir(parents=True, exist_ok=True)
        _replace(folder / "CURRENT", f"{version}\n".encode())


def _replace(path: Path, body: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(body)
    os.replace(tmp, path)


def oldest(dataset: str) -> int:
    """The oldest version retention keeps (the store's OLDEST; 1 without one), asked at most every
    PULSE_LAKE_POLL_SECONDS; while the store does not answer, 1 (what this node holds decides)."""
    known = _oldest.get(_k(dataset))
    if known and time.monotonic() - known[1] < float(config.get("lake_poll_seconds")):
        return known[0]
    if _store_resting():
        return known[0] if known else 1
    try:
        obj = store.remote().get(f"{dataset}/OLDEST")
    except store.StoreUnavailable as exc:
        failed(exc)
        return known[0] if known else 1
    value = int(obj.body.decode().strip()) if obj else 1
    _oldest[_k(dataset)] = (value, time.monotonic())
    return value


def version_numbers(dataset: str, current_version: int | None) -> list[int]:
    """Numbers of the manifests the store keeps up to `current_version` (one listing per poll interval)."""
    if current_version is None:
        return []
    known = _listings.get(_k(dataset))
    if known and known[0] == current_version and time.monotonic() - known[1] < float(config.get("lake_poll_seconds")):
        return known[2]
    try:
        listed = store.remote().list(f"{dataset}/versions/")
    except store.StoreUnavailable as exc:
        failed(exc)
        folder = _base(dataset) / "versions"
        listed = [store.Listed(f"{dataset}/versions/{p.name}", 0, 0) for p in folder.glob("*.json")] if folder.exists() else []
    stems = (key.rsplit("/", 1)[-1].removesuffix(".json") for key in (o.key for o in listed))
    numbers = sorted(n for n in (int(s) for s in stems if s.isascii() and s.isdigit()) if n <= current_version)
    _listings[_k(dataset)] = (current_version, time.monotonic(), numbers)
    return numbers


# ---- manifests and files ---------------------------------------------------------------------

def manifest_text(dataset: str, rel: str) -> str:
    """A manifest's JSON, from this node's copy or fetched once; FileNotFoundError if the store has
    none (never published, or removed by retention)."""
    local = _base(dataset) / rel
    try:
        return local.read_text()
    except FileNotFoundError:
        pass
    try:
        obj = store.remote().get(f"{dataset}/{rel}")
    except store.StoreUnavailable as exc:
        failed(exc)
        raise
    if obj is None:
        raise FileNotFoundError(rel)
    local.parent.mkdir(parents=True, exist_ok=True)
    _replace(local, obj.body)
    return obj.body.decode()


_missing_shared: dict[tuple, float] = {}


def fetch_shared(name: str, path: Path) -> bool:
    """Fetch `_shared/<name>` (a file every node needs beside the lake) to `path`; whether it is
    there now. A miss is remembered for RETRY_AFTER_FAILURE_S: a page asking for it does not ask the
    store each time."""
    key = (config.get("lake_url"), name)
    if time.monotonic() < _missing_shared.get(key, 0.0):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        store.remote().download(f"_shared/{name}", str(tmp))
        os.replace(tmp, path)
        return True
    except (FileNotFoundError, store.StoreUnavailable):
        _missing_shared[key] = time.monotonic() + RETRY_AFTER_FAILURE_S
        return False
    finally:
        tmp.unlink(missing_ok=True)


def drop_manifest(dataset: str, rel: str) -> None:
    """Forget a manifest retention removed, so this node stops offering it."""
    (_base(dataset) / rel).unlink(missing_ok=True)


def ensure(dataset: str, rel: str) -> Path:
    """The local path of an immutable file of the lake, fetched first if this node lacks it."""
    path = _base(dataset) / rel
    try:
        st = path.stat()
    except FileNotFoundError:
        _fetch(dataset, rel, path)
        _after_fetch(path)
        return path
    if time.time() - st.st_mtime > TOUCH_EVERY_S:
        try:
            os.utime(path)
        except FileNotFoundError:  # evicted by another worker meanwhile
            _fetch(dataset, rel, path)
    return path


_since_walk = {"bytes": 0, "at": 0.0}


def _after_fetch(path: Path) -> None:
    """Keep the cache bounded without walking it after every file: walk once a hundredth of the bound
    has been fetched since the last walk, or half a minute has passed."""
    try:
        _since_walk["bytes"] += path.stat().st_size
    except FileNotFoundError:
        return
    if _since_walk["bytes"] >= config.get_int("lake_cache_bytes") // 100 or time.monotonic() - _since_walk["at"] > 30:
        _since_walk.update(bytes=0, at=time.monotonic())
        evict()


def _fetch(dataset: str, rel: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        store.remote().download(f"{dataset}/{rel}", str(tmp))
        os.replace(tmp, path)
    except store.StoreUnavailable as exc:
        failed(exc)
        raise
    finally:
        tmp.unlink(missing_ok=True)


def cached_files() -> list[tuple[Path, int, float]]:
    """(path, bytes, last use) of every data file this node holds."""
    out = []
    root = config.data_dir() / "lake"
    if not root.exists():
        return out
    for dataset in root.iterdir():
        for folder in FILE_FOLDERS:
            for dirpath, _, names in os.walk(dataset / folder):
                for name in names:
                    p = Path(dirpath) / name
                    try:
                        st = p.stat()
                    except FileNotFoundError:
                        continue
                    if not name.startswith("."):
                        out.append((p, st.st_size, st.st_mtime))
    return out


def _current_files() -> set[Path]:
    """The files of each dataset's current version as this node holds it: the web workers' views
    read them on every query without asking for them again, so they are never evicted."""
    out: set[Path] = set()
    root = config.data_dir() / "lake"
    for dataset in root.iterdir() if root.exists() else ():
        version = _held(dataset.name)
        try:
            m = Manifest.from_json((dataset / "versions" / f"{version:08d}.json").read_text()) if version else None
        except (FileNotFoundError, ValueError, KeyError):
            continue
        out |= {dataset / rel for rel in (m.stored_files() if m else ())}
    return out


def evict(limit: int | None = None) -> int:
    """Remove the least recently used files past PULSE_LAKE_CACHE_BYTES (never one used in the last
    EVICT_GRACE_S, nor one of a current version); the bytes removed."""
    limit = config.get_int("lake_cache_bytes") if limit is None else limit
    files = cached_files()
    total = sum(size for _, size, _ in files)
    if total <= limit:
        return 0
    freed = 0
    grace = time.time() - EVICT_GRACE_S
    current = _current_files()
    for path, size, used in sorted(files, key=lambda f: f[2]):
        if total - freed <= limit:
            break
        if used > grace or path in current:
            continue
        path.unlink(missing_ok=True)
        freed += size
    return freed
