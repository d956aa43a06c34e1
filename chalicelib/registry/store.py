"""Where the registry lives: a directory, or content-addressed snapshots in S3 behind a pointer.

Readers follow ``<prefix>/current.json`` to ``<prefix>/snapshots/<sha256>.json``; ``publish``
writes the snapshot first and moves the pointer last, so a reader never sees a half-published
registry. ``ClientError`` is translated into the registry errors of ``chalicelib.errors``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import (
    ConfigError,
    RegistryError,
    RegistryNotFoundError,
)
from chalicelib.registry.loader import load_directory
from chalicelib.registry.model import Registry, canonical_json
from chalicelib.registry.validate import validate_or_raise

if TYPE_CHECKING:
    from datetime import datetime

    from mypy_boto3_s3 import S3Client

__all__ = [
    "FileRegistryStore",
    "Location",
    "PublishResult",
    "RegistryStore",
    "S3RegistryStore",
    "parse_location",
    "pointer_key",
    "publish",
    "snapshot_key",
]

_DIGEST_RE = re.compile(r"^sha256:([0-9a-f]{64})$")
_NOT_FOUND_CODES = frozenset({"NoSuchBucket", "NoSuchKey", "404", "NotFound"})
_DENIED_CODES = frozenset({"AccessDenied", "403", "Forbidden", "AllAccessDisabled"})


class RegistryStore(Protocol):
    """Something the pipeline can load a validated registry from."""

    @property
    def location(self) -> str: ...

    def load(self) -> Registry: ...


class Location(NamedTuple):
    """A parsed registry location: ``("s3", bucket, prefix)`` or ``("dir", path, "")``."""

    scheme: str
    target: str
    prefix: str


def parse_location(value: str) -> Location:
    """Split a registry location: ``s3://bucket/prefix`` (prefix may be empty) or a directory.

    Raises
    ------
    ConfigError
        An ``s3://`` location without a bucket, or an empty value.
    """
    if not value.strip():
        raise ConfigError("the registry location is empty")
    if value.startswith("s3://"):
        bucket, _, prefix = value[len("s3://") :].partition("/")
        if not bucket:
            raise ConfigError(f"no bucket in registry location {value!r}")
        return Location("s3", bucket, prefix.strip("/"))
    return Location("dir", value, "")


def pointer_key(prefix: str) -> str:
    """``<prefix>/current.json`` (``current.json`` for an empty prefix)."""
    return _join(prefix, "current.json")


def snapshot_key(prefix: str, digest: str) -> str:
    """``<prefix>/snapshots/<hex>.json`` for a ``sha256:<hex>`` digest."""
    return _join(prefix, f"snapshots/{digest.removeprefix('sha256:')}.json")


def _join(prefix: str, name: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/{name}" if prefix else name


class FileRegistryStore:
    """A registry directory, re-read and re-validated when any file in it changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cached: tuple[tuple[tuple[str, int, int], ...], Registry] | None = None

    @property
    def location(self) -> str:
        return str(self.path)

    def load(self) -> Registry:
        """The validated registry; cached until a file's size or mtime changes.

        Raises
        ------
        RegistryNotFoundError
            The directory does not exist.
        RegistryValidationError
            A file cannot be parsed, or the registry is invalid.
        """
        signature = self._signature()
        if self._cached is not None and self._cached[0] == signature:
            return self._cached[1]
        registry = load_directory(self.path)
        validate_or_raise(registry)
        self._cached = (signature, registry)
        return registry

    def _signature(self) -> tuple[tuple[str, int, int], ...]:
        if not self.path.is_dir():
            raise RegistryNotFoundError(f"registry directory not found: {self.path}")
        stats: list[tuple[str, int, int]] = []
        for file in self.path.rglob("*"):
            try:
                stat = file.stat()
            except OSError:
                continue
            stats.append((file.relative_to(self.path).as_posix(), stat.st_mtime_ns, stat.st_size))
        return tuple(sorted(stats))


