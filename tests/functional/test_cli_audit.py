"""The public CLI (validate, publish, audit, capture) against moto's server over HTTP."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import ACCOUNT, ROOT, run_cli

AUDIT_KEYS = {"generated_at", "registry", "summary", "resources"}
RESOURCE_KEYS = {"kind", "id", "account", "region", "mode", "status", "changes", "findings"}
INVALID = ROOT / "tests" / "data" / "registries" / "invalid"


def _statuses(report: dict[str, Any]) -> dict[str, str]:
    return {f"{r['kind']}/{r['id']}": r["status"] for r in report["resources"]}


class TestValidate:
    def test_sample_registry_is_valid(self) -> None:
        """GIVEN the shipped registry WHEN validated THEN exit 0 and the entry count is shown."""
        run = run_cli("validate", "--registry", str(ROOT / "policies"))
        assert run.code == 0, run.err
        assert "valid, 9 entries" in run.out

    def test_invalid_registry_lists_every_problem_with_file_and_path(self) -> None:
        """GIVEN a registry with many problems WHEN validated THEN all are listed, exit 1."""
        run = run_cli("validate", "--registry", str(INVALID), "--json")
        assert run.code == 1
        report = run.json()
        assert report["valid"] is False
        assert len(report["problems"]) >= 5
        assert all(p["file"] for p in report["problems"])
        assert any(p["path"] for p in report["problems"])

    def test_missing_registry_is_an_error(self, tmp_path: Path) -> None:
        run = run_cli("validate", "--registry", str(tmp_path / "nope"))
        assert run.code == 1
        assert "nope" in run.err


class TestAudit:
    def test_seeded_account_is_in_sync(self, seeded: Path) -> None:
        """GIVEN an account created from the registry WHEN audited THEN all in sync, exit 0."""
        run = run_cli("audit", "--registry", str(seeded), "--json")
        assert run.code == 0, run.out + run.err
        report = run.json()
        assert set(report) == AUDIT_KEYS
        assert set(report["registry"]) == {"source", "digest"}
        assert report["registry"]["digest"].startswith("sha256:")
        assert report["summary"] == {"in_sync": 9, "drifted": 0, "missing": 0, "error": 0}
        for resource in report["resources"]:
            assert set(resource) == RESOURCE_KEYS
            assert resource["account"] == ACCOUNT

    def test_each_drift_is_reported_and_nothing_else(
        self, seeded: Path, session: boto3.Session
    ) -> None:
        """GIVEN an inline policy added and a data source re-pointed WHEN audited THEN exactly
        those two resources are drifted, with the right paths and ops, exit 3."""
        session.client("iam").put_role_policy(
            RoleName="dw-quicksight-athena",
            PolicyName="temp-debug",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        other = f"arn:aws:iam::{ACCOUNT}:role/service-role/dw-quicksight-s3"
        session.client("quicksight").update_data_source(
            AwsAccountId=ACCOUNT,
            DataSourceId="dw-sales-athena",
            Name="Sales (Athena)",
            DataSourceParameters={"AthenaParameters": {"WorkGroup": "primary", "RoleArn": other}},
        )
        run = run_cli("audit", "--registry", str(seeded), "--json")
        assert run.code == 3
        report = run.json()
        drifted = {k for k, v in _statuses(report).items() if v != "in_sync"}
        assert drifted == {
            "iam_role/dw-quicksight-athena",
            "quicksight_data_source/dw-sales-athena",
        }
        by_id = {r["id"]: r for r in report["resources"]}
        role_changes = by_id["dw-quicksight-athena"]["changes"]
        assert [(c["path"], c["op"]) for c in role_changes] == [
            ("inline_policies.temp-debug", "add")
        ]
        ds_change = by_id["dw-sales-athena"]["changes"][0]
        assert ds_change["path"] == "parameters.AthenaParameters.RoleArn"
        assert ds_change["op"] == "change"
        assert ds_change["live"] == other

    def test_deleted_role_is_missing(self, seeded: Path, session: boto3.Session) -> None:
        iam = session.client("iam")
        iam.delete_role_policy(RoleName="dw-quicksight-redshift", PolicyName="redshift-credentials")
        iam.delete_role(RoleName="dw-quicksight-redshift")
        run = run_cli("audit", "--registry", str(seeded), "--json")
        assert run.code == 3
        statuses = _statuses(run.json())
        assert statuses["iam_role/dw-quicksight-redshift"] == "missing"
        assert statuses["iam_role/dw-quicksight-athena"] == "in_sync"

    def test_one_resource(self, seeded: Path) -> None:
        run = run_cli(
            "audit", "--registry", str(seeded), "--json", "--resource", "iam_role/dw-quicksight-s3"
        )
        assert run.code == 0, run.err
        assert _statuses(run.json()) == {"iam_role/dw-quicksight-s3": "in_sync"}

    @pytest.mark.parametrize("selector", ["iam_role/not-in-registry", "no_such_kind/x", "iam_role"])
    def test_unknown_resource_is_an_error(self, seeded: Path, selector: str) -> None:
        run = run_cli("audit", "--registry", str(seeded), "--resource", selector)
        assert run.code == 1
        assert "driftwarden: error:" in run.err

    def test_table_output_names_the_drift(self, seeded: Path, session: boto3.Session) -> None:
        session.client("iam").detach_role_policy(
            RoleName="dw-quicksight-athena",
            PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/dw-athena-results-bucket",
        )
        run = run_cli("audit", "--registry", str(seeded))
        assert run.code == 3
        assert "dw-quicksight-athena" in run.out
        assert "- managed_policies" in run.out
        assert "1 drifted" in run.out

    def test_invalid_registry_writes_nothing_and_fails(self, seeded: Path) -> None:
        run = run_cli("audit", "--registry", str(INVALID), "--json")
        assert run.code == 1
        assert run.out == ""


class TestPublishAndAuditFromS3:
    def test_publish_then_audit_from_bucket(self, seeded: Path, session: boto3.Session) -> None:
        """GIVEN the registry published to S3 WHEN audited from the bucket THEN same digest."""
        s3 = session.client("s3")
        s3.create_bucket(Bucket="dw-registry-test")
        s3.put_bucket_versioning(
            Bucket="dw-registry-test", VersioningConfiguration={"Status": "Enabled"}
        )
        published = run_cli(
            "publish",
            "--bucket",
            "dw-registry-test",
            "--prefix",
            "reg",
            "--registry",
            str(seeded),
            "--json",
        )
        assert published.code == 0, published.err
        digest = published.json()["digest"]
        from_bucket = run_cli("audit", "--bucket", "dw-registry-test", "--prefix", "reg", "--json")
        assert from_bucket.code == 0, from_bucket.err
        assert from_bucket.json()["registry"] == {
            "source": "s3://dw-registry-test/reg",
            "digest": digest,
        }
        local = run_cli("audit", "--registry", str(seeded), "--json").json()
        assert local["registry"]["digest"] == digest

    def test_publish_refuses_invalid_registry_and_writes_nothing(
        self, session: boto3.Session
    ) -> None:
        s3 = session.client("s3")
        s3.create_bucket(Bucket="dw-registry-test")
        run = run_cli("publish", "--bucket", "dw-registry-test", "--registry", str(INVALID))
        assert run.code == 1
        assert s3.list_objects_v2(Bucket="dw-registry-test").get("KeyCount", 0) == 0

    def test_unreadable_bucket_is_a_clear_error(self, aws: str) -> None:
        run = run_cli("audit", "--registry", "s3://no-such-bucket-here/reg", "--json")
        assert run.code == 1
        assert "no-such-bucket-here" in run.err


class TestCapture:
    def test_capture_round_trips_to_an_in_sync_registry(self, seeded: Path, tmp_path: Path) -> None:
        """GIVEN a live account WHEN captured THEN the files validate and audit in sync."""
        out = tmp_path / "captured"
        run = run_cli("capture", "--out", str(out), "--mode", "alert", "--json")
        assert run.code == 0, run.err
        files = run.json()["files"]
        assert any(name.startswith("iam/roles/") for name in files)
        assert any(name.startswith("quicksight/") for name in files)
        assert run_cli("validate", "--registry", str(out)).code == 0
        audit = run_cli("audit", "--registry", str(out), "--json")
        assert audit.code == 0, audit.out
        assert {r["mode"] for r in audit.json()["resources"]} == {"alert"}
        text = next((out / name).read_text() for name in files if "dw-quicksight-athena" in name)
        # Account and partition in ARNs become placeholders (bucket names keep theirs).
        assert "arn:${Partition}:iam::${AccountId}:policy/dw-athena-results-bucket" in text
        assert f"iam::{ACCOUNT}:" not in text

    def test_capture_roles_by_path(self, seeded: Path, tmp_path: Path) -> None:
        run = run_cli("capture", "--out", str(tmp_path), "--role", "dw-quicksight-s3", "--json")
        assert run.code == 0, run.err
        assert run.json()["files"] == ["iam/roles/dw-quicksight-s3.yaml"]

    def test_capture_does_not_overwrite_without_force(self, seeded: Path, tmp_path: Path) -> None:
        assert run_cli("capture", "--out", str(tmp_path), "--role", "dw-quicksight-s3").code == 0
        again = run_cli("capture", "--out", str(tmp_path), "--role", "dw-quicksight-s3")
        assert again.code == 1
        assert "--force" in again.err


def test_cli_help_lists_every_command() -> None:
    run = run_cli("--help")
    assert run.code == 0
    for command in (
        "validate",
        "publish",
        "capture",
        "audit",
        "sweep",
        "handle-event",
        "undo",
        "demo",
    ):
        assert command in run.out


def test_registry_env_default(
    seeded: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """DRIFTWARDEN_REGISTRY is the default registry when --registry is not given."""
    copy = tmp_path / "reg"
    shutil.copytree(seeded, copy)
    monkeypatch.setenv("DRIFTWARDEN_REGISTRY", str(copy))
    run = run_cli("audit", "--json")
    assert run.code == 0, run.err
    assert run.json()["registry"]["source"].rstrip("/") == str(copy)
