"""Real Chromium (Debian's, driven by Playwright) against a real gunicorn serving a demo lake.

TESTING.md: never `playwright install`; launch /usr/bin/chromium with the flags below. The server is
the production entry point (`gunicorn app:server`, two workers), started in a subprocess on a free
loopback port with its own lake, and stopped at the end.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import RATE_LIMITS

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "tests" / "browser" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
DEMO_ROWS = "20000"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Portal:
    """A running portal: its base URL, its data dir, and how to load more data into it."""

    def __init__(self, data_dir: Path, port: int, proc: subprocess.Popen):
        self.data_dir, self.port, self.proc = data_dir, port, proc
        self.url = f"http://127.0.0.1:{port}"

    def env(self) -> dict:
        return {**os.environ, "PULSE_DATA_DIR": str(self.data_dir), "PULSE_CACHE_TYPE": "filesystem"}

    def etl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "etl", *args], cwd=ROOT, env=self.env(), capture_output=True,
                              text=True, timeout=300, check=True)


def start_portal(data_dir: Path, **env) -> Portal:
    """Build a demo lake in data_dir and serve it with gunicorn; waits until / answers."""
    subprocess.run([sys.executable, "-m", "etl", "demo", "--scale", DEMO_ROWS], cwd=ROOT, env=_env(data_dir, env),
                   check=True, capture_output=True, timeout=300)
    return serve(data_dir, **env)


def _env(data_dir: Path, env: dict) -> dict:
    # Rate limits off (gunicorn.conf.py's app has them): the suite is one address asking for hundreds
    # of pages a minute; tests/integration/test_rate_limits.py tests the limits themselves.
    no_limits = {f"PULSE_{name.upper()}": "" for name in RATE_LIMITS}
    base_env = {**os.environ, "PULSE_DATA_DIR": str(data_dir), "PULSE_CACHE_TYPE": "filesystem",
                "PULSE_LIVE_POLL_SECONDS": "1", **no_limits, **env}
    base_env.pop("PULSE_CITY", None)
    return base_env


def serve(data_dir: Path, **env) -> Portal:
    """Serve the lake already in data_dir with gunicorn (two workers); waits until /healthz answers."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "app:server", "--workers", "2", "--bind",
                             f"127.0.0.1:{port}", "--timeout", "60"], cwd=ROOT, env=_env(data_dir, env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return Portal(data_dir, port, proc)
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"gunicorn did not answer: {proc.stderr.read().decode()[-2000:]}")


def own_portal(name: str, label: str):
    """A module-scoped fixture `name`: a portal of the module's own, for tests that publish versions or
    time first loads, and so must not share the suite's portal."""
    @pytest.fixture(scope="module", name=name)
    def _portal(tmp_path_factory):
        p = start_portal(tmp_path_factory.mktemp(label) / "data")
        yield p
        stop_portal(p)

    return _portal


def stop_portal(portal: Portal) -> None:
    portal.proc.terminate()
    try:
        portal.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        portal.proc.kill()


@contextmanager
def static_site(root: Path, host: str = "localhost") -> Iterator[str]:
    """A second origin for embeds: a plain static file server (http.server) on its own loopback port,
    serving whatever the test writes under `root`; yields its base URL. `localhost` is another origin
    than the portal's 127.0.0.1 even on the same port range."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def portal(tmp_path_factory):
    p = start_portal(tmp_path_factory.mktemp("browser") / "data")
    yield p
    stop_portal(p)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


class Watched:
    """A page plus what it did wrong (console errors, uncaught exceptions, requests leaving the
    machine) and every URL it requested."""

    def __init__(self, page, base: str):
        self.page, self.errors, self.external, self.requested = page, [], [], []
        page.on("request", lambda r: self.requested.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:")) else self.external.append(r.url))


@pytest.fixture
def open_page(browser, portal):
    """open_page(path, viewport=DESKTOP) -> Watched, loaded and settled (callbacks done)."""
    contexts = []

    def _open(path: str, viewport=DESKTOP, server: Portal | None = None):
        base = (server or portal).url
        ctx = browser.new_context(viewport=viewport)
        contexts.append(ctx)
        page = ctx.new_page()
        watched = Watched(page, base)
        page.goto(base + path)
        settle(page)
        return watched

    yield _open
    for ctx in contexts:
        ctx.close()


# Dash is done when its renderer has hydrated the page and holds no callback at any stage, every
# loading mark is gone and no summary or tile still says "Loading"; settled once that has held for
# SETTLED_MS without a break (a chained callback is queued as the one before it ends). Read from Dash's
# own store (window.dash_stores), not from the network: Playwright's "networkidle" never came for a page
# whose `_dash-dependencies` request it kept counting as in flight after the browser had it (twice in
# CI, after the embed tests; the page itself was working), and a page that polls for new versions every
# second is idle between polls only by luck of timing. A page that is not Dash's (no react-entry-point)
# is settled once loaded.
SETTLED_MS = 300
SETTLED = """(ms) => {
  const store = window.dash_stores && window.dash_stores[0];
  const state = store && store.getState();
  const stages = ['requested', 'prioritized', 'blocked', 'executing', 'watched', 'executed', 'stored'];
  const dash = !document.getElementById('react-entry-point') || (!!state && state.appLifecycle === 'HYDRATED'
    && stages.every(k => !((state.callbacks || {})[k] || []).length));
  const quiet = dash && !document.querySelector('[data-dash-is-loading="true"]')
    && ![...document.querySelectorAll('.summary')].some(p => p.textContent.startsWith('Loading'))
    && !(document.querySelector('#sc-tiles') || {textContent: ''}).textContent.startsWith('Loading');
  if (!quiet) { window.__settledSince = null; return false; }
  window.__settledSince = window.__settledSince || performance.now();
  return performance.now() - window.__settledSince >= ms;
}"""


def settle(page, timeout: float = 30_000) -> None:
    """Wait until the page has loaded, Dash has no callback in flight and every summary has left
    "Loading…", and that has held for a moment."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_load_state("load", timeout=timeout)
        page.evaluate("window.__settledSince = null")
        page.wait_for_function(SETTLED, arg=SETTLED_MS, timeout=timeout, polling=50)
    except PlaywrightTimeout:
        raise AssertionError(f"{page.url} did not settle in {timeout / 1000:g} s: {page.evaluate(UNSETTLED)}") from None


