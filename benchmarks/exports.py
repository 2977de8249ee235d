"""Full CSV export of an N-row service_requests lake over HTTP (issue 5), beside two baselines in the
same run:
  - datasette: Datasette streaming the same rows from SQLite (`/db/table.csv?_stream=on&_size=max`,
    with `--setting max_csv_mb 0` so it does not stop at 100 MB), under its own server (uvicorn);
    skipped above 2M rows;
  - duckdb_copy: DuckDB's own COPY (SELECT public columns FROM the version's Parquet) TO csv, the
    ceiling of this stack (no HTTP, no neutralising).
Pulse is `GET /api/v1/datasets/service_requests/export.csv` from a real gunicorn (app:server, one
sync worker). The client is curl, its body piped to this process, which counts rows as they arrive
and reads the serving process's peak RSS (VmHWM) at a quarter, half and all of the rows: flat means
the peak does not grow with the rows sent. Every run gets a fresh server and a warm-up request.
Goal: Pulse >= 10x Datasette MB/s over HTTP (~200 MB/s), flat peak RSS, first byte within 200 ms.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.ingest import source_csv
from benchmarks.measure import ROOT, run_python, stop_group

LOAD = """
from etl.load import load_file
print(load_file('service_requests', {csv!r}).inserted)
"""

# The SQLite copy holds the same public rows, times as the ISO text Pulse writes, so both CSVs match.
SQLITE = """
import sqlite3, duckdb, datasets
import lake
from lake.sql import ident
ds = datasets.get('service_requests')
files = lake.file_paths(ds.name, lake.manifest(ds.name))
cols = ds.public_columns
types = {{'integer': 'INTEGER', 'number': 'REAL', 'boolean': 'INTEGER'}}
pick = [f"strftime({{ident(c.name)}}, '%Y-%m-%dT%H:%M:%S+00:00')" if c.type == 'datetime' else ident(c.name) for c in cols]
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
res = con.execute(f"SELECT {{', '.join(pick)}} FROM read_parquet({{files!r}})")
db = sqlite3.connect({db!r})
db.execute(f"CREATE TABLE service_requests ({{', '.join(ident(c.name) + ' ' + types.get(c.type, 'TEXT') for c in cols)}}, "
           f"PRIMARY KEY ({{', '.join(map(ident, ds.primary_key))}}))")
insert = f"INSERT INTO service_requests VALUES ({{', '.join('?' for _ in cols)}})"
while rows := res.fetchmany(50_000):
    db.executemany(insert, rows)
