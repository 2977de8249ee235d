"""The page of an embed (`/embed/<chart or KPI>`, issue 17, item 2): the chart or tile alone, its
one-sentence summary, "view as table", attribution, "as of" and data versions, and a link back.

Why server-made HTML and not a Dash page: a partner's reader downloads the chart, not the app. The
page is this HTML, a small stylesheet and script (assets/embed/) and, for a chart, the vendored
plotly.js basic bundle: about a tenth of a dashboard's bytes (docs/benchmarks.md, `--only embed`).
The script draws the figure, posts the page's height to the parent window (`{"pulse-height": N}`),
and redraws in place when a dataset it reads gets a new version (never when pinned): it fetches this
same page again and brings in the figure (Plotly.react), summary, "as of", versions, table and tile.
"""
from __future__ import annotations

import json
from html import escape

from layouts import _shell as shell
from portal import embeds, figures

THEMES = ("light", "dark")
OPTIONS = ("border", "theme", "version")  # beside the view's own parameters


def page(t: embeds.Target, s: embeds.Shown, *, back: str, canonical: str, pinned: bool, theme: str, border: bool,
         poll_seconds: int, plotly_src: str | None, asset) -> str:
    """The whole embed document. `back`: the full view; `asset(name)`: a fingerprinted /assets URL."""
    data = {"pinned": pinned, "poll": poll_seconds, "versions": s.versions}
    body = _chart(t, s) if s.figure is not None else _tile(s.kpi)
    versions = ", ".join(f"{n} v{v}" for n, v in s.versions.items())
    state = "pinned to these versions" if pinned else "live: updates when new data is published"
    scripts = ([f'<script src="{escape(plotly_src)}"></script>'] if plotly_src and s.figure is not None else [])
    scripts.append(f'<script src="{escape(asset("embed/embed.js"))}"></script>')
    classes = " ".join(["embed", f"theme-{theme}", "" if border else "no-border"]).strip()
    return f"""<!DOCTYPE html>
<html lang="en" class="{classes}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t.title)} \u00b7 Pulse</title><link rel="canonical" href="{escape(canonical)}">
<link rel="stylesheet" href="{escape(asset("embed/embed.css"))}"></head>
<body><main class="embed-card" aria-labelledby="embed-title" data-embed="{escape(json.dumps(data))}">
<h1 id="embed-title">{escape(t.title)}</h1>
<p class="summary" id="embed-summary">{escape(s.summary)}</p>
{body}
<details class="as-table"><summary>View \u201c{escape(t.title)}\u201d as a table</summary>
<div class="table-wrap" tabindex="0" role="region" aria-label="{escape(t.title)}, table">{_table(t.title, s)}</div></details>
<footer class="embed-meta"><p>Source: <a href="{escape(back)}" target="_blank" rel="noopener">Pulse, the city's performance data</a>
(<a href="{escape(back)}" target="_blank" rel="noopener">see the full view</a>,
<a href="{escape(s.csv_href)}" target="_blank" rel="noopener">the data as CSV</a>).</p>
<p class="asof">As of {escape(_as_of(s))}. Data: {escape(versions or "none loaded")} ({state}).</p>
{"" if pinned else '<p><button type="button" class="live-toggle" aria-pressed="false">Pause live updates</button></p>'}
<p class="visually-hidden" role="status" aria-live="polite" id="embed-status"></p></footer>
</main>
{"".join(scripts)}
</body></html>"""


def _chart(t: embeds.Target, s: embeds.Shown) -> str:
    figure = json.dumps(s.figure, default=str).replace("</", "<\\/")  # a label cannot close the script element
    # a figure, not an img: plotly's mode bar inside it is interactive (axe: nested-interactive)
    return (f'<div class="chart" id="embed-chart" role="figure" aria-labelledby="embed-title" '
            f'aria-describedby="embed-summary"></div>'
            f'<script type="application/json" id="embed-figure">{figure}</script>'
            f'<script type="application/json" id="embed-modebar">{json.dumps(shell.MODEBAR_REMOVED)}</script>')


def _tile(k: dict) -> str:
    """A KPI tile: its value, status, target and score, and its trend."""
    from layouts import scorecard  # imported when used: a Dash page module registers itself on import

    status = k["status"]
    score = "no score" if k["score"] is None else f"{k['score']:.2f}"
    values = [h["actual"] for h in k.get("history", [])] + [k["actual"]]
    svg = figures.sparkline_svg(values)
    trend = (f'<img class="trend" width="240" height="64" alt="Trend over the last {len(values)} periods" '
             f'src="data:image/svg+xml;base64,{_b64(svg)}">') if svg else ""
    return (f'<div class="tile status-{escape(status["icon"])}">'
            f'<p class="value">{escape(scorecard._value_text(k))}</p>'
            f'<p class="status"><span aria-hidden="true">{scorecard.ICONS[status["icon"]]}</span> '
            f'{escape(status["word"].capitalize())}</p>'
            f'<p class="target">{escape(scorecard._target_text(k))} \u00b7 Score {score}</p>{trend}'
            f'<p class="previous">{escape(scorecard._previous_text(k))}</p>'
            f'<p class="agency">Owner: {escape(k["agency"])}. Period {escape(k["start"])} to {escape(k["end"])} '
            f'(end excluded).</p></div>')


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def _table(caption: str, s: embeds.Shown) -> str:
    return shell.table_html(caption, s.columns, s.rows, s.total_rows) if s.rows else "<p>No rows.</p>"


def _as_of(s: embeds.Shown) -> str:
    from portal import freshness

    published = [p for p in s.published.values() if p]
    return freshness.local_time(max(published)) if published else "no data loaded"
