"""How many heavy reads one worker runs at once, and how long a read may wait for its turn (issue 13).

Why: every DuckDB query of a worker shares its one reader (one memory limit, PULSE_READER_MEMORY,
and the machine's cores), and the time limit used to start only when DuckDB did. 32 concurrent
uncached rows pages queued behind each other for 3-15 s, each then running within its 3 s. Now a
read takes a slot first (PULSE_READ_SLOTS per worker; downloads have their own,
PULSE_EXPORT_SLOTS, since one lasts seconds to minutes), waits at most PULSE_READ_QUEUE_MS for
it, else Busy (the API's 503 with Retry-After), and the wait counts toward the read's time limit:
inside a slot, LakeReader.execute runs with what is left of PULSE_QUERY_TIME_LIMIT_MS.
Downloads keep their own whole-stream limit (PULSE_EXPORT_TIME_LIMIT_S).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import config

KINDS = {"read": "read_slots", "export": "export_slots"}
_deadline: ContextVar[float | None] = ContextVar("pulse_read_deadline", default=None)
_pools: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_pools_lock = threading.Lock()


class Busy(Exception):
    """Every slot of this kind stayed taken for the whole wait; retry after `retry_after` seconds."""

    def __init__(self, kind: str, waited_ms: int, retry_after: int = 1):
        super().__init__(f"every {kind} slot of this worker stayed busy for {waited_ms} ms")
        self.kind, self.waited_ms, self.retry_after = kind, waited_ms, retry_after


def _pool(kind: str) -> threading.BoundedSemaphore:
    size = max(1, config.get_int(KINDS[kind]))
    with _pools_lock:  # keyed by size too: a test (or an operator's restart) that changes it gets a new pool
        return _pools.setdefault((kind, size), threading.BoundedSemaphore(size))


class Slot:
    """A taken slot; release() is idempotent (a download releases it when its body ends or closes)."""

    def __init__(self, pool: threading.BoundedSemaphore, waited_ms: float):
        self._pool, self.waited_ms = pool, waited_ms
        self._held = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            if self._held:
                self._held = False
                self._pool.release()

    __del__ = release  # a response dropped on an error path must not keep its slot for the worker's life


def acquire(kind: str) -> Slot:
    """A slot of `kind` ("read" or "export"), waiting at most PULSE_READ_QUEUE_MS; Busy past it."""
    pool, wait_ms = _pool(kind), config.get_int("read_queue_ms")
    started = time.monotonic()
    if not pool.acquire(timeout=max(0, wait_ms) / 1000):
        raise Busy(kind, wait_ms)
    return Slot(pool, (time.monotonic() - started) * 1000)


@contextmanager
def read_slot() -> Iterator[Slot]:
    """A read slot for the block; queries inside it are limited to what the wait left of the budget."""
    started = time.monotonic()
    slot = acquire("read")
    token = _deadline.set(started + config.get_int("query_time_limit_ms") / 1000)
    try:
        yield slot
    finally:
        _deadline.reset(token)
        slot.release()


def time_left_ms(limit_ms: int) -> int:
    """`limit_ms`, or less inside a read slot whose wait used part of the budget (0: nothing left)."""
    deadline = _deadline.get()
    if deadline is None:
        return limit_ms
    return max(0, min(limit_ms, int((deadline - time.monotonic()) * 1000)))
