"""The snow page's panels: plowing progress since a storm began, time to first pass, a segment map
coloured by hours since last service, and a per-district table."""
from __future__ import annotations

import json
import math

import pandas as pd
import plotly.graph_objects as go

import config
import datasets
from datasets import kpis as kpi_decls
from portal import figures
from portal.panels import Panel, query_frame, register
from portal.queries import TARGET_HOURS
from portal.wording import count, duration, percent, whole

PAGE = "snow"
FILTERS = ("storm_id", "hours", "target_hours")
# Bins of hours since last service, named in words in the legend and in every hover text (map lines
# cannot be dashed, so the words, not the colours, carry the meaning; the table has every segment).
SERVICE_BINS = ((0, 2, "plowed in the last 2 hours", figures.PALETTE[2]),
                (2, 6, "2 to 6 hours ago", figures.PALETTE[0]),
                (6, 12, "6 to 12 hours ago", figures.PALETTE[5]),
                (12, float("inf"), "more than 12 hours ago", figures.PALETTE[1]))
NOT_SERVICED = ("not yet plowed this storm", "#6b6b6b")
NO_STORM = "No plowing to show: no storm has been recorded yet, or this storm has no streets on its routes."


def _storm(p) -> str:
    return p.get("storm_id") or ""


def _target(p) -> int:
    """The target hours the page asked for, or the official one (the priority-1 KPI's declaration)."""
    return int(p.get("target_hours") or official_target())


def official_target() -> int:
    """The target the city publishes (datasets/kpis.yaml), so the page cannot move it; another value in
    the URL is a "what if" and is labelled as one (issue 15)."""
    return int(kpi_decls.kpis()["snow_p1_serviced_within_target"].parameters.get("target_hours", TARGET_HOURS.default))


def target_words(p) -> str:
    target = _target(p)
    if target == official_target():
        return f"the {target}-hour target"
    return f"a what-if target of {target} hours (the official target is {official_target()})"


def _local(ts) -> str:
    return f"{pd.Timestamp(ts).tz_convert(datasets.city(config.get('city')).timezone):%Y-%m-%d %H:%M %Z}"


# ---- progress since the storm began ------------------------------------------------------------------
def progress_data(p):
    df = query_frame("snow_progress", storm_id=_storm(p), hours=p.get("hours"))
    if df.empty:
        return df
    return df[["route_priority", "hour", "segments_serviced", "segments", "pct_segments", "pct_lane_miles",
               "elapsed_hours"]].assign(storm=storm_status(p))


def progress_figure(df, p):
    long = df.melt(id_vars=["route_priority", "hour"], value_vars=["pct_segments", "pct_lane_miles"],
                   var_name="measure", value_name="pct")
    long["series"] = ("Priority " + long["route_priority"].astype(str) + ", "
                      + long["measure"].map({"pct_segments": "segments", "pct_lane_miles": "lane-miles"}))
    dashes = {s: ("dot" if s.endswith("lane-miles") else "solid") for s in long["series"].unique()}
    # lines+markers: in the first hour of a storm each series is one point, which a line alone never draws
    fig = figures.lines(long, "hour", "pct", "series", x_title="Hours since the storm began",
                        y_title="% first serviced", legend_title="", mode="lines+markers", dash_by=dashes)
    fig.update_yaxes(range=[0, 100])
    return fig


def progress_summary(df, p):
    last_hour = df["hour"].max()
    end = df[df["hour"] == last_hour].sort_values("route_priority")
    parts = [f"priority {int(r.route_priority)} {percent(r.pct_segments)} of segments" for r in end.itertuples()]
    p1 = df[(df["route_priority"] == 1) & (df["pct_segments"] >= 90)]
    reach = f"; priority 1 passed 90% at hour {int(p1['hour'].min())}" if not p1.empty else ""
    # the elapsed time itself, as the other panels say it, not the chart's last whole hour
    return (f"{df['storm'].iloc[0]} {duration(df['elapsed_hours'].iloc[0])} after it began, plows had reached "
            + ", ".join(parts) + reach + ".")


