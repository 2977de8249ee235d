"""Build the Dash app: pages from layouts/, the API blueprints, and `server` for gunicorn.

Nothing else lives here (STYLE.md). Until the dashboards land the home page lists the datasets and
their versions.
"""
from __future__ import annotations

from dash import Dash, html

import datasets
from api.datasets import bp as datasets_bp
from api.health import bp as health_bp
from api.health import data_versions
from api.open311 import bp as open311_bp
from api.openapi import bp as openapi_bp
from api.standards import bp as standards_bp
from api.v1 import bp as api_v1_bp

INDEX = """<!DOCTYPE html>
<html lang="en">
<head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}</head>
<body>{%app_entry%}<footer>{%config%}{%scripts%}{%renderer%}</footer></body>
</html>"""


def placeholder_layout():
    """Served fresh on each request so the versions shown are current."""
    versions = data_versions()
    rows = [
        html.Tr([html.Th(ds.title, scope="row"), html.Td(ds.name),
                 html.Td(f"v{versions[name]['version']}" if versions[name] else "not loaded"),
                 html.Td(f"{versions[name]['rows']:,}" if versions[name] else "0")])
        for name, ds in datasets.datasets().items()
    ]
    return html.Main([
        html.H1("Pulse: the city's performance, in public"),
        html.P("Dashboards are on their way. The open datasets and their current versions:"),
        html.Table([
            html.Caption("Datasets in the lake"),
            html.Thead(html.Tr([html.Th("Dataset", scope="col"), html.Th("Id", scope="col"),
                                html.Th("Version", scope="col"), html.Th("Rows", scope="col")])),
            html.Tbody(rows),
        ]),
    ])


def create_app() -> Dash:
    app = Dash(__name__, title="Pulse", compress=True, serve_locally=True, update_title=None)
    app.index_string = INDEX
    app.layout = placeholder_layout
    app.server.register_blueprint(health_bp)
    app.server.register_blueprint(api_v1_bp)
    app.server.register_blueprint(standards_bp)
    app.server.register_blueprint(datasets_bp)
    app.server.register_blueprint(openapi_bp)
    app.server.register_blueprint(open311_bp)
    return app


app = create_app()
server = app.server

if __name__ == "__main__":
    import config

    app.run(host=config.get("host"), port=config.get_int("port"), debug=False)
