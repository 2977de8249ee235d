"""The 311 page's panels: volume by channel, time to close, on-time share, open backlog, maps."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

import config
from portal import choropleth, figures, filters, geo
from portal.panels import Panel, query_frame, register
from portal.wording import count, duration, percent, plural, whole

PAGE = "service_requests"
FILTERS = ("start", "end", "borough", "agency", "complaint_type")
BACKLOG_FILTERS = ("start", "end", "borough", "agency")  # no complaint type: see backlog_summary
TOP_TYPES = 15


def _filtered(name: str, p: dict, keys: tuple[str, ...] = FILTERS):
    """A named query over exactly the page filters `keys` (those the panel's query takes)."""
    return query_frame(name, **{k: p.get(k) for k in keys})


def _range(p: dict) -> str:
    return f"from {p['start']} to {p['end']}"


# ---- volume by channel ----------------------------------------------------------------------------
def _next(day: date, period: str) -> date:
    """The first day of the day, ISO week or month after the one starting `day`."""
    if period == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1 if period == "day" else 7)


def _periods(start: date, end: date, period: str) -> list[date]:
    """The first day of every day, ISO week or month that overlaps [start, end]."""
    day = {"day": start, "week": start - timedelta(days=start.weekday()), "month": start.replace(day=1)}[period]
    out = []
    while day <= end:
        out.append(day)
        day = _next(day, period)
    return out


def volume_data(p):
    """Requests per period and channel, every period of the range drawn (a period with none is 0, not
    skipped: issue 15), and `partial` marking a first or last period the range or the data covers only
    in part, so a short week does not read as a drop."""
    df = query_frame("sr_volume", **p)
    if df.empty:
        return df
    period = p.get("period") or "day"
    start, end = date.fromisoformat(str(p["start"])), date.fromisoformat(str(p["end"]))
    last = filters.sr_choices()["last_day"]
    seen_to = min(end, date.fromisoformat(last)) if last else end  # no period drawn past the data's last day
    grid = pd.MultiIndex.from_product([_periods(start, seen_to, period), df["channel"].drop_duplicates().tolist()],
                                      names=["period_start", "channel"])
    full = df.set_index(["period_start", "channel"])["requests"].reindex(grid, fill_value=0).reset_index()
    full["partial"] = [d < start or _next(d, period) - timedelta(days=1) > seen_to for d in full["period_start"]]
    return full


def volume_figure(df, p):
    return figures.lines(df, "period_start", "requests", "channel", x_title=f"{p.get('period') or 'day'} starting",
                         y_title="Requests created", legend_title="Channel (open marker: period only partly covered)",
                         hollow="partial")


def volume_summary(df, p):
    total = int(df["requests"].sum())
    by_channel = df.groupby("channel", dropna=False)["requests"].sum().sort_values(ascending=False)
    top, top_n = by_channel.index[0], int(by_channel.iloc[0])
    complete = df[~df["partial"]] if (~df["partial"]).any() else df
    per = complete.groupby("period_start")["requests"].sum()
    unit = p.get("period") or "day"
    partial = sorted(df.loc[df["partial"], "period_start"].unique())
    part = "" if not partial else (
        f" The {unit} starting {partial[0]} is only partly covered by the range or the data (open marker), so it "
        f"reads low." if len(partial) == 1 else f" The {unit}s starting {' and '.join(map(str, partial))} are only "
        f"partly covered by the range or the data (open markers), so they read low.")
    return (f"{count(total, 'request')} {'was' if total == 1 else 'were'} created {_range(p)}; most came by "
            f"{top or 'an unknown channel'} ({percent(100 * top_n / total)}), and the busiest whole {unit} was the one "
            f"starting {per.idxmax()} with {whole(per.max())}.{part}")


# ---- time to close by complaint type -------------------------------------------------------------
def close_data(p):
    df = _filtered("sr_close_survival", p)
    if df.empty:
        return df
    df = df.head(TOP_TYPES).copy()
    for q in ("median", "p90"):
        df[f"{q}_days"] = df[f"{q}_hours"] / 24
    df["oldest_open_days"] = df["oldest_open_hours"] / 24
    return df[["complaint_type", "requests", "still_open", "oldest_open_days", "median_days", "median_more_than",
               "p90_days", "p90_more_than"]]


