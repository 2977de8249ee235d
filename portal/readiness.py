"""Is this worker ready to take traffic? The checks behind GET /readyz (issue 13), beside /healthz
(which only says the process is up).

- lake: the lake folder is readable and each dataset's CURRENT names a version whose manifest
  parses. Without it nothing can be served: not ready (a load balancer sends traffic elsewhere).
- cache: the shared cache answers (Redis ping; the filesystem cache's folder is writable).
- writers: no real-time writer feeding a dataset is dead or overdue (portal/pipeline_health.py).
Either of the last two failing is "degraded", still 200: the portal serves uncached, or the last
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
    if not folder.is_dir():
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


def check() -> dict:
    """{"status": ready | degraded | not_ready, "checks": {lake, cache, writers}}."""
    checks = {"lake": lake_check(), "cache": cache_check(), "writers": writers_check()}
    if not checks["lake"]["ok"]:
        status = NOT_READY
    elif not (checks["cache"]["ok"] and checks["writers"]["ok"]):
        status = DEGRADED
    else:
        status = READY
    return {"status": status, "checks": checks}
