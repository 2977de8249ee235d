"""Choropleth maps of a value by area, drawn from local GeoJSON: no tile server, no network.

Without a tile URL (the default) each area is a filled SVG shape on hidden lon/lat axes, which
plotly.js's basic bundle draws: the app serves that bundle instead of the full one, a third of the
bytes and no software WebGL on a phone (docs/decisions/0009-plotly-basic-bundle-and-svg-maps.md).
With `PULSE_MAP_TILE_URL` the areas go on a MapLibre map over those tiles, which needs the full
plotly.js, which the app then serves.
"""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import get_colorscale, sample_colorscale

from portal import wording
from portal.figures import FONT, INK, SEQUENTIAL, apply_template

# The lightest tenth of the sequential scale is nearly white, which a small value's area would share
# with the page and with "no data"; the shading starts above it, and "no data" is hatched instead.
SCALE_FLOOR = 0.15
HEIGHT = 420  # px of every area map, drawn and declared (portal/panels_311.py: the box it keeps from the first paint)
NO_DATA = {"fillcolor": "#ffffff", "fillpattern": {"shape": "/", "fgcolor": "#9a9a9a", "size": 6, "solidity": 0.15}}


def choropleth(geojson: dict, feature_key: str, df, location: str, value: str, *, value_title: str,
               tile_url: str = "", view: tuple[dict, float] | None = None, missing: float | None = None) -> go.Figure | dict:
    """`value` by `location` (matched to each feature's `properties[feature_key]`). SVG shapes, or
    with `tile_url` (a {z}/{x}/{y} raster template) a MapLibre map at `view` (centre, zoom).
    `missing`: the value of an area `df` does not list (0 for counts), instead of "no data"."""
    if not tile_url:
        return svg(geojson, feature_key, df, location, value, value_title=value_title, missing=missing)
    centre, zoom = view or ({"lat": 0.0, "lon": 0.0}, 1.0)
    fig = go.Figure(go.Choroplethmap(
        geojson=geojson, featureidkey=f"properties.{feature_key}", locations=df[location], z=df[value],
        colorscale=SEQUENTIAL, marker={"line": {"color": INK, "width": 0.6}, "opacity": 0.85},
        colorbar={"title": {"text": value_title}}, hovertemplate="%{location}: %{z:,}<extra></extra>",
    ))
    layers = [{"sourcetype": "raster", "source": [tile_url], "below": "traces"}]
    fig.update_layout(map={"style": "white-bg", "center": centre, "zoom": zoom, "layers": layers},
                      margin={"l": 0, "r": 0, "t": 0, "b": 0}, height=HEIGHT, font={"family": FONT, "color": INK})
    return fig


def key_text(key) -> str | None:
    """A join key as text, the way plotly.js's lookup spells it: 101.0 and 101 are both "101"."""
    if key is None or (not isinstance(key, str) and pd.isna(key)):
        return None
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    return str(key)


def _signed_area(ring: list) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:], strict=False)) / 2


def rings(geometry: dict | None) -> list[list]:
    """Every ring of a Polygon or MultiPolygon, each hole wound against its outer ring: the shapes
    are filled by SVG's nonzero rule, which leaves a hole empty only then (RFC 7946 files already
    wind them so; not every file does)."""
    if not geometry or not geometry.get("coordinates"):
        return []
    polygons = {"Polygon": [geometry["coordinates"]], "MultiPolygon": geometry["coordinates"]}.get(geometry.get("type"), [])
    out = []
    for polygon in polygons:
        outer = [list(polygon[0])] if polygon and polygon[0] else []
        sign = _signed_area(polygon[0]) if outer else 0.0
        holes = [list(reversed(h)) if _signed_area(h) * sign > 0 else list(h) for h in polygon[1:] if h]
        out += outer + holes
    return out


def _values(df, location: str, value: str) -> dict[str, float]:
    """Finite values by key text; a key listed twice counts once with the sum."""
    out: dict[str, float] = {}
    for k, v in zip(df[location].tolist(), df[value].tolist(), strict=True):
        k = key_text(k)
        if k is None or v is None or pd.isna(v):
            continue
        v = float(v) if not isinstance(v, int) else v
        if math.isfinite(v):
            out[k] = out.get(k, 0) + v
    return out