def close_figure(df, p):
    long = df.melt(id_vars="complaint_type", value_vars=["median_days", "p90_days"], var_name="measure", value_name="days")
    more = df.melt(id_vars="complaint_type", value_vars=["median_more_than", "p90_more_than"], value_name="more")["more"]
    long["measure"] = long["measure"].map({"median_days": "Median", "p90_days": "90th percentile"})
    fig = figures.bars(long, "complaint_type", "days", "measure", y_title="Days to close (an open request counts its "
                       "age so far)", legend_title="Time to close", horizontal=True)
    labels = ["more than" if m else "" for m in more.tolist()]
    for n, trace in enumerate(fig.data):  # a bar that is only a lower bound says so on the bar
        trace.text = labels[n * len(df):(n + 1) * len(df)]
        trace.textposition = "outside"
    return fig


def _duration(days: float, more_than: bool = False) -> str:
    """A time to close in the unit that reads ("0.0 days" for a 56-minute median said nothing)."""
    return duration(days * 24, more_than)


def _open_words(r) -> str:
    if not r.still_open:
        return "none is still open"
    return f"{whole(r.still_open)} still open (the oldest for {_duration(r.oldest_open_days)})"


METHOD = ("Open requests count as taking at least as long as they have been open (Kaplan-Meier), so the times do not "
          "describe only the requests already closed.")


def close_summary(df, p):
    if len(df) == 1:
        r = df.iloc[0]
        half = (f"fewer than half have been closed, so the median is more than {_duration(r.median_days)}"
                if r.median_more_than else f"half are closed within {_duration(r.median_days)}")
        nine = (f"the 90th percentile is more than {_duration(r.p90_days)}" if r.p90_more_than
                else f"nine in ten within {_duration(r.p90_days)}")
        return (f"{whole(r.requests)} {r.complaint_type} {plural(r.requests, 'request')} "
                f"{'was' if r.requests == 1 else 'were'} created {_range(p)}; {_open_words(r)}. "
                f"Counting them, {half}; {nine}. {METHOD}")
    slow = df.sort_values("median_days", ascending=False).iloc[0]
    fast = df.sort_values("median_days").iloc[0]
    return (f"Of the {count(df.requests.sum(), 'request')} of the {len(df)} most common complaint types created "
            f"{_range(p)}, {whole(df.still_open.sum())} {'is' if df.still_open.sum() == 1 else 'are'} still open. {slow.complaint_type} takes longest (median "
            f"{_duration(slow.median_days, slow.median_more_than)}, {_open_words(slow)}) and {fast.complaint_type} is "
            f"quickest (median {_duration(fast.median_days, fast.median_more_than)}). {METHOD}")


# ---- share closed within target by agency ----------------------------------------------------------
def target_data(p):
    df = _filtered("sr_within_target", p)
    if df.empty:
        return df
    counts = ["closed_with_due", "closed_within_target", "open_with_due", "open_past_due"]
    by = df.groupby("agency", as_index=False)[counts].sum()
    by["pct_within_target"] = 100 * by["closed_within_target"] / (by["closed_with_due"] + by["open_past_due"])
    by["pct_closed_only"] = 100 * by["closed_within_target"] / by["closed_with_due"].where(by["closed_with_due"] > 0)
    return by.sort_values("pct_within_target").reset_index(drop=True)


def target_figure(df, p):
    fig = figures.bars(df, "agency", "pct_within_target", x_title="Agency",
                       y_title="% on time (open past due counted late)", horizontal=True)
    figures.reference_line(fig, x=85, label="city standard 85%", position="top left")
    fig.update_xaxes(range=[0, 100])
    return fig


def target_summary(df, p):
    decided = df["closed_with_due"].sum() + df["open_past_due"].sum()
    total = 100 * df["closed_within_target"].sum() / decided
    closed_only = 100 * df["closed_within_target"].sum() / df["closed_with_due"].sum() if df["closed_with_due"].sum() else None
    requests = df["closed_with_due"].sum() + df["open_with_due"].sum()
    worst = df.iloc[0]
    # "the lowest share" only among several agencies: with one, it is that agency's share (issue 16)
    lowest = (f"; {worst.agency} had the lowest share ({percent(worst.pct_within_target)})" if len(df) > 1
              else f", all of them {worst.agency}'s")
    return (f"Of the {count(requests, 'request')} created {_range(p)} that have a due date, "
            f"{whole(df.open_with_due.sum())} {'is' if df.open_with_due.sum() == 1 else 'are'} still open "
            f"({whole(df.open_past_due.sum())} past due). Counting those past due as late, {percent(total)} "
            f"were on time ({percent(closed_only)} of the closed ones alone){lowest}. The scorecard's on-time KPI counts each request in the period it was "
            f"decided (closed on time, or its due time passed), so its figure for a month differs.")


# ---- open backlog ------------------------------------------------------------------------------------
def backlog_data(p):
    return _filtered("sr_open_backlog", p, BACKLOG_FILTERS)


