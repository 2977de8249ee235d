"""/ : the city scorecard. Every KPI as a tile (value, target, score, trend, status in words and an
icon, owning agency, how it is computed, the rows behind it) and the overall city score.

?period=day|week|month|quarter&as_of=YYYY-MM-DD restore a view; ?mode=meeting drops the chrome and
fits every tile on one projector screen in large type, with arrow keys moving between KPIs and Enter
enlarging one with its trend (assets/pulse.js). A live update rewrites each tile's parts in place
(tile_body, tile_how), never the tiles themselves, so focus and open details stay (issue 16).
"""
from __future__ import annotations

import base64
import re
from datetime import date, timedelta

import dash
from dash import dcc, html

from datasets.kpis import PERIODS
from layouts import _shell as shell
from layouts._share import share
from portal import figures, kpi_values, wording

PAGE = "scorecard"
PERIOD, AS_OF, TILES, OVERALL, ASOF, URL_SYNC = "sc-period", "sc-as-of", "sc-tiles", "sc-overall", "sc-asof", "sc-url-sync"
SOURCES = "sc-sources"
CONTROLS = {"period": (PERIOD, "data")}
HISTORY = 8
ICONS = {"check": "\u2714", "dash": "\u2013", "cross": "\u2716", "question": "?", "hourglass": "\u231b"}

dash.register_page(__name__, path="/", name="Scorecard", title="City scorecard \u00b7 Pulse",
                   description="Every city performance indicator against its target, with how it is computed.")


def as_of_day(value) -> date | None:
    """The ?as_of= day the page shows (None: the default day). Anything the API refuses (not a date, out
    of range, in the future) raises the API's own ValueError, which the page shows as its message: one
    validation for both, never a silent switch to the current month (issue 15)."""
    return kpi_values.as_of_day(value)


def card_for(period, as_of) -> dict | str:
    """The scorecard for the page's period and as_of, or the API's message when as_of is refused."""
    try:
        day = as_of_day(as_of)
    except ValueError as e:
        return str(e)
    return kpi_values.scorecard(period if isinstance(period, str) and period in PERIODS else "month",
                                as_of=day, history=HISTORY)


def data_line(card=None):
    """The page's "data through" line, carrying the tiles' values for the announcer (assets/pulse.js)."""
    from portal import freshness

    return shell.data_line(freshness.data_words(kpi_values.datasets_read()), news(card) if card else None)


def sources_line():
    from portal import freshness

    return shell.sources(freshness.sources(kpi_values.datasets_read()))


def rendered(period, as_of) -> tuple:
    """(data line, overall, tiles, sources) for the period and as_of: what the page arrives with and what
    its callback draws when the period changes. The page's own checks, as the API's (issue 13): an
    unknown period is the default month; an as_of the API refuses is its message in place of the
    scores, never a silent switch to the current month (issue 15)."""
    card = card_for(period, as_of)
    if isinstance(card, str):
        return data_line(), refused(card), [], sources_line()
    return data_line(card), overall(card), tiles(card), sources_line()


def layout(period: str = "month", as_of: str | None = None, mode: str | None = None, **_):
    period = period if period in PERIODS else "month"
    meeting = mode == "meeting"
    # kept as typed (a long value as a marker the check refuses) and checked as the callback checks it
    stored = (as_of if len(as_of) <= 40 else "(too long)") if isinstance(as_of, str) else None
    # the page arrives whole: nothing is inserted after the first paint to push the page down (decision 0021)
    line, overall_children, tile_children, sources_children = rendered(period, stored)
    return html.Div(className="scorecard meeting" if meeting else "scorecard", children=[
        shell.page_header("City scorecard", "How the city is doing against its own targets. Each score is the "
                          "actual value divided by the target (flipped when lower is better): 1.00 is on target.", ASOF,
                          line),
        html.Div(className="filters", role="group", **{"aria-label": "Scorecard period"}, children=[
            shell.toggle_group(PERIOD, "Period", [(p, p.title()) for p in PERIODS], period),
        ]),
        dcc.Store(id=AS_OF, data=stored),
        dcc.Store(id=URL_SYNC),
        html.Section(id=OVERALL, className="overall", **{"aria-label": "Overall city score"}, children=overall_children),
        html.Div(id=TILES, className="tiles", children=tile_children),
        shell.sources_block(SOURCES, sources_children),
        html.P(className="meeting-hint", children="Arrow keys or Tab move between indicators; Enter enlarges one, "
               "Escape shrinks it." if meeting else ""),
    ])