class S3RegistryStore:
    """Published snapshots in S3: follows the pointer, re-reads it only when its ETag changes."""

    def __init__(self, s3: S3Client, bucket: str, prefix: str = "") -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._etag: str | None = None
        self._registry: Registry | None = None

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def pointer_key(self) -> str:
        return pointer_key(self.prefix)

    def load(self) -> Registry:
        """The registry the pointer names, verified and validated.

        The pointer is read with ``IfNoneMatch`` once a registry is cached: an unchanged pointer
        costs one conditional GET and no snapshot read.

        Raises
        ------
        RegistryNotFoundError
            The bucket, the pointer or the snapshot does not exist, or reading is denied.
        RegistryError
            The pointer or snapshot is not valid JSON of the expected shape, or the snapshot's
            digest differs from the pointer's.
        RegistryValidationError
            The snapshot holds an invalid registry.
        """
        key = self.pointer_key
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if self._etag is not None and self._registry is not None:
            kwargs["IfNoneMatch"] = self._etag
        try:
            response = self.s3.get_object(**kwargs)
            raw = response["Body"].read()
        except ClientError as err:
            if _status(err) == 304 and self._registry is not None:
                return self._registry
            raise _domain_error(err, f"registry pointer s3://{self.bucket}/{key}") from err
        except BotoCoreError as err:
            raise RegistryError(f"cannot read s3://{self.bucket}/{key}: {err}") from err
        digest, snapshot = _parse_pointer(raw, f"s3://{self.bucket}/{key}")
        etag = str(response.get("ETag", ""))
        if self._registry is not None and self._registry.digest == digest:
            self._etag = etag
            return self._registry
        registry = self._read_snapshot(snapshot, digest)
        validate_or_raise(registry)
        self._etag, self._registry = etag, registry
        return registry

    def _read_snapshot(self, key: str, digest: str) -> Registry:
        where = f"s3://{self.bucket}/{key}"
        try:
            raw = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as err:
            raise _domain_error(err, f"registry snapshot {where}") from err
        except BotoCoreError as err:
            raise RegistryError(f"cannot read {where}: {err}") from err
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise RegistryError(f"registry snapshot {where} is not valid JSON: {err}") from err
        registry = Registry.from_body(body, self.location)
        if registry.digest != digest:
            raise RegistryError(
                f"registry snapshot {where} has digest {registry.digest}, "
                f"but the pointer names {digest}; refusing to use it"
            )
        return registry


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What :func:`publish` wrote; ``created`` is False when the snapshot already existed."""

    digest: str
    snapshot_key: str
    pointer_key: str
    created: bool


def publish(
    s3: S3Client, bucket: str, prefix: str, registry: Registry, now: datetime
) -> PublishResult:
    """Validate ``registry``, write its snapshot if new, then move the pointer to it.

    The snapshot key is derived from the digest, so publishing the same registry twice writes
    no second snapshot. The pointer is written last: readers see the old or the new registry.

    Parameters
    ----------
    s3
        An S3 client.
    bucket, prefix
        Where snapshots and the pointer go; ``prefix`` may be empty.
    registry
        The registry to publish (usually from :func:`~chalicelib.registry.loader.load_directory`).
    now
        The publication time, recorded in the pointer.

    Raises
    ------
    RegistryValidationError
        The registry is invalid; nothing is written.
    RegistryNotFoundError
        The bucket does not exist or writing is denied.
    RegistryError
        Any other S3 failure.

    Example
    -------
    >>> publish(s3, "my-bucket", "driftwarden", load_directory("policies"), datetime.now(UTC))
    """
    validate_or_raise(registry)
    prefix = prefix.strip("/")
    body = registry.body()
    digest = registry.digest
    snap_key = snapshot_key(prefix, digest)
    ptr_key = pointer_key(prefix)
    created = False
    try:
        if not _exists(s3, bucket, snap_key):
            s3.put_object(
                Bucket=bucket,
                Key=snap_key,
                Body=canonical_json(body),
                ContentType="application/json",
            )
            created = True
        pointer = {
            "digest": digest,
            "snapshot": snap_key,
            "published_at": now.isoformat(),
            "entries": len(registry.entries),
        }
        s3.put_object(
            Bucket=bucket,
            Key=ptr_key,
            Body=json.dumps(pointer, indent=2).encode("utf-8"),
            ContentType="application/json",
        )
    except ClientError as err:
        raise _domain_error(err, f"s3://{bucket}/{prefix}") from err
    except BotoCoreError as err:
        raise RegistryError(f"cannot publish to s3://{bucket}/{prefix}: {err}") from err
    return PublishResult(digest=digest, snapshot_key=snap_key, pointer_key=ptr_key, created=created)


def _exists(s3: S3Client, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if _status(err) == 404:
            return False
        raise
    return True


def _parse_pointer(raw: bytes, where: str) -> tuple[str, str]:
    try:
        pointer = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RegistryError(f"registry pointer {where} is not valid JSON: {err}") from err
    if not isinstance(pointer, dict):
        raise RegistryError(f"registry pointer {where} is not a JSON object")
    digest, snapshot = pointer.get("digest"), pointer.get("snapshot")
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise RegistryError(f"registry pointer {where} has no valid 'digest' (sha256:<hex>)")
    if not isinstance(snapshot, str) or not snapshot:
        raise RegistryError(f"registry pointer {where} has no 'snapshot' key")
    return digest, snapshot


def _status(err: ClientError) -> int | None:
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


def _domain_error(err: ClientError, what: str) -> RegistryError:
    code = str(err.response.get("Error", {}).get("Code", ""))
    if code in _NOT_FOUND_CODES or _status(err) == 404:
        detail = "bucket does not exist" if code == "NoSuchBucket" else "not found"
        return RegistryNotFoundError(f"{what}: {detail}")
    if code in _DENIED_CODES or _status(err) == 403:
        return RegistryNotFoundError(f"{what}: access denied ({code})")
    return RegistryError(f"{what}: {code or 'error'}: {err}")
