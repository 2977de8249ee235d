"""Small builders for test input: files in the datasets' own (plain) schema, a Dash callback body."""
from __future__ import annotations

import csv
from pathlib import Path

SR_HEADER = ["request_id", "created", "closed", "status", "agency", "complaint_type", "borough", "latitude", "longitude"]


def sr_row(i: int, status: str = "Open", closed: str = "", **over) -> dict:
    row = {
        "request_id": str(1000 + i),
        "created": f"2025-03-{1 + i % 28:02d}T08:00:00-05:00",
        "closed": closed,
        "status": status,
        "agency": "DSNY",
        "complaint_type": "Missed Collection",
        "borough": "BROOKLYN",
        "latitude": "40.65",
        "longitude": "-73.95",
    }
    row.update(over)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None, encoding: str = "utf-8") -> Path:
    header = header or list(rows[0])
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=header, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def watch_cache(monkeypatch) -> list[tuple[str, dict, bool]]:
    """Record (name, versions, hit) of every portal.cache.get_or_compute call, so a test sees a hit
    happen rather than inferring it from a key it computed itself (issue 12)."""
    from portal import cache

    seen: list[tuple[str, dict, bool]] = []
    original = cache.get_or_compute

    def spy(name, params, versions, compute):
        value, hit = original(name, params, versions, compute)
        seen.append((name, versions, hit))
        return value, hit

    monkeypatch.setattr(cache, "get_or_compute", spy)
    return seen


# The pages router's callback as the portal's own pages POST it to /_dash-update-component: its
# body needs no state, so a test can send it as a browser does (tests of headers and CORS).
ROUTER_CALLBACK = {
    "output": ".._pages_content.children..._pages_store.data..",
    "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
    "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/data"},
               {"id": "_pages_location", "property": "search", "value": ""}],
    "changedPropIds": ["_pages_location.pathname", "_pages_location.search"],
}


def dash_portal():
    """The whole portal (the Dash app, its API, its callbacks) and a test client. Dash fills its callback
    map on a first request, so one is made here."""
    from app import app

    client = app.server.test_client()
    assert client.get("/_dash-dependencies").status_code == 200
    return app, client


def callback_body(app, output_prefix: str, inputs: list | dict, state: list | dict | None = None) -> dict:
    """A `_dash-update-component` body as Dash's renderer sends it, for the server callback whose output
    starts with `output_prefix`: input and state values in the callback's order, or by component id."""
    output, cb = next((k, v) for k, v in app.callback_map.items() if k.startswith(output_prefix) and "callback" in v)
    specs = cb["output"] if isinstance(cb["output"], list) else [cb["output"]]
    outputs = [{"id": o.component_id, "property": o.component_property} for o in specs]

    def filled(items: list[dict], values) -> list[dict]:
        if isinstance(values, dict):
            return [{**i, "value": values.get(i["id"])} for i in items]
        return [{**i, "value": v} for i, v in zip(items, values or [], strict=True)]

    return {"output": output, "outputs": outputs if isinstance(cb["output"], list) else outputs[0],
            "inputs": filled(cb["inputs"], inputs), "state": filled(cb.get("state", []), state or []),
            "changedPropIds": [f"{cb['inputs'][0]['id']}.{cb['inputs'][0]['property']}"]}


def page_body(app, pathname: str, search: str = "") -> dict:
    """The page router's callback body: what a browser asks for when it opens `pathname` + `search`."""
    return callback_body(app, ".._pages_content", [pathname, search])


def service_requests_local(sql: str, version: int | None = None) -> list[tuple]:
    """`sql` over view t: a service_requests version (default current) straight from its Parquet files,
    with created and closed in the city's local time, as Socrata's floating timestamps show them."""
    import duckdb

    import lake

    m = lake.manifest("service_requests", version)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW raw AS SELECT * FROM read_parquet({lake.file_paths('service_requests', m)!r})")
    con.execute("CREATE VIEW t AS SELECT * REPLACE (timezone('America/New_York', created) AS created, "
                "timezone('America/New_York', closed) AS closed) FROM raw")
    return con.execute(sql).fetchall()


def km_median(days, closed) -> float | None:
    """The Kaplan-Meier median by scipy.stats.ecdf (an oracle independent of Pulse's SQL): `days` observed
    per request, `closed` True where that is its time to close, False where it is still open then
    (censored). The first time the survival falls to one half (within rounding); None if it never does."""
    import numpy as np
    from scipy import stats

    days, closed = np.asarray(days, dtype=float), np.asarray(closed, dtype=bool)
    if not closed.any():
        return None
    res = stats.ecdf(stats.CensoredData(uncensored=days[closed], right=days[~closed]))
    hit = np.flatnonzero(res.sf.probabilities <= 0.5 + 1e-9)
    return float(res.sf.quantiles[hit[0]]) if len(hit) else None
