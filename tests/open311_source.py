"""A real local HTTP server speaking Open311 GeoReport v2 (GET requests.json), for the poller's tests
and the freshness benchmark. Its requests change while it runs; it can be told to fail the next
answers (a 500, a hang, malformed JSON) and to refuse or ignore the extensions a poller may use.

    with Open311Source() as src:
        src.add(request(1, created))
        src.url  # http://127.0.0.1:PORT/open311/v2
"""
from __future__ import annotations

import json
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AGENCIES = {"DSNY": "Department of Sanitation", "NYPD": "New York City Police Department", "DOT": "Department of Transportation"}
TYPES = (("Missed Collection", "DSNY"), ("Noise - Residential", "NYPD"), ("Street Condition", "DOT"))


def w3c(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def request(n: int, created: datetime, status: str = "open", updated: datetime | None = None, **over) -> dict:
    """A GeoReport v2 request as a city's server would send it (times in UTC)."""
    service, agency = TYPES[n % len(TYPES)]
    body = {
        "service_request_id": f"R{n:07d}", "status": status, "status_notes": None, "service_name": service,
        "service_code": service.lower().replace(" ", "-"), "description": f"report {n}",
        "agency_responsible": agency, "service_notice": "", "requested_datetime": w3c(created),
        "updated_datetime": w3c(updated or created), "expected_datetime": w3c(created + timedelta(days=3)),
        "address": f"{100 + n} BROADWAY", "address_id": "", "zipcode": "10007", "lat": 40.71 + (n % 50) / 10000,
        "long": -74.005 - (n % 50) / 10000, "media_url": "",
    }
    body.update(over)
    return body


def close(req: dict, at: datetime, note: str = "The condition was corrected.") -> dict:
    return {**req, "status": "closed", "status_notes": note, "updated_datetime": w3c(at),
            "notes": [{"type": "closed", "datetime": w3c(at), "summary": note}]}


class Open311Source:
    """Knobs: `updated_after` ('filter', 'ignore' or 'refuse': answer 400 to it), `paging` (same three)."""

    def __init__(self, updated_after: str = "filter", paging: str = "filter", port: int = 0):
        self.requests: dict[str, dict] = {}
        self.updated_after, self.paging = updated_after, paging
        self.failures: list[str] = []  # 'error' (500), 'hang', 'garbage', 'truncated'
        self.log: list[dict] = []  # the query of every request received
        self.release = threading.Event()  # ends a hang early (at shutdown)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/open311/v2"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def add(self, *reqs: dict) -> None:
        with self.lock:
            for r in reqs:
                self.requests[r["service_request_id"]] = r

    def fail_next(self, *kinds: str) -> None:
        with self.lock:
            self.failures += kinds

    def answer(self, query: dict) -> tuple[int, list | dict]:
        """The requests the query selects: created in [start_date, end_date], updated after
        updated_after, newest first, one page."""
        def when(key):
            raw = query.get(key)
            return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None

        for key, mode in (("updated_after", self.updated_after), ("page", self.paging), ("page_size", self.paging)):
            if key in query and mode == "refuse":
                return 400, [{"code": 400, "description": f"unknown parameter {key!r}"}]
        now = datetime.now(UTC)
        end = when("end_date") or now
        start = when("start_date") or end - timedelta(days=90)
        after = when("updated_after") if self.updated_after == "filter" else None
        with self.lock:
            rows = [r for r in self.requests.values()
                    if start <= datetime.fromisoformat(r["requested_datetime"].replace("Z", "+00:00")) <= end
                    and (after is None or datetime.fromisoformat(r["updated_datetime"].replace("Z", "+00:00")) > after)]
        rows.sort(key=lambda r: (r["requested_datetime"], r["service_request_id"]), reverse=True)
        if self.paging == "filter":
            page, size = int(query.get("page", 1)), int(query.get("page_size", 50))
            rows = rows[(page - 1) * size: page * size]
        return 200, rows

    def _handler(self):
        source = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                with source.lock:
                    source.log.append(query)
                    failure = source.failures.pop(0) if source.failures else None
                if not parts.path.endswith("/requests.json"):
                    return self._send(404, b'[{"code":404,"description":"not found"}]')
                if failure == "hang":
                    source.release.wait(60)  # never answer (until shutdown)
                    return
                if failure == "error":
                    return self._send(500, b"<html>Internal Server Error</html>", "text/html")
                if failure == "garbage":
                    return self._send(200, b'[{"service_request_id": "R1", "status": ', "application/json")
                if failure == "truncated":
                    return self._send(200, b"<html>maintenance</html>", "application/json")
                status, body = source.answer(query)
                self._send(status, json.dumps(body).encode())

            def _send(self, status: int, body: bytes, ctype: str = "application/json"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
