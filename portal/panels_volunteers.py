"""The volunteers page's panels: open opportunities still needing volunteers first (what a reader can
do, issue 16), then sign-ups and hours over time (the day-of-service spike shows) and by borough and
category."""
from __future__ import annotations

from portal import figures
from portal.panels import Panel, query_frame, register
from portal.wording import count, measured, times, whole

PAGE = "volunteers"
FILTERS = ("start", "end", "borough")


def by_day_data(p):
    return query_frame("vol_by_day", start=p.get("start"), end=p.get("end"), borough=p.get("borough"))


def by_day_figure(df, p):
    long = df.melt(id_vars="event_date", value_vars=["signups", "attended"], var_name="measure", value_name="volunteers")
    long["measure"] = long["measure"].map({"signups": "Signed up", "attended": "Attended"})
    return figures.lines(long, "event_date", "volunteers", "measure", x_title="Event day", y_title="Volunteers",
                         legend_title="", mode="lines", dash_by={"Attended": "dot"})


def by_day_summary(df, p):
    peak = df.sort_values("signups", ascending=False).iloc[0]
    typical = df["signups"].median()
    return (f"{count(df['signups'].sum(), 'sign-up')} and {measured(df['hours'].sum(), 'hour')} served from "
            f"{p['start']} to {p['end']}; the busiest day was {peak.event_date} with {count(peak.signups, 'sign-up')}, "
            f"{times(peak.signups / typical if typical else 0)} a typical day ({whole(typical)}).")


def borough_data(p):
    df = query_frame("vol_by_borough_category", start=p.get("start"), end=p.get("end"))
    if df.empty or not p.get("borough"):
        return df
    return df[df["borough"] == p["borough"]].reset_index(drop=True)


def borough_figure(df, p):
    return figures.bars(df, "borough", "signups", "category", x_title="Borough", y_title="Sign-ups",
                        legend_title="Category", barmode="stack")


def borough_summary(df, p):
    by_b = df.groupby("borough")["signups"].sum().sort_values(ascending=False)
    by_c = df.groupby("category")["signups"].sum().sort_values(ascending=False)
    top_c = df[df["category"] == by_c.index[0]]
    where = (f"{by_b.index[0].title()} had the most sign-ups ({whole(by_b.iloc[0])}) and " if len(by_b) > 1
             else f"In {by_b.index[0].title()}, ")
    return (f"{where}{by_c.index[0]} was the most popular category ({count(by_c.iloc[0], 'sign-up')}, "
            f"{measured(top_c['hours'].sum(), 'hour')} served); {count(df['signups'].sum(), 'sign-up')} and "
            f"{measured(df['hours'].sum(), 'hour')} in all.")


def open_data(p):
    df = query_frame("vol_open_opportunities", as_of=p.get("end"), borough=p.get("borough"), limit=20)
    if df.empty:
        return df
    return df[["opportunity_id", "title", "organisation", "borough", "start_date", "end_date", "recurrence",
               "next_session", "volunteers_needed", "signed_up", "still_needed", "open_opportunities", "needed_in_all"]]


def open_figure(df, p):
    # One bar per opportunity: long titles are cut to a line so the bars keep their width, and labels
    # that are then the same (two "MLK Day of Service: Help at a…") carry the opportunity's id, since
    # bars with one label would stack into one.
    label = df["title"].map(lambda t: t if len(t) <= 32 else t[:31].rstrip() + "\u2026")
    label = label.where(~label.duplicated(keep=False), label + " (" + df["opportunity_id"].astype(str) + ")")
    return figures.bars(df.assign(label=label), "label", "still_needed", x_title="Opportunity",
                        y_title="Volunteers still needed", horizontal=True)


def open_summary(df, p):
    top = df.iloc[0]
    total, needed = int(top.open_opportunities), int(top.needed_in_all)
    shown = (f"The {len(df)} most in need of {count(total, 'open opportunity', 'open opportunities')}, which need "
             f"{count(needed, 'volunteer')} in all" if total > len(df) else
             f"{count(total, 'open opportunity', 'open opportunities')} still "
             f"{'needs' if total == 1 else 'need'} {count(needed, 'volunteer')}")
    return (f"{shown} as of {p['end']}; the most is {whole(top.still_needed)} for \u201c{top.title}\u201d. An ongoing "
            f"opportunity counts the volunteers its next session still needs, a one-time event those it needs once.")


register(
    Panel("vol-open", PAGE, "Open opportunities still needing volunteers", FILTERS, open_data, open_figure,
          open_summary, empty="No open opportunities need volunteers on this day.",
          columns={"opportunity_id": "id", "next_session": "next session", "volunteers_needed": "needed (per session if ongoing)",
                   "signed_up": "signed up", "still_needed": "still needed", "start_date": "starts", "end_date": "ends",
                   "open_opportunities": "open in all", "needed_in_all": "needed in all"},
          queries=("vol_open_opportunities",)),
    Panel("vol-by-day", PAGE, "Volunteers by event day", FILTERS, by_day_data, by_day_figure, by_day_summary,
          columns={"event_date": "event day", "signups": "sign-ups"}, queries=("vol_by_day",)),
    Panel("vol-by-borough", PAGE, "Sign-ups by borough and category", FILTERS, borough_data, borough_figure,
          borough_summary, columns={"signups": "sign-ups"}, queries=("vol_by_borough_category",)),
)
