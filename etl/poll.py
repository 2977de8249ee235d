"""`python -m etl poll open311 URL`: pull an Open311 GeoReport v2 feed into the lake, incrementally.

Each poll asks `URL/requests.json` for the spec's 90-day window (start_date..end_date) and, where the
server knows the common `updated_after` extension, only what changed since the watermark; it pages
with page/page_size while the server pages. Records the previous polls already delivered (same id
and updated_datetime) are skipped; the rest are upserted through the ordinary load path
(etl/load.py, format open311_georeport_v2) in micro-batches. The watermark is the newest
updated_datetime seen; it is saved (lake/writerstate.py) only after the batch is published, and the
next poll starts `overlap` seconds before it, so a restart or a request updated while pages were
being read leaves no gap, and the skip list leaves no duplicate
(docs/decisions/0006-realtime-ingest.md).

A 5xx, a time-out or hang, a refused connection or a malformed answer is retried with exponential
backoff and logged; nothing is published from a failed poll and the watermark stays where it was.
"""
from __future__ import annotations

import json
import random
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import config
import datasets
from etl.errors import InputError
from etl.log import logger as log_for
from etl.realtime import Lifecycle, Pause, writer_key
from lake import writerstate
from lake.errors import LakeBusy

FORMAT = "open311_georeport_v2"
WINDOW = timedelta(days=90)  # the spec's longest start_date..end_date span
MAX_BODY = 256 * 2**20  # bytes: a larger answer is treated as garbage
MAX_PAGES = 100_000
# What a server does with an extension we may send (updated_after, page/page_size), as saved in the
# state's "server": not known yet (the next answer tells), supported, or refused (never sent again).
UNKNOWN, SUPPORTED, REFUSED = None, True, False
log = log_for("poll")


class FetchError(Exception):
    """One request failed in a way worth retrying: 5xx, time-out, refused, malformed body."""


class Rejected(Exception):
    """The server refused a request as bad (4xx): retrying the same request will not help."""

    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status, self.body = status, body


