"""Any unknown path: say so, and point somewhere useful."""
import dash
from dash import html

dash.register_page(__name__, path="/404", title="Page not found \u00b7 Pulse")


def layout(**_):
    return html.Div([html.H1("Page not found"),
                     html.P(["There is no page at this address. Try ", html.A("the city scorecard", href="/"),
                             " or ", html.A("the open data catalog", href="/data"), "."])])
