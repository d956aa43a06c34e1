"""The HTML audit report as a person sees it: loaded in headless Chromium (Debian's ``chromium``).

Chromium is installed by ``scripts/ensure-chromium.sh`` (a prerequisite of ``make test``). Without
it the tests skip locally with the reason, and fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chalicelib.audit.html import render_html
from chalicelib.audit.report import AuditReport
from chalicelib.models import (
    Change,
    Finding,
    Kind,
    Mode,
    Op,
    ResourceRef,
    ResourceResult,
    Severity,
    Status,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def chromium_path() -> str:
    """The Chromium binary, or skip (locally) / fail (under CI) when it is not installed."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found:
        return found
    reason = "chromium is not installed: run scripts/ensure-chromium.sh as root"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required under CI)")
    pytest.skip(reason)


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium_path(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=True)


class _Visible(HTMLParser):
    """The text of the rendered DOM outside <head>, with element boundaries as spaces."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._head = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._head += tag == "head"
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self._head -= tag == "head"
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._head:
            self.parts.append(data)


def seen(dom: str) -> str:
    parser = _Visible()
    parser.feed(dom)
    return re.sub(r"\s+", " ", "".join(parser.parts))


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    """A report with one drifted role, one missing data source and one role in sync."""
    report = AuditReport(
        generated_at=datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC),
        registry_source="s3://driftwarden-prod-registry/registry",
        registry_digest="sha256:" + "c0ffee" * 10 + "abcd",
        resources=(
            ResourceResult(
                ResourceRef(Kind.IAM_ROLE, "dw-quicksight-athena", ACCOUNT, REGION),
                Mode.ENFORCE,
                Status.DRIFTED,
                changes=(
                    Change("max_session_duration", Op.CHANGE, 3600, 43200),
                    Change("inline_policies.extra", Op.ADD, None, {"Version": "2012-10-17"}),
                ),
                findings=(Finding("TRUST_TOO_WIDE", Severity.HIGH, "anyone may assume it"),),
            ),
            ResourceResult(
                ResourceRef(Kind.QUICKSIGHT_DATA_SOURCE, "dw-sales-athena", ACCOUNT, REGION),
                Mode.ALERT,
                Status.MISSING,
            ),
            ResourceResult(
                ResourceRef(Kind.IAM_ROLE, "dw-quicksight-s3", ACCOUNT, REGION),
                Mode.ENFORCE,
                Status.IN_SYNC,
            ),
        ),
    )
    path = tmp_path / "audit.html"
    path.write_text(render_html(report), encoding="utf-8")
    return path


def test_person_sees_counts_resources_and_the_diff(tmp_path: Path, report_file: Path) -> None:
    """GIVEN a report with drift WHEN Chromium loads the page THEN the rendered DOM shows the
    counts, every resource, the diff lines and the finding."""
    dom = run_chromium(tmp_path, "--dump-dom", report_file.as_uri()).stdout
    text = seen(dom)
    assert "driftwarden audit report" in text
    assert "1 in sync" in text and "1 drifted" in text and "1 missing" in text
    assert "0 error" in text
    assert "dw-quicksight-athena" in text
    assert "dw-sales-athena" in text
    assert "dw-quicksight-s3" in text
    assert "~ max_session_duration: 3600 → 43200" in text
    assert '+ inline_policies.extra: {"Version": "2012-10-17"}' in text
    assert "high TRUST_TOO_WIDE anyone may assume it" in text
    assert "The resource does not exist." in text
    assert "2025-03-04T05:06:07Z" in text


def test_page_renders_to_a_screenshot(tmp_path: Path, report_file: Path) -> None:
    """The page renders to a non-trivial PNG without any network (no external assets)."""
    shot = tmp_path / "audit.png"
    run_chromium(
        tmp_path,
        f"--screenshot={shot}",
        "--window-size=1280,1600",
        "--hide-scrollbars",
        report_file.as_uri(),
    )
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 1600)
    assert len(data) > 20_000  # a blank page compresses to a few kilobytes
