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


# Phone sizes (issue 16: at 390 px legends squashed a chart to ~70 px and axis titles were cut). A chart's
# plot area keeps PLOT_HEIGHT however many rows its legend needs on a phone; the figure grows instead.
PLOT_HEIGHT = 240
PHONE_WIDTH = 300  # px a legend row or a title has in a chart card on a 390-px phone
CHAR_PX = 8  # a generous width of one 14-px system-ui character
LEGEND_ROW = 24
AXIS_SPACE = 90  # tick labels (two lines on a date axis) and the x-axis title under the plot
TICK_CHARS = 18  # a category label longer than this is wrapped onto lines of about this length
UPRIGHT_CHARS = 10  # a vertical bar's category label is wrapped onto lines of about this length
Y_TITLE_CHARS = 20  # a y-axis title runs up the plot's side: lines of about this length fit its height
BESIDE_LABELS_CHARS = 18  # the x title of horizontal bars stands under the bars only, right of the labels
# The margins plotly would reach by `automargin`, given up front (decision 0024): when a label pushes a
# margin, plotly lays the whole chart out twice, which was half of each chart's draw (a blocking task of
# 110-300 ms on the first screen). Measured in Chromium for every chart of the demo city: the left margin
# is the y tick labels' width plus ~47 px for one title line (or none), ~22 px more per further line.
DIGIT_PX = 9  # one digit of a 14-px system-ui tick label
CAPITAL_PX = 11
Y_TITLE_PX = 30  # the gap and the first line of a y title, beside its tick labels
Y_TITLE_LINE = 22
TOP = 20  # a tick label at the very top of a fixed range (0-100 %) reaches 20 px above the plot


def wrapped(text: str, chars: int) -> str:
    """`text` broken onto lines of at most about `chars` characters (<br>, which plotly draws as lines),
    so a long axis title or category label fits a phone instead of running off the chart."""
    lines, line = [], ""
    for word in str(text).split():
        if line and len(line) + 1 + len(word) > chars:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "<br>".join(lines + [line])


def legend_rows(labels, title: str = "") -> int:
    """How many rows a horizontal legend of `labels` takes on a phone: entries packed left to right
    (symbol and gap ~40 px each), the title on a row of its own."""
    rows, used = 0, PHONE_WIDTH
    for label in map(str, labels):
        width = 40 + CHAR_PX * len(label)
        if used + width > PHONE_WIDTH:
            rows, used = rows + 1, 0
        used += width
    return rows + (len(title.split("<br>")) if title else 0)