db.commit()
print(db.execute('SELECT count(*) FROM service_requests').fetchone()[0])
"""

# A child's view of the current service_requests version: its files, its public columns, a DuckDB.
SR_FILES = """
import time, os, json, duckdb, datasets
import lake
from lake.sql import ident
ds = datasets.get('service_requests')
files = lake.file_paths(ds.name, lake.manifest(ds.name))
cols = ', '.join(ident(c.name) for c in ds.public_columns)
con = duckdb.connect()
"""

DUCKDB_COPY = SR_FILES + """
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute(f"COPY (SELECT {{cols}} FROM read_parquet({{files!r}})) TO {out!r} (HEADER)")
print(time.perf_counter() - t, os.path.getsize({out!r}))
"""

PULSE_PATH = "/api/v1/datasets/service_requests/export.csv"
DATASETTE_PATH = "/pulse/service_requests.csv?_stream=on&_size=max"  # _size=max as its own "stream all rows" form sends
DATASETTE_MAX_ROWS = 2_000_000  # at 5-17 MB/s, 5M rows take 2-6 minutes a run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of a process, in MB, from /proc."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def _wait_ready(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                resp.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Server:
    """A server in its own process group on a free loopback port; `pid` is the process serving requests."""

    def __init__(self, argv: list[str], env: dict, ready_path: str, warm_path: str):
        self.port = free_port()
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        try:
            _wait_ready(self.url(ready_path), self.proc)
            with urllib.request.urlopen(self.url(warm_path), timeout=60) as resp:
                resp.read()
        except BaseException:
            self.stop()
            raise
        self.pid = self._serving_pid()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serving_pid(self) -> int:
        import psutil

        children = psutil.Process(self.proc.pid).children()
        return children[0].pid if children else self.proc.pid  # gunicorn's one worker, else the server itself

    def stop(self) -> None:
        stop_group(self.proc)
        self.proc.stderr.close()


def download(server: Server, path: str, rows: int) -> dict:
    """One full download through curl; peak RSS of the serving process at 1/4, 1/2 and all rows."""
    marks = {rows // 4: "quarter", rows // 2: "half", rows: "all"}
    before = _status(server.pid)
    curl = subprocess.Popen(["curl", "-sS", "--no-buffer", "-o", "-", "-w", "%{stderr}%{time_starttransfer} %{time_total} "
                             "%{size_download} %{http_code}", server.url(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    fcntl.fcntl(curl.stdout.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ: fewer, larger reads
    started, lines, first_row_s, seen = time.perf_counter(), 0, None, {}
    while chunk := os.read(curl.stdout.fileno(), 1 << 20):
        lines += chunk.count(b"\n")
        if first_row_s is None and lines >= 2:
            first_row_s = time.perf_counter() - started
        for mark, name in marks.items():
            if name not in seen and lines - 1 >= mark:
                seen[name] = _status(server.pid)["VmHWM"]
    curl.stdout.close()
    err = curl.stderr.read().decode()
    curl.wait()
    first_s, total_s, size, code = err.split()[-4:]
    if code != "200" or curl.returncode != 0:
        raise RuntimeError(f"download failed: {err[-500:]}")
    end = _status(server.pid)
    return {"rows": lines - 1, "mb": round(int(size) / 1e6, 1), "seconds": round(float(total_s), 3),
            "mb_per_s": round(int(size) / 1e6 / float(total_s), 1), "first_byte_ms": round(float(first_s) * 1000, 1),
            "first_row_ms": round((first_row_s or 0) * 1000, 1), "rss_before_mb": round(before["VmRSS"]),
            "peak_rss_mb": {name: round(seen.get(name, end["VmHWM"])) for name in ("quarter", "half", "all")}}


def _pulse(data: Path) -> Server:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    return Server([gunicorn, "app:server", "--workers", "1", "--bind", "127.0.0.1:{port}", "--timeout", "300"],
                  {"PULSE_DATA_DIR": str(data), "PULSE_CACHE_TYPE": "null"}, "/healthz", PULSE_PATH + "?request_id=warm-up")


def _datasette(db: Path) -> Server:
    return Server([sys.executable, "-m", "datasette", "serve", str(db), "--host", "127.0.0.1", "--port", "{port}",
                   "--setting", "max_csv_mb", "0"], {}, "/-/versions.json", "/pulse/service_requests.csv?_size=1")


def _median(runs: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 1)


def run(rows: int = 1_000_000, repeats: int = 3) -> dict:
    csv = source_csv(rows)
    with tempfile.TemporaryDirectory(prefix="pulse-bench-exports-") as tmp:
        work = Path(tmp)
        data, db = work / "data", work / "pulse.db"
        env = {"PULSE_DATA_DIR": str(data)}
        inserted = int(run_python("load", LOAD.format(csv=str(csv)), env=env).stdout.split()[-1])
        servers = {"pulse": (lambda: _pulse(data), PULSE_PATH)}
        if rows <= DATASETTE_MAX_ROWS:
            assert int(run_python("sqlite", SQLITE.format(db=str(db)), env=env).stdout.split()[-1]) == inserted
            servers["datasette"] = (lambda: _datasette(db), DATASETTE_PATH)
        copies, runs = [], {name: [] for name in servers}
        for _ in range(repeats):  # interleaved, so a busy spell on the shared machine hits every contender
            out = work / "copy.csv"
            seconds, size = run_python("duckdb_copy", DUCKDB_COPY.format(out=str(out)), env=env).stdout.split()[-2:]
            copies.append({"seconds": float(seconds), "mb": int(size) / 1e6, "mb_per_s": int(size) / 1e6 / float(seconds)})
            out.unlink()
            for name, (start, path) in servers.items():
                server = start()
                try:
                    runs[name].append(download(server, path, inserted))
                finally:
                    server.stop()
        result = {"rows": inserted, "repeats": repeats}
        for name, done in runs.items():
            if any(r["rows"] != inserted for r in done):
                raise RuntimeError(f"{name} sent {[r['rows'] for r in done]} rows, not {inserted}")
            result[name] = {"mb": done[0]["mb"], "mb_per_s": _median(done, "mb_per_s"), "seconds": _median(done, "seconds"),
                            "first_byte_ms": _median(done, "first_byte_ms"), "first_row_ms": _median(done, "first_row_ms"),
                            "rss_before_mb": max(r["rss_before_mb"] for r in done),
                            "peak_rss_mb": {k: max(r["peak_rss_mb"][k] for r in done) for k in ("quarter", "half", "all")},
                            "runs": done}
        result["duckdb_copy"] = {"mb": round(copies[0]["mb"], 1), "mb_per_s": _median(copies, "mb_per_s"),
                                 "seconds": round(statistics.median(c["seconds"] for c in copies), 3)}
        if "datasette" in result:
            result["pulse_vs_datasette"] = round(result["pulse"]["mb_per_s"] / result["datasette"]["mb_per_s"], 1)
        result["pulse_vs_duckdb_copy"] = round(result["pulse"]["mb_per_s"] / result["duckdb_copy"]["mb_per_s"], 2)
    return result


if __name__ == "__main__":
    print(json.dumps(run(rows=int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000), indent=1))
