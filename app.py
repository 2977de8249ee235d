"""Build the Dash app: pages from layouts/, callbacks from callbacks/, the API blueprints, and
`server` for gunicorn. Nothing else lives here (STYLE.md)."""
from __future__ import annotations

from dash import Dash

from api.charts import bp as charts_bp
from api.datasets import bp as datasets_bp
from api.health import bp as health_bp
from api.open311 import bp as open311_bp
from api.openapi import bp as openapi_bp
from api.standards import bp as standards_bp
from api.status import bp as status_bp
from api.v1 import bp as api_v1_bp

INDEX = """<!DOCTYPE html>
<html lang="en">
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}</head>
<body>{%app_entry%}<div hidden>{%config%}</div>{%scripts%}{%renderer%}</body>
</html>"""

BLUEPRINTS = (health_bp, api_v1_bp, standards_bp, datasets_bp, openapi_bp, open311_bp, charts_bp)


def create_app() -> Dash:
    # use_async=False: Dash turns async on whenever asgiref is importable (the benchmarks' Datasette
    # brings it), and its async router fails under a running event loop; our callbacks are sync.
    app = Dash(__name__, title="Pulse", compress=True, serve_locally=True, update_title=None,
               use_pages=True, pages_folder="layouts", use_async=False,
               meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"},
                          {"name": "description", "content": "The city's performance, in public, in real time."}])
    app.index_string = INDEX
    from layouts import _shell

    app.layout = _shell.layout
    import callbacks  # noqa: F401  (registers the module-level callbacks)

    for bp in BLUEPRINTS:
        app.server.register_blueprint(bp)
    app.server.register_blueprint(status_bp)
    return app


app = create_app()
server = app.server

if __name__ == "__main__":
    import config

    app.run(host=config.get("host"), port=config.get_int("port"), debug=False)