def bottom_legend(labels, title: str = "") -> tuple[dict, int]:
    """A horizontal legend under the chart, where the chart toolbar (top right) never covers it, and
    the height it needs on a phone (nothing for a single series, which needs no legend)."""
    title_lines = wrapped(title, PHONE_WIDTH // CHAR_PX) if title else ""
    rows = legend_rows(labels, title_lines) if len(labels) > 1 else 0
    return ({"title": {"text": title_lines, "side": "top"}, "orientation": "h", "xref": "container",
             "yref": "container", "x": 0, "y": 0, "yanchor": "bottom", "xanchor": "left"}, LEGEND_ROW * rows)


def number_tick_px(values) -> int:
    """How wide the longest tick label of a value axis from 0 to the largest of `values` is: plotly
    writes up to 9,999 in full ("1500"), larger with an SI suffix ("50k", "1.5M": at most four
    characters) and below 10 with a decimal ("2.5")."""
    top = max((abs(float(v)) for v in values if v is not None and v == v), default=0.0) * 1.05
    chars = 4 if top >= 10_000 or top < 10 else len(str(int(top)))
    return DIGIT_PX * chars


def category_tick_px(labels) -> int:
    """How wide the longest line of wrapped category labels is (capitals, as in "DOHMH", are wider)."""
    return max((sum(CAPITAL_PX if c.isupper() else CHAR_PX for c in line)
                for label in labels for line in str(label).split("<br>")), default=0)


def _layout(*, x_title: str = "", y_title: str = "", legend_title: str = "", legend: tuple = (),
            x_title_chars: int = PHONE_WIDTH // CHAR_PX, y_tick_px: int = 0) -> dict:
    """The house look as one layout dict, validated once when the figure is made (plotly's
    update_layout/update_xaxes calls cost a few ms each, issue 4).

    The figure is as tall as the plot area plus what its legend (bottom_legend) needs on a phone, so
    a long legend never squashes the chart (issue 16). Axis titles are wrapped to a phone's width.
    The left margin fits the y tick labels (`y_tick_px` wide) and title, so `automargin` has nothing
    to push on a desktop and plotly lays the chart out once; it stays on for what is not foreseen
    (a phone's rotated labels, another font)."""
    below, legend_height = bottom_legend(legend, legend_title)
    x_text = wrapped(x_title, x_title_chars) if x_title else ""
    x_lines = x_text.count("<br>") + 1 if x_title else 0
    bottom = AXIS_SPACE + 18 * max(x_lines - 1, 0) + legend_height
    y_text = wrapped(y_title, Y_TITLE_CHARS) if y_title else ""
    left = y_tick_px + Y_TITLE_PX + Y_TITLE_LINE * max(y_text.count("<br>") + 1, 1)
    return {
        "colorway": PALETTE, "font": {"family": FONT, "size": 14, "color": INK},
        "margin": {"l": max(60, left), "r": 16, "t": TOP, "b": bottom}, "hovermode": "x unified",
        "height": PLOT_HEIGHT + TOP + bottom, "legend": below,
        "paper_bgcolor": "white", "plot_bgcolor": "white",
        "xaxis": {"title": {"text": x_text}, "showgrid": False, "linecolor": INK,
                  "tickcolor": INK, "automargin": True},
        "yaxis": {"title": {"text": y_text}, "showgrid": True, "gridcolor": GRID, "linecolor": INK,
                  "tickcolor": INK, "rangemode": "tozero", "automargin": True},
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
    return apply_template(go.Figure(traces, _layout(x_title=x_title, y_title=y_title, legend_title=legend_title,
                                                    legend=tuple(t.name for t in traces),
                                                    y_tick_px=number_tick_px(df[y].tolist()))))


def bars(df, x: str, y: str, group: str | None = None, *, x_title="", y_title="", legend_title="",
         horizontal: bool = False, barmode: str = "group") -> go.Figure:
    """Bars, one trace per value of `group` told apart by pattern as well as colour. Horizontal bars
    have their category labels wrapped (a phone has ~300 px for labels and bars together) and one
    band of height per label line, so labels neither run off the chart nor overlap."""
    groups = [(None, df)] if group is None else list(df.groupby(group, sort=True, dropna=False))
    patterns = ("", "/", ".", "x", "-", "|", "+", "\\")
    def category(values):
        return [wrapped(v, TICK_CHARS if horizontal else UPRIGHT_CHARS) for v in values]
    traces = [go.Bar(x=part[y] if horizontal else category(part[x]), y=category(part[x]) if horizontal else part[y],
                     name=y_title if name is None else str(name), orientation="h" if horizontal else "v",
                     marker={"pattern": {"shape": patterns[n % len(patterns)]}})
              for n, (name, part) in enumerate(groups)]
    stacked = barmode in ("stack", "relative") and group is not None
    values = (df.groupby(x)[y].sum() if stacked else df[y]).tolist()
    layout = _layout(x_title=y_title if horizontal else x_title, y_title=x_title if horizontal else y_title,
                     legend_title=legend_title, legend=tuple(t.name for t in traces) if group else (),
                     x_title_chars=BESIDE_LABELS_CHARS if horizontal else PHONE_WIDTH // CHAR_PX,
                     y_tick_px=category_tick_px(category(df[x].unique())) if horizontal else number_tick_px(values))
    layout["barmode"] = barmode
    if not horizontal:  # labels too wide for their bar stand upright: the plot keeps its height below them
        upright = max((len(line) for v in df[x].unique() for line in wrapped(v, UPRIGHT_CHARS).split("<br>")), default=0)
        layout["xaxis"]["autotickangles"] = [0, 90]
        layout["margin"]["b"] += CHAR_PX * upright
        layout["height"] += CHAR_PX * upright
    if horizontal:
        labels = [wrapped(v, TICK_CHARS) for v in df[x].unique()]
        layout["yaxis"].update(autorange="reversed", rangemode="normal", showgrid=False)
        layout["xaxis"].update(showgrid=True, gridcolor=GRID, rangemode="tozero")
        layout["margin"]["r"] = 16 + number_tick_px(values) // 2  # the last tick label, centred on the right edge
        plot = max(PLOT_HEIGHT, sum(max(18 * (label.count("<br>") + 1), 14 * len(traces)) + 10 for label in labels))
        layout.update(height=layout["height"] - PLOT_HEIGHT + plot)
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
