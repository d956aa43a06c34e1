"""Audit report history in S3: immutable reports under ``reports/`` and a ``latest.json`` pointer.

Layout under ``s3://bucket/prefix/``::

    reports/20250101T120000Z-1a2b3c4d.json   one object per saved report, never overwritten
    latest.json                              {"key", "saved_at", "generated_at", "digest", ...}

The report is written first (``IfNoneMatch="*"``), then the pointer moves, so a reader of
``latest.json`` never sees a report that is not fully written. The pointer never moves back to
an older report. Bucket versioning and a lifecycle rule on ``reports/`` (``deploy/resources.json``)
keep and expire history.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import DriftError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_s3 import S3Client

POINTER_NAME = "latest.json"
REPORTS_DIR = "reports"
_TIME_FORMAT = "%Y%m%dT%H%M%SZ"
_ALREADY_THERE = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class ReportHistoryError(DriftError):
    """The report history could not be written or read."""


def report_digest(report_json: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the report's canonical JSON (sorted keys, compact separators)."""
    canonical = json.dumps(report_json, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat().replace("+00:00", "Z")


def _parse_iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


class ReportHistory:
    """Saved audit reports in one bucket and prefix, through an injected S3 client.

    Parameters
    ----------
    s3
        An S3 client.
    bucket
        The history bucket (versioning recommended).
    prefix
        Key prefix without a trailing slash ("" for the bucket root).

    Example
    -------
    >>> history = ReportHistory(session.client("s3"), "my-reports-bucket")  # doctest: +SKIP
    >>> history.save(report.to_json(), datetime.now(UTC))  # doctest: +SKIP
    'reports/20250101T120000Z-1a2b3c4d.json'
    >>> history.latest()["summary"]  # doctest: +SKIP
    {'in_sync': 9, 'drifted': 0, 'missing': 0, 'error': 0}
    """

    #: Every action ``save`` and ``latest`` need (the sweep). ``s3:ListBucket`` makes S3 answer
    #: 404 rather than 403 for a key that does not exist yet (no report saved).
    permissions: ClassVar[tuple[str, ...]] = ("s3:GetObject", "s3:ListBucket", "s3:PutObject")
    #: What ``latest`` needs (the audit endpoint serving the cached report).
    read_permissions: ClassVar[tuple[str, ...]] = ("s3:GetObject", "s3:ListBucket")

    def __init__(self, s3: S3Client, bucket: str, prefix: str = "") -> None:
        self._s3 = s3
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    @property
    def location(self) -> str:
        """``s3://bucket/prefix`` of this history."""
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    @property
    def pointer_key(self) -> str:
        """The key of ``latest.json``."""
        return self._key(POINTER_NAME)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def report_key(self, report_json: Mapping[str, Any], now: datetime) -> str:
        """The immutable key ``<prefix>/reports/<YYYYmmddTHHMMSSZ>-<digest8>.json``."""
        digest = report_digest(report_json).split(":", 1)[1]
        stamp = _utc(now).strftime(_TIME_FORMAT)
        return self._key(f"{REPORTS_DIR}/{stamp}-{digest[:8]}.json")

    def save(self, report_json: Mapping[str, Any], now: datetime) -> str:
        """Write the report under a new immutable key, then point ``latest.json`` at it.

        Saving the same report at the same second again is harmless (same key, same content).
        The pointer is not moved when it already names a report saved after ``now``.

        Parameters
        ----------
        report_json
            The report in its public JSON shape (``AuditReport.to_json()``).
        now
            The save time; it names the key and is recorded in the pointer.

        Returns
        -------
        str
            The key of the saved report.

        Raises
        ------
        ReportHistoryError
            S3 refused or failed the write, or the current pointer cannot be read.
        """
        key = self.report_key(report_json, now)
        body = json.dumps(report_json, sort_keys=True, indent=1, default=str).encode("utf-8")
        try:
            self._s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except ClientError as err:
            if _code(err) not in _ALREADY_THERE:
                raise ReportHistoryError(
                    f"cannot write s3://{self.bucket}/{key}: AWS error {_code(err)}"
                ) from err
        except BotoCoreError as err:
            raise ReportHistoryError(f"cannot write s3://{self.bucket}/{key}: {err}") from err
        current = self._pointer()
        saved_before = _parse_iso(current.get("saved_at")) if current else None
        if saved_before is not None and saved_before > _utc(now):
            return key
        pointer = {
            "key": key,
            "saved_at": _iso(now),
            "generated_at": report_json.get("generated_at"),
            "digest": report_digest(report_json),
            "registry": report_json.get("registry"),
            "summary": report_json.get("summary"),
        }
        self._put(self.pointer_key, json.dumps(pointer, sort_keys=True).encode("utf-8"))
        return key

    def latest(self) -> dict[str, Any] | None:
        """The report ``latest.json`` names, or None when nothing was saved yet.

        Raises
        ------
        ReportHistoryError
            The pointer or the report it names cannot be read or is not a JSON object.
        """
        pointer = self._pointer()
        if pointer is None:
            return None
        key = pointer.get("key")
        if not isinstance(key, str) or not key:
            raise ReportHistoryError(f"s3://{self.bucket}/{self.pointer_key} names no report")
        report = self._get_json(key)
        if report is None:
            raise ReportHistoryError(
                f"s3://{self.bucket}/{self.pointer_key} names s3://{self.bucket}/{key}, "
                "which does not exist"
            )
        return report

    def _pointer(self) -> dict[str, Any] | None:
        return self._get_json(self.pointer_key)

    def _get_json(self, key: str) -> dict[str, Any] | None:
        where = f"s3://{self.bucket}/{key}"
        try:
            raw = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as err:
            if _code(err) in _MISSING:
                return None
            raise ReportHistoryError(f"cannot read {where}: AWS error {_code(err)}") from err
        except BotoCoreError as err:
            raise ReportHistoryError(f"cannot read {where}: {err}") from err
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ReportHistoryError(f"{where} is not valid JSON: {err}") from err
        if not isinstance(data, dict):
            raise ReportHistoryError(f"{where} is not a JSON object")
        return data

    def _put(self, key: str, body: bytes) -> None:
        try:
            self._s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json"
            )
        except ClientError as err:
            raise ReportHistoryError(
                f"cannot write s3://{self.bucket}/{key}: AWS error {_code(err)}"
            ) from err
        except BotoCoreError as err:
            raise ReportHistoryError(f"cannot write s3://{self.bucket}/{key}: {err}") from err
