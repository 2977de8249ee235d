"""Local boundary files for the choropleths, read once per file version.

Boundaries come from PULSE_GEO_DIR (default PULSE_DATA_DIR/geo, written by the demo generator,
etl/demo_geo.py). Features carry NYC Planning's property names, so the real files drop in:
boroughs match 311's borough by upper-cased BoroName, districts by `community_board_311`
('09 MANHATTAN'), which the demo files carry and the real district file carries too.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import config
import lake

LAYERS = {"borough": ("boroughs.geojson", "borough_key"), "community_district": ("community_districts.geojson", "community_board_311")}


def _key_borough(props: dict) -> str:
    return str(props.get("borough_311") or props.get("BoroName", "")).upper()


@lru_cache(maxsize=8)
def _read(path: str, mtime: float) -> dict:  # mtime in the key: a rewritten file is read again
    data = json.loads(Path(path).read_text())
    for f in data["features"]:
        f["properties"]["borough_key"] = _key_borough(f["properties"])
    return data


def boundaries(layer: str) -> dict | None:
    """The FeatureCollection of a layer with its join key set, or None when the file is missing."""
    name, _ = LAYERS[layer]
    path = config.geo_dir() / name
    if not lake.shared_file(f"geo/{name}", path):  # over an object store, the demo's shared copy
        return None
    return _read(str(path), path.stat().st_mtime)


def feature_key(layer: str) -> str:
    return LAYERS[layer][1]


def view(geojson: dict) -> tuple[dict, float]:
    """A map centre and zoom that fit every feature (Web Mercator, the map's height: portal/choropleth.HEIGHT)."""
    xs, ys = [], []

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    for f in geojson["features"]:
        walk(f["geometry"]["coordinates"])
    if not xs:
        return {"lat": 0.0, "lon": 0.0}, 1.0
    import math

    span = max(max(xs) - min(xs), (max(ys) - min(ys)) * 1.3, 1e-6)
    zoom = max(1.0, min(16.0, math.log2(360 / span) - 0.3))
    return {"lat": (min(ys) + max(ys)) / 2, "lon": (min(xs) + max(xs)) / 2}, zoom
