"""The benchmark harness (bench/) runs end to end at a tiny size: a harness check, not a timing.

One run of ``python -m bench --small`` (5 roles + 3 data sources, no injected latency; Cloud
Custodian only when bench/.venv-c7n is installed) is shared by the tests below. They assert
what the harness produced and counted, never how long anything took.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT

C7N_INSTALLED = (ROOT / "bench" / ".venv-c7n" / ".installed").exists()


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench") / "latest.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--small", "--latency-ms", "0", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout


def test_sweep_rows_cover_every_contender_with_counted_calls(
    bench_run: tuple[dict[str, Any], str],
) -> None:
    """GIVEN the small run WHEN its sweep rows are read THEN driftwarden, its what-if variant,
    the floor and the naive reader (and Custodian when installed) each made counted calls."""
    results, _ = bench_run
    rows = {row["contender"]: row for row in results["sweep"]}
    expected = {"driftwarden", "driftwarden-whatif", "floor", "naive"}
    if C7N_INSTALLED:
        expected.add("custodian")
    assert expected <= set(rows)
    for name in expected:
        assert rows[name]["roles"] == 5
        assert rows[name]["calls"] > 0
        assert rows[name]["peak_rss_mb"] > 0


def test_driftwarden_audits_the_whole_workload_in_sync_with_bulk_reads_only(
    bench_run: tuple[dict[str, Any], str],
) -> None:
    """GIVEN 5 roles (each with 2 customer-managed policies) and 3 data sources in the registry
    and in moto WHEN driftwarden audits THEN all 18 are in sync, read with the bulk APIs only."""
    results, _ = bench_run
    dw = next(r for r in results["sweep"] if r["contender"] == "driftwarden")
    assert dw["result"]["summary"] == {"in_sync": 18, "drifted": 0, "missing": 0, "error": 0}
    assert set(dw["calls_by_operation"]) == {
        "iam:GetAccountAuthorizationDetails",
        "iam:ListRoles",
        "quicksight:ListDataSources",
        "sts:GetCallerIdentity",
    }
    naive = next(r for r in results["sweep"] if r["contender"] == "naive")
    assert naive["calls"] == naive["calls_computed"]


def test_every_event_kind_is_reverted_and_the_registry_is_reread_only_after_a_republish(
    bench_run: tuple[dict[str, Any], str],
) -> None:
    """GIVEN the warm handler WHEN each kind of drift event is handled THEN each is reverted with
    one counted write, and registry snapshots are read only after the pointer's ETag changed."""
    results, _ = bench_run
    kinds = results["events"]["kinds"]
    assert [k["kind"] for k in kinds] == [
        "inline policy put",
        "trust change",
        "attach",
        "data source role change",
    ]
    for kind in kinds:
        assert kind["median"]["decision"] == "reverted"
        assert kind["median"]["split"]["write"] >= 1
        assert kind["median"]["split"]["registry"] >= 1
    etag = results["events"]["etag"]
    assert "s3:GetObject[registry-snapshot]" not in etag["no_republish"]["calls"]
    assert etag["after_republish"]["calls"]["s3:GetObject[registry-snapshot]"] == 1


def test_run_reports_cold_start_and_prints_every_section(
    bench_run: tuple[dict[str, Any], str],
) -> None:
    """GIVEN the small run WHEN its output is read THEN import times and the first event were
    measured and the printed table has each section and the targets."""
    results, printed = bench_run
    assert results["cold_start"]["import_app_ms"] > 0
    assert results["first_event"]["first_event"]["decision"] == "reverted"
    for heading in ("SWEEP", "REGISTRY LOAD", "PER EVENT", "COLD START", "TARGETS"):
        assert heading in printed