def _w3c(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def redact(url: str) -> str:
    """The URL without its query string (which may carry an api_key), for logs and health."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


@dataclass
class Open311Poller:
    url: str
    dataset: str = "service_requests"
    every: float = 60.0
    timeout: float = 30.0
    page_size: int = 1000
    overlap: float = 300.0  # seconds the next poll reaches back before the watermark
    retries: int = 3  # attempts per request within one poll
    backoff: float = 1.0  # first retry delay in seconds; doubles each time
    max_backoff: float = 300.0
    batch_records: int = 10_000  # records per micro-batch while a large first poll pages through
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        datasets.get(self.dataset)
        if not self.url.startswith(("http://", "https://")):
            raise InputError(f"{self.url!r} is not an http(s) URL of an Open311 endpoint")
        parts = urllib.parse.urlsplit(self.url)  # a query string (jurisdiction_id, api_key) is kept on every request
        path = parts.path if parts.path.endswith(".json") else parts.path.rstrip("/") + "/requests.json"
        self.endpoint = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
        self.key = writer_key(f"poll-{self.dataset}", redact(self.url))
        self.zone = ZoneInfo(datasets.city(config.get("city")).timezone)
        self.life = Lifecycle(self.key, self.stop)
        self.life.started("poll", name=f"open311 {redact(self.url)}", url=redact(self.url), every=self.every,
                          dataset=self.dataset)
        self.state.setdefault("watermark", None)
        self.state.setdefault("seen", {})
        self.state.setdefault("server", {"updated_after": None, "paging": None})
        self.state.setdefault("polls", 0)

    @property
    def state(self) -> dict:
        """The saved state: watermark, ids already delivered, what the server supports, counters."""
        return self.life.state

    # ---- one HTTP request ------------------------------------------------------------------------

    def _get(self, params: dict) -> list[dict]:
        url = self.endpoint + ("&" if "?" in self.endpoint else "?") + urllib.parse.urlencode(params)
        req = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "Pulse-poller/1"})
        deadline = time.monotonic() + self.timeout
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                chunks, size = [], 0
                while chunk := resp.read(1 << 16):  # a total deadline: a server trickling bytes is a hang too
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_BODY:
                        raise FetchError(f"answer larger than {MAX_BODY // 2**20} MB")
                    if time.monotonic() > deadline:
                        raise FetchError(f"no complete answer within {self.timeout:g}s")
                body = b"".join(chunks)
        except urllib.error.HTTPError as exc:
            text = exc.read(4096).decode("utf-8", "replace")
            if exc.code >= 500 or exc.code in (408, 429):
                raise FetchError(f"HTTP {exc.code} from the server") from None
            raise Rejected(exc.code, text) from None
        except TimeoutError:
            raise FetchError(f"no answer within {self.timeout:g}s") from None
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            raise FetchError(f"connection failed: {getattr(exc, 'reason', exc)}") from None
        try:
            doc = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FetchError(f"malformed JSON ({exc}): {body[:80]!r}") from None
        if isinstance(doc, dict):  # some servers wrap the list: {"service_requests": [...]}
            lists = [v for v in doc.values() if isinstance(v, list)]
            doc = lists[0] if len(lists) == 1 else doc
        if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
            raise FetchError(f"not a GeoReport list of requests: {body[:80]!r}")
        return doc

    def _get_retrying(self, params: dict) -> list[dict]:
        delay = self.backoff
        for attempt in range(1, self.retries + 1):
            self.life.beat(self.timeout + delay + 30)
            try:
                return self._get(params)
            except FetchError as exc:
                self._error(f"{exc} (attempt {attempt} of {self.retries})")
                if attempt == self.retries or self.stop.is_set():
                    raise
                log.info("retrying in %.1fs", delay)
                self.stop.wait(delay * random.uniform(0.8, 1.2))
                delay = min(self.max_backoff, delay * 2)
        raise AssertionError("unreachable")

    # ---- one poll --------------------------------------------------------------------------------

    def _params(self, page: int, since: datetime | None) -> dict:
        end = datetime.now(UTC) + timedelta(minutes=5)  # a server clock a little ahead still counts
        params = {"start_date": _w3c(end - WINDOW), "end_date": _w3c(end)}
        server = self.state["server"]
        if since is not None and server["updated_after"] is not REFUSED:
            params["updated_after"] = _w3c(since)
        if server["paging"] is not REFUSED:
            params.update(page=page, page_size=self.page_size)
        return params

    def _fetch_page(self, page: int, since: datetime | None) -> list[dict]:
        """One page; a 400 naming an extension we sent (updated_after, page) turns that extension off."""
        server = self.state["server"]
        while True:
            params = self._params(page, since)
            try:
                records = self._get_retrying(params)
            except Rejected as exc:
                if "updated_after" in params and server["updated_after"] is UNKNOWN:
                    server["updated_after"] = REFUSED
                    log.info("the server refuses updated_after (%s): reading the whole window each poll", exc)
                    continue
                if "page" in params and server["paging"] is UNKNOWN:
                    server["paging"] = REFUSED
                    log.info("the server refuses page/page_size (%s): reading one answer per poll", exc)
                    continue
                raise FetchError(f"the server refused the request: {exc}") from None
            if "updated_after" in params and server["updated_after"] is UNKNOWN:
                server["updated_after"] = SUPPORTED
            return records

    def _updated(self, rec: dict) -> datetime | None:
        raw = rec.get("updated_datetime") or rec.get("requested_datetime")
        if not isinstance(raw, str):
            return None
        try:
            t = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return t if t.tzinfo else t.replace(tzinfo=self.zone)

    def poll_once(self) -> dict:
        """One poll: page through what changed, publish it in micro-batches, then move the watermark."""
        started = time.monotonic()
        watermark = datetime.fromisoformat(self.state["watermark"]) if self.state["watermark"] else None
        since = watermark - timedelta(seconds=self.overlap) if watermark else None
        out = {"dataset": self.dataset, "url": redact(self.url), "outcome": "no_change", "pages": 0, "fetched": 0,
               "new": 0, "skipped": 0, "invalid": 0, "versions": [], "inserted": 0, "updated": 0, "unchanged": 0,
               "rejected": 0}
        cycle = self._page_through(since, out)
        if out["invalid"]:
            log.warning("%s: %d records without a service_request_id or a readable updated_datetime were skipped",
                        redact(self.url), out["invalid"])
        if cycle:
            self._advance(watermark, cycle)
        self.state["polls"] += 1
        self.state["last_poll_at"] = self.state["last_success_at"] = writerstate.now_iso()
        self.state["last_poll_outcome"] = out["outcome"]
        out.update(watermark=self.state["watermark"], seconds=round(time.monotonic() - started, 3))
        return out

    def _page_through(self, since: datetime | None, out: dict) -> dict[str, datetime]:
        """Every page of this poll, new records published in micro-batches; returns id -> newest
        updated_datetime seen in this poll."""
        cycle: dict[str, datetime] = {}
        pending: dict[str, dict] = {}
        page, previous_ids = 1, set()
        while page <= MAX_PAGES and not self.stop.is_set():
            records = self._fetch_page(page, since)
            out["pages"] += 1
            out["fetched"] += len(records)
            ids = [str(r.get("service_request_id")) for r in records]
            if self._repeats_page_one(page, ids, previous_ids):
                break
            self._take(records, ids, since, cycle, pending, out)
            if len(pending) >= self.batch_records:
                self._publish(pending, out)
            if self._last_page(records):
                break
            previous_ids = set(ids)
            page += 1
        if self.stop.is_set() and page > 1:
            raise FetchError("stopped while paging")
        self._publish(pending, out)
        return cycle

    def _repeats_page_one(self, page: int, ids: list[str], previous_ids: set[str]) -> bool:
        """Learn from page 2 whether the server pages: one that ignores paging repeats page 1."""
        server = self.state["server"]
        if page == 1 or server["paging"] is not UNKNOWN:
            return False
        if ids and set(ids) <= previous_ids:
            server["paging"] = REFUSED
            return True
        server["paging"] = SUPPORTED
        return False

    def _last_page(self, records: list[dict]) -> bool:
        """An empty page ends a poll, or, from a server seen to fill pages to page_size, a short one
        (a server may cap page_size below what we ask: then only an empty page ends it)."""
        server = self.state["server"]
        if not records or server["paging"] is REFUSED:
            return True
        if len(records) >= self.page_size:
            server["full_pages"] = True
            return False
        return bool(server.get("full_pages"))

    def _take(self, records: list[dict], ids: list[str], since: datetime | None, cycle: dict[str, datetime],
              pending: dict[str, dict], out: dict) -> None:
        """Sort a page's records into pending (new or changed), skipped (delivered before) and invalid."""
        seen_before: dict = self.state["seen"]  # id -> updated_datetime delivered by an earlier poll
        for rec, rid in zip(records, ids, strict=True):
            updated = self._updated(rec)
            if rec.get("service_request_id") in (None, "") or updated is None:
                # Without an id or a time it can be neither upserted nor placed by the watermark.
                out["invalid"] += 1
                continue
            if (since is not None and updated < since) or (rid in cycle and cycle[rid] >= updated):
                out["skipped"] += 1
                continue
            cycle[rid] = updated
            if seen_before.get(rid) == updated.isoformat():
                out["skipped"] += 1
                continue
            pending[rid] = rec

    def _advance(self, watermark: datetime | None, cycle: dict[str, datetime]) -> None:
        """Move the watermark to the newest time seen, and keep the ids seen within the overlap before it."""
        newest = max(cycle.values())
        if watermark is None or newest > watermark:
            watermark = newest
        keep_from = watermark - timedelta(seconds=self.overlap)
        self.state["seen"] = {**{k: v for k, v in self.state["seen"].items() if datetime.fromisoformat(v) >= keep_from},
                              **{k: v.isoformat() for k, v in cycle.items() if v >= keep_from}}
        self.state["watermark"] = watermark.isoformat()

    def _publish(self, pending: dict, out: dict) -> None:
        if not pending:
            return
        host = urllib.parse.urlsplit(self.url).hostname or "feed"
        records = list(pending.values())
        result = self.life.load_written(self.dataset, f"open311-{host}.json", FORMAT,
                                        lambda fh: fh.write(json.dumps(records)))
        out["new"] += len(pending)
        for k in ("inserted", "updated", "unchanged", "rejected"):
            out[k] += result[k]
        if result["outcome"] == "published":
            out["versions"].append(result["version"])
            out["outcome"] = "published"
        out["version"] = result["version"]
        pending.clear()

    # ---- the loop --------------------------------------------------------------------------------

    def _error(self, message: str) -> None:
        log.warning("%s %s: %s", self.dataset, redact(self.url), message)
        self.life.error(message, self.dataset)

    def cycle(self) -> dict:
        """poll_once, turning any failure into a logged error: the loop never dies of one."""
        try:
            result = self.poll_once()
            self.state["consecutive_failures"] = 0
        except (FetchError, LakeBusy, InputError) as exc:
            result = {"dataset": self.dataset, "url": redact(self.url), "outcome": "failed", "error": str(exc)}
        except Exception as exc:  # a bug or a full disk: log it, keep the lake as it was, try again later
            log.exception("poll failed")
            result = {"dataset": self.dataset, "url": redact(self.url), "outcome": "failed",
                      "error": f"{type(exc).__name__}: {exc}"}
        if result["outcome"] == "failed":
            self.state["consecutive_failures"] = self.state.get("consecutive_failures", 0) + 1
            self.state["last_poll_at"] = writerstate.now_iso()
            self.state["last_poll_outcome"] = "failed"
            self._error(f"poll failed: {result['error']}")
        return result

    def next_delay(self) -> float:
        """The poll interval, doubled for each poll failed in a row (at most max_backoff)."""
        failures = self.state.get("consecutive_failures", 0)
        if not failures:
            return self.every
        return min(max(self.every, self.max_backoff), max(self.every, self.backoff) * 2 ** (failures - 1))

    def run(self, once: bool = False, on_cycle=None) -> dict:
        """Poll until stopped (SIGTERM, SIGINT or `stop`), or once. Returns the run's summary."""
        totals = {"dataset": self.dataset, "url": redact(self.url), "polls": 0, "failed": 0, "new": 0,
                  "versions": [], "inserted": 0, "updated": 0, "rejected": 0}

        def add(result: dict) -> None:
            totals["polls"] += 1
            totals["failed"] += result["outcome"] == "failed"
            for k in ("new", "inserted", "updated", "rejected"):
                totals[k] += result.get(k, 0)
            totals["versions"] += result.get("versions", [])
            if on_cycle:
                on_cycle(result)

        def pause(result: dict, _seconds: float) -> Pause:
            delay = self.next_delay()
            return Pause(delay, delay + self.timeout * self.retries + 30,
                         "backing_off" if self.state.get("consecutive_failures") else "running")

        self.life.run(self.cycle, pause, add, limit=1 if once else None)
        totals.update(watermark=self.state["watermark"], outcome="failed" if once and totals["failed"] else "ok",
                      version=_current(self.dataset))
        return totals


def _current(dataset: str) -> int | None:
    import lake

    return lake.current_version(dataset)


def stop_on_signals(event: threading.Event) -> None:
    """SIGTERM (a supervisor) and SIGINT (Ctrl-C) end the loop after the batch in hand is published."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: event.set())
