"""The object store under a lake that lives in S3 (PULSE_LAKE_URL=s3://bucket/prefix): the few
operations the storage contract needs, over boto3, with the two conditional writes the commit
protocol rests on (docs/decisions/0016-lake-on-object-storage.md).

- `put(key, body, if_absent=True)`: create only if no object has the key (`If-None-Match: *`). A
  version's manifest is created this way, so of two writers racing for version N exactly one wins.
- `put(key, body, if_match=etag)`: replace only the object read with that ETag (`If-Match`). The
  current pointer moves this way, so it never moves backwards.

Endpoint, region and credentials come from boto3's standard sources (AWS_ENDPOINT_URL,
AWS_REGION / AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance
roles), so AWS S3, MinIO, SeaweedFS or GCS's S3 interface are a matter of those variables.

Why short timeouts and few retries: a web node asks the store on the request path (is there a new
version?); with the store down it must fall back to what it holds within about a second, not hang
a worker for boto3's default minute.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from urllib.parse import urlparse

import config


class StoreUnavailable(OSError):
    """The object store did not answer (down, unreachable, refused our credentials)."""

    def __init__(self, action: str, detail: str):
        super().__init__(f"object store unavailable ({action}): {detail}")


class PreconditionFailed(Exception):
    """A conditional put lost: the key exists (if_absent) or changed since it was read (if_match)."""


@dataclass(frozen=True)
class Obj:
    body: bytes
    etag: str


@dataclass(frozen=True)
class Listed:
    key: str  # relative to the lake's prefix
    size: int
    modified: float  # seconds since the epoch


def url() -> str:
    return config.get("lake_url").strip()


def is_remote() -> bool:
    """Whether this process's lake lives in an object store (else: the folder under PULSE_DATA_DIR)."""
    return url().startswith("s3://")


def remote() -> S3Store:
    """The store for the current PULSE_LAKE_URL (one client per URL, shared by the threads)."""
    return store_at(url())


@functools.lru_cache(maxsize=4)
def store_at(lake_url: str) -> S3Store:
    parsed = urlparse(lake_url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"PULSE_LAKE_URL must look like s3://bucket/prefix, not {lake_url!r}")
    return S3Store(parsed.netloc, parsed.path.strip("/"))


def forget_clients() -> None:
    """Drop every client (gunicorn's pre_fork: a worker makes its own connections)."""
    store_at.cache_clear()


class S3Store:
    """One bucket and prefix. Keys given to the methods are relative to the prefix."""

    def __init__(self, bucket: str, prefix: str):
        self.bucket, self.prefix = bucket, prefix
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config
                self._client = boto3.session.Session().client("s3", config=Config(
                    connect_timeout=float(config.get("lake_timeout_s")), read_timeout=max(5.0, float(config.get("lake_timeout_s")) * 5),
                    retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=32))
            return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, action: str, fn, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            return fn(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 412 or err.get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise PreconditionFailed(kwargs.get("Key", "")) from None
            if status == 404 or err.get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(kwargs.get("Key", "")) from None
            if status and status >= 500 or err.get("Code") in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "NoSuchBucket"):
                raise StoreUnavailable(action, f"{err.get('Code')}: {err.get('Message')}") from None
            raise
        except BotoCoreError as exc:  # connection refused, timeouts, endpoint unreachable
            raise StoreUnavailable(action, type(exc).__name__) from None

    def get(self, key: str) -> Obj | None:
        """The object, or None if there is none."""
        from botocore.exceptions import BotoCoreError
        try:
            r = self._call("get", self.client.get_object, Key=self._key(key))
            return Obj(r["Body"].read(), r["ETag"])
        except FileNotFoundError:
            return None
        except BotoCoreError as exc:  # the body cut short (IncompleteRead, a streaming error): not an answer
            raise StoreUnavailable("get", type(exc).__name__) from None

    def put(self, key: str, body: bytes, if_absent: bool = False, if_match: str | None = None) -> str:
        """Write `body` (PreconditionFailed when a condition fails); returns the new ETag."""
        extra = {"IfNoneMatch": "*"} if if_absent else {"IfMatch": if_match} if if_match else {}
        return self._call("put", self.client.put_object, Key=self._key(key), Body=body, **extra)["ETag"]

    def upload(self, key: str, path: str) -> None:
        """Upload a local file (multipart above boto3's threshold)."""
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            self.client.upload_file(path, self.bucket, self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable("upload", type(exc).__name__) from None
        except Exception as exc:  # s3transfer wraps failures in its own types
            if type(exc).__module__.startswith(("s3transfer", "boto3")):
                raise StoreUnavailable("upload", f"{type(exc).__name__}: {exc}") from None
            raise

    def download(self, key: str, path: str) -> None:
        """Download to `path` (FileNotFoundError when the object does not exist)."""
        from botocore.exceptions import BotoCoreError
        r = self._call("download", self.client.get_object, Key=self._key(key))
        try:
            with open(path, "wb") as fh:
                for chunk in r["Body"].iter_chunks(1 << 20):
                    fh.write(chunk)
        except BotoCoreError as exc:  # the body cut short: the caller's temporary file is thrown away
            raise StoreUnavailable("download", type(exc).__name__) from None

    def delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            batch = [{"Key": self._key(k)} for k in keys[i:i + 1000]]
            self._call("delete", self.client.delete_objects, Delete={"Objects": batch, "Quiet": True})

    def list(self, prefix: str) -> list[Listed]:
        """Every object under `prefix` (keys relative to the lake's prefix), in key order."""
        out, start = [], len(self._key(""))
        kwargs = {"Prefix": self._key(prefix)}
        while True:
            r = self._call("list", self.client.list_objects_v2, **kwargs)
            out += [Listed(o["Key"][start:], o["Size"], o["LastModified"].timestamp()) for o in r.get("Contents", [])]
            if not r.get("IsTruncated"):
                return out
            kwargs["ContinuationToken"] = r["NextContinuationToken"]

    def ping(self) -> None:
        """Raise StoreUnavailable unless the bucket answers."""
        self._call("ping", self.client.head_bucket)
