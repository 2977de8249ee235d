"""The 311 maps without a tile server: every area a filled SVG shape shaded by its value, drawn by
plotly.js's basic bundle, which the app serves instead of the full one (assets/vendor/README.md)."""
from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from portal import figures


def _square(x: float, y: float, size: float = 1.0) -> list[list[float]]:
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]


AREAS = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"name": "NORTH"}, "geometry": {"type": "Polygon", "coordinates": [
            _square(0, 10, 4), list(reversed(_square(1, 11, 1)))]}},  # a lake: a hole wound the other way
        {"type": "Feature", "properties": {"name": "ISLES"}, "geometry": {"type": "MultiPolygon", "coordinates": [
            [_square(5, 10)], [_square(7, 10)]]}},
        {"type": "Feature", "properties": {"name": "SOUTH"}, "geometry": {"type": "Polygon", "coordinates": [_square(0, 5)]}},
        {"type": "Feature", "properties": {"name": "EMPTY"}, "geometry": {"type": "Polygon", "coordinates": [_square(3, 5)]}},
    ],
}
COUNTS = pd.DataFrame({"area": ["NORTH", "ISLES", "SOUTH", "NOWHERE"], "requests": [300, 100, 200, 5]})


def _fig() -> dict:
    return figures.choropleth_svg(AREAS, "name", COUNTS, "area", "requests", value_title="Requests")


def _shapes(fig: dict) -> dict[str, dict]:
    return {t["name"].split(":")[0]: t for t in fig["data"] if t.get("fill") == "toself"}


def _darkness(colour: str) -> int:
    return -sum(int(v) for v in re.findall(r"\d+", colour)[:3])


def test_every_area_is_one_filled_shape_with_its_value_on_hover():
    shapes = _shapes(_fig())
    assert set(shapes) == {"NORTH", "ISLES", "SOUTH", "EMPTY"}
    assert shapes["NORTH"]["name"] == "NORTH: 300" and shapes["EMPTY"]["name"] == "EMPTY: none"
    assert all(s["hoveron"] == "fills" and s["hoverinfo"] == "name" and not s["showlegend"] for s in shapes.values())


def test_rings_are_kept_apart_so_islands_and_holes_draw_as_they_are():
    shapes = _shapes(_fig())
    assert shapes["ISLES"]["x"].count(None) == 2  # two islands, two closed rings
    north = shapes["NORTH"]
    assert north["x"].count(None) == 2
    hole = north["x"][north["x"].index(None) + 1:-1], north["y"][north["x"].index(None) + 1:-1]
    assert list(zip(*hole, strict=True)) == [tuple(c) for c in reversed(_square(1, 11, 1))]


def test_shading_follows_the_value_and_areas_without_one_are_grey():
    shapes = _shapes(_fig())
    assert _darkness(shapes["NORTH"]["fillcolor"]) > _darkness(shapes["SOUTH"]["fillcolor"]) > _darkness(shapes["ISLES"]["fillcolor"])
    assert shapes["EMPTY"]["fillcolor"] == figures.NO_DATA


def test_the_colour_bar_spans_the_values_and_the_map_keeps_its_proportions():
    fig = _fig()
    bar = fig["data"][-1]
    assert bar["marker"]["cmin"] == 5 and bar["marker"]["cmax"] == 300 and bar["marker"]["showscale"]
    assert bar["marker"]["colorbar"]["title"]["text"] == "Requests"
    y = fig["layout"]["yaxis"]
    assert y["scaleanchor"] == "x" and y["scaleratio"] == pytest.approx(1 / math.cos(math.radians(9.5)))  # latitudes 5-14
    assert not fig["layout"]["xaxis"]["visible"] and not y["visible"]


def test_no_values_draws_the_areas_grey_without_a_colour_bar():
    fig = figures.choropleth_svg(AREAS, "name", COUNTS.iloc[0:0], "area", "requests", value_title="Requests")
    assert {s["fillcolor"] for s in _shapes(fig).values()} == {figures.NO_DATA}
    assert not fig["data"][-1]["marker"]["showscale"]


def test_a_tile_url_keeps_the_maplibre_map_over_that_base_map():
    fig = figures.choropleth(AREAS, "name", COUNTS, "area", "requests", value_title="Requests",
                             centre={"lat": 8, "lon": 4}, zoom=5, tile_url="https://tiles.example/{z}/{x}/{y}.png")
    assert fig.data[0].type == "choroplethmap"
    assert fig.layout.map.layers[0].source == ("https://tiles.example/{z}/{x}/{y}.png",)
    assert isinstance(figures.choropleth(AREAS, "name", COUNTS, "area", "requests", value_title="Requests",
                                         centre={"lat": 8, "lon": 4}, zoom=5), dict)
