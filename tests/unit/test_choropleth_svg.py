"""The 311 maps without a tile server: every area a filled SVG shape shaded by its value, drawn by
plotly.js's basic bundle, which the app serves instead of the full one (decision 0009)."""
from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from portal import choropleth


def _square(x: float, y: float, size: float = 1.0, clockwise: bool = False) -> list[list[float]]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]  # counter-clockwise
    return list(reversed(ring)) if clockwise else ring


def _feature(name, geometry_type, coordinates) -> dict:
    return {"type": "Feature", "properties": {"name": name}, "geometry": {"type": geometry_type, "coordinates": coordinates}}


AREAS = {
    "type": "FeatureCollection",
    "features": [
        _feature("NORTH", "Polygon", [_square(0, 10, 4), _square(1, 11, 1, clockwise=True)]),  # a lake, wound as RFC 7946 says
        _feature("ISLES", "MultiPolygon", [[_square(5, 10)], [_square(7, 10)]]),
        _feature("SOUTH", "Polygon", [_square(0, 5)]),
        _feature("EMPTY", "Polygon", [_square(3, 5)]),
        {"type": "Feature", "properties": {"park": "yes"}, "geometry": {"type": "Polygon", "coordinates": [_square(9, 9)]}},
        {"type": "Feature", "properties": {"name": "NOWHERE"}, "geometry": None},
    ],
}
COUNTS = pd.DataFrame({"area": ["NORTH", "ISLES", "SOUTH", "NOWHERE"], "requests": [300, 100, 200, 5]})


def _fig(df=COUNTS, areas=AREAS) -> dict:
    return choropleth.svg(areas, "name", df, "area", "requests", value_title="Requests")


def _shapes(fig: dict) -> dict[str, dict]:
    return {t["name"].split(":")[0]: t for t in fig["data"] if t.get("fill") == "toself"}


def _darkness(colour: str) -> int:
    return -sum(int(v) for v in re.findall(r"\d+", colour)[:3])


def test_every_joinable_area_is_one_filled_shape_with_its_whole_label_on_hover():
    fig = _fig()
    shapes = _shapes(fig)
    assert set(shapes) == {"NORTH", "ISLES", "SOUTH", "EMPTY"}  # the keyless park and the null geometry left out
    assert shapes["NORTH"]["name"] == "NORTH: 300" and shapes["EMPTY"]["name"] == "EMPTY: no data"
    assert all(s["hoveron"] == "fills" and s["hoverinfo"] == "name" and not s["showlegend"] for s in shapes.values())
    # plotly cuts a trace name at 15 characters unless told not to ("STATEN ISLAN...")
    assert fig["layout"]["hoverlabel"]["namelength"] == -1


def test_an_areas_label_says_its_figure_as_the_page_does():
    # portal/wording.py: a count whole with separators, a measure with one rounding, never "1,748.00"
    counts = _shapes(_fig(pd.DataFrame({"area": ["NORTH", "SOUTH"], "requests": [1748.0, 12]})))
    assert counts["NORTH"]["name"] == "NORTH: 1,748" and counts["SOUTH"]["name"] == "SOUTH: 12"
    hours = _shapes(_fig(pd.DataFrame({"area": ["NORTH", "SOUTH", "ISLES"], "requests": [2.54, 14418.5, 3.0]})))
    assert [hours[k]["name"] for k in ("NORTH", "SOUTH", "ISLES")] == ["NORTH: 2.5", "SOUTH: 14,418", "ISLES: 3"]


def test_rings_are_kept_apart_so_islands_and_holes_draw_as_they_are():
    shapes = _shapes(_fig())
    assert shapes["ISLES"]["x"].count(None) == 2  # two islands, two closed rings
    north = shapes["NORTH"]
    assert north["x"].count(None) == 2
    cut = north["x"].index(None)
    hole = list(zip(north["x"][cut + 1:-1], north["y"][cut + 1:-1], strict=True))
    assert hole == [tuple(c) for c in _square(1, 11, 1, clockwise=True)]


def test_a_hole_wound_like_its_outer_ring_is_turned_so_it_stays_empty():
    polygon = {"type": "Polygon", "coordinates": [_square(0, 0, 4), _square(1, 1, 1)]}  # both counter-clockwise
    outer, hole = choropleth.rings(polygon)
    assert choropleth._signed_area(outer) > 0 > choropleth._signed_area(hole)
    assert choropleth.rings({"type": "Point", "coordinates": [1, 2]}) == [] and choropleth.rings(None) == []


