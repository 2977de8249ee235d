"""The storm-morning visitor, as locust runs it (`locust -f benchmarks/storm_visitor.py`).

A visitor opens the snow page the way the browser did when benchmarks/storm.py recorded it (the
same requests in the same order: the page shell, Dash's layout and dependencies, scripts and
styles, the page's callbacks with their recorded bodies), then, as the open page does, polls
/api/v1/version every PULSE_STORM_POLL seconds, PULSE_STORM_POLLS times, and leaves; the next
visitor takes its place. "page /snow" in locust's statistics is the time to the whole page: its
count over the run is the page views, its 95th percentile the time a visitor waits.

Requests run one after another (a browser runs about six at once): the time to a complete page is
the sum of the answers, an upper bound on what a browser would wait.
"""
from __future__ import annotations

import json
import os
import time

from locust import FastHttpUser, task

VISIT = json.loads(open(os.environ["PULSE_STORM_VISIT"]).read())
POLL_SECONDS = float(os.environ.get("PULSE_STORM_POLL", "5"))
POLLS = int(os.environ.get("PULSE_STORM_POLLS", "1"))
HEADERS = {"Accept-Encoding": "br, gzip"}


class Visitor(FastHttpUser):
    """One person on a storm morning: opens /snow, watches it for a while, leaves."""

    def _fetch(self, step: dict) -> bool:
        name = step["name"]
        if step["method"] == "POST":
            with self.client.post(step["path"], data=step["body"], name=name, catch_response=True,
                                  headers={**HEADERS, "Content-Type": "application/json"}) as r:
                return self._check(r)
        with self.client.get(step["path"], name=name, catch_response=True, headers=HEADERS) as r:
            return self._check(r)

    @staticmethod
    def _check(r) -> bool:
        if r.status_code >= 400 or r.status_code == 0:
            r.failure(f"{r.status_code}")
            return False
        r.success()
        return True

    @task
    def visit(self) -> None:
        started = time.perf_counter()
        ok = all([self._fetch(step) for step in VISIT["page"]])
        self.environment.events.request.fire(
            request_type="PAGE", name="page /snow", response_time=(time.perf_counter() - started) * 1000,
            response_length=0, exception=None if ok else RuntimeError("a request of the page failed"), context={})
        for _ in range(POLLS):
            time.sleep(POLL_SECONDS)
            self._fetch({"method": "GET", "path": "/api/v1/version", "name": "/api/v1/version"})