# What kept a page from settling, for the failure's message.
UNSETTLED = """() => {
  const state = window.dash_stores && window.dash_stores[0] && window.dash_stores[0].getState();
  const cb = (state && state.callbacks) || {};
  return {lifecycle: state ? state.appLifecycle : 'no Dash store',
          callbacks: Object.fromEntries(Object.entries(cb).filter(([k, v]) => Array.isArray(v) && v.length)
                                        .map(([k, v]) => [k, v.map(c => (c.callback || {}).output || '?').slice(0, 5)])),
          errors: state && state.error ? (state.error.backEnd || []).concat(state.error.frontEnd || []).length : 0,
          loading: [...document.querySelectorAll('[data-dash-is-loading="true"]')].map(e => e.id || e.className).slice(0, 5),
          summaries: [...document.querySelectorAll('.summary')].filter(p => p.textContent.startsWith('Loading'))
                                                               .map(p => p.id || p.className).slice(0, 5)};
}"""


def answer_once_with_the_page_as_it_is(page, url: str) -> list[str]:
    """The next fetch of `url` (a live refresh of the page already loaded) is answered with the page as
    it is now, as a worker or cache a moment behind a publish would; later ones reach the server. The
    list returned holds the URL once that stale answer was given."""
    old, given = page.content(), []

    def route(r):
        if given:
            r.continue_()
        else:
            given.append(r.request.url)
            r.fulfill(status=200, content_type="text/html; charset=utf-8", body=old)

    page.route(url, route)
    return given

# A chart is drawn when its graph holds a figure that is not the blank one it starts with
# (layouts/_shell.blank_figure): charts draw when they come into view (decision 0021).
CHART_DRAWN = "el => { const gd = el.querySelector('.js-plotly-plot'); return !!(gd && gd.layout && gd.layout.meta !== 'blank'); }"


def draw_chart(page, graph_id: str, timeout: float = 30_000) -> None:
    """Scroll a chart into view and wait until it has drawn (a chart out of sight waits for that).

    Scrolled to again every few seconds: a chart above it drawing while the page scrolls can leave it
    just below the screen, as a reader would scroll a little further. A chart on the screen that does
    not draw still fails, with where it was."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout / 1000
    while True:
        page.locator(f"#{graph_id}").scroll_into_view_if_needed()
        try:
            page.wait_for_function(f"id => ({CHART_DRAWN})(document.getElementById(id))", arg=graph_id,
                                   timeout=min(3_000, max(1, (deadline - time.monotonic()) * 1000)))
            return
        except PlaywrightTimeout:
            if time.monotonic() >= deadline:
                box = page.evaluate("id => { const r = document.getElementById(id).getBoundingClientRect();"
                                    " return {top: r.top, bottom: r.bottom, screen: window.innerHeight}; }", graph_id)
                raise AssertionError(f"chart {graph_id} did not draw in {timeout / 1000:.0f} s; where it was: {box}") from None


def draw_every_chart(page, timeout: float = 30_000) -> None:
    for graph_id in page.eval_on_selector_all(".dash-graph[id]", "els => els.map(e => e.id)"):
        draw_chart(page, graph_id, timeout)
    page.evaluate("window.scrollTo(0, 0)")


def axe_violations(page, disabled_rules: dict[str, str] | None = None) -> list[dict]:
    """axe-core's violations on the page; `disabled_rules` maps a rule to the reason it is off."""
    # Evaluated through the browser's debugging protocol, not as an inline <script>: the page's CSP
    # (rightly) refuses scripts it does not know, and the audit is the test's, not the page's.
    page.evaluate(AXE.read_text() + "\n;window.axe = axe;")
    rules = {r: {"enabled": False} for r in (disabled_rules or {})}
    return page.evaluate("""async (rules) => (await axe.run(document, {resultTypes: ['violations'], rules}))
        .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                               nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""", rules)


def screenshot(page, name: str) -> Path:
    draw_every_chart(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, timeout=60_000)
    return path
