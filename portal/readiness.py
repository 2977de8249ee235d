"""Is this worker ready to take traffic? The checks behind GET /readyz (issue 13), beside /healthz
(which only says the process is up).

- lake: the lake folder is readable and each dataset's CURRENT names a version whose manifest
  parses. Without it nothing can be served: not ready (a load balancer sends traffic elsewhere).
- cache: the shared cache answers (Redis ping; the filesystem cache's folder is writable).
- writers: no real-time writer feeding a dataset is dead or overdue (portal/pipeline_health.py).
- store (with PULSE_LAKE_URL): the object store answered this worker's last request; while it does
  not, the node serves the versions it holds (lake/mirror.py).
- reader: this worker's reader could open every dataset's current version; one whose files cannot be
  read (a file lost) is served from the version before, or as not loaded (decision 0027).
Any of the last four failing is "degraded", still 200: the portal serves uncached, or the last
version published, and taking every web worker out of rotation for it would turn stale data or a
slower page into an outage (decision 0013). Messages name no path of the machine.
"""
from __future__ import annotations

import datasets
import lake
from portal import cache, pipeline_health

READY, DEGRADED, NOT_READY = "ready", "degraded", "not_ready"


def lake_check() -> dict:
    folder = lake.lake_dir()
    if not lake.store.is_remote() and not folder.is_dir():
        return {"ok": False, "error": "no lake in PULSE_DATA_DIR (a volume not mounted? `python -m etl demo` builds one)"}
    found, ok = {}, True
    for name in datasets.datasets():
        found[name] = _dataset(name)
        ok = ok and "error" not in found[name]
    return {"ok": ok, "datasets": found}


def _dataset(name: str) -> dict:
    try:
        version = lake.current_version(name)
    except ValueError:
        return {"error": "CURRENT does not hold a version number"}
    except OSError:
        return {"error": "CURRENT cannot be read"}
    if version is None:
        return {"version": None}  # never loaded: nothing to serve yet, nothing broken
    try:
        lake.manifest(name, version)
    except KeyError:
        return {"version": version, "error": f"CURRENT names version {version}, whose manifest is missing"}
    except (ValueError, TypeError, OSError):
        return {"version": version, "error": f"the manifest of version {version} cannot be read"}
    return {"version": version}


def cache_check() -> dict:
    store = cache.backend()
    if store.ping():
        return {"ok": True, "backend": store.kind}
    return {"ok": False, "backend": store.kind, "error": "unreachable: answers are computed uncached"}


def writers_check() -> dict:
    try:
        health = pipeline_health.status_all()
    except Exception as exc:  # noqa: BLE001  (a torn run log line must not make the portal look down)
        return {"ok": False, "error": f"pipeline health unreadable: {type(exc).__name__}"}
    failing = {name: [w.get("name") or w.get("kind") for w in h["writers"] if w["state"] in ("dead", "stale")]
               for name, h in health.items() if h["state"] == "failing"}
    return {"ok": True} if not failing else {"ok": False, "failing": failing,
                                              "error": "a real-time writer is dead or overdue"}


def store_check() -> dict:
    """The object store's last answer to this worker (always ok for a lake in a folder)."""
    if not lake.store.is_remote():
        return {"ok": True, "kind": "folder"}
    lake.store.remote()  # a malformed PULSE_LAKE_URL fails here, loudly
    health = lake.mirror.health()
    if health["ok"]:
        return {"ok": True, "kind": "s3"}
    return {"ok": False, "kind": "s3", "since": health["since"],
            "error": "object store unreachable: serving the versions this node holds"}


def reader_check() -> dict:
    """The current versions this worker's reader could not open (served: the version before)."""
    from portal.reader import UNREADABLE, reader

    try:
        behind = reader().unreadable()
    except UNREADABLE as exc:  # the lake's own files (checked above) answered; the reader's did not
        return {"ok": False, "error": f"the reader could not look at the lake: {type(exc).__name__}"}
    if not behind:
        return {"ok": True}
    return {"ok": False, "datasets": behind,
            "error": "a current version's files cannot be read: the version before it, if any, is served"}


def check() -> dict:
    """{"status": ready | degraded | not_ready, "checks": {lake, cache, writers, store, reader}}."""
    checks = {"lake": lake_check(), "cache": cache_check(), "writers": writers_check()}
    checks["store"] = store_check()  # after the lake's reads, which ask the store
    if not checks["lake"]["ok"]:
        checks["reader"] = {"ok": False, "error": "not checked: the lake cannot be read"}
        return {"status": NOT_READY, "checks": checks}
    checks["reader"] = reader_check()
    degraded = not all(checks[c]["ok"] for c in ("cache", "writers", "store", "reader"))
    return {"status": DEGRADED if degraded else READY, "checks": checks}