def storm_name(p) -> str:
    """The storm as a reader knows it: its name, or "storm <id>" when it has none."""
    storms = query_frame("snow_storms")
    row = storms[storms["storm_id"] == _storm(p)]
    return (row.iloc[0]["name"] if not row.empty and row.iloc[0]["name"] else None) or f"storm {_storm(p)}"


def storm_status(p) -> str:
    """The storm's name, id and whether it is still active (no end yet) or ended, and when."""
    storms = query_frame("snow_storms")
    row = storms[storms["storm_id"] == _storm(p)]
    if row.empty:
        return f"Storm {_storm(p)}:"
    r = row.iloc[0]
    state = f"active since {_local(r.started)}" if pd.isna(r.ended) else f"ended {_local(r.ended)}"
    return f"{r['name'] or r.storm_id} ({r.storm_id}), {state}:"


# ---- time to first pass --------------------------------------------------------------------------------
def first_pass_data(p):
    return query_frame("snow_time_to_first_pass", storm_id=_storm(p), hours=p.get("hours"),
                       target_hours=p.get("target_hours"))


def first_pass_figure(df, p):
    long = df.melt(id_vars="route_priority", value_vars=["median_hours", "p90_hours"], var_name="measure", value_name="hours")
    more = df.melt(id_vars="route_priority", value_vars=["median_more_than", "p90_more_than"], value_name="more")["more"]
    long["priority"] = "Priority " + long["route_priority"].astype(str)
    long["measure"] = long["measure"].map({"median_hours": "Median", "p90_hours": "90th percentile"})
    fig = figures.bars(long, "priority", "hours", "measure", x_title="Route priority",
                       y_title="Hours from storm start to first pass", legend_title="")
    # A bar that is only a lower bound (not enough segments reached yet) says so on the bar itself.
    labels = ["more than" if m else "" for m in more.tolist()]
    for n, trace in enumerate(fig.data):
        trace.text = labels[n * len(df):(n + 1) * len(df)]
        trace.textposition = "outside"
    target = _target(p)
    label = f"target {target} h" if target == official_target() else f"what-if target {target} h"
    figures.reference_line(fig, y=target, label=label, position="top left")
    return fig


def _first_pass_part(r) -> str:
    reached = (f"{whole(r.serviced)} of {count(r.segments, 'segment')} reached"
               + (f" ({whole(r.unreached)} not yet)" if r.unreached else ""))
    if r.median_more_than:
        times = f"median {duration(r.elapsed_hours, more_than=True)}: fewer than half reached"
    elif r.p90_more_than:
        times = (f"median {duration(r.median_hours)}, 90th percentile {duration(r.elapsed_hours, more_than=True)}: "
                 f"fewer than 90% reached")
    else:
        times = f"median {duration(r.median_hours)}, 90th percentile {duration(r.p90_hours)}"
    return f"priority {int(r.route_priority)}: {reached}; {times}"


def first_pass_summary(df, p):
    first = df.iloc[0]
    window = (f"{count(first.within_target, 'priority-1 segment')} reached within {target_words(p)}; in progress, the "
              f"window ends {_local(first.window_ends)}" if not first.window_closed else
              "Share within " + target_words(p) + ": "
              + ", ".join(f"priority {int(r.route_priority)} {percent(r.pct_within_target)}" for r in df.itertuples()))
    return (f"{duration(first.elapsed_hours)} after the start, counting segments not yet reached as taking "
            f"longer than that: " + "; ".join(_first_pass_part(r) for r in df.itertuples()) + f". {window}.")


# ---- map of segments by hours since last service --------------------------------------------------------
def map_data(p):
    df = query_frame("snow_segment_status", storm_id=_storm(p), hours=p.get("hours"))
    if df.empty:
        return df
    df["status"] = [_bin(h) for h in df["hours_since_service"]]
    return df[["segment_id", "street", "route_priority", "district", "last_serviced", "as_of", "hours_since_service",
               "status", "geometry"]]


def _bin(hours) -> str:
    if hours is None or pd.isna(hours):
        return NOT_SERVICED[0]
    return next(label for lo, hi, label, *_ in SERVICE_BINS if lo <= hours < hi)


