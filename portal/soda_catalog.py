"""What Socrata's clients read about a dataset, in Socrata's shapes, derived from the declarations
(issue 18): the view (`/api/views/<id>.json`, sodapy's get_metadata) and the Discovery API's
catalog entry (`/api/catalog/v1`, sodapy's datasets). Plain dicts, no Flask (portal/catalog.py's habit).
"""
from __future__ import annotations

from datetime import datetime

import datasets
import lake
from datasets import Dataset, free_text
from portal import soda


def soda_id(ds: Dataset) -> str:
    """The id SODA URLs use for `ds`: its Socrata alias, else its name."""
    return ds.socrata.id if ds.socrata is not None else ds.name


def resource_url(base_url: str, ds: Dataset, fmt: str = "json") -> str:
    return f"{base_url.rstrip('/')}/resource/{soda_id(ds)}.{fmt}"


def _epoch(iso: str | None) -> int | None:
    return int(datetime.fromisoformat(iso).timestamp()) if iso else None


def columns(ds: Dataset) -> list[dict]:
    """Each SODA field with its Socrata type and the declaration's description."""
    described = {c.name: c.description for c in ds.public_columns}
    out = []
    for i, f in enumerate(ds.soda_fields, start=1):
        field = soda.fields(ds)[f.name]
        description = described.get(f.column) if f.column else (
            f"Where the request is: latitude {f.point[0]} and longitude {f.point[1]} as a point.")
        out.append({"id": i, "name": f.name, "fieldName": f.name, "dataTypeName": field.type,
                    "description": description, "position": i, "renderTypeName": field.type})
    return out


def view(ds: Dataset, base_url: str) -> dict:
    """Socrata's view of `ds`: the shape sodapy's get_metadata returns."""
    m = lake.manifest(ds.name)
    updated = _epoch(m.published_at) if m else None
    return {
        "id": soda_id(ds),
        "name": ds.title,
        "description": " ".join(filter(None, [ds.description, free_text.dataset_note(ds)])),
        "attribution": ds.publisher,
        "category": ds.theme,
        "tags": [str(k) for k in ds.keywords],
        "license": {"name": ds.licence_name, "termsLink": ds.licence_url},
        "displayType": "table",
        "viewType": "tabular",
        "assetType": "dataset",
        "rowsUpdatedAt": updated,
        "viewLastModified": updated,
        "columns": columns(ds),
        "metadata": {
            "rowIdentifier": soda.ID,
            "custom_fields": {"Pulse": {"Dataset": ds.name, "Version": str(m.version) if m else "",
                                        "Rows": str(m.rows) if m else "0", "Update cadence": ds.update_cadence}},
        },
        "resourceUrl": resource_url(base_url, ds),
    }


def catalog_entry(ds: Dataset, base_url: str, domain: str) -> dict:
    """One result of the Discovery API (`/api/catalog/v1`)."""
    m = lake.manifest(ds.name)
    cols = columns(ds)
    return {
        "resource": {
            "id": soda_id(ds),
            "name": ds.title,
            "description": ds.description,
            "attribution": ds.publisher,
            "type": "dataset",
            "updatedAt": m.published_at if m else None,
            "data_updated_at": m.published_at if m else None,
            "columns_name": [c["name"] for c in cols],
            "columns_field_name": [c["fieldName"] for c in cols],
            "columns_datatype": [c["dataTypeName"] for c in cols],
            "columns_description": [c["description"] for c in cols],
        },
        "classification": {"categories": [ds.theme] if ds.theme else [], "tags": [str(k) for k in ds.keywords],
                           "domain_category": ds.theme, "domain_tags": [str(k) for k in ds.keywords]},
        "metadata": {"domain": domain, "license": ds.licence_name},
        "permalink": f"{base_url.rstrip('/')}/data/{ds.name}",
        "link": f"{base_url.rstrip('/')}/data/{ds.name}",
    }


def search(ids: list[str], q: str | None) -> list[Dataset]:
    """The datasets whose SODA id or name is in `ids` (all when empty) and whose title, description or
    keywords hold every word of `q`."""
    chosen = [ds for ds in datasets.datasets().values() if not ids or soda_id(ds) in ids or ds.name in ids]
    if q:
        words = q.lower().split()
        text = {ds.name: " ".join([ds.title, ds.description, *map(str, ds.keywords)]).lower() for ds in chosen}
        chosen = [ds for ds in chosen if all(w in text[ds.name] for w in words)]
    return chosen