def _number(value, unit: str) -> str:
    return wording.amount(value, unit)  # counts whole, durations in the unit that reads (issue 16)


def _target_text(k: dict) -> str:
    comparison = "or less" if k["direction"] == "lower_is_better" else "or more"
    if k.get("target") is None:
        return "No target"
    text = f"Target: {_number(k['target'], k['unit'])} {comparison}"
    if k.get("target_so_far") is not None and k["target_so_far"] != k["target"]:
        text += f" for the whole period; {_number(k['target_so_far'], k['unit'])} by now"
    return text


def _value_text(k: dict) -> str:
    """The value, with "so far" in a period still running and the pace of a total (issue 15)."""
    value = _number(k["actual"], k["unit"])
    if k["actual"] is None or k.get("share_of_period", 1) >= 1:
        return value
    if k.get("on_pace_for") is not None:
        return f"{value} so far; on pace for {_number(k['on_pace_for'], k['unit'])} of {_number(k['target'], k['unit'])}"
    return f"{value} so far"


def _previous_text(k: dict) -> str:
    """The previous period's value and the change since (for a running total, of its pace)."""
    prev = k.get("previous")
    if not prev or prev.get("actual") is None:
        return "Previous period: no data."
    text = f"Previous period ({prev['start']} to {_last_day(prev['end'])}): {_number(prev['actual'], k['unit'])}"
    if prev.get("change") is None:
        return text + "."
    sign = "+" if prev["change"] > 0 else "\u2212" if prev["change"] < 0 else "\u00b1"
    change = _number(abs(prev["change"]), k["unit"])
    return text + f"; change {sign}{change}" + (" (on pace)." if prev.get("change_of") == "pace" else ".")


def _sparkline(k: dict) -> html.Img | html.Span:
    values = [h["actual"] for h in k.get("history", [])] + [k["actual"]]  # history is oldest first
    svg = figures.sparkline_svg(values)
    if not svg:
        return html.Span("Not enough history for a trend.", className="trend")
    known = [v for v in values if v is not None]
    alt = (f"Trend over the last {len(values)} periods: from {_number(known[0], k['unit'])} "
           f"to {_number(known[-1], k['unit'])}.")
    src = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    return html.Img(src=src, alt=alt, className="trend", width=120, height=32)


def tile_id(kind: str, kpi_id: str) -> dict:
    """The id of one part of a KPI's tile: the tile itself, its body, or the inside of its details.
    The live refresh (callbacks/scorecard.py) writes these parts in place, so the tile the presenter
    is on keeps its focus and its open details (issue 16)."""
    return {"type": f"sc-{kind}", "kpi": kpi_id}


def tile_class(k: dict) -> str:
    return f"tile status-{k['status']['icon']}"


FIGURE = re.compile(r"([\d.,]+%?)( .+)?")  # a number, then the unit it is in: "1,277", " requests"


def _figure(figure: str) -> list:
    """A figure as its number and its unit, so meeting mode can set the unit smaller than the number on
    a small projector ("1,277" large, "requests" beside it) without a word being cut in two."""
    match = FIGURE.fullmatch(figure)
    if not match or not match.group(2):
        return [figure]
    return [match.group(1), html.Span(match.group(2), className="unit")]


def _value(k: dict) -> html.P:
    """The figure large, and what qualifies it ("so far; on pace for ...") smaller beside it, so a
    room reads the number from the back."""
    text, figure = _value_text(k), _number(k["actual"], k["unit"])
    rest = text[len(figure):] if text.startswith(figure) else ""
    return html.P(className="value", children=[html.Span(_figure(text[:len(text) - len(rest)]), className="figure"),
                                               *([html.Span(rest, className="qualifier")] if rest else [])])