MAP_HEIGHT = 420  # px of the streets themselves; the legend under them adds its own (map_legend)
MAP_STYLES = tuple((label, colour) for _, _, label, colour in SERVICE_BINS) + (NOT_SERVICED,)
TAP_CHARS = 22  # a tapped street's label is at most about this wide, so it fits beside the finger on a phone


def tap_label(street, segment, priority, status: str) -> str:
    """What a tap (or hover) on a street says, on short lines: at 390 px the one-line label was cut on
    both sides (issue 16)."""
    return "<br>".join([figures.wrapped(street, TAP_CHARS), f"{segment}, priority {priority}",
                        figures.wrapped(status, TAP_CHARS)])


def map_legend(names) -> tuple[dict, int]:
    """The map's legend of statuses, each with its count of segments, and the height it adds."""
    return figures.bottom_legend(names, "Last plowed")


# The map's box from the first paint (Panel.height): the streets and the legend as a storm's counts
# (up to four digits) make it, the figure map_figure draws.
MAP_BOX = MAP_HEIGHT + map_legend([f"{label} (9,999)" for label, _ in MAP_STYLES])[1]


def map_figure(df, p) -> dict:
    """Street segments drawn as SVG lines on lon/lat axes with a local aspect ratio: the streets are
    the map, so there is no tile server, and no WebGL (2,000 segments in software WebGL froze a phone-
    sized page for seconds; SVG draws them at once).

    Returned as figure JSON: plotly builds the traces' style and the layout, the coordinate and hover
    arrays (~25,000 points) are put in afterwards, because plotly validating and copying them took
    ~200 ms of the snow callback (issue 4). The JSON is the same as the all-plotly figure's."""
    styles = MAP_STYLES
    by_status = {label: [] for label, _ in styles}  # each status's segments, in the frame's order
    for row in zip(df["status"].tolist(), df["geometry"].tolist(), df["street"].tolist(), df["segment_id"].tolist(),
                   df["route_priority"].tolist(), strict=True):
        by_status[row[0]].append(row[1:])
    traces, lats_all, arrays = [], [], []
    for label, colour in styles:
        lons, lats, text = [], [], []
        for geometry, street, segment, priority in by_status[label]:
            coords = json.loads(geometry)["coordinates"] if geometry else []
            lons += [c[0] for c in coords] + [None]
            lats += [c[1] for c in coords] + [None]
            text += [tap_label(street, segment, priority, label)] * len(coords) + [None]
        lats_all += [y for y in lats if y is not None]
        arrays.append({"x": lons, "y": lats, "text": text})
        traces.append(go.Scatter(x=[], y=[], mode="lines", name=f"{label} ({len(by_status[label]):,})",
                                 line={"color": colour, "width": 2}, text=[], hoverinfo="text"))
    mid = (min(lats_all) + max(lats_all)) / 2 if lats_all else 0.0
    legend, legend_height = map_legend([t.name for t in traces])
    # constrain="domain": with scaleanchor alone, a resize made plotly and Dash's resize observer fight
    # for tens of seconds on a narrow page.
    fig = figures.apply_template(go.Figure(traces, {
        "margin": {"l": 0, "r": 0, "t": 0, "b": legend_height}, "height": MAP_HEIGHT + legend_height,
        "font": {"family": figures.FONT, "color": figures.INK}, "legend": legend,
        "hovermode": "closest", "hoverlabel": {"font": {"size": 13}},
        "xaxis": {"visible": False, "constrain": "domain"},
        "yaxis": {"visible": False, "scaleanchor": "x", "scaleratio": 1 / max(math.cos(math.radians(mid)), 0.1),
                  "constrain": "domain"},
    }))
    out = fig.to_plotly_json()
    for trace, values in zip(out["data"], arrays, strict=True):
        trace.update(values)  # the keys exist already, so they keep their place in the JSON
    return out


def map_summary(df, p):
    counts = df["status"].value_counts()
    waiting = int(counts.get(NOT_SERVICED[0], 0))
    recent = int(counts.get(SERVICE_BINS[0][2], 0))
    as_of = df["as_of"].iloc[0] if "as_of" in df and len(df) else None
    zone = datasets.city(config.get("city")).timezone
    when = f" at {as_of.tz_convert(zone):%Y-%m-%d %H:%M %Z}" if as_of is not None and not pd.isna(as_of) else ""
    return (f"Of {count(len(df), 'street segment')}{when}, {whole(recent)} had been plowed in the previous 2 hours and "
            f"{whole(waiting)} had not been plowed yet during {storm_name(p)}.")


