"""The open-data catalogs, derived from the dataset declarations: DCAT-US v1.1 (data.json) and a
Frictionless Data Package (datapackage.json).

Why here and without Flask: both are plain dicts built from the declarations and the lake, so they
are tested by calling them, and the blueprint in api/standards.py only serialises them. Only public
columns are ever read, so personal fields cannot leak into either document.
"""
from __future__ import annotations

from datetime import date, datetime

import config
import datasets
import lake
from datasets import Dataset, free_text
from portal import cache
from portal.reader import QueryTimeout, reader
from portal.rows import EXPORT_FORMATS

# One download per format the export endpoint serves: (extension, media type, format name); the
# formats every dataset has first, then GeoJSON (only with a location), so the lists line up.
FORMATS = tuple((f.extension, f.media_type, f.title) for f in sorted(EXPORT_FORMATS, key=lambda f: f.extension == "geojson"))

POD_SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"


def _base(base_url: str) -> str:
    return base_url.rstrip("/") + "/"


def has_geometry(ds: Dataset) -> bool:
    """Whether a GeoJSON export makes sense: public latitude and longitude, or a public geojson column."""
    public = {c.name: c.type for c in ds.public_columns}
    return {"latitude", "longitude"} <= set(public) or "geojson" in public.values()


def formats(ds: Dataset) -> tuple[tuple[str, str, str], ...]:
    return tuple(f for f in FORMATS if f[0] != "geojson" or has_geometry(ds))


def export_url(base_url: str, name: str, fmt: str) -> str:
    return f"{_base(base_url)}api/v1/datasets/{name}/export.{fmt}"


def dictionary_url(base_url: str, name: str) -> str:
    return f"{_base(base_url)}api/v1/datasets/{name}"


