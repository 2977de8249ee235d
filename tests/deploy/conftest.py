"""deploy/nginx.conf, run for real: Debian's nginx, unprivileged paths, in front of a real gunicorn.

TESTING.md: `nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'` with pid, logs and temp paths inside
DIR. The file under test is the one operators install; only the lines it marks `# PULSE:` are
rewritten (their first argument), and every marked line must be rewritten, so a new marked line
cannot slip past the test.
"""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.conftest import Portal, start_portal, stop_portal

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "nginx.conf"
MARK = re.compile(r"^(\s*)(\S+)\s+(\S+?)(;?)(\s.*)?#\s*PULSE:\s*(\S+)\s*$")


def render(text: str, values: dict[str, str]) -> str:
    """The config with the first argument of each `# PULSE: <name>` line set to values[name]."""
    out, seen = [], set()
    for line in text.splitlines():
        m = MARK.match(line)
        if m:
            indent, directive, _, semi, rest, name = m.groups()
            if name not in values:
                raise KeyError(f"deploy/nginx.conf marks {name!r}, which the test does not set")
            rest = (rest or "").rstrip()
            line = f"{indent}{directive} {values[name]}{semi}{rest}"
            seen.add(name)
        out.append(line)
    missing = set(values) - seen
    if missing:
        raise KeyError(f"deploy/nginx.conf no longer marks {sorted(missing)}")
    return "\n".join(out) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Proxy:
    url: str
    port: int
    dir: Path
    proc: subprocess.Popen

    def log(self) -> list[dict]:
        import json

        return [json.loads(line) for line in (self.dir / "access.log").read_text().splitlines() if line.strip()]


def nginx_exe() -> str:
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(exe).exists():
        pytest.fail("nginx is not installed: `make test` installs it from Debian's packages (system-deps)")
    return exe


def write_config(workdir: Path, upstream_port: int, listen_port: int) -> Path:
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(render(CONF.read_text(), {
        "user": "root", "pid": str(workdir / "nginx.pid"), "error_log": str(workdir / "error.log"),
        "access_log": str(workdir / "access.log"), "client_body_temp_path": str(workdir / "body"),
        "proxy_temp_path": str(workdir / "proxy"), "fastcgi_temp_path": str(workdir / "fastcgi"),
        "uwsgi_temp_path": str(workdir / "uwsgi"), "scgi_temp_path": str(workdir / "scgi"),
        "proxy_cache_path": str(workdir / "cache"), "upstream": f"127.0.0.1:{upstream_port}",
        "listen": f"127.0.0.1:{listen_port}",
    }))
    return conf


def start_nginx(workdir: Path, upstream_port: int) -> Proxy:
    port = free_port()
    conf = write_config(workdir, upstream_port, port)
    proc = subprocess.Popen([nginx_exe(), "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return Proxy(f"http://127.0.0.1:{port}", port, workdir, proc)
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"nginx did not answer: {proc.stderr.read().decode()[-2000:]}")


@pytest.fixture(scope="module")
def portal(tmp_path_factory) -> Portal:
    p = start_portal(tmp_path_factory.mktemp("deploy") / "data")
    yield p
    stop_portal(p)


@pytest.fixture(scope="module")
def proxy(portal, tmp_path_factory) -> Proxy:
    px = start_nginx(tmp_path_factory.mktemp("nginx"), portal.port)
    yield px
    px.proc.terminate()
    try:
        px.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        px.proc.kill()
