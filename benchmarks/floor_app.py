"""The floor of the Lighthouse benchmark (benchmarks/lighthouse.py): a bare Dash app, as Pulse
builds it (Dash 4, served locally, compressed, the page in English), whose one page draws one plotly
chart (five lines of fourteen weeks, as /service-requests' first chart) from the same vendored
plotly.js basic bundle, pinned as app.py pins it (the renderer would load the full one). No page that draws a chart through Dash can cost less on this machine.
`gunicorn benchmarks.floor_app:server`."""
from __future__ import annotations

import json
from pathlib import Path

from dash import Dash, dcc, html
from plotly.offline import get_plotlyjs_version

ASSETS = Path(__file__).resolve().parent.parent / "assets"
BUNDLE = f"vendor/plotly-basic-{get_plotlyjs_version()}.min.js"
WEEKS = [f"2026-{8 + (d // 31)}-{1 + d % 31:02d}" for d in range(0, 98, 7)]

app = Dash(__name__, title="Floor", compress=True, serve_locally=True, update_title=None,
           assets_folder=str(ASSETS), assets_ignore=".*")
app.index_string = f"""<!DOCTYPE html>
<html lang="en">
<head>{{%metas%}}<title>{{%title%}}</title>{{%css%}}</head>
<body>{{%app_entry%}}<div hidden>{{%config%}}</div>
<script>Object.defineProperty(window, "_dashPlotlyJSURL", {{get: function () {{ return {json.dumps("/assets/" + BUNDLE)}; }},
  set: function () {{}}}});</script>{{%scripts%}}{{%renderer%}}</body>
</html>"""
app.layout = html.Main([
    html.H1("One chart"),
    dcc.Graph(id="chart", figure={
        "data": [{"type": "scatter", "mode": "lines+markers", "name": f"channel {c}", "x": WEEKS,
                  "y": [(c + 1) * 300 + (w * 37) % 200 for w in range(len(WEEKS))]} for c in range(5)],
        "layout": {"height": 340, "hovermode": "x unified", "margin": {"l": 60, "r": 16, "t": 16, "b": 48}},
    }),
])
server = app.server
# Dash registers the scripts it may serve while it sets itself up at a worker's first request, and a
# second thread of the same worker asking for a script meanwhile is refused ("dash" is not a
# registered library: a 500, seen on 2 of the floor's 9 scripts in a Lighthouse run, which then drew
# no chart at all). One request at import sets it up before gunicorn forks or serves.
server.test_client().get("/")