def _iso(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def temporal_coverage() -> dict[str, str]:
    """Dataset name -> "start/end" (ISO 8601 interval) of its time column in the current version.

    Cached by data version (STYLE habit 10); a scan past the query time limit leaves `temporal` out
    rather than failing the catalog (habit 4).
    """
    r = reader()
    timed = [ds for ds in datasets.datasets().values() if ds.time_column and ds.column(ds.time_column).public]
    if not timed:
        return {}
    sql = " UNION ALL ".join(
        f"SELECT '{ds.name}' AS dataset, min(\"{ds.time_column}\") AS lo, max(\"{ds.time_column}\") AS hi FROM {{{ds.name}}}"
        for ds in timed  # identifiers come from the declarations (habit 3)
    )

    def compute() -> dict[str, str]:
        rows = r.query(sql, name="catalog_temporal", time_limit_ms=config.get_int("query_time_limit_ms")).rows
        return {name: f"{_iso(lo)}/{_iso(hi)}" for name, lo, hi in rows if lo is not None and hi is not None}

    try:
        value, _ = cache.get_or_compute("catalog_temporal", {}, r.versions(), compute)
    except QueryTimeout:
        return {}
    return value


def _spatial() -> str:
    """The city's bounding box as DCAT-US writes one: "west,south,east,north" in decimal degrees."""
    c = datasets.city(config.get("city"))
    return f"{c.min_lon},{c.min_lat},{c.max_lon},{c.max_lat}"


def dcat_dataset(ds: Dataset, base_url: str, temporal: dict[str, str] | None = None) -> dict:
    """One DCAT-US v1.1 dataset entry. bureauCode and programCode are left out: they are required
    only of US federal agencies, and a city is not one."""
    base = _base(base_url)
    m = lake.manifest(ds.name)
    # Never loaded: DCAT-US accepts a repeating duration for `modified`, so say how often it updates.
    modified = m.published_at if m else ds.accrual_periodicity
    entry = {
        "@type": "dcat:Dataset",
        "title": ds.title,
        "description": " ".join(filter(None, [ds.description, free_text.dataset_note(ds)])),
        "keyword": [str(k) for k in ds.keywords] or [ds.title],  # YAML reads `311` as a number
        "modified": modified,
        "publisher": {"@type": "org:Organization", "name": ds.publisher},
        "contactPoint": {"@type": "vcard:Contact", "fn": ds.publisher, "hasEmail": f"mailto:{ds.contact}"},
        "identifier": dictionary_url(base, ds.name),
        "accessLevel": "public",
        "license": ds.licence_url,
        "spatial": _spatial(),
        "accrualPeriodicity": ds.accrual_periodicity,
        "landingPage": f"{base}data/{ds.name}",
        "describedBy": dictionary_url(base, ds.name),
        "describedByType": "application/json",
        "distribution": [
            {
                "@type": "dcat:Distribution",
                "title": f"{ds.title} ({label})",
                "downloadURL": export_url(base, ds.name, ext),
                "mediaType": media,
                "format": label,
            }
            for ext, media, label in formats(ds)
        ] + [soda_distribution(ds, base)],
    }
    if ds.theme:
        entry["theme"] = [ds.theme]
    if temporal and ds.name in temporal:
        entry["temporal"] = temporal[ds.name]
    return entry


def soda_distribution(ds: Dataset, base_url: str) -> dict:
    """The dataset's SODA 2.1 API (api/soda.py) as a DCAT-US access distribution, naming the Socrata
    alias a script written for the city's portal uses (issue 18)."""
    sid = ds.socrata.id if ds.socrata is not None else ds.name
    return {"@type": "dcat:Distribution", "title": f"{ds.title} (SODA 2.1 API, id {sid})",
            "accessURL": f"{_base(base_url)}resource/{sid}.json", "format": "API",
            "conformsTo": "https://dev.socrata.com/docs/endpoints.html",
            "describedBy": f"{_base(base_url)}api/views/{sid}.json", "describedByType": "application/json",
            "description": f"Socrata-compatible SODA 2.1 endpoint ({sid}): SoQL $select, $where, $order, $limit, $offset."}


def dcat_catalog(base_url: str) -> dict:
    """The whole portal as a DCAT-US v1.1 (Project Open Data) catalog, one entry per dataset."""
    temporal = temporal_coverage()
    return {
        "@context": f"{POD_SCHEMA}/catalog.jsonld",
        "@id": f"{_base(base_url)}data.json",
        "@type": "dcat:Catalog",
        "conformsTo": POD_SCHEMA,
        "describedBy": f"{POD_SCHEMA}/catalog.json",
        "dataset": [dcat_dataset(ds, base_url, temporal) for ds in datasets.datasets().values()],
    }


def table_schema(ds: Dataset) -> dict:
    """A Frictionless Table Schema of the public columns. Declared types are already Frictionless
    types, so they pass through unchanged."""
    fields = []
    for c in ds.public_columns:
        constraints = {}
        if c.required:
            constraints["required"] = True
        if c.allowed is not None:
            constraints["enum"] = list(c.allowed)
        if c.minimum is not None:
            constraints["minimum"] = c.minimum
        if c.maximum is not None:
            constraints["maximum"] = c.maximum
        if c.pattern is not None:
            constraints["pattern"] = c.pattern
        field = {"name": c.name, "type": c.type,
                 "description": f"{c.description} {free_text.NOTE}" if c.free_text else c.description}
        if constraints:
            field["constraints"] = constraints
        if c.unit:
            field["unit"] = c.unit
        fields.append(field)
    schema = {"fields": fields, "missingValues": [""]}
    public = {c.name for c in ds.public_columns}
    if ds.primary_key and set(ds.primary_key) <= public:
        schema["primaryKey"] = list(ds.primary_key)
    return schema


def _licence(ds: Dataset) -> dict:
    return {"path": ds.licence_url, "title": ds.licence_name}


def data_package(base_url: str) -> dict:
    """Every dataset as a Frictionless tabular resource: its CSV export plus its Table Schema."""
    all_ds = list(datasets.datasets().values())
    licences = list({ds.licence_url: _licence(ds) for ds in all_ds}.values())
    return {
        "name": "pulse-city-data",
        "title": "Pulse: the city's open data",
        "description": "Every dataset the Pulse portal publishes, as CSV downloads with their Table Schemas.",
        "homepage": _base(base_url),
        "licenses": licences,
        "resources": [
            {
                "name": ds.name,
                "title": ds.title,
                "description": ds.description,
                "path": export_url(base_url, ds.name, "csv"),
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "profile": "tabular-data-resource",
                "licenses": [_licence(ds)],
                "schema": table_schema(ds),
            }
            for ds in all_ds
        ],
    }