def _label(key: str, v) -> str:
    """"area: value" as the rest of the page says figures (portal/wording.py): a count whole, a measure
    with its one rounding ("MANHATTAN: 1,748", "101: 2.5")."""
    if v is None:
        return f"{key}: no data"
    whole = isinstance(v, int) or (isinstance(v, float) and v.is_integer())
    return f"{key}: {wording.whole(v) if whole else wording.number(v)}"


def svg(geojson: dict, feature_key: str, df, location: str, value: str, *, value_title: str,
        missing: float | None = None) -> dict:
    """Each area a filled SVG shape shaded by its value, a colour bar, "area: value" on hover, and
    areas without a value hatched. Features without the key (parks, airports in some files) are left
    out, as the MapLibre map leaves out what it cannot join.

    One scatter trace per area (its rings joined by gaps, which plotly fills one by one) on hidden
    lon/lat axes scaled by the cosine of the middle latitude, as on the snow map. Returned as figure
    JSON with the traces put in as plain dicts: validating dozens of shapes through plotly's classes
    cost more than drawing them."""
    values = _values(df, location, value)
    areas = []  # (key, xs, ys) of every feature that joins and has a shape
    for feature in geojson.get("features") or []:
        key = key_text((feature.get("properties") or {}).get(feature_key))
        xs, ys = [], []
        for ring in rings(feature.get("geometry")):
            xs += [c[0] for c in ring] + [None]
            ys += [c[1] for c in ring] + [None]
        if key is not None and xs:
            areas.append((key, xs, ys))
            if missing is not None:
                values.setdefault(key, missing)
    shown = [values[key] for key, _, _ in areas if key in values]  # the scale spans what the map shows
    lo, hi = (min(shown), max(shown)) if shown else (0, 0)
    if hi == lo:  # plotly widens a one-value colour bar by ±0.5; the fills follow the same range
        lo, hi = lo - 0.5, hi + 0.5
    colours = [[i / 10, c] for i, c in enumerate(sample_colorscale(
        get_colorscale(SEQUENTIAL), [SCALE_FLOOR + (1 - SCALE_FLOOR) * i / 10 for i in range(11)]))]
    shapes, lats = [], []
    for key, xs, ys in areas:
        lats += [y for y in ys if y is not None]
        v = values.get(key)
        fill = NO_DATA if v is None else {"fillcolor": sample_colorscale(colours, [(v - lo) / (hi - lo)])[0]}
        shapes.append({"type": "scatter", "x": xs, "y": ys, "mode": "lines", "fill": "toself", **fill,
                       "line": {"color": INK, "width": 0.6}, "hoveron": "fills", "hoverinfo": "name",
                       "name": _label(key, v), "showlegend": False})
    mid = (min(lats) + max(lats)) / 2 if lats else 0.0
    bar = go.Scatter(x=[None], y=[None], mode="markers", hoverinfo="skip", showlegend=False,
                     marker={"colorscale": colours, "cmin": lo, "cmax": hi, "color": [lo], "showscale": bool(shown),
                             "colorbar": {"title": {"text": value_title}}})
    # hoverlabel.namelength -1: the label is the trace name, which plotly cuts at 15 characters by
    # default ("MANHATTAN: 1..."). constrain="domain" as on the snow map: scaleanchor alone made
    # plotly and Dash's resize observer fight on a narrow page.
    fig = apply_template(go.Figure([bar], {
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "height": HEIGHT, "font": {"family": FONT, "color": INK},
        "hovermode": "closest", "hoverlabel": {"namelength": -1}, "plot_bgcolor": "white",
        "xaxis": {"visible": False, "constrain": "domain"},
        "yaxis": {"visible": False, "scaleanchor": "x", "scaleratio": 1 / max(math.cos(math.radians(mid)), 0.1),
                  "constrain": "domain"},
    }))
    out = fig.to_plotly_json()
    out["data"] = shapes + out["data"]  # the colour bar's invisible marker last, over the shapes
    return out
