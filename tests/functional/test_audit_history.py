"""ReportHistory on S3 (moto's server): immutable reports under reports/, a latest.json pointer."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.audit.history import ReportHistory, ReportHistoryError, report_digest
from tests.fakes import create_bucket

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_s3 import S3Client

BUCKET = "driftwarden-prod-reports"
PREFIX = "audit"
T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def report(drifted: int = 0, when: datetime = T0) -> dict[str, Any]:
    return {
        "generated_at": when.isoformat().replace("+00:00", "Z"),
        "registry": {"source": "s3://registry/registry", "digest": "sha256:" + "0" * 64},
        "summary": {"in_sync": 9 - drifted, "drifted": drifted, "missing": 0, "error": 0},
        "resources": [],
    }


@pytest.fixture
def s3(session: boto3.Session) -> S3Client:
    create_bucket(session, BUCKET)
    return session.client("s3")


@pytest.fixture
def history(s3: S3Client) -> ReportHistory:
    return ReportHistory(s3, BUCKET, PREFIX)


def body(s3: S3Client, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_latest_is_none_before_any_save(history: ReportHistory) -> None:
    """GIVEN an empty history THEN there is no latest report (not an error)."""
    assert history.latest() is None


def test_saved_report_is_the_latest(history: ReportHistory) -> None:
    """GIVEN a saved report WHEN latest() is read THEN it is that report, unchanged."""
    saved = report(drifted=2)
    history.save(saved, T0)
    assert history.latest() == saved


def test_report_key_has_timestamp_and_digest(history: ReportHistory) -> None:
    """The key is <prefix>/reports/<YYYYmmddTHHMMSSZ>-<first 8 hex of the digest>.json."""
    saved = report()
    key = history.save(saved, T0)
    digest8 = report_digest(saved).split(":")[1][:8]
    assert key == f"audit/reports/20260501T120000Z-{digest8}.json"
    assert re.fullmatch(r"audit/reports/\d{8}T\d{6}Z-[0-9a-f]{8}\.json", key)


def test_pointer_names_the_report_and_its_summary(s3: S3Client, history: ReportHistory) -> None:
    """latest.json is a small pointer: key, times, digest and summary; not the report."""
    saved = report(drifted=1)
    key = history.save(saved, T0)
    pointer = body(s3, "audit/latest.json")
    assert pointer == {
        "key": key,
        "saved_at": "2026-05-01T12:00:00Z",
        "generated_at": saved["generated_at"],
        "digest": report_digest(saved),
        "registry": saved["registry"],
        "summary": saved["summary"],
    }


def test_every_saved_report_stays_readable(s3: S3Client, history: ReportHistory) -> None:
    """GIVEN two sweeps THEN both reports are kept and the pointer names the second."""
    first = history.save(report(drifted=1), T0)
    second = history.save(report(drifted=2), T0 + timedelta(hours=1))
    assert first != second
    assert body(s3, first)["summary"]["drifted"] == 1
    assert body(s3, second)["summary"]["drifted"] == 2
    assert history.latest() == report(drifted=2)


def test_saved_report_is_never_overwritten(s3: S3Client, history: ReportHistory) -> None:
    """GIVEN a report object WHEN the same key is saved again THEN the object keeps one version."""
    key = history.save(report(), T0)
    again = history.save(report(), T0)
    assert again == key
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])
    assert len(versions) == 1


def test_pointer_never_moves_back_to_an_older_save(history: ReportHistory) -> None:
    """GIVEN a save at 13:00 WHEN a slower sweep saves its 12:00 report THEN latest stays 13:00."""
    history.save(report(drifted=3), T0 + timedelta(hours=1))
    older = history.save(report(drifted=1), T0)
    assert history.latest() == report(drifted=3)
    assert older.startswith("audit/reports/20260501T120000Z-")


def test_empty_prefix_writes_at_the_bucket_root(s3: S3Client) -> None:
    history = ReportHistory(s3, BUCKET, "")
    key = history.save(report(), T0)
    assert key.startswith("reports/")
    assert body(s3, "latest.json")["key"] == key
    assert history.location == f"s3://{BUCKET}"


def test_naive_time_is_taken_as_utc(history: ReportHistory) -> None:
    key = history.save(report(), datetime(2026, 5, 1, 12, 0, 0))
    assert "/20260501T120000Z-" in key


def test_missing_bucket_fails_with_a_domain_error(session: boto3.Session) -> None:
    """GIVEN no bucket THEN save and latest raise ReportHistoryError, never ClientError."""
    history = ReportHistory(session.client("s3"), "no-such-bucket", PREFIX)
    with pytest.raises(ReportHistoryError, match="no-such-bucket"):
        history.save(report(), T0)
    with pytest.raises(ReportHistoryError, match="no-such-bucket"):
        history.latest()


def test_pointer_to_a_missing_report_is_an_error(s3: S3Client, history: ReportHistory) -> None:
    s3.put_object(Bucket=BUCKET, Key="audit/latest.json", Body=b'{"key": "audit/reports/x.json"}')
    with pytest.raises(ReportHistoryError, match="does not exist"):
        history.latest()


def test_corrupt_pointer_is_an_error(s3: S3Client, history: ReportHistory) -> None:
    s3.put_object(Bucket=BUCKET, Key="audit/latest.json", Body=b"{not json")
    with pytest.raises(ReportHistoryError, match="not valid JSON"):
        history.latest()


def test_pointer_without_a_key_is_an_error(s3: S3Client, history: ReportHistory) -> None:
    s3.put_object(Bucket=BUCKET, Key="audit/latest.json", Body=b'{"saved_at": "x"}')
    with pytest.raises(ReportHistoryError, match="names no report"):
        history.latest()
