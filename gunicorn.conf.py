"""Gunicorn settings for Pulse: `gunicorn app:server --config gunicorn.conf.py` (the Procfile's `web:`,
`make run`, the serving benchmarks). Why each value: docs/decisions/0013-production-serving.md.
Gunicorn's own flags (or GUNICORN_CMD_ARGS) given after it still win, e.g. `--bind 0.0.0.0:$PORT`.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # Pulse's modules from any working directory

import config as pulse  # noqa: E402  (not `config`: gunicorn reads every name here as a setting, and that one is)


def _cpus() -> int:
    """CPUs this process may run on (a container's or a taskset's share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# One process per CPU (each has its own GIL and its own DuckDB reader with PULSE_READER_MEMORY), at
# least two so that one worker being replaced never leaves nobody to answer; four threads each.
workers = int(pulse.get("web_workers") or os.environ.get("WEB_CONCURRENCY") or max(2, _cpus()))
threads = int(pulse.get("web_threads") or 4)
worker_class = "gthread"
bind = f"{pulse.get('host')}:{pulse.get('port')}"

# gthread: the master kills a worker whose main loop stops beating for `timeout` s; a long download
# runs in a thread and does not stop the beat. A stop or restart gives requests in flight
# `graceful_timeout` s. An idle kept-alive connection waits in the worker's poller (no thread) for
# `keepalive` s. A proxy keeping upstream connections must let them go sooner (nginx: `keepalive_timeout`
# under 5 s in its upstream block), or it may send a request on one gunicorn is closing.
timeout = 30
graceful_timeout = 30
keepalive = 5
# The longest request line gunicorn takes (its ceiling; default 4,094): a SoQL query in a GET is long.
# Beyond it, a JSON 414 naming the limit (web/protocol_errors.py, installed in post_fork).
limit_request_line = 8190

# Restart a worker after this many requests, staggered, to bound slow memory growth (pandas, Arrow,
# DuckDB's allocator). 50,000 is about a minute per worker at the ceiling (issue 13's storm) and
# hours on an ordinary day; preloading makes the restart a fork.
max_requests = 50_000
max_requests_jitter = 5_000

# Import the app once in the master: workers fork ready (a restart costs no imports) and share the
# code's memory. A DuckDB opened during the import is closed before each fork (pre_fork below).
preload_app = True

# The heartbeat file on tmpfs: a worker writing it on a busy disk must not look dead (gunicorn's docs).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# No control socket: several gunicorns of one user (tests, benchmarks) would fight over its one path.
control_socket_disable = True
proc_name = "pulse"

# JSON logs, each line with the request id (web/requestid.py, web/logs.py): access lines on stdout,
# gunicorn's and the app's own lines on stderr.
accesslog = "-"
errorlog = "-"
loglevel = "info"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "web.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "web.logs.Json"}, "access": {"()": "web.logs.AccessJson"}},
    "handlers": {
        "access": {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"},
        "app": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"],
                "stream": "ext://sys.stderr"},
    },
    "root": {"level": "INFO", "handlers": ["app"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["app"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}


def pre_fork(server, worker):
    """Close a DuckDB reader the preloaded app opened: DuckDB's threads do not survive a fork. Drop
    the object store's client too: its pooled connections must not be shared between processes."""
    reader = sys.modules.get("portal.reader")  # absent when serving something else (the bare baseline)
    if reader is not None:
        reader.close_reader()
    store = sys.modules.get("lake.store")
    if store is not None:
        store.forget_clients()


def post_fork(server, worker):
    """Refusals gunicorn writes itself (a request line too long, a malformed header) as JSON."""
    from web import protocol_errors

    protocol_errors.install()
