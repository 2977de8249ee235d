"""Bytes, not work, for what a version fixes: an answer that is a function of (route, query, data
versions, code) is computed once, stored already compressed (brotli, gzip and as it is) in the shared
cache (portal/cache.py), and served as those bytes with a strong ETag and the Cache-Control of its
kind. `cached` wraps a Flask view; `install` wraps Dash's own GET routes and compresses the rest
(docs/decisions/0015-http-caching.md).

Why in api/: it is HTTP, used by the API's views and by app.py for Dash's routes, and a module under
api/ is inside the code fingerprint, so a change to what is stored here retires what was stored.

Keys: the path, the raw query string, the versions the answer reads (None from `reads`: not cached),
the code fingerprint, what shapes Dash's pages (`site_fingerprint`), the settings, and where an
answer depends on them the URL root or a clock (the city's day for KPIs, the minute for Open311's
default window). A new version makes a new key: nothing is invalidated, nothing is served stale.

ETags are the key's digest, one per coding as RFC 9110 asks of strong validators: "K" as it is,
"K:gzip", "K:br" (flask-compress writes "K:zstd" on the streamed exports: the same scheme). A 304 is
decided from the key alone, before any cache is read.

Two tiers: each worker keeps the entries it served last (LOCAL_BYTES) in front of the shared cache;
both are keyed by everything above, so neither can hold a stale answer, and a hit costs a dict
lookup instead of a file read or a round trip to Redis.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata

import brotli
from flask import Response, g, make_response, request
from werkzeug.http import parse_accept_header

import config
import datasets
import lake
from portal import cache
from portal.reader import reader

CALLBACK_SECONDS = 10  # a stored callback answer serves this long at most (and only for the same data)
# What a proxy that keys POSTs on their body (deploy/nginx.conf) may do with a callback's answer: keep
# it as briefly as a "current" answer; no stale-while-revalidate, as a refresh needs the body again.
CALLBACK_CACHE_CONTROL = "public, max-age=5"
CURRENT_MAX_AGE = 5  # seconds, at most PULSE_LIVE_POLL_SECONDS: what a proxy may answer for "now"
PINNED = "public, max-age=31536000, immutable"  # a version, or a fingerprinted file, never changes
LOCAL_BYTES = 32 * 2**20  # per worker; an entry above a quarter of it stays in the shared cache only
SMALL = 64 * 2**10  # below this, the slowest and smallest codings (brotli 11, gzip 9): once per version
CODINGS = ("br", "gzip")  # preferred first when a client accepts both equally
KEPT = ("Content-Type", "Content-Disposition", "X-Pulse-Version")  # headers that belong to the answer
HIT = "pulse_cache_hit"  # flask.g flag: served from a cache or a 304 (the rate limiter does not count it)
CODED = "pulse_coded"  # flask.g flag: the body is coded as it must be; `install`'s compressor leaves it
WEB_ENTRY_POINTS = ("app.py", "layouts/*.py", "callbacks/*.py")
PACKAGES = ("dash", "plotly", "flask", "werkzeug", "brotli")


# ---- what an answer reads ---------------------------------------------------------------------------

def no_data(**_) -> dict:
    """An answer shaped by code alone (a page shell, Dash's dependencies, a script, the OpenAPI)."""
    return {}


def current(**_) -> dict:
    """Every dataset's version as the worker's reader sees it: for any answer read, even in part,
    through the reader. The reader notices a publish up to half a second after CURRENT moves, so a
    key made from it can only be older than what its answer read, never newer: the next key is."""
    return reader().versions()


def exact(*names: str) -> dict:
    """The versions in CURRENT now (one small file read each; default every dataset): for answers
    read from the manifests alone, never through the reader."""
    return {n: lake.current_version(n) for n in names or datasets.datasets()}


_days: dict[tuple, str] = {}


def city_day() -> str:
    """The city's date: an answer whose default period ends today changes at midnight (read once a
    second: it is part of every KPI answer's key)."""
    from portal.kpi_values import city_today

    stamp = (int(time.time()), _settings().digest)
    day = _days.get(stamp)
    if day is None:
        _days.clear()
        day = _days[stamp] = city_today().isoformat()
    return day


def every(seconds: int) -> Callable[[], int]:
    return lambda: int(time.time() // seconds)


def versions_chosen() -> dict:
    """The versions the key of this request was made with: a view that reads them (rows) computes
    exactly the answer stored under it."""
    return g.get("pulse_versions", {})


@dataclass(frozen=True)
class Policy:
    reads: Callable[..., dict | None]  # view arguments -> {dataset: version}, or None: do not cache
    clock: Callable[[], object] | None = None  # a time the answer depends on, in the key
    url: bool = False  # the body holds absolute URLs from the request's root
    weak: bool = False  # the body carries its own clock (checked_at): one weak tag for all of it
    shared: bool = True  # False: cheaper to build than to fetch; kept in the worker only
    pinned: Callable[[], bool] = lambda: b"version" in request.query_string and "version" in request.args
    body: bool = False  # a POST whose answer is a function of its body (Dash's callbacks): kept, never a 304


def cached(reads: Callable[..., dict | None] = current, **options) -> Callable:
    """Decorate a Flask view whose 200 answer is a function of its key (module docstring)."""
    policy = Policy(reads, **options)
    return lambda view: functools.wraps(view)(lambda *args, **kwargs: serve(policy, view, args, kwargs))


# ---- serving ----------------------------------------------------------------------------------------

class _Uncacheable(Exception):
    def __init__(self, response: Response):
        self.response = response


def serve(policy: Policy, view: Callable, args: tuple, kwargs: dict):
    if request.method not in (("POST",) if policy.body else ("GET", "HEAD")) or "Range" in request.headers:
        return view(*args, **kwargs)
    versions = policy.reads(**kwargs)
    if versions is None:
        return view(*args, **kwargs)
    g.pulse_versions = versions
    parts = _parts(versions, url=policy.url)
    if policy.body:
        parts += (hashlib.blake2b(request.get_data(), digest_size=16).hexdigest(),)
    clock = policy.clock() if policy.clock else None
    if policy.weak:  # one tag for every clock: the body's own time is not part of what it says
        tag = _digest(parts)
        key = f"{tag}@{clock}"
    else:
        tag = key = _digest(parts, clock)
    if policy.body:  # an answer to a POST: no validators; a proxy keying on the body may keep it briefly
        headers = {"Cache-Control": CALLBACK_CACHE_CONTROL, "Vary": "Accept-Encoding"}
    else:
        headers = {"Cache-Control": cache_control(policy.pinned()), "Vary": "Accept-Encoding"}
        matched = not_modified(tag, headers, weak=policy.weak)
        if matched is not None:
            return matched
    try:
        entry, hit = _fetch(key, versions, policy.shared, lambda: _render(view, args, kwargs))
    except _Uncacheable as exc:
        return exc.response
    coding = _coding()
    if not policy.body:
        headers["ETag"] = f'W/"{tag}"' if policy.weak else _etag(tag, coding)
    if coding != "identity":
        headers["Content-Encoding"] = coding
    setattr(g, HIT, hit)
    setattr(g, CODED, True)
    return Response(entry[coding], headers=[*entry["headers"], *headers.items()])


def cache_control(pinned: bool) -> str:
    return PINNED if pinned else _settings().current


def etag_base(versions: dict, **extra) -> str:
    """The ETag of this request's answer as it is (add ":coding" for a coded one): for a view that
    streams (exports) and so sets its own headers."""
    return _digest(_parts(versions, url=False), sorted(extra.items()))


def not_modified(tag: str, headers: dict, *, weak: bool = False) -> Response | None:
    """A 304 when If-None-Match names this answer in a coding the client accepts (RFC 9110 13.1.2:
    weak comparison), carrying the tag it matched so a cache picks that stored variant."""
    inm = request.if_none_match
    if not inm:
        return None
    held = {t for t in inm.as_set(include_weak=True) if t}  # a malformed header parses to None entries
    if weak:
        matched = f'W/"{tag}"' if inm.star_tag or tag in held else None
    elif inm.star_tag:
        matched = _etag(tag, _coding())
    else:
        accepts = _accepts(request.headers.get("Accept-Encoding", ""))
        matched = next((f'"{t}"' for t in held if t == tag or (t.startswith(tag + ":") and accepts[t[len(tag) + 1:]] > 0)),
                       None)
    if matched is None:
        return None
    setattr(g, HIT, True)
    setattr(g, CODED, True)
    return Response(status=304, headers={**headers, "ETag": matched})


def _etag(tag: str, coding: str) -> str:
    return f'"{tag}"' if coding == "identity" else f'"{tag}:{coding}"'


def _coding() -> str:
    return _coding_for(request.headers.get("Accept-Encoding", ""))


@functools.lru_cache(maxsize=256)
def _accepts(accept_encoding: str):
    """Accept-Encoding parsed once per distinct value (clients send a handful)."""
    return parse_accept_header(accept_encoding)


@functools.lru_cache(maxsize=256)
def _coding_for(accept_encoding: str) -> str:
    """The stored coding to send for this Accept-Encoding."""
    accepts = _accepts(accept_encoding)
    best = max(CODINGS, key=lambda c: accepts[c])  # max keeps the first of equals: br
    return best if accepts[best] > 0 else "identity"


def _parts(versions: dict, url: bool) -> tuple:
    """Everything an answer's bytes depend on, but a clock (module docstring)."""
    return (request.path, request.query_string, sorted(versions.items()), cache.code_fingerprint(),
            site_fingerprint(), _settings().digest, request.root_url if url else None)


def _digest(*parts) -> str:
    """24 hex digits of their repr: plain values (text, numbers, None, tuples and lists of them)."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class _Seen:
    """What this module reads of the settings, read once per change of them."""

    source: config.Settings | None  # the installed settings it was read from; None: the environment
    read_at: float
    digest: str  # of every setting: they shape answers, and a Redis cache may serve several portals
    current: str  # Cache-Control of a current answer
    null: bool  # PULSE_CACHE_TYPE=null: nothing is stored


_seen: list[_Seen] = []


def _settings() -> _Seen:
    """Installed settings are an object (config.install): read again when another is installed.
    Without them the environment is read again at most once a second: reading every PULSE_ variable
    costs ~40 us, a tenth of what a stored answer costs to serve."""
    installed, now = config.installed(), time.monotonic()
    seen = _seen[0] if _seen else None
    if seen is None or installed is not seen.source or (installed is None and now - seen.read_at >= 1):
        settings = installed or config.Settings.from_env()
        age = max(1, min(CURRENT_MAX_AGE, _current_freshness(settings)))
        seen = _Seen(installed, now, hashlib.blake2b(repr(tuple(settings.values.values())).encode(), digest_size=8).hexdigest(),
                     f"public, max-age={age}, stale-while-revalidate={age}", settings.get("cache_type") == "null")
        _seen[:] = [seen]
    return seen


def _current_freshness(settings: config.Settings) -> int:
    """Seconds a proxy may reuse a current answer: the dashboards' poll interval, less what a node
    may itself lag behind the object store with PULSE_LAKE_URL (its pointer poll,
    PULSE_LAKE_POLL_SECONDS, and the worker's one-second copy of /api/v1/version), so a publish
    reaches a reader through nginx within one poll interval."""
    seconds = settings.get_int("live_poll_seconds")
    if settings.get("lake_url").startswith("s3://"):
        seconds -= 1 + math.ceil(float(settings.get("lake_poll_seconds")))
    return seconds


def _render(view: Callable, args: tuple, kwargs: dict) -> dict:
    """Run the view once and code its answer; anything but a plain 200 goes out as it is, unstored."""
    resp = make_response(view(*args, **kwargs))
    if resp.status_code != 200 or "Set-Cookie" in resp.headers or "Content-Encoding" in resp.headers or \
            {"no-store", "private"} & set(resp.cache_control):
        raise _Uncacheable(resp)
    resp.direct_passthrough = False  # a static file is read whole: it is stored like any other answer
    body = resp.get_data()
    small = len(body) < SMALL
    return {"headers": [(k, v) for k, v in resp.headers.items() if k in KEPT], "identity": body,
            "gzip": gzip.compress(body, 9 if small else 6, mtime=0),  # mtime 0: the same bytes in every worker
            "br": brotli.compress(body, quality=11 if small else 5)}


# ---- the two tiers ----------------------------------------------------------------------------------

class _Local:
    """The entries this worker served last, up to LOCAL_BYTES (least recently used go first)."""

    def __init__(self, limit: int):
        self.limit, self.size = limit, 0
        self.entries: OrderedDict[str, tuple[dict, int]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self.lock:
            found = self.entries.get(key)
            if found is None:
                return None
            self.entries.move_to_end(key)
            return found[0]

    def put(self, key: str, entry: dict) -> None:
        size = sum(len(entry[c]) for c in ("identity", *CODINGS))
        if size > self.limit // 4:
            return
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = (entry, size)
            self.size += size
            while self.size > self.limit:
                _, (_, dropped) = self.entries.popitem(last=False)
                self.size -= dropped

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


local = _Local(LOCAL_BYTES)
_flights: dict[str, threading.Lock] = {}
_flights_lock = threading.Lock()


@contextmanager
def _one_at_a_time(key: str):
    """Threads of a worker that miss the same key wait for the first instead of coding it again."""
    with _flights_lock:
        lock = _flights.setdefault(key, threading.Lock())
    try:
        with lock:
            yield
    finally:
        with _flights_lock:
            if _flights.get(key) is lock and not lock.locked():
                del _flights[key]


def _fetch(key: str, versions: dict, shared: bool, compute: Callable[[], dict]) -> tuple[dict, bool]:
    """(entry, hit): from this worker, else from the shared cache, else computed and stored in both.
    PULSE_CACHE_TYPE=null turns both off."""
    if _settings().null:
        return compute(), False
    entry = local.get(key)
    if entry is not None:
        return entry, True
    with _one_at_a_time(key):
        entry = local.get(key)
        if entry is not None:
            return entry, True
        if shared:
            entry, hit = cache.get_or_compute(request.endpoint or "http", {"key": key}, versions, compute)
        else:
            entry, hit = compute(), False
        local.put(key, entry)
        return entry, hit


# ---- Dash's own routes, and compressing the rest ----------------------------------------------------

@functools.cache
def site_fingerprint() -> str:
    """What shapes Dash's pages besides the API's code (portal.cache.code_fingerprint): app.py,
    layouts/, callbacks/ and what they import, the assets (their mtimes are in the pages' URLs), and
    the packages that render and code the bytes. Computed once per process, like the code's."""
    root = cache.ROOT
    digest = hashlib.sha256(cache.fingerprint_files(root, cache.import_closure(root, WEB_ENTRY_POINTS)).encode())
    for path in sorted(p for p in (root / "assets").rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(root).as_posix()}\0{stat.st_mtime}\0{stat.st_size}\n".encode())
    for name in PACKAGES:
        digest.update(f"{name}=={metadata.version(name)}\n".encode())
    return digest.hexdigest()[:16]


def install(app) -> None:
    """Serve Dash's routes through the cache: page shells (known pages only), the layout (it shows the
    data versions), the dependencies, the component suites and the assets (pinned when
    fingerprinted), the favicon, and the callbacks' answers (POSTs: kept here only, by their body). Then compress, per request, only what this module does not serve
    (callback answers, streamed exports, errors): Dash's compress=True would compress everything."""
    from dash.fingerprint import check_fingerprint

    from api.not_found import known_page, requested_page

    server, prefix = app.server, app.config.routes_pathname_prefix
    # A shell naming a chart or tile (?chart=, ?kpi=) carries that view's summary in its preview
    # metadata (layouts/_social.py): it is read from the data, so keyed by the versions too.
    page = Policy(lambda **_: (current() if {"chart", "kpi"} & set(request.args) else {})
                  if known_page(requested_page(prefix)) else None, url=True, pinned=lambda: False)
    code = Policy(no_data, pinned=lambda: False)
    policies = {
        prefix: page,
        prefix + "<path:path>": page,
        prefix + "_dash-layout": Policy(current, pinned=lambda: False),
        prefix + "_dash-dependencies": code,
        prefix + "_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": Policy(
            no_data, pinned=lambda: check_fingerprint(request.view_args["fingerprinted_path"])[1]),
        prefix + "_favicon.ico": Policy(no_data, pinned=lambda: "v" in request.args),
        # A callback's answer is a function of its body (the inputs, the page's URL), the data and the
        # code, and of the clock only through "updated N minutes ago" lines: CALLBACK_SECONDS bounds that.
        prefix + "_dash-update-component": Policy(current, clock=every(CALLBACK_SECONDS), url=True, body=True),
    }
    static = Policy(no_data, pinned=lambda: "m" in request.args)
    for rule in list(server.url_map.iter_rules()):
        policy = policies.get(rule.rule) or (static if rule.endpoint.endswith("dash_assets.static") else None)
        if policy is not None:
            view = server.view_functions[rule.endpoint]
            server.view_functions[rule.endpoint] = functools.wraps(view)(
                lambda *a, _view=view, _policy=policy, **kw: serve(_policy, _view, a, kw))
    _compress_the_rest(server)


def _compress_the_rest(server) -> None:
    from flask_compress import Compress

    server.config["COMPRESS_REGISTER"] = False  # called below, for what is not coded already
    compress = Compress()
    compress.init_app(server)

    @server.after_request
    def _compress(resp):
        if g.get(CODED) or resp.mimetype not in compress.compress_mimetypes_set:
            return resp  # coded once and stored, or a type it would not compress: no Vary either
        return compress.after_request(resp)
