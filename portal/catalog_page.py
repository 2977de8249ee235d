"""What the catalog pages (/data, /data/<dataset>) say about a dataset, derived from its declaration
and its lake: freshness against the declared cadence, the version history with what each load
changed, the data dictionary, download links, copy-paste examples and a citation. No Dash here.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import config
import datasets
import lake
from datasets import free_text
from portal import freshness as data_time
from portal import pipeline_health
from portal.catalog import formats
from portal.quoting import clipped

# How old the last successful load may be before the dataset is overdue, per declared cadence.
CADENCE_MAX_AGE = {
    "continuous": timedelta(hours=1), "hourly": timedelta(hours=2), "daily": timedelta(hours=36),
    "weekly": timedelta(days=8), "monthly": timedelta(days=32), "quarterly": timedelta(days=95),
    "annually": timedelta(days=370),
}
HISTORY_SHOWN = 50
FORMAT_LABELS = {"csv": "CSV", "json": "JSON", "ndjson": "NDJSON", "parquet": "Parquet", "geojson": "GeoJSON"}


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    t = datetime.fromisoformat(ts)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _age_words(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


def freshness(name: str, now: datetime | None = None) -> dict:
    """How fresh the dataset is, judged by its newest record as well as its last successful load
    (issue 16: a load a minute ago of records 13 days old was "On schedule"): overdue when either is
    older than the declared cadence allows. Times in the city's zone, named."""
    ds = datasets.get(name)
    now = now or datetime.now(UTC)
    health = pipeline_health.status(name)
    last = (health.get("last_load") or {}).get("at") or health.get("published_at")
    when = _parse(last)
    limit = CADENCE_MAX_AGE.get(ds.update_cadence)
    if when is None:
        return {"last_load": None, "newest_record": None, "age": None, "overdue": True, "words": "Never loaded.",
                "health": health}
    newest = data_time.data_through([name]).get(name) if ds.recorded_at else None
    ages = [now - when] + ([max(now - newest, timedelta(0))] if newest else [])
    overdue = limit is not None and any(age > limit for age in ages)
    loaded = f"last loaded {_age_words(ages[0])} ago ({data_time.local_stamp(when)})"
    words = (f"Newest record {_age_words(ages[1])} old ({data_time.local_stamp(newest)}); {loaded}" if newest
             else loaded[0].upper() + loaded[1:])
    words += (f"; overdue: it is updated {ds.update_cadence}." if overdue else f"; on schedule ({ds.update_cadence}).")
    return {"last_load": when.isoformat(timespec="seconds"),
            "newest_record": newest.isoformat(timespec="seconds") if newest else None,
            "age": max(ages).total_seconds(), "overdue": overdue, "words": words, "health": health}


PIPELINE_STATES = {
    "live": "Updated live by a running feed",
    "idle": "Loaded by hand or on a schedule; no live feed is running",
    "degraded": "A live feed is retrying after errors",
    "failing": "A live feed has stopped or is overdue",
}


def pipeline_words(health: dict) -> str:
    """The pipeline's state in plain words, in the city's time ("Pipeline: live; last poll none" said
    nothing to a reader, issue 16)."""
    parts = [PIPELINE_STATES.get(health.get("state"), str(health.get("state")))]
    if health.get("last_poll"):
        parts.append(f"last checked its source at {data_time.local_time(health['last_poll'])}")
    if health.get("lag_seconds") is not None:
        parts.append(f"{_age_words(timedelta(seconds=health['lag_seconds']))} behind its source")
    errors = health.get("error_count", 0)
    parts.append("no errors in the last 24 hours" if not errors else
                 f"{errors} error{'s' if errors != 1 else ''} in the last 24 hours"
                 + (f", the last: {health['last_error']['message']}" if health.get("last_error") else ""))
    return "; ".join(parts) + "."


def dictionary(name: str) -> list[dict]:
    """Every public column: name, type, description, unit, allowed values, and whether it is free
    text (masked at load, decision 0014) with the note that says so."""
    return [{"name": c.name, "type": c.type, "description": c.description, "unit": c.unit or "",
             "allowed": ", ".join(map(str, c.allowed)) if c.allowed else "",
             "free_text": c.free_text, "note": free_text.NOTE if c.free_text else ""}
            for c in datasets.get(name).public_columns]


