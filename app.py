"""Build the Dash app: pages from layouts/, callbacks from callbacks/, the API blueprints, the plotly.js
its charts load, and `server` for gunicorn. Nothing else lives here (STYLE.md)."""
from __future__ import annotations

import json
from pathlib import Path

from dash import Dash

import config
from api import httpcache, public_url, request_limits
from api.charts import bp as charts_bp
from api.datasets import bp as datasets_bp
from api.feeds import bp as feeds_bp
from api.health import bp as health_bp
from api.not_found import bp as not_found_bp
from api.not_found import page_status
from api.open311 import bp as open311_bp
from api.openapi import bp as openapi_bp
from api.soda import bp as soda_bp
from api.standards import bp as standards_bp
from api.status import bp as status_bp
from api.v1 import bp as api_v1_bp
from api.volunteer import bp as volunteer_bp
from web import feedlinks, headers, limits, pagepins, requestid

INDEX = """<!DOCTYPE html>
<html lang="en">
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}</head>
<body>{%app_entry%}<div hidden>{%config%}</div>PLOTLY{%scripts%}{%renderer%}</body>
</html>"""
VENDOR = Path(__file__).resolve().parent / "assets" / "vendor"

BLUEPRINTS = (health_bp, api_v1_bp, standards_bp, datasets_bp, openapi_bp, open311_bp, soda_bp, feeds_bp, charts_bp, volunteer_bp, not_found_bp)


def plotly_basic_bundle() -> str | None:
    """The vendored plotly.js basic bundle for the installed plotly's plotly.js version, relative to
    assets/, or None when it is missing (after a plotly upgrade, before `make vendor-plotly`)."""
    from plotly.offline import get_plotlyjs_version

    name = f"vendor/plotly-basic-{get_plotlyjs_version()}.min.js"
    return name if (VENDOR.parent / name).exists() else None


def _plotly_loader(app: Dash) -> str:
    """A script that makes dcc.Graph load plotly.js's basic bundle instead of the full one.

    Dash's renderer sets `window._dashPlotlyJSURL` (the full 4.8 MB bundle) and dcc.Graph loads
    that URL when a page first draws a chart; this pins the property to the basic bundle (1.2 MB,
    scatter and bar: all the dashboards draw, assets/vendor/README.md). Not with a tile base map
    (PULSE_MAP_TILE_URL): its MapLibre maps need the full bundle."""
    bundle = plotly_basic_bundle()
    if bundle is None or config.get("map_tile_url"):
        return ""
    # ?m=: the file's time, as Dash fingerprints every asset it links, so the bundle is served immutable.
    url = json.dumps(f"{app.get_asset_url(bundle)}?m={(VENDOR.parent / bundle).stat().st_mtime}")
    return ('<script>Object.defineProperty(window, "_dashPlotlyJSURL", '
            f"{{get: function () {{ return {url}; }}, set: function () {{}}}});</script>")


def create_app(settings: config.Settings | None = None) -> Dash:
    """The portal. With `settings`, the process runs with them (installed: the query layer and the
    API read them); without, it reads its PULSE_ environment at each call, as gunicorn's `app:server`
    does for operators."""
    if settings is not None:
        config.install(settings)
    # use_async=False: Dash turns async on whenever asgiref is importable (the benchmarks' Datasette
    # brings it), and its async router fails under a running event loop; our callbacks are sync.
    # compress=False: api/httpcache.py serves what it stores already coded and compresses the rest (decision 0015).
    # suppress_callback_exceptions: else Dash Pages puts every page's layout, drawn with its data, into
    # every page's HTML for the browser to check callbacks against (1.37 MB on each page, 113 KB
    # compressed, parsed and walked before the first chart: decision 0024); a test makes the same check
    # once (tests/integration/test_dashboard_callbacks.py).
    app = Dash(__name__, title="Pulse", compress=False, serve_locally=True, update_title=None, suppress_callback_exceptions=True,
               use_pages=True, pages_folder="layouts", use_async=False, assets_path_ignore=["vendor", "embed"],
               meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"},
                          {"name": "description", "content": "The city's performance, in public, in real time."}])
    app.index_string = INDEX.replace("PLOTLY", _plotly_loader(app))
    from layouts import _shell

    app.layout = _shell.layout
    feedlinks.install(app)
    from layouts import _embed_routes, _social

    _social.install(app)
    app.server.register_blueprint(_embed_routes.bp)
    app.server.register_blueprint(_embed_routes.pages_bp)
    pagepins.install(app)
    import callbacks  # noqa: F401  (registers the module-level callbacks)

    for bp in BLUEPRINTS:
        app.server.register_blueprint(bp)
    app.server.register_blueprint(status_bp)
    page_status(app.server, app.config.requests_pathname_prefix)
    request_limits.install(app)
    public_url.install(app.server)
    httpcache.install(app)
    headers.install(app)
    limits.init(app.server, app.config.routes_pathname_prefix)  # after every route exists (decision 0013)
    app.server.wsgi_app = requestid.RequestIds(limits.client_addresses(app.server.wsgi_app))
    app.server.config["PULSE_SETTINGS"] = settings
    return app


app = create_app()
server = app.server

if __name__ == "__main__":
    app.run(host=config.get("host"), port=config.get_int("port"), debug=False)