# ---- per district -------------------------------------------------------------------------------------
def district_data(p):
    return query_frame("snow_by_district", storm_id=_storm(p), hours=p.get("hours"), target_hours=p.get("target_hours"))


def district_figure(df, p):
    df = df.assign(priority="Priority " + df["route_priority"].astype(str),
                   shown=df["pct_within_target"].where(df["window_closed"], 100 * df["serviced"] / df["segments"]))
    title = (f"% first plowed within {_target(p)} h" if df["window_closed"].iloc[0] else
             f"% reached so far (window of {_target(p)} h still open)")
    fig = figures.bars(df, "district", "shown", "priority", x_title="District", y_title=title, legend_title="")
    fig.update_yaxes(range=[0, 100])
    return fig


def district_summary(df, p):
    p1 = df[df["route_priority"] == 1]
    if p1.empty:
        return f"{count(df['district'].nunique(), 'district')}; no priority-1 segments."
    if not p1["window_closed"].iloc[0]:
        slow = p1.assign(share=p1["serviced"] / p1["segments"]).sort_values("share").iloc[0]
        so_far = (f"{slow.district} has the fewest priority-1 segments reached: {whole(slow.serviced)} of "
                  f"{whole(slow.segments)}" if p1["district"].nunique() > 1 else
                  f"{whole(slow.serviced)} of {count(slow.segments, 'priority-1 segment')} in {slow.district} are reached")
        return f"In progress: the window of {target_words(p)} ends {_local(slow.window_ends)}. So far {so_far}."
    worst = p1.sort_values("pct_within_target").iloc[0]
    share = f"{percent(worst.pct_within_target)} of {count(worst.segments, 'segment')}"
    if p1["district"].nunique() == 1:  # "the lowest share" needs more than one district (issue 16)
        return f"In {worst.district}, {share} on priority-1 routes were first plowed within {target_words(p)}."
    return (f"Across {count(df['district'].nunique(), 'district')}, {worst.district} had the lowest priority-1 share "
            f"first plowed within {target_words(p)}: {share}.")


register(
    Panel("snow-progress", PAGE, "Progress since the storm began", FILTERS, progress_data, progress_figure,
          progress_summary, empty=NO_STORM,
          columns={"route_priority": "route priority", "segments_serviced": "segments serviced",
                   "pct_segments": "% of segments", "pct_lane_miles": "% of lane-miles", "elapsed_hours": "hours elapsed"},
          queries=("snow_progress", "snow_storms")),
    Panel("snow-first-pass", PAGE, "Time to first pass against target", FILTERS, first_pass_data, first_pass_figure,
          first_pass_summary, empty=NO_STORM,
          columns={"route_priority": "route priority", "elapsed_hours": "hours elapsed", "median_hours": "median hours",
                   "median_more_than": "median more than", "p90_hours": "90th percentile hours",
                   "p90_more_than": "90th percentile more than", "window_ends": "window ends",
                   "window_closed": "window passed", "within_target": "within target",
                   "pct_within_target": "% within target"},
          queries=("snow_time_to_first_pass",)),
    Panel("snow-map", PAGE, "Street segments by hours since last plowed (map)", FILTERS, map_data, map_figure,
          map_summary, empty=NO_STORM,
          columns={"segment_id": "segment", "route_priority": "route priority", "last_serviced": "last plowed",
                   "hours_since_service": "hours since plowed", "as_of": "as of"}, off_table=("geometry",),
          queries=("snow_segment_status",), height=MAP_BOX),
    Panel("snow-districts", PAGE, "Plowed within target, by district", FILTERS, district_data, district_figure,
          district_summary, empty=NO_STORM,
          columns={"route_priority": "route priority", "serviced": "reached", "window_ends": "window ends",
                   "window_closed": "window passed", "serviced_within_target": "within target",
                   "pct_within_target": "% within target"},
          queries=("snow_by_district",)),
)
