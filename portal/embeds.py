"""What a shared chart or KPI tile is away from its page (issue 17; decision 0022): the thing an
embed, an oEmbed answer and a social preview all show, read through the one query path.

A target is named as the embed route names it: a panel's id (`sr-volume`) or `kpi-<KPI id>`. Its
view is its page's filters (a chart) or period and as_of (a KPI); `version=` pins the data versions
it reads (portal/reader.pinned), written `dataset:N[,dataset:N]` (or a bare `N` when it reads one
dataset). No web code here: layouts/_embed*.py turn these into pages, links and images.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import plotly.graph_objects as go

from datasets import kpis as kpi_decls
from portal import cache, figures, filters, kpi_values, panels
from portal.reader import reader

KPI_PREFIX = "kpi-"
# The one script a partner page loads to size every Pulse iframe it holds (charts, tiles, the finder)
RESIZE_SCRIPT = "/assets/embed/resize.js"
KPI_PARAMS = ("period", "as_of")
KPI_HISTORY = 8  # earlier periods the tile's trend draws, as on the scorecard
# The page filters a chart's view starts from when its link leaves them out (api/charts.py reads these too).
PAGE_PARAMS = {"service_requests": filters.sr_params, "snow": filters.snow_params, "volunteers": filters.volunteer_params}
# Social preview sizes: Open Graph's 1200x628 and Twitter's summary_large_image 800x418 (issue 17, item 4).
SIZES = {"og": (1200, 628), "twitter": (800, 418)}


DRAW_ATTEMPTS = 2  # kaleido on a loaded machine sometimes evaluates before its page has loaded; once more, then 503
log = logging.getLogger(__name__)


class PreviewFailed(Exception):
    """The browser that draws images failed twice; the route answers 503 (retry later)."""

    def __init__(self, target_id: str):
        super().__init__(f"the image of {target_id!r} could not be drawn just now; try again in a minute")


@dataclass(frozen=True)
class Target:
    """A chart or a KPI tile, as something to share."""

    id: str  # as in /embed/<id>
    kind: str  # "chart" or "kpi"
    title: str
    page: str  # the dashboard page it lives on (its module name in layouts/)
    params: tuple[str, ...]  # the view state its links carry
    datasets: tuple[str, ...]  # what it reads, so what `version=` may pin

    @property
    def key(self) -> str:
        """The panel id or the KPI id."""
        return self.id.removeprefix(KPI_PREFIX) if self.kind == "kpi" else self.id


def target(target_id: str) -> Target:
    """The chart or KPI `target_id` names; KeyError for neither."""
    if target_id.startswith(KPI_PREFIX):
        kpi = kpi_decls.kpis()[target_id.removeprefix(KPI_PREFIX)]
        return Target(target_id, "kpi", kpi.name, "scorecard", KPI_PARAMS, kpi_values.datasets_read())
    panel = panels.get(target_id)
    return Target(panel.id, "chart", panel.title, panel.page, panel.params, panels.datasets_read(panel))


def page_targets(page: str) -> list[Target]:
    """Every shareable thing on a dashboard page, in page order."""
    if page == "scorecard":
        return [target(KPI_PREFIX + k) for k in kpi_decls.kpis()]
    return [target(p.id) for p in panels.for_page(page)]


def view_state(t: Target, args) -> dict:
    """The view parameters `args` (a URL query) gives for `t`, blanks dropped: what its links carry."""
    return {k: args[k] for k in t.params if args.get(k) not in (None, "")}


def pin_text(versions: dict[str, int | None]) -> str:
    """`dataset:N,...` for the versions read: the `version=` of a pinned link."""
    return ",".join(f"{n}:{v}" for n, v in sorted(versions.items()) if v is not None)


def parse_pins(t: Target, raw: str) -> dict[str, str]:
    """{dataset: version as written} from a `version=` value; ValueError saying what is wrong. The
    versions themselves are checked by the caller (api/rowquery.choose_manifest: 404, or 410 naming
    the oldest version kept)."""
    if ":" not in raw:
        if len(t.datasets) != 1:
            raise ValueError(f"{t.title!r} reads {', '.join(t.datasets)}: pin each as dataset:N, comma-separated")
        return {t.datasets[0]: raw.strip()}
    pins = {}
    for part in raw.split(","):
        name, _, number = part.partition(":")
        if name.strip() not in t.datasets:
            raise ValueError(f"{t.title!r} reads {', '.join(t.datasets)}, not {name.strip()!r}")
        pins[name.strip()] = number.strip()
    return pins


@dataclass(frozen=True)
class Shown:
    """What an embed shows of a target for one view, at the versions read (current or pinned)."""

    figure: dict | None  # plotly JSON for a chart; None for a KPI tile
    summary: str
    columns: list[str]
    rows: list[list]
    total_rows: int
    csv_href: str
    versions: dict[str, int | None]
    published: dict[str, str | None]
    kpi: dict | None = None  # the scorecard's entry for a KPI tile
    params: dict | None = None  # the full view (defaults filled) the data was read for


def shown(t: Target, state: dict) -> Shown:
    """Render `t` for the view `state` (call inside portal.reader.pinned for a pinned view). Bad view
    values become the panel's own message, as on the page; a KPI's bad period or as_of raises
    QueryError/ValueError (the API's 400)."""
    r = reader()
    if t.kind == "kpi":
        return _kpi_shown(t, state)
    panel = panels.get(t.id)
    params = {**PAGE_PARAMS.get(panel.page, lambda q: {})(state), **filters.named_values(panel.page, state)}
    view = panels.render(panel, params)
    versions = panels.versions_read(panel)
    published = r.published_at()
    return Shown(view.figure, view.summary, view.columns, view.rows, view.total_rows, view.csv_href, versions,
                 {n: published.get(n) for n in versions}, params=params)


def _kpi_shown(t: Target, state: dict) -> Shown:
    as_of = kpi_values.as_of_day(state.get("as_of"))
    card = kpi_values.scorecard(period=state.get("period") or "month", as_of=as_of, history=KPI_HISTORY, only=t.key)
    k = card["kpis"][t.key]
    history = k.get("history", [])
    rows = [[h["start"], h["end"], h["actual"]] for h in history] + [[k["start"], k["end"], k["actual"]]]
    versions = {n: card["versions"].get(n) for n in t.datasets}
    published = reader().published_at()
    return Shown(None, kpi_summary(k), ["Period start", "Period end (excluded)", k["name"]], rows, len(rows),
                 k["trace"]["rows_url"], versions, {n: published.get(n) for n in versions}, kpi=k,
                 params={"period": card["period"], "as_of": card["as_of"]})


def kpi_summary(k: dict) -> str:
    """One sentence for a KPI: its value, target and status, as a preview or a screen reader says it."""
    value = "no data" if k["actual"] is None else f"{k['actual']:,.1f} {k['unit']}".replace(" %", "%")
    target = "" if k.get("target") is None else f" against a target of {k['target']:,.1f} {k['unit']}".replace(" %", "%")
    return f"{k['name']}: {value}{target} for the period starting {k['start']} ({k['status']['word']})."


def kpi_figure(k: dict, rows: list[list]) -> go.Figure:
    """A KPI as a chart for its preview image: the value of each period, the target as a line."""
    fig = figures.bars(_frame(rows), "period", "value", x_title="Period starting", y_title=k["unit"])
    if k.get("target") is not None:
        figures.reference_line(fig, y=k["target"], label="target")
    return fig


def _frame(rows: list[list]):
    import pandas as pd

    return pd.DataFrame({"period": [r[0] for r in rows], "value": [r[2] for r in rows]})


def preview_image(t: Target, state: dict, size: str, kind: str = "png") -> bytes:
    """The view as a PNG (or SVG) of a social preview's size, drawn by plotly's static export (kaleido with the
    system's Chromium, decision 0022), titled and captioned with the summary. Cached per target,
    view, size and data version (portal/cache.py), as it costs seconds to draw."""
    width, height = SIZES[size]
    s = shown(t, state)
    key = cache.key(f"preview:{t.id}", {"state": s.params, "size": size, "kind": kind}, s.versions)
    image, _ = cache.cached(key, lambda: _draw(t, s, width, height, kind))
    return image


def _draw(t: Target, s: Shown, width: int, height: int, kind: str) -> bytes:
    fig = go.Figure(s.figure) if s.figure is not None else kpi_figure(s.kpi, s.rows)
    big = width > 1000
    fig.update_layout(title={"text": t.title, "x": 0.02, "font": {"size": 28 if big else 20},
                             "subtitle": {"text": _wrapped(s.summary, 120 if big else 90),
                                          "font": {"size": 15 if big else 12, "color": "#333"}}},
                      margin={"t": 120 if big else 95, "b": 50, "l": 70, "r": 30}, height=height, width=width,
                      paper_bgcolor="white")
    if fig.layout.showlegend is not False:  # on the right, clear of the summary under the title
        fig.update_layout(legend={"orientation": "v", "x": 1.01, "xanchor": "left", "y": 1, "yanchor": "top"},
                          margin={"r": 200 if big else 150})
    for attempt in range(DRAW_ATTEMPTS):
        try:
            return fig.to_image(format=kind, width=width, height=height, scale=1)
        except Exception as exc:  # kaleido's own errors (a browser that failed to start or load its page)
            log.warning("preview of %s failed (attempt %d): %s", t.id, attempt + 1, exc)
    raise PreviewFailed(t.id)


def _wrapped(text: str, width: int) -> str:
    import textwrap

    lines = textwrap.wrap(text, width)
    return "<br>".join(lines[:1] + [textwrap.shorten(" ".join(lines[1:]), width, placeholder=" \u2026")] if len(lines) > 2
                       else lines)
