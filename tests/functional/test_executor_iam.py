"""IamExecutor against moto's server: drift a role or policy, plan, apply, re-read, in sync."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.collectors.iam import IamCollector
from chalicelib.diff.engine import compare
from chalicelib.errors import RemediationError
from chalicelib.models import DesiredResource, Kind, Mode, ResourceRef, Status
from chalicelib.remediation.executors import IamExecutor, PartialRemediationError
from chalicelib.remediation.planner import PlanStep, plan_revert
from tests.conftest import ACCOUNT, REGION

if TYPE_CHECKING:
    import boto3

ROLE = "analytics-reader"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/analytics/athena-read"
BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/boundary"
TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "quicksight.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
READ: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["athena:GetQueryResults"], "Resource": "*"}],
}
WRITE: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
}
OPEN_TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def iam(session: boto3.Session) -> Any:
    return session.client("iam")


def role_ref() -> ResourceRef:
    return ResourceRef(Kind.IAM_ROLE, ROLE, ACCOUNT, REGION)


def policy_ref() -> ResourceRef:
    return ResourceRef(Kind.IAM_POLICY, POLICY_ARN, ACCOUNT, REGION)


def role_spec() -> dict[str, Any]:
    return {
        "path": "/",
        "description": "reads analytics data",
        "max_session_duration": 3600,
        "trust_policy": TRUST,
        "inline_policies": {"read": READ},
        "managed_policies": [POLICY_ARN],
        "permissions_boundary": None,
        "tags": {"team": "analytics"},
    }


def desired_role(spec: dict[str, Any] | None = None) -> DesiredResource:
    return DesiredResource(role_ref(), Mode.ENFORCE, spec or role_spec(), "policies/role.yaml")


def create_desired_role(iam: Any) -> None:
    """The role as the registry declares it, plus its customer-managed policy."""
    iam.create_policy(PolicyName="athena-read", Path="/analytics/", PolicyDocument=json.dumps(READ))
    iam.create_role(
        RoleName=ROLE,
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Description="reads analytics data",
        Tags=[{"Key": "team", "Value": "analytics"}, {"Key": "cost", "Value": "42"}],
    )
    iam.put_role_policy(RoleName=ROLE, PolicyName="read", PolicyDocument=json.dumps(READ))
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)


def drift_role(iam: Any) -> None:
    """Drift in every managed field of the role."""
    iam.create_policy(PolicyName="boundary", PolicyDocument=json.dumps(READ))
    iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(OPEN_TRUST))
    iam.put_role_policy(RoleName=ROLE, PolicyName="backdoor", PolicyDocument=json.dumps(WRITE))
    iam.put_role_policy(RoleName=ROLE, PolicyName="read", PolicyDocument=json.dumps(WRITE))
    iam.detach_role_policy(RoleName=ROLE, PolicyArn=POLICY_ARN)
    iam.put_role_permissions_boundary(RoleName=ROLE, PermissionsBoundary=BOUNDARY_ARN)
    iam.update_role(RoleName=ROLE, Description="hijacked", MaxSessionDuration=43200)
    iam.tag_role(RoleName=ROLE, Tags=[{"Key": "team", "Value": "intruder"}])


def fail_on(client: Any, operation: str, code: str = "ServiceFailure") -> None:
    """Make every call of ``operation`` fail (a botocore ``before-call`` hook raising)."""

    def boom(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    client.meta.events.register(f"before-call.iam.{operation}", boom)


class TestRoleRevert:
    def test_drifted_role_is_reverted_to_in_sync(self, iam: Any) -> None:
        """GIVEN a role drifted in every field WHEN its plan is applied THEN a re-read compares
        in sync, and an undeclared tag was left alone."""
        create_desired_role(iam)
        drift_role(iam)
        collector = IamCollector(iam)
        live = collector.read(role_ref())
        assert compare(desired_role(), live).status is Status.DRIFTED

        steps = plan_revert(desired_role(), live)
        made = IamExecutor(iam).apply(steps)

        assert made == tuple(s.call for s in steps)
        after = collector.read(role_ref())
        assert compare(desired_role(), after).status is Status.IN_SYNC
        assert after.state["tags"]["cost"] == "42"

    def test_applying_the_same_plan_twice_is_harmless(self, iam: Any) -> None:
        """Idempotence: a second apply of the same plan (detach/delete already done) succeeds
        and leaves the role in sync."""
        create_desired_role(iam)
        drift_role(iam)
        iam.attach_role_policy(RoleName=ROLE, PolicyArn=BOUNDARY_ARN)
        steps = plan_revert(desired_role(), IamCollector(iam).read(role_ref()))
        executor = IamExecutor(iam)
        executor.apply(steps)

        again = executor.apply(steps)

        assert again == tuple(s.call for s in steps)
        after = IamCollector(iam).read(role_ref())
        assert compare(desired_role(), after).status is Status.IN_SYNC

    def test_dry_run_returns_the_plan_and_writes_nothing(self, iam: Any) -> None:
        """Dry run: the planned calls are returned and the role stays drifted."""
        create_desired_role(iam)
        drift_role(iam)
        before = IamCollector(iam).read(role_ref())
        steps = plan_revert(desired_role(), before)

        made = IamExecutor(iam).apply(steps, dry_run=True)

        assert made == tuple(s.call for s in steps)
        assert IamCollector(iam).read(role_ref()).state == before.state

    def test_deleted_role_is_recreated_when_asked(self, iam: Any) -> None:
        """With recreate, a deleted role is created again and compares in sync."""
        iam.create_policy(
            PolicyName="athena-read", Path="/analytics/", PolicyDocument=json.dumps(READ)
        )
        live = IamCollector(iam).read(role_ref())
        assert not live.exists

        IamExecutor(iam).apply(plan_revert(desired_role(), live, recreate=True))

        after = IamCollector(iam).read(role_ref())
        assert compare(desired_role(), after).status is Status.IN_SYNC


class TestPolicyRevert:
    def test_changed_default_version_is_restored(self, iam: Any) -> None:
        """A new default version is reverted with CreatePolicyVersion; re-read in sync."""
        iam.create_policy(
            PolicyName="athena-read", Path="/analytics/", PolicyDocument=json.dumps(READ)
        )
        iam.create_policy_version(
            PolicyArn=POLICY_ARN, PolicyDocument=json.dumps(WRITE), SetAsDefault=True
        )
        want = DesiredResource(policy_ref(), Mode.ENFORCE, {"document": READ}, "p.yaml")
        live = IamCollector(iam).read(policy_ref())

        made = IamExecutor(iam).apply(plan_revert(want, live))

        assert made == ("iam:CreatePolicyVersion",)
        after = IamCollector(iam).read(policy_ref())
        assert compare(want, after).status is Status.IN_SYNC

    def test_full_policy_gets_room_by_deleting_the_oldest_non_default_version(
        self, iam: Any
    ) -> None:
        """GIVEN a policy with five versions (default v5) WHEN the revert is applied THEN the
        executor lists the versions, deletes v1 and creates the restoring version."""
        iam.create_policy(
            PolicyName="athena-read", Path="/analytics/", PolicyDocument=json.dumps(READ)
        )
        for _ in range(4):
            iam.create_policy_version(
                PolicyArn=POLICY_ARN, PolicyDocument=json.dumps(WRITE), SetAsDefault=True
            )
        want = DesiredResource(policy_ref(), Mode.ENFORCE, {"document": READ}, "p.yaml")

        made = IamExecutor(iam).apply(plan_revert(want, IamCollector(iam).read(policy_ref())))

        assert made == ("iam:DeletePolicyVersion", "iam:CreatePolicyVersion")
        ids = {v["VersionId"] for v in iam.list_policy_versions(PolicyArn=POLICY_ARN)["Versions"]}
        assert "v1" not in ids and len(ids) == 5
        assert compare(want, IamCollector(iam).read(policy_ref())).status is Status.IN_SYNC


class TestFailures:
    def test_failure_halfway_raises_partial_error_with_calls_made(self, iam: Any) -> None:
        """GIVEN the 2nd step fails WHEN applying THEN PartialRemediationError names the step
        and carries the first call, which was made."""
        create_desired_role(iam)
        iam.put_role_policy(RoleName=ROLE, PolicyName="backdoor", PolicyDocument=json.dumps(WRITE))
        iam.put_role_policy(RoleName=ROLE, PolicyName="read", PolicyDocument=json.dumps(WRITE))
        steps = plan_revert(desired_role(), IamCollector(iam).read(role_ref()))
        assert [s.call for s in steps] == ["iam:DeleteRolePolicy", "iam:PutRolePolicy"]
        fail_on(iam, "PutRolePolicy")

        with pytest.raises(PartialRemediationError) as caught:
            IamExecutor(iam).apply(steps)

        assert caught.value.calls == ("iam:DeleteRolePolicy",)
        assert caught.value.failed_call == "iam:PutRolePolicy"
        assert "step 2 of 2" in str(caught.value) and "ServiceFailure" in str(caught.value)
        assert "backdoor" not in IamCollector(iam).read(role_ref()).state["inline_policies"]

    def test_first_step_failure_is_a_remediation_error_without_calls(self, iam: Any) -> None:
        """A failing first call changes nothing: a plain RemediationError, no ClientError."""
        create_desired_role(iam)
        iam.put_role_policy(RoleName=ROLE, PolicyName="read", PolicyDocument=json.dumps(WRITE))
        steps = plan_revert(desired_role(), IamCollector(iam).read(role_ref()))
        fail_on(iam, "PutRolePolicy", code="AccessDenied")

        with pytest.raises(RemediationError) as caught:
            IamExecutor(iam).apply(steps)

        assert not isinstance(caught.value, PartialRemediationError)
        assert isinstance(caught.value.__cause__, ClientError)
        assert "iam:PutRolePolicy" in str(caught.value) and "AccessDenied" in str(caught.value)

    def test_missing_role_is_an_error_not_done(self, iam: Any) -> None:
        """NoSuchEntity is "done" only for removals: putting a policy on a missing role fails."""
        step = PlanStep(
            "iam:PutRolePolicy",
            {"RoleName": "nobody", "PolicyName": "p", "PolicyDocument": json.dumps(READ)},
            "put",
        )
        with pytest.raises(RemediationError, match="NoSuchEntity"):
            IamExecutor(iam).apply([step])

    def test_foreign_call_is_refused_before_any_call(self, iam: Any) -> None:
        """A plan with a call the executor does not make is refused whole, nothing applied."""
        create_desired_role(iam)
        steps = [
            PlanStep("iam:DeleteRolePolicy", {"RoleName": ROLE, "PolicyName": "read"}, "delete"),
            PlanStep("iam:DeleteRole", {"RoleName": ROLE}, "delete role"),
        ]
        with pytest.raises(RemediationError, match="iam:DeleteRole"):
            IamExecutor(iam).apply(steps)
        assert "read" in IamCollector(iam).read(role_ref()).state["inline_policies"]


def test_every_call_has_a_client_method_and_a_permission(iam: Any) -> None:
    """The call table names real client methods, and every call is a declared permission."""
    for call, method in IamExecutor.methods.items():
        assert callable(getattr(iam, method)), call
        assert call in IamExecutor.permissions
    assert "iam:ListPolicyVersions" in IamExecutor.permissions
