"""deploy/nginx.conf, run for real: Debian's nginx, unprivileged paths, in front of a real gunicorn.

TESTING.md: `nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'` with pid, logs and temp paths inside
DIR. The file under test is the one operators install, with only the lines it marks `# PULSE:`
set (deploy/nginx.py).
"""
from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.nginx import unprivileged
from tests.browser.conftest import Portal, start_portal, stop_portal
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
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


def start_nginx(workdir: Path, upstream_port: int | list[int]) -> Proxy:
    """deploy/nginx.conf in front of one web node, or of several (a list of ports)."""
    port = free_port()
    ports = upstream_port if isinstance(upstream_port, list) else [upstream_port]
    conf = unprivileged(workdir, [f"127.0.0.1:{p}" for p in ports], f"127.0.0.1:{port}")
    proc = subprocess.Popen([nginx_exe(), "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return Proxy(f"http://127.0.0.1:{port}", port, workdir, proc)
        except urllib.error.HTTPError:  # nginx answers (its upstream may be down, as a test wants)
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
    stop_nginx(px)


def stop_nginx(px: Proxy) -> None:
    """SIGTERM, so the master takes its workers with it (a SIGKILLed master leaves them listening)."""
    px.proc.terminate()
    try:
        px.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        px.proc.kill()