def history(name: str, limit: int = HISTORY_SHOWN) -> list[dict]:
    """Versions newest first with what each load changed."""
    out = []
    for m in reversed(lake.versions(name, limit=limit)):  # reads only the manifests it shows
        load = m.load or {}
        out.append({"version": m.version, "published_at": m.published_at,
                    "published": data_time.local_stamp(m.published_at), "rows": m.rows,
                    **{k: load.get(k) for k in ("rows_in", "inserted", "updated", "unchanged", "rejected")}})
    return out


def downloads(name: str, version: int | None) -> list[dict]:
    ds = datasets.get(name)
    suffix = f"?version={version}" if version else ""
    return [{"format": fmt, "label": FORMAT_LABELS.get(fmt, fmt.upper()), "media_type": media,
             "url": f"/api/v1/datasets/{name}/export.{fmt}{suffix}"}
            for fmt, media, *_ in formats(ds)]


def examples(name: str, version: int | None, base_url: str) -> dict[str, str]:
    base = base_url.rstrip("/")
    pin = f"?version={version}" if version else ""
    csv_url = f"{base}/api/v1/datasets/{name}/export.csv{pin}"
    parquet_url = f"{base}/api/v1/datasets/{name}/export.parquet{pin}"
    rows_url = f"{base}/api/v1/datasets/{name}/rows?limit=5"
    return {
        "curl": f'curl -s "{rows_url}"\ncurl -sL -o {name}.csv "{csv_url}"',
        "pandas": f'import pandas as pd\n\ndf = pd.read_parquet("{parquet_url}")  # or pd.read_csv("{csv_url}")',
        "R": f'df <- read.csv("{csv_url}")\n# or: arrow::read_parquet("{parquet_url}")',
    }


def retention_words() -> str:
    """The retention policy in words, from the settings that apply it (etl/compact.py)."""
    return (f"The newest {config.get('keep_versions')} versions, every version published in the last "
            f"{config.get('keep_hours')} hours, and each day's last version for {config.get('keep_daily')} days stay "
            f"readable by number; any other older version answers 410 Gone.")


def pinned(name: str, raw) -> dict:
    """The version a /data/<name>?version=N page is about: N when it is kept; the nearest kept one (and
    a note saying so) when retention removed N, so the page never offers links that answer 410 (issue
    15); the current one when N is no version. `rows` and `published_at` are that version's own."""
    current = lake.current_version(name)
    digits = isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 19  # '\u00b2'.isdigit() is True
    asked = int(raw) if digits else None
    version, note = current, ""
    if asked is not None and current is not None and 1 <= asked <= current and asked != current:
        kept = lake.version_numbers(name)
        if asked in kept:
            version = asked
        else:
            version = min(kept, key=lambda k: (abs(k - asked), -k))
            note = (f"Version {asked} is no longer kept, so it cannot be downloaded; the nearest version kept is "
                    f"{version}, shown here. {retention_words()}")
    elif raw not in (None, "") and asked != current:
        note = f"There is no version {clipped(str(raw))} of {name}; showing the current version {current}."
    m = lake.manifest(name, version) if version else None
    return {"version": version, "current": current, "asked": asked, "note": note,
            "rows": m.rows if m else None, "published_at": m.published_at if m else None}


def citation(name: str, base_url: str, today: date | None = None, version: int | None = None) -> str:
    """How to cite `version` (default: the current one), with its own number and publication day."""
    ds = datasets.get(name)
    m = lake.manifest(name, version)
    today = today or datetime.now(UTC).date()
    if m is None:
        return f"{ds.publisher}. {ds.title} ({name}), not yet published."
    published = (_parse(m.published_at) or datetime.now(UTC)).date().isoformat()
    return (f"{ds.publisher}. {ds.title} ({name}), version {m.version} ({m.rows:,} rows), published {published}. "
            f"{base_url.rstrip('/')}/data/{name}?version={m.version}. Retrieved {today.isoformat()}. "
            f"Licence: {ds.licence_name}.")


def summary_rows() -> list[dict]:
    """One row per dataset for /data."""
    out = []
    for name, ds in datasets.datasets().items():
        m = lake.manifest(name)
        fresh = freshness(name)
        out.append({"name": name, "title": ds.title, "description": ds.description, "publisher": ds.publisher,
                    "cadence": ds.update_cadence, "version": m.version if m else None, "rows": m.rows if m else 0,
                    "overdue": fresh["overdue"], "freshness": fresh["words"], "licence": ds.licence_name})
    return out
