"""Logging of the long-running writers (poller, watcher, simulator)."""
from __future__ import annotations

import logging
import sys
import time


def logger(name: str) -> logging.Logger:
    """One line per event on stderr, with a UTC time: what a supervisor (systemd, Procfile) keeps."""
    log = logging.getLogger(f"pulse.{name}")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        fmt = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
        fmt.converter = time.gmtime
        handler.setFormatter(fmt)
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log
