"""Figure builders: a tidy DataFrame in, a plotly Figure out. No Dash, no queries.

One look for every chart (STYLE: figure builders live in portal/): the Okabe-Ito palette, which
stays distinguishable under the common colour-vision deficiencies, text at 4.5:1 contrast or
better, and a message figure for empty or failed panels so a chart is never blank and unexplained.
"""
from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

# Okabe & Ito (2008), minus yellow (too faint on white for a line); dark enough for 3:1 against
# white as graphical objects (WCAG 1.4.11).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000", "#882255")
SEQUENTIAL = "Blues"  # light to dark; the value is always also in the hover text and the table
INK = "#1a1a1a"
GRID = "#d9d9d9"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def apply_template(fig: go.Figure, name: str = "simple_white") -> go.Figure:
    """Set a registered plotly template without validating it again. Assigning `template=` validates
    and deep-copies the whole template, ~25 ms a figure (most of a warm dashboard callback, issue 4);
    a registered template is valid already, so this sets it the way plotly sets its own default
    template (BaseFigure._initialize_layout_template). The figure JSON is the same either way."""
    layout = fig.layout
    layout._validate = False
    try:
        layout.template = pio.templates[name]
    finally:
        layout._validate = True
    return fig


def _layout(*, x_title: str = "", y_title: str = "", legend_title: str = "") -> dict:
    """The house look as one layout dict, validated once when the figure is made (plotly's
    update_layout/update_xaxes calls cost a few ms each, issue 4)."""
    return {
        "colorway": PALETTE, "font": {"family": FONT, "size": 14, "color": INK},
        "margin": {"l": 60, "r": 16, "t": 16, "b": 48}, "hovermode": "x unified", "height": 340,
        "legend": {"title": {"text": legend_title}, "orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "paper_bgcolor": "white", "plot_bgcolor": "white",
        "xaxis": {"title": x_title, "showgrid": False, "linecolor": INK, "tickcolor": INK},
        "yaxis": {"title": y_title, "showgrid": True, "gridcolor": GRID, "linecolor": INK, "tickcolor": INK,
                  "rangemode": "tozero"},
    }


def message(text: str) -> go.Figure:
    """A chart-sized figure that says why there is no chart (no data, time-out, bad filter)."""
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 16, "color": INK, "family": FONT})
    apply_template(fig).update_layout(height=340, margin={"l": 16, "r": 16, "t": 16, "b": 16})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def lines(df, x: str, y: str, group: str | None = None, *, x_title="", y_title="", legend_title="",
          mode: str = "lines+markers", dash_by: dict | None = None, hollow: str | None = None) -> go.Figure:
    """One line per value of `group` (or one line), with markers so a series is not told apart by
    colour alone; `dash_by` maps a group value to a line dash; where the boolean column `hollow` is
    true the marker is drawn open (a period only partly covered, issue 15)."""
    groups = [(None, df)] if group is None else list(df.groupby(group, sort=True, dropna=False))
    symbols = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "hexagon")

    def marker(n: int, part) -> dict:
        symbol = symbols[n % len(symbols)]
        if hollow is None or symbol in ("x", "cross"):  # those have no open form
            return {"symbol": symbol, "size": 6}
        return {"symbol": [f"{symbol}-open" if h else symbol for h in part[hollow].tolist()], "size": 7}

    traces = [go.Scatter(x=part[x], y=part[y], name=y_title if name is None else str(name), mode=mode,
                         marker=marker(n, part), line={"dash": (dash_by or {}).get(name, "solid"), "width": 2})
              for n, (name, part) in enumerate(groups)]
    return apply_template(go.Figure(traces, _layout(x_title=x_title, y_title=y_title, legend_title=legend_title)))


def bars(df, x: str, y: str, group: str | None = None, *, x_title="", y_title="", legend_title="",
         horizontal: bool = False, barmode: str = "group") -> go.Figure:
    groups = [(None, df)] if group is None else list(df.groupby(group, sort=True, dropna=False))
    patterns = ("", "/", ".", "x", "-", "|", "+", "\\")
    traces = [go.Bar(x=part[y] if horizontal else part[x], y=part[x] if horizontal else part[y],
                     name=y_title if name is None else str(name), orientation="h" if horizontal else "v",
                     marker={"pattern": {"shape": patterns[n % len(patterns)]}})
              for n, (name, part) in enumerate(groups)]
    layout = _layout(x_title=y_title if horizontal else x_title, y_title=x_title if horizontal else y_title,
                     legend_title=legend_title)
    layout["barmode"] = barmode
    if horizontal:
        layout["yaxis"].update(autorange="reversed", rangemode="normal", showgrid=False)
        layout["xaxis"].update(showgrid=True, gridcolor=GRID, rangemode="tozero")
        layout.update(height=max(340, 28 * len(df[x].unique()) + 80))
        layout["margin"]["l"] = 220
    return apply_template(go.Figure(traces, layout))


def reference_line(fig: go.Figure, *, x: float | None = None, y: float | None = None, label: str,
                   position: str = "top") -> go.Figure:
    """A dashed target line across the chart, labelled. Width and opacity are set here because the
    house template's shape defaults (simple_white: line width 0, opacity 0.3, meant for shaded bands)
    would otherwise draw the line invisible and leave only its label."""
    style = {"line_dash": "dash", "line_color": INK, "line_width": 2, "opacity": 1,
             "annotation_text": label, "annotation_position": position}
    return fig.add_vline(x=x, **style) if x is not None else fig.add_hline(y=y, **style)


def sparkline_svg(values: list[float | None], *, width: int = 120, height: int = 32) -> str:
    """A tiny inline SVG polyline of a KPI's history (oldest first); no plotly on the scorecard, so
    the home page stays light. Missing values break the line."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1.0
    step = width / max(len(values) - 1, 1)
    segments, current = [], []
    for i, v in enumerate(values):
        if v is None:
            if current:
                segments.append(current)
            current = []
            continue
        current.append(f"{i * step:.1f},{height - 3 - (v - lo) / span * (height - 6):.1f}")
    if current:
        segments.append(current)
    lines_ = "".join(f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="2" points="{" ".join(s)}"/>'
                     for s in segments if len(s) > 1)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">{lines_}</svg>')
