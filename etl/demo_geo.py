"""Boundaries for the demo city: borough and community-district polygons, generated, not copied.

Why generated: the dashboards' choropleths must work offline from local GeoJSON, and the project may
not ship the real boundary files. The demo 311 generator already places every community district at
a centre with a radius (etl/demo_city.DISTRICTS); a Voronoi tessellation of those centres, each cell
clipped to a disc a few radii wide, gives plausible, non-overlapping districts, and the union of a
borough's districts gives the borough. The properties match the NYC Planning files
(BoroCD, BoroName, community_board_311), so real boundaries can replace these unchanged
(setting PULSE_GEO_DIR).
"""
from __future__ import annotations

import json
from pathlib import Path

import shapely
from shapely.geometry import MultiPoint, Point, mapping

from etl.demo_city import BOROUGHS, DISTRICTS

DISTRICTS_FILE = "community_districts.geojson"
BOROUGHS_FILE = "boroughs.geojson"
_REACH = 3.2  # a district reaches at most this many radii from its centre: the city has an edge
_DIGITS = 5  # ~1 m: plenty for a choropleth, and keeps the files small


def _cells() -> dict[int, shapely.Geometry]:
    codes = sorted(DISTRICTS)
    points = MultiPoint([(DISTRICTS[c][1], DISTRICTS[c][0]) for c in codes])
    regions = shapely.voronoi_polygons(points, extend_to=points.envelope.buffer(0.2))
    cells = {}
    for code in codes:
        lat, lon, radius = DISTRICTS[code][:3]
        centre = Point(lon, lat)
        cell = next(g for g in regions.geoms if g.contains(centre))
        cells[code] = shapely.set_precision(cell.intersection(centre.buffer(radius * _REACH, 8)), 10 ** -_DIGITS)
    return cells


def _feature(geometry, **properties) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": mapping(geometry)}


def _write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")))
    return path


def write_boundaries(folder: Path) -> dict[str, Path]:
    """Write boroughs.geojson and community_districts.geojson into `folder`; deterministic."""
    folder.mkdir(parents=True, exist_ok=True)
    cells = _cells()
    districts = [
        _feature(cell, BoroCD=code, BoroName=BOROUGHS[code // 100 - 1].title(),
                 community_board_311=f"{code % 100:02d} {BOROUGHS[code // 100 - 1]}")
        for code, cell in cells.items()
    ]
    boroughs = [
        _feature(shapely.union_all([c for code, c in cells.items() if code // 100 == n + 1]),
                 BoroCode=n + 1, BoroName=name.title(), borough_311=name)
        for n, name in enumerate(BOROUGHS)
    ]
    return {"districts": _write(folder / DISTRICTS_FILE, districts),
            "boroughs": _write(folder / BOROUGHS_FILE, boroughs)}