def test_shading_follows_the_value_and_areas_without_one_are_hatched():
    shapes = _shapes(_fig())
    assert _darkness(shapes["NORTH"]["fillcolor"]) > _darkness(shapes["SOUTH"]["fillcolor"]) > _darkness(shapes["ISLES"]["fillcolor"])
    # the smallest value is still visibly shaded, unlike the page and unlike "no data"
    assert _darkness(shapes["ISLES"]["fillcolor"]) > _darkness("rgb(240, 240, 240)")
    assert shapes["EMPTY"]["fillcolor"] == "#ffffff" and shapes["EMPTY"]["fillpattern"]["shape"] == "/"


def test_the_colour_bar_spans_the_values_and_the_map_keeps_its_proportions():
    fig = _fig()
    bar = fig["data"][-1]
    assert bar["marker"]["cmin"] == 100 and bar["marker"]["cmax"] == 300 and bar["marker"]["showscale"]
    assert bar["marker"]["colorscale"][0][1] == _shapes(fig)["ISLES"]["fillcolor"]
    assert bar["marker"]["colorscale"][-1][1] == _shapes(fig)["NORTH"]["fillcolor"]
    assert bar["marker"]["colorbar"]["title"]["text"] == "Requests"
    y = fig["layout"]["yaxis"]
    assert y["scaleanchor"] == "x" and y["scaleratio"] == pytest.approx(1 / math.cos(math.radians(9.5)))  # latitudes 5-14
    assert not fig["layout"]["xaxis"]["visible"] and not y["visible"]


def test_one_value_everywhere_is_the_middle_of_its_colour_bar_as_plotly_draws_it():
    fig = _fig(pd.DataFrame({"area": ["NORTH", "SOUTH"], "requests": [7, 7]}))
    bar = fig["data"][-1]["marker"]
    assert (bar["cmin"], bar["cmax"]) == (6.5, 7.5)
    assert _shapes(fig)["NORTH"]["fillcolor"] == choropleth.sample_colorscale(bar["colorscale"], [0.5])[0]


def test_keys_and_values_are_read_as_plotly_would_and_a_repeated_key_is_summed():
    df = pd.DataFrame({"area": pd.Series([101.0, 102.0, 102.0, None, 103.0]),
                       "requests": pd.array([5, 2, 3, 1, pd.NA], dtype="Int64")})
    areas = {"features": [_feature(101, "Polygon", [_square(0, 0)]), _feature(102, "Polygon", [_square(2, 0)]),
                          _feature(103, "Polygon", [_square(4, 0)])]}
    names = sorted(t["name"] for t in _fig(df, areas)["data"] if t.get("fill"))
    assert names == ["101: 5", "102: 5", "103: no data"]


def test_no_values_draws_the_areas_hatched_without_a_colour_bar():
    fig = _fig(COUNTS.iloc[0:0])
    assert {s["fillcolor"] for s in _shapes(fig).values()} == {"#ffffff"}
    assert not fig["data"][-1]["marker"]["showscale"]


def test_a_tile_url_keeps_the_maplibre_map_over_that_base_map():
    fig = choropleth.choropleth(AREAS, "name", COUNTS, "area", "requests", value_title="Requests",
                                tile_url="https://tiles.example/{z}/{x}/{y}.png", view=({"lat": 8, "lon": 4}, 5))
    assert fig.data[0].type == "choroplethmap"
    assert fig.layout.map.layers[0].source == ("https://tiles.example/{z}/{x}/{y}.png",)
    assert fig.layout.map.zoom == 5
    assert isinstance(choropleth.choropleth(AREAS, "name", COUNTS, "area", "requests", value_title="Requests"), dict)


def test_for_a_count_an_area_not_listed_is_zero_not_missing():
    fig = choropleth.svg(AREAS, "name", COUNTS, "area", "requests", value_title="Requests", missing=0)
    shapes = _shapes(fig)
    assert shapes["EMPTY"]["name"] == "EMPTY: 0" and "fillpattern" not in shapes["EMPTY"]
    assert fig["data"][-1]["marker"]["cmin"] == 0
