"""End-to-end: the local demonstration, as `make demo` runs it."""

from __future__ import annotations

import io

from chalicelib.local.demo import run_demo
from tests.conftest import ROOT


def test_demo_catches_reverts_alerts_and_undoes() -> None:
    """GIVEN the sample registry WHEN the demo runs THEN it completes (exit 0) and its output
    shows a clean audit, reverts, alerts, own writes ignored, Slack and SNS, and an undo."""
    out = io.StringIO()
    code = run_demo(ROOT / "policies", out)
    text = out.getvalue()
    assert code == 0, text[-3000:]
    assert "summary: 9 in_sync, 0 drifted, 0 missing, 0 error" in text
    assert "-> reverted iam_role/dw-quicksight-athena: iam:DeleteRolePolicy" in text
    assert "-> reverted quicksight_data_source/dw-sales-athena: quicksight:UpdateDataSource" in text
    assert "-> alerted iam_role/dw-quicksight-redshift [mode alert]" in text
    assert "[change by a trusted actor]" in text
    assert "[caused by driftwarden itself]" in text
    assert "Slack (stand-in webhook)" in text
    assert "7. undo: driftwarden undo act-" in text
    # After the live section only the alert-mode and trusted-actor drift is left.
    assert "summary: 7 in_sync, 2 drifted, 0 missing, 0 error" in text
    assert "demo complete" in text
