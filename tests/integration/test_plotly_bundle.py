"""The app serves plotly.js's basic bundle for the installed plotly's plotly.js version, and only
where it suffices: with a tile base map the MapLibre maps need the full bundle."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from plotly.offline import get_plotlyjs_version

ROOT = Path(__file__).resolve().parents[2]


def test_the_vendored_basic_bundle_is_the_installed_plotly_js_version():
    import app

    bundle = app.plotly_basic_bundle()
    assert bundle is not None, f"no assets/vendor/plotly-basic-{get_plotlyjs_version()}.min.js: run `make vendor-plotly`"
    head = (ROOT / "assets" / bundle).read_text()[:200]
    assert re.search(r"plotly\.js \(basic - minified\) v" + re.escape(get_plotlyjs_version()) + r"\b", head), head


def test_the_vendored_bundle_asks_v8_to_compile_it_while_it_downloads():
    """V8's explicit compile hint as its first line: Chromium compiles every function of the bundle
    on a background thread while streaming it, so neither its evaluation nor the first chart's drawing
    compiles plotly.js on the page's main thread (decision 0024: a 120-220 ms task less per chart page;
    `make vendor-plotly` keeps it)."""
    import app

    assert (ROOT / "assets" / app.plotly_basic_bundle()).read_text().startswith("//# allFunctionsCalledOnLoad\n")


def _index(env: dict) -> str:
    code = "import app; print(app.app.index_string)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout


def test_pages_point_dash_at_the_basic_bundle_which_is_served_but_not_loaded_up_front():
    import app

    index = app.app.index_string
    url = re.search(r'return "(/assets/[^"]+)"', index).group(1)
    assert url.startswith(f"/assets/{app.plotly_basic_bundle()}?m=") and "_dashPlotlyJSURL" in index
    client = app.server.test_client()
    page = client.get("/service-requests").get_data(as_text=True)
    assert "plotly" not in " ".join(re.findall(r'<script src="([^"]+)"', page))  # loaded when a chart draws
    resp = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert resp.status_code == 200 and resp.headers.get("Content-Encoding") in ("br", "gzip")
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"  # ?m= fingerprints it (issue 13)
    assert len(resp.get_data()) < 450_000  # the full bundle is ~1.4 MB compressed


def test_with_a_tile_base_map_the_full_bundle_stays(tmp_path):
    import os

    env = {**os.environ, "PULSE_DATA_DIR": str(tmp_path), "PULSE_MAP_TILE_URL": "https://tiles.example/{z}/{x}/{y}.png"}
    assert "_dashPlotlyJSURL" not in _index(env)
    env.pop("PULSE_MAP_TILE_URL")
    assert "_dashPlotlyJSURL" in _index(env)