def tile_body(k: dict) -> list:
    """What a live update changes in a tile: value, status, target and score, notes, trend."""
    status = k["status"]
    score = "no score" if k["score"] is None else f"{k['score']:.2f}"
    return [
        _value(k),
        html.P(className="status", children=[html.Span(ICONS[status["icon"]], className="icon", **{"aria-hidden": "true"}),
                                             " ", status["word"].capitalize()]),
        html.P([_target_text(k), html.Span(" \u00b7 ", **{"aria-hidden": "true"}), f"Score {score}"], className="target"),
        html.P(k.get("note") or "", className="note"),
        _sparkline(k),
        html.P(_previous_text(k), className="previous"),
        html.P([f"Owner: {k['agency']}", *([html.Br(), f"Channel: {k['channel']}"] if k.get("channel") else [])],
               className="agency"),
        html.P(k["trace"]["formula"], className="print-only"),
    ]


def tile_how(k: dict) -> list:
    """The inside of "How is this computed?" (its summary stays, so an open one stays open)."""
    trace = k["trace"]
    return [
        html.P(trace["formula"]),
        html.P(["Why this target: ", k.get("target_note") or "not stated.", " ", k.get("target_source") or ""]),
        html.P(["Query ", html.Code(trace["query"]), f" over {k['start']} to {k['end']} (end excluded), reading ",
                ", ".join(trace["columns"]), "."]),
        html.P([html.A("The rows behind this number", href=trace["rows_url"], id=how_link_id(k["id"], "rows")),
                " \u00b7 ", html.A("This KPI as JSON", href=trace["json_url"], id=how_link_id(k["id"], "json")),
                *([" \u00b7 ", html.A("The dashboard that explains it", href=trace["dashboard"],
                                      id=how_link_id(k["id"], "dashboard"))] if trace.get("dashboard") else [])]),
    ]


def how_link_id(kpi_id: str, link: str) -> str:
    """A stable id for a link inside "How is this computed?": a new version rewrites the details'
    inside (new elements), and assets/pulse.js gives focus back to the link of the same id (issue 16)."""
    return f"sc-how-{kpi_id}-{link}"


def tile(k: dict) -> html.Article:
    return html.Article(id=tile_id("tile", k["id"]), className=tile_class(k), tabIndex="0",
                        **{"aria-labelledby": f"kpi-{k['id']}"}, children=[
        html.H2(k["name"], id=f"kpi-{k['id']}"),
        html.Div(id=tile_id("body", k["id"]), className="tile-body", children=tile_body(k)),
        html.Details(className="how", children=[
            html.Summary("How is this computed?"),
            html.Div(id=tile_id("how", k["id"]), children=tile_how(k)),
        ]),
        share(f"kpi-{k['id']}", k["name"]),
    ])


def news(card: dict) -> dict:
    """What the announcer compares between two renders: each tile's value as the tile shows it."""
    return {"lead": "New data on the scorecard", "key": f"scorecard:{card.get('period')}:{card.get('as_of')}",
            "values": {k["name"]: _value_text(k) for k in card["kpis"].values()}}


def tiles(card: dict) -> list:
    return [tile(k) for k in card["kpis"].values()]


def refused(message: str) -> list:
    """What the page shows for an as_of it cannot score: the API's own message (api/v1.py answers 400)."""
    return [html.H2("Overall city score"), html.P(className="refused", role="alert", children=message)]


def overall(card: dict) -> list:
    score = card.get("overall")
    scored = sum(1 for k in card["kpis"].values() if k["score"] is not None)
    return [
        html.H2("Overall city score"),
        html.P(className="overall-score", children="no data" if score is None else wording.score(score)),
        html.P([f"{card['period'].title()} {card['start']} to {_last_day(card['end'])}",
                *([html.Span(so_far, className="so-far")] if (so_far := _so_far(card)) else []),
                f"; {scored} of {len(card['kpis'])} indicators have data."], className="period"),
        html.P(card["overall_formula"], className="formula"),
    ]


def _last_day(end: str) -> str:
    """The last day of a period whose end is the first day after it."""
    return (date.fromisoformat(end) - timedelta(days=1)).isoformat()


def _so_far(card: dict) -> str:
    """For a period still running: how much of it the data covers. Totals such as sign-ups and hours
    are then scored against the whole period's target, so an unfinished period reads low."""
    start, end, as_of = (date.fromisoformat(card[k]) for k in ("start", "end", "as_of"))
    days, done = (end - start).days, (as_of - start).days + 1
    if done >= days:
        return ""
    return (f" (so far: data through {as_of}, {done} of {days} days; totals are scored against the "
            f"{card['period']}'s target pro-rated to those days, rates and medians are so far)")
