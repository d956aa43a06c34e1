"""Many accounts: sweeps, audits and events across two emulated accounts (moto keeps one state
per account ID; driftwarden reaches the member account by assuming its role through STS)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.config import Settings
from chalicelib.local.seed import seed_account
from chalicelib.models import AccountContext, Decision, Status
from chalicelib.registry.loader import load_directory
from chalicelib.wiring import Wiring
from tests.conftest import ACCOUNT, REGION, ROOT
from tests.events import api_call

MEMBER = "210987654321"
TEMPLATE = "arn:${Partition}:iam::${AccountId}:role/driftwarden-member"


def _member_session(session: boto3.Session, account: str = MEMBER) -> boto3.Session:
    creds = session.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/driftwarden-member", RoleSessionName="seed"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )


def _registry(tmp_path: Path, targets: list[dict[str, Any]]) -> Path:
    target = tmp_path / "registry"
    shutil.copytree(ROOT / "policies", target)
    (target / "registry.yaml").write_text(json.dumps({"paused": False, "targets": targets}))
    return target


def _seed(registry: Path, session: boto3.Session, account: str) -> None:
    desired = load_directory(registry).resolve(AccountContext(account, REGION))
    seed_account(desired, session.client("iam"), session.client("quicksight"))


def _drift(session: boto3.Session) -> None:
    session.client("iam").put_role_policy(
        RoleName="dw-quicksight-athena",
        PolicyName="temp-debug",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )


def _inline_names(session: boto3.Session) -> list[str]:
    return session.client("iam").list_role_policies(RoleName="dw-quicksight-athena")["PolicyNames"]


@pytest.fixture
def two_accounts(session: boto3.Session, tmp_path: Path) -> tuple[Path, boto3.Session]:
    registry = _registry(tmp_path, [{"account": ACCOUNT, "regions": [REGION]}, {"account": MEMBER}])
    member = _member_session(session)
    _seed(registry, session, ACCOUNT)
    _seed(registry, member, MEMBER)
    return registry, member


def test_sweep_reverts_drift_in_the_member_account(
    two_accounts: tuple[Path, boto3.Session], session: boto3.Session, tmp_path: Path
) -> None:
    """GIVEN drift in the member account WHEN the sweep runs THEN it is reverted there, through
    the assumed role, and the home account is left as it was."""
    registry, member = two_accounts
    _drift(member)
    wiring = Wiring(
        Settings(registry=str(registry), assume_role=TEMPLATE, journal=str(tmp_path / "j")),
        session,
    )
    outcome = wiring.sweep()
    reverted = [r for r in outcome.responses if r.decision is Decision.REVERTED]
    assert [(r.result.ref.account, r.result.ref.id) for r in reverted] == [
        (MEMBER, "dw-quicksight-athena")
    ]
    assert _inline_names(member) == ["athena-query"]
    assert _inline_names(session) == ["athena-query"]
    assert {r.result.ref.account for r in outcome.responses} == {ACCOUNT, MEMBER}
    assert outcome.to_json()["failures"] == []


def test_audit_reports_both_accounts(
    two_accounts: tuple[Path, boto3.Session], session: boto3.Session
) -> None:
    registry, member = two_accounts
    _drift(member)
    wiring = Wiring(Settings(registry=str(registry), assume_role=TEMPLATE), session)
    report = wiring.audit()
    statuses = {(r.ref.account, r.ref.id): r.status for r in report.resources}
    assert statuses[(MEMBER, "dw-quicksight-athena")] is Status.DRIFTED
    assert statuses[(ACCOUNT, "dw-quicksight-athena")] is Status.IN_SYNC
    assert len(report.resources) == 18


def test_event_from_the_member_account_is_handled_with_its_role(
    two_accounts: tuple[Path, boto3.Session], session: boto3.Session, tmp_path: Path
) -> None:
    registry, member = two_accounts
    _drift(member)
    event = api_call(
        "aws.iam",
        "PutRolePolicy",
        {"roleName": "dw-quicksight-athena", "policyName": "temp-debug"},
        account=MEMBER,
    )
    wiring = Wiring(
        Settings(registry=str(registry), assume_role=TEMPLATE, journal=str(tmp_path / "j")),
        session,
    )
    outcome = wiring.responder.handle_event(event)
    assert outcome.decision is Decision.REVERTED
    assert outcome.responses[0].result.ref.account == MEMBER
    assert _inline_names(member) == ["athena-query"]


def test_one_unreachable_account_does_not_stop_the_others(
    two_accounts: tuple[Path, boto3.Session], session: boto3.Session, tmp_path: Path
) -> None:
    """GIVEN the member role cannot be assumed WHEN the sweep runs THEN the home account is still
    swept and the report names the account that failed."""
    registry, _ = two_accounts
    _drift(session)
    wiring = Wiring(
        Settings(registry=str(registry), assume_role=TEMPLATE, journal=str(tmp_path / "j")),
        session,
    )

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if MEMBER in params.get("RoleArn", ""):
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "AssumeRole"
            )

    wiring.client("sts").meta.events.register("before-parameter-build.sts.AssumeRole", refuse)
    outcome = wiring.sweep()
    body = outcome.to_json()
    assert [f["account"] for f in body["failures"]] == [MEMBER]
    assert outcome.decision is Decision.FAILED
    assert {r.result.ref.account for r in outcome.responses} == {ACCOUNT}
    assert _inline_names(session) == ["athena-query"]
    report = wiring.audit()
    errors = {r.ref.account for r in report.resources if r.status is Status.ERROR}
    assert errors == {MEMBER}


def test_member_event_without_a_role_to_assume_is_ignored(
    two_accounts: tuple[Path, boto3.Session], session: boto3.Session
) -> None:
    registry, member = two_accounts
    _drift(member)
    event = api_call(
        "aws.iam", "PutRolePolicy", {"roleName": "dw-quicksight-athena"}, account=MEMBER
    )
    outcome = Wiring(Settings(registry=str(registry)), session).responder.handle_event(event)
    assert outcome.decision is Decision.IGNORED
    assert "DRIFTWARDEN_ASSUME_ROLE" in (outcome.reason or "")
    assert "temp-debug" in _inline_names(member)