def backlog_figure(df, p):
    return figures.lines(df, "day", "open_requests", x_title="Day", y_title="Requests open at end of day", mode="lines")


def backlog_summary(df, p):
    first, last = df.iloc[0], df.iloc[-1]
    change = int(last.open_requests) - int(first.open_requests)
    word = "rose" if change > 0 else "fell" if change < 0 else "held steady"
    # The daily flow the backlog is summed from is kept by agency and borough, not by type
    # (datasets/rollups.yaml): say so rather than look filtered.
    scope = " (all complaint types: the backlog is not counted by type)" if p.get("complaint_type") else ""
    return (f"The open backlog{scope} {word} from {whole(first.open_requests)} on {first.day} to "
            f"{whole(last.open_requests)} on {last.day}, peaking at {whole(df.open_requests.max())}.")


# ---- maps --------------------------------------------------------------------------------------------
def area_data(p, layer):
    df = _filtered("sr_by_area", p)
    if df.empty:
        return df
    if layer == "borough":
        out = df.groupby("borough", dropna=False, as_index=False)["requests"].sum()
        return out.dropna(subset=["borough"]).sort_values("requests", ascending=False).reset_index(drop=True)
    # One row per district: a district's requests may name different boroughs (or none), and the map,
    # the summary and the table all count the district once.
    out = (df.dropna(subset=["community_board"]).sort_values("requests", ascending=False)
           .groupby("community_board", as_index=False, sort=False).agg(borough=("borough", "first"), requests=("requests", "sum")))
    return out.sort_values("requests", ascending=False).reset_index(drop=True)


def area_figure(df, p, layer):
    shapes = geo.boundaries(layer)
    if shapes is None:
        return figures.message("No boundary file for this map: set PULSE_GEO_DIR or rebuild the demo.")
    location = "borough" if layer == "borough" else "community_board"
    tiles = config.get("map_tile_url")
    return choropleth.choropleth(shapes, geo.feature_key(layer), df, location, "requests", value_title="Requests",
                                 tile_url=tiles, view=geo.view(shapes) if tiles else None, missing=0)  # a count: none is 0


def area_summary(df, p, what):
    """`what` is the area's noun in the singular ("borough", "community district")."""
    top = df.iloc[0]
    name = top.iloc[0]
    if len(df) == 1:
        return f"All {count(top.requests, 'request')} created {_range(p)} with a known {what} were in {name}."
    share = 100 * top.requests / df.requests.sum()
    return (f"Across {count(len(df), what)}, {name} had the most requests created {_range(p)}: "
            f"{whole(top.requests)} ({percent(share)} of those with a known {what}).")


register(
    Panel("sr-volume", PAGE, "Requests created, by channel", FILTERS + ("period",), volume_data, volume_figure,
          volume_summary, columns={"period_start": "period starting", "partial": "period partly covered"},
          queries=("sr_volume", "sr_filter_values")),
    Panel("sr-time-to-close", PAGE, "Time to close, by complaint type", FILTERS, close_data, close_figure,
          close_summary, empty="No requests were created in this range.",
          columns={"still_open": "still open", "oldest_open_days": "oldest open, days", "median_days": "median days",
                   "median_more_than": "median more than", "p90_days": "90th percentile days",
                   "p90_more_than": "90th percentile more than"},
          queries=("sr_close_survival",), height=500),
    Panel("sr-within-target", PAGE, "Closed within target, by agency", FILTERS, target_data, target_figure,
          target_summary, empty="No requests with a due date that is past or met in this range.",
          columns={"closed_with_due": "closed with due date", "closed_within_target": "closed on time",
                   "open_with_due": "still open", "open_past_due": "open past due",
                   "pct_within_target": "% on time", "pct_closed_only": "% on time of closed"},
          queries=("sr_within_target",)),
    Panel("sr-backlog", PAGE, "Open backlog over time", BACKLOG_FILTERS, backlog_data, backlog_figure, backlog_summary,
          columns={"open_requests": "open requests"}, queries=("sr_open_backlog",)),
    Panel("sr-map-borough", PAGE, "Requests by borough (map)", FILTERS, lambda p: area_data(p, "borough"),
          lambda df, p: area_figure(df, p, "borough"), lambda df, p: area_summary(df, p, "borough"),
          queries=("sr_by_area",), height=choropleth.HEIGHT),
    Panel("sr-map-district", PAGE, "Requests by community district (map)", FILTERS,
          lambda p: area_data(p, "community_district"), lambda df, p: area_figure(df, p, "community_district"),
          lambda df, p: area_summary(df, p, "community district"), columns={"community_board": "community district"},
          queries=("sr_by_area",), height=choropleth.HEIGHT),
)
