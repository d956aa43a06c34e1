"""plan_revert and undo_plan: the smallest set of calls, per kind and per field (pure)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.diff.engine import compare
from chalicelib.diff.iam_policy import equivalent
from chalicelib.errors import RemediationRefusedError
from chalicelib.models import DesiredResource, Kind, LiveResource, Mode, ResourceRef, Status
from chalicelib.remediation.journal import JournalEntry
from chalicelib.remediation.planner import PlanStep, plan_revert, policy_path_and_name, undo_plan

if TYPE_CHECKING:
    from collections.abc import Mapping

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = "analytics-reader"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/analytics/athena-read"
READONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/boundary"
QS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/qs-athena"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/attacker"
QS_USER = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:user/default/alice"
QS_GROUP = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:group/default/analysts"
MEMBERSHIP = "c5773151-1c6c-40ff-86f2-543d68654295"
ASSOCIATION = "0b3c6e4e-7f0a-4a43-9d1e-2f5e8c1b7a90"

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
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}
    ],
}
# The same grant as READ, written differently (order, case, string vs list).
READ_REWRITTEN: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["S3:ListBucket", "s3:getobject"], "Resource": ["*"]}
    ],
}
WRITE: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
}


def ref(kind: Kind, ident: str) -> ResourceRef:
    return ResourceRef(kind, ident, ACCOUNT, REGION)


def desired(kind: Kind, ident: str, spec: Mapping[str, Any]) -> DesiredResource:
    return DesiredResource(ref(kind, ident), Mode.ENFORCE, dict(spec), "policies/x.yaml")


def live(
    kind: Kind,
    ident: str,
    state: Mapping[str, Any] | None = None,
    *,
    exists: bool = True,
    facts: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> LiveResource:
    return LiveResource(ref(kind, ident), exists, dict(state or {}), error, dict(facts or {}))


def role_state(**changes: Any) -> dict[str, Any]:
    """A live role in spec shape, as the IAM collector reads it."""
    state: dict[str, Any] = {
        "path": "/",
        "description": "reads analytics data",
        "max_session_duration": 3600,
        "trust_policy": copy.deepcopy(TRUST),
        "inline_policies": {"read": copy.deepcopy(READ)},
        "managed_policies": [READONLY],
        "permissions_boundary": None,
        "tags": {"team": "analytics", "owner": "data"},
    }
    state.update(changes)
    return state


def role_plan(spec: Mapping[str, Any], state: Mapping[str, Any]) -> tuple[PlanStep, ...]:
    return plan_revert(desired(Kind.IAM_ROLE, ROLE, spec), live(Kind.IAM_ROLE, ROLE, state))


def calls(steps: tuple[PlanStep, ...]) -> list[str]:
    return [s.call for s in steps]


# ------------------------------------------------------------------------------ iam_role


class TestRole:
    def test_in_sync_role_plans_nothing(self) -> None:
        """A live role equal to the spec needs no call."""
        assert role_plan(role_state(), role_state()) == ()

    def test_equivalent_rewrite_of_inline_policy_plans_nothing(self) -> None:
        """GIVEN a live inline policy that grants the same as desired, written differently
        WHEN planning THEN no PutRolePolicy is made."""
        state = role_state(inline_policies={"read": READ_REWRITTEN})
        assert role_plan(role_state(), state) == ()

    def test_equivalent_trust_rewrite_plans_nothing(self) -> None:
        """An account ID and its :root ARN are the same principal: no UpdateAssumeRolePolicy."""
        spec_trust: dict[str, Any] = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
            ],
        }
        live_trust = copy.deepcopy(spec_trust)
        live_trust["Statement"][0]["Principal"] = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
        steps = role_plan(role_state(trust_policy=spec_trust), role_state(trust_policy=live_trust))
        assert steps == ()

    def test_extra_inline_policy_is_exactly_one_delete(self) -> None:
        """An inline policy added live is removed with one DeleteRolePolicy and nothing else."""
        state = role_state(inline_policies={"read": READ, "backdoor": WRITE})
        steps = role_plan(role_state(), state)
        assert steps == (
            PlanStep(
                "iam:DeleteRolePolicy",
                {"RoleName": ROLE, "PolicyName": "backdoor"},
                steps[0].summary,
            ),
        )

    def test_missing_inline_policy_is_put_with_the_desired_document_as_json(self) -> None:
        """A deleted inline policy is put back; the document is a JSON string of the spec."""
        steps = role_plan(role_state(), role_state(inline_policies={}))
        assert calls(steps) == ["iam:PutRolePolicy"]
        params = steps[0].params
        assert params["RoleName"] == ROLE and params["PolicyName"] == "read"
        assert isinstance(params["PolicyDocument"], str)
        assert json.loads(params["PolicyDocument"]) == READ

    def test_changed_inline_policy_is_put(self) -> None:
        """An inline policy whose grant changed is overwritten with PutRolePolicy."""
        steps = role_plan(role_state(), role_state(inline_policies={"read": WRITE}))
        assert calls(steps) == ["iam:PutRolePolicy"]
        assert equivalent(steps[0].params["PolicyDocument"], READ)

    def test_empty_inline_policies_means_none_allowed(self) -> None:
        """``inline_policies: {}`` deletes every live inline policy."""
        steps = role_plan(role_state(inline_policies={}), role_state())
        assert calls(steps) == ["iam:DeleteRolePolicy"]

    def test_changed_trust_is_update_assume_role_policy(self) -> None:
        """A widened trust policy is restored with UpdateAssumeRolePolicy."""
        widened = copy.deepcopy(TRUST)
        widened["Statement"].append(
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
        )
        steps = role_plan(role_state(), role_state(trust_policy=widened))
        assert calls(steps) == ["iam:UpdateAssumeRolePolicy"]
        assert json.loads(steps[0].params["PolicyDocument"]) == TRUST

    def test_extra_managed_policy_is_detached(self) -> None:
        """A managed policy attached live but not declared is detached."""
        steps = role_plan(role_state(), role_state(managed_policies=[READONLY, ADMIN]))
        assert steps == (
            PlanStep("iam:DetachRolePolicy", {"RoleName": ROLE, "PolicyArn": ADMIN}, ANY),
        )

    def test_missing_managed_policy_is_attached(self) -> None:
        """A declared managed policy detached live is attached again."""
        steps = role_plan(role_state(), role_state(managed_policies=[]))
        assert steps == (
            PlanStep("iam:AttachRolePolicy", {"RoleName": ROLE, "PolicyArn": READONLY}, ANY),
        )

    def test_declared_boundary_is_put(self) -> None:
        """A declared boundary that was removed live is put back."""
        steps = role_plan(role_state(permissions_boundary=BOUNDARY), role_state())
        assert steps == (
            PlanStep(
                "iam:PutRolePermissionsBoundary",
                {"RoleName": ROLE, "PermissionsBoundary": BOUNDARY},
                ANY,
            ),
        )

    def test_null_boundary_removes_a_live_boundary(self) -> None:
        """``permissions_boundary: null`` with a live boundary deletes it."""
        steps = role_plan(role_state(), role_state(permissions_boundary=BOUNDARY))
        assert steps == (PlanStep("iam:DeleteRolePermissionsBoundary", {"RoleName": ROLE}, ANY),)

    def test_description_and_max_session_go_in_one_update_role(self) -> None:
        """GIVEN only the description drifted WHEN planning THEN one UpdateRole carries both
        declared fields."""
        steps = role_plan(role_state(), role_state(description="hacked"))
        assert steps == (
            PlanStep(
                "iam:UpdateRole",
                {
                    "RoleName": ROLE,
                    "Description": "reads analytics data",
                    "MaxSessionDuration": 3600,
                },
                ANY,
            ),
        )

    def test_max_session_only_drift_is_one_update_role(self) -> None:
        """A changed max session duration alone is one UpdateRole."""
        steps = role_plan(role_state(), role_state(max_session_duration=43200))
        assert calls(steps) == ["iam:UpdateRole"]
        assert steps[0].params["MaxSessionDuration"] == 3600

    def test_null_description_clears_a_live_description(self) -> None:
        """``description: null`` clears a live description (UpdateRole with "")."""
        spec = role_state(description=None)
        del spec["max_session_duration"]
        steps = role_plan(spec, role_state())
        assert steps == (PlanStep("iam:UpdateRole", {"RoleName": ROLE, "Description": ""}, ANY),)

    def test_only_declared_differing_tags_are_tagged_and_nothing_is_untagged(self) -> None:
        """GIVEN a changed declared tag and an extra undeclared live tag WHEN planning THEN one
        TagRole with the changed key only, and no UntagRole."""
        state = role_state(tags={"team": "other", "owner": "data", "extra": "x"})
        steps = role_plan(role_state(), state)
        assert steps == (
            PlanStep(
                "iam:TagRole",
                {"RoleName": ROLE, "Tags": [{"Key": "team", "Value": "analytics"}]},
                ANY,
            ),
        )

    def test_undeclared_keys_are_not_managed(self) -> None:
        """A spec with only a trust policy ignores every other live difference."""
        state = role_state(
            inline_policies={"backdoor": WRITE},
            managed_policies=[ADMIN],
            permissions_boundary=BOUNDARY,
            description="other",
            tags={"x": "y"},
        )
        assert role_plan({"trust_policy": TRUST}, state) == ()

    def test_path_change_is_refused(self) -> None:
        """IAM cannot change a role's path: planning refuses with the reason."""
        with pytest.raises(RemediationRefusedError, match="path"):
            role_plan(role_state(path="/service-role/"), role_state())

    def test_access_removals_come_before_grants(self) -> None:
        """GIVEN drift in every field WHEN planning THEN steps that remove access come first
        and the boundary removal (which loosens) after every grant."""
        widened = copy.deepcopy(TRUST)
        widened["Statement"][0]["Principal"] = {"AWS": "*"}
        spec = role_state(permissions_boundary=None)
        state = role_state(
            trust_policy=widened,
            inline_policies={"backdoor": WRITE},
            managed_policies=[ADMIN],
            permissions_boundary=BOUNDARY,
            description="x",
            tags={"team": "x"},
        )
        assert calls(role_plan(spec, state)) == [
            "iam:DetachRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:UpdateAssumeRolePolicy",
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:DeleteRolePermissionsBoundary",
            "iam:UpdateRole",
            "iam:TagRole",
        ]

    def test_setting_a_boundary_comes_first(self) -> None:
        """Putting a boundary tightens, so it comes before grants."""
        spec = role_state(permissions_boundary=BOUNDARY)
        state = role_state(managed_policies=[])
        assert calls(role_plan(spec, state)) == [
            "iam:PutRolePermissionsBoundary",
            "iam:AttachRolePolicy",
        ]

    def test_unparsable_live_inline_policy_is_overwritten(self) -> None:
        """A live document that cannot be parsed never matches: it is put again."""
        steps = role_plan(role_state(), role_state(inline_policies={"read": "not json"}))
        assert calls(steps) == ["iam:PutRolePolicy"]

    def test_unparsable_desired_document_is_refused(self) -> None:
        """A desired document that is not a policy is refused rather than sent."""
        with pytest.raises(RemediationRefusedError, match="policy document"):
            role_plan(role_state(inline_policies={"read": "{broken"}), role_state())


class _Any:
    """Equal to any summary string (summaries are for people, not asserted)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str)

    def __hash__(self) -> int:
        return 0


ANY: Any = _Any()


# ---------------------------------------------------------------------------- iam_policy


def policy_plan(
    spec: Mapping[str, Any], state: Mapping[str, Any], facts: Mapping[str, Any] | None = None
) -> tuple[PlanStep, ...]:
    return plan_revert(
        desired(Kind.IAM_POLICY, POLICY_ARN, spec),
        live(Kind.IAM_POLICY, POLICY_ARN, state, facts=facts),
    )


def versions(count: int, default: str) -> list[dict[str, Any]]:
    return [
        {"version_id": f"v{n}", "is_default": f"v{n}" == default, "create_date": f"2024-01-0{n}"}
        for n in range(1, count + 1)
    ]


class TestPolicy:
    def test_equivalent_document_plans_nothing(self) -> None:
        """A default version that grants the same as desired needs no new version."""
        assert policy_plan({"document": READ}, {"document": READ_REWRITTEN}) == ()

    def test_changed_document_is_a_new_default_version(self) -> None:
        """A changed default version is restored with CreatePolicyVersion(SetAsDefault)."""
        steps = policy_plan({"document": READ}, {"document": WRITE, "description": None})
        assert steps == (
            PlanStep(
                "iam:CreatePolicyVersion",
                {"PolicyArn": POLICY_ARN, "PolicyDocument": ANY, "SetAsDefault": True},
                ANY,
            ),
        )
        assert json.loads(steps[0].params["PolicyDocument"]) == READ

    def test_five_versions_delete_the_oldest_non_default_first(self) -> None:
        """GIVEN a policy with five versions whose default is v1 WHEN planning THEN the oldest
        non-default version (v2) is deleted before the new version is created."""
        steps = policy_plan(
            {"document": READ}, {"document": WRITE}, {"versions": versions(5, "v1")}
        )
        assert calls(steps) == ["iam:DeletePolicyVersion", "iam:CreatePolicyVersion"]
        assert steps[0].params == {"PolicyArn": POLICY_ARN, "VersionId": "v2"}

    def test_fewer_than_five_versions_delete_nothing(self) -> None:
        """Four versions leave room: only CreatePolicyVersion."""
        steps = policy_plan(
            {"document": READ}, {"document": WRITE}, {"versions": versions(4, "v4")}
        )
        assert calls(steps) == ["iam:CreatePolicyVersion"]

    def test_description_difference_is_refused(self) -> None:
        """IAM cannot change a policy's description: planning refuses."""
        with pytest.raises(RemediationRefusedError, match="description"):
            policy_plan(
                {"description": "new", "document": READ}, {"description": "old", "document": READ}
            )

    def test_path_and_name_come_from_the_arn(self) -> None:
        """``policy/analytics/athena-read`` has path ``/analytics/`` and name ``athena-read``."""
        assert policy_path_and_name(POLICY_ARN) == ("/analytics/", "athena-read")
        assert policy_path_and_name(f"arn:aws:iam::{ACCOUNT}:policy/x") == ("/", "x")


# ------------------------------------------------------------------------------ quicksight

ATHENA: dict[str, Any] = {"AthenaParameters": {"WorkGroup": "primary", "RoleArn": QS_ROLE}}


def ds_state(**changes: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "name": "Sales (Athena)",
        "type": "ATHENA",
        "parameters": copy.deepcopy(ATHENA),
        "vpc_connection_properties": None,
        "ssl_properties": {"DisableSsl": False},
        "permissions": [
            {"principal": QS_USER, "actions": ["quicksight:DescribeDataSource"]},
        ],
    }
    state.update(changes)
    return state


def ds_plan(spec: Mapping[str, Any], state: Mapping[str, Any]) -> tuple[PlanStep, ...]:
    return plan_revert(
        desired(Kind.QUICKSIGHT_DATA_SOURCE, "sales", spec),
        live(Kind.QUICKSIGHT_DATA_SOURCE, "sales", state),
    )


class TestDataSource:
    def test_in_sync_data_source_plans_nothing(self) -> None:
        """Equal state: no call."""
        assert ds_plan(ds_state(), ds_state()) == ()

    def test_changed_role_is_one_update_data_source_without_credentials(self) -> None:
        """A swapped RoleArn is restored with one UpdateDataSource that carries the full
        declared values and never Credentials."""
        swapped = {"AthenaParameters": {"WorkGroup": "primary", "RoleArn": OTHER_ROLE}}
        steps = ds_plan(ds_state(), ds_state(parameters=swapped))
        assert steps == (
            PlanStep(
                "quicksight:UpdateDataSource",
                {
                    "AwsAccountId": ACCOUNT,
                    "DataSourceId": "sales",
                    "Name": "Sales (Athena)",
                    "DataSourceParameters": ATHENA,
                    "SslProperties": {"DisableSsl": False},
                },
                ANY,
            ),
        )
        assert "Credentials" not in steps[0].params

    def test_undeclared_fields_keep_their_live_values(self) -> None:
        """GIVEN a spec declaring only the name WHEN the name drifted THEN UpdateDataSource
        sends the live parameters and SSL properties unchanged."""
        state = ds_state(name="renamed")
        steps = ds_plan({"name": "Sales (Athena)"}, state)
        assert calls(steps) == ["quicksight:UpdateDataSource"]
        assert steps[0].params["DataSourceParameters"] == ATHENA
        assert steps[0].params["SslProperties"] == {"DisableSsl": False}

    def test_database_group_order_is_not_drift(self) -> None:
        """Redshift DatabaseGroups compare as a set: reordering needs no call."""
        params: dict[str, Any] = {
            "RedshiftParameters": {
                "Host": "h",
                "Port": 5439,
                "Database": "d",
                "IAMParameters": {"RoleArn": QS_ROLE, "DatabaseGroups": ["a", "b"]},
            }
        }
        reordered = copy.deepcopy(params)
        reordered["RedshiftParameters"]["IAMParameters"]["DatabaseGroups"] = ["b", "a"]
        spec = ds_state(type="REDSHIFT", parameters=params)
        assert ds_plan(spec, ds_state(type="REDSHIFT", parameters=reordered)) == ()

    def test_type_change_is_refused(self) -> None:
        """QuickSight cannot change a data source's type: planning refuses."""
        with pytest.raises(RemediationRefusedError, match="type"):
            ds_plan(ds_state(), ds_state(type="S3"))

    def test_permissions_grant_and_revoke_in_one_call(self) -> None:
        """GIVEN a missing principal and an extra one WHEN planning THEN one
        UpdateDataSourcePermissions grants the first and revokes the second."""
        spec = ds_state(
            permissions=[{"principal": QS_GROUP, "actions": ["quicksight:DescribeDataSource"]}]
        )
        extra = {"principal": QS_USER, "actions": ["quicksight:DescribeDataSource"]}
        steps = ds_plan(spec, ds_state(permissions=[extra]))
        assert steps == (
            PlanStep(
                "quicksight:UpdateDataSourcePermissions",
                {
                    "AwsAccountId": ACCOUNT,
                    "DataSourceId": "sales",
                    "GrantPermissions": [
                        {"Principal": QS_GROUP, "Actions": ["quicksight:DescribeDataSource"]}
                    ],
                    "RevokePermissions": [
                        {"Principal": QS_USER, "Actions": ["quicksight:DescribeDataSource"]}
                    ],
                },
                ANY,
            ),
        )

    def test_extra_action_of_a_principal_is_revoked_only(self) -> None:
        """A widened principal loses just the extra action (no grant list)."""
        wide = [
            {
                "principal": QS_USER,
                "actions": ["quicksight:DescribeDataSource", "quicksight:DeleteDataSource"],
            }
        ]
        steps = ds_plan(ds_state(), ds_state(permissions=wide))
        assert steps[0].params == {
            "AwsAccountId": ACCOUNT,
            "DataSourceId": "sales",
            "RevokePermissions": [
                {"Principal": QS_USER, "Actions": ["quicksight:DeleteDataSource"]}
            ],
        }

    def test_action_case_is_not_drift(self) -> None:
        """QuickSight action names compare case-insensitively."""
        lower = [{"principal": QS_USER, "actions": ["QuickSight:describedatasource"]}]
        assert ds_plan(ds_state(), ds_state(permissions=lower)) == ()


# ------------------------------------------------------------------------------ cleanrooms

ASSOC_ID = f"{MEMBERSHIP}/{ASSOCIATION}"
OUTPUT: dict[str, Any] = {"s3": {"resultFormat": "CSV", "bucket": "results", "keyPrefix": "out/"}}


class TestCleanRooms:
    def test_association_role_change_is_one_update(self) -> None:
        """A swapped association role is restored with UpdateConfiguredTableAssociation."""
        steps = plan_revert(
            desired(Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, ASSOC_ID, {"role_arn": QS_ROLE}),
            live(
                Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
                ASSOC_ID,
                {"name": "sales", "role_arn": OTHER_ROLE},
            ),
        )
        assert steps == (
            PlanStep(
                "cleanrooms:UpdateConfiguredTableAssociation",
                {
                    "membershipIdentifier": MEMBERSHIP,
                    "configuredTableAssociationIdentifier": ASSOCIATION,
                    "roleArn": QS_ROLE,
                },
                ANY,
            ),
        )

    def test_association_rename_is_refused(self) -> None:
        """Clean Rooms cannot rename an association: planning refuses."""
        with pytest.raises(RemediationRefusedError, match="rename"):
            plan_revert(
                desired(Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, ASSOC_ID, {"name": "a"}),
                live(Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, ASSOC_ID, {"name": "b"}),
            )

    def test_membership_role_and_log_status_merge_into_one_update(self) -> None:
        """GIVEN both membership fields drifted WHEN planning THEN one UpdateMembership that
        keeps the live output configuration and sets the desired role and log status."""
        steps = plan_revert(
            desired(
                Kind.CLEANROOMS_MEMBERSHIP,
                MEMBERSHIP,
                {"result_role_arn": QS_ROLE, "query_log_status": "ENABLED"},
            ),
            live(
                Kind.CLEANROOMS_MEMBERSHIP,
                MEMBERSHIP,
                {"result_role_arn": OTHER_ROLE, "query_log_status": "DISABLED"},
                facts={"result_output_configuration": OUTPUT},
            ),
        )
        assert steps == (
            PlanStep(
                "cleanrooms:UpdateMembership",
                {
                    "membershipIdentifier": MEMBERSHIP,
                    "queryLogStatus": "ENABLED",
                    "defaultResultConfiguration": {
                        "outputConfiguration": OUTPUT,
                        "roleArn": QS_ROLE,
                    },
                },
                ANY,
            ),
        )

    def test_membership_output_from_default_result_configuration_fact(self) -> None:
        """The output configuration may also come as ``default_result_configuration``."""
        steps = plan_revert(
            desired(Kind.CLEANROOMS_MEMBERSHIP, MEMBERSHIP, {"result_role_arn": QS_ROLE}),
            live(
                Kind.CLEANROOMS_MEMBERSHIP,
                MEMBERSHIP,
                {"result_role_arn": None, "query_log_status": "ENABLED"},
                facts={"default_result_configuration": {"outputConfiguration": OUTPUT}},
            ),
        )
        assert steps[0].params["defaultResultConfiguration"]["outputConfiguration"] == OUTPUT

    def test_membership_role_without_output_configuration_is_refused(self) -> None:
        """Without a live output configuration a result role cannot be set alone."""
        with pytest.raises(RemediationRefusedError, match="output configuration"):
            plan_revert(
                desired(Kind.CLEANROOMS_MEMBERSHIP, MEMBERSHIP, {"result_role_arn": QS_ROLE}),
                live(Kind.CLEANROOMS_MEMBERSHIP, MEMBERSHIP, {"result_role_arn": None}),
            )

    def test_log_status_only_does_not_touch_the_result_configuration(self) -> None:
        """Only queryLogStatus is sent when only it drifted."""
        steps = plan_revert(
            desired(Kind.CLEANROOMS_MEMBERSHIP, MEMBERSHIP, {"query_log_status": "ENABLED"}),
            live(Kind.CLEANROOMS_MEMBERSHIP, MEMBERSHIP, {"query_log_status": "DISABLED"}),
        )
        assert steps[0].params == {"membershipIdentifier": MEMBERSHIP, "queryLogStatus": "ENABLED"}


# ---------------------------------------------------------------- missing, errors, recreate


class TestMissing:
    @pytest.mark.parametrize(
        ("kind", "ident"),
        [
            (Kind.IAM_ROLE, ROLE),
            (Kind.IAM_POLICY, POLICY_ARN),
            (Kind.QUICKSIGHT_DATA_SOURCE, "sales"),
            (Kind.CLEANROOMS_MEMBERSHIP, MEMBERSHIP),
            (Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, ASSOC_ID),
        ],
    )
    def test_missing_resource_without_recreate_plans_nothing(self, kind: Kind, ident: str) -> None:
        """A deleted resource is reported, not recreated, unless asked."""
        assert plan_revert(desired(kind, ident, {}), live(kind, ident, exists=False)) == ()

    def test_recreate_role_creates_then_puts_and_attaches(self) -> None:
        """With recreate, a deleted role is created with its declared settings, then its
        inline and managed policies restored."""
        spec = role_state(permissions_boundary=BOUNDARY, path="/service-role/")
        steps = plan_revert(
            desired(Kind.IAM_ROLE, ROLE, spec), live(Kind.IAM_ROLE, ROLE, exists=False), True
        )
        assert calls(steps) == ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy"]
        create = steps[0].params
        assert create["Path"] == "/service-role/"
        assert create["PermissionsBoundary"] == BOUNDARY
        assert json.loads(create["AssumeRolePolicyDocument"]) == TRUST
        assert create["Tags"] == [
            {"Key": "owner", "Value": "data"},
            {"Key": "team", "Value": "analytics"},
        ]

    def test_recreate_policy_is_create_policy_with_path_and_name(self) -> None:
        """With recreate, a deleted policy is created at the path its ARN names."""
        steps = plan_revert(
            desired(Kind.IAM_POLICY, POLICY_ARN, {"document": READ}),
            live(Kind.IAM_POLICY, POLICY_ARN, exists=False),
            recreate=True,
        )
        assert steps == (
            PlanStep(
                "iam:CreatePolicy",
                {"PolicyName": "athena-read", "Path": "/analytics/", "PolicyDocument": ANY},
                ANY,
            ),
        )

    def test_recreate_data_source_has_no_credentials(self) -> None:
        """With recreate, a deleted data source is created with its permissions and no
        credentials."""
        steps = plan_revert(
            desired(Kind.QUICKSIGHT_DATA_SOURCE, "sales", ds_state()),
            live(Kind.QUICKSIGHT_DATA_SOURCE, "sales", exists=False),
            recreate=True,
        )
        assert calls(steps) == ["quicksight:CreateDataSource"]
        params = steps[0].params
        assert "Credentials" not in params
        assert params["Type"] == "ATHENA" and params["DataSourceParameters"] == ATHENA
        assert params["Permissions"] == [
            {"Principal": QS_USER, "Actions": ["quicksight:DescribeDataSource"]}
        ]

    def test_recreate_clean_rooms_is_refused(self) -> None:
        """A Clean Rooms resource belongs to a collaboration: recreation is refused."""
        with pytest.raises(RemediationRefusedError, match="collaboration"):
            plan_revert(
                desired(Kind.CLEANROOMS_MEMBERSHIP, MEMBERSHIP, {"query_log_status": "ENABLED"}),
                live(Kind.CLEANROOMS_MEMBERSHIP, MEMBERSHIP, exists=False),
                recreate=True,
            )

    def test_recreate_role_without_trust_is_refused(self) -> None:
        """A role cannot be created without a trust policy."""
        with pytest.raises(RemediationRefusedError, match="trust_policy"):
            plan_revert(
                desired(Kind.IAM_ROLE, ROLE, {"description": "x"}),
                live(Kind.IAM_ROLE, ROLE, exists=False),
                recreate=True,
            )

    def test_unreadable_live_state_is_refused(self) -> None:
        """No plan is made from a live state that could not be read."""
        with pytest.raises(RemediationRefusedError, match="could not be read"):
            plan_revert(
                desired(Kind.IAM_ROLE, ROLE, role_state()),
                live(Kind.IAM_ROLE, ROLE, exists=False, error="AccessDenied"),
            )


# ------------------------------------------------------------------------------ PlanStep


def test_plan_step_json_round_trip() -> None:
    """A step survives to_json/from_json unchanged (the journal stores steps as dicts)."""
    step = PlanStep("iam:TagRole", {"RoleName": ROLE, "Tags": [{"Key": "a", "Value": "b"}]}, "s")
    assert PlanStep.from_json(json.loads(json.dumps(step.to_json()))) == step


def test_plan_step_from_json_rejects_non_steps() -> None:
    """A dict without a ``service:Operation`` call is not a step."""
    with pytest.raises(ValueError, match="not a plan step"):
        PlanStep.from_json({"call": "PutRolePolicy"})


# ----------------------------------------------------------------------------------- undo


def entry_for(before: LiveResource) -> JournalEntry:
    return JournalEntry.intent(
        "act-20240501T120000Z-0000abcd", datetime(2024, 5, 1, 12, tzinfo=UTC), before, ()
    )


class TestUndo:
    def test_undo_restores_every_key_including_undeclared_tags(self) -> None:
        """GIVEN a role saved before a revert WHEN the revert changed the inline policy and
        added a tag THEN undo puts the policy back and removes the added tag."""
        before = live(Kind.IAM_ROLE, ROLE, role_state(inline_policies={"read": WRITE}))
        current = live(
            Kind.IAM_ROLE,
            ROLE,
            role_state(tags={"team": "analytics", "owner": "data", "added": "1"}),
        )
        steps = undo_plan(entry_for(before), current)
        assert calls(steps) == ["iam:PutRolePolicy", "iam:UntagRole"]
        assert steps[1].params == {"RoleName": ROLE, "TagKeys": ["added"]}

    def test_undo_of_an_unchanged_resource_plans_nothing(self) -> None:
        """Current state equal to the saved one: nothing to do."""
        before = live(Kind.IAM_ROLE, ROLE, role_state())
        assert undo_plan(entry_for(before), live(Kind.IAM_ROLE, ROLE, role_state())) == ()

    def test_undo_of_a_creation_is_refused(self) -> None:
        """The action created the resource: undo would delete it, which is refused."""
        before = live(Kind.IAM_ROLE, ROLE, exists=False)
        with pytest.raises(RemediationRefusedError, match="never"):
            undo_plan(entry_for(before), live(Kind.IAM_ROLE, ROLE, role_state()))

    def test_undo_of_a_creation_already_deleted_plans_nothing(self) -> None:
        """The created resource is gone again: nothing to do."""
        before = live(Kind.IAM_ROLE, ROLE, exists=False)
        assert undo_plan(entry_for(before), live(Kind.IAM_ROLE, ROLE, exists=False)) == ()

    def test_undo_recreates_a_resource_that_existed_before(self) -> None:
        """A resource that existed before and is gone now is recreated."""
        before = live(Kind.IAM_POLICY, POLICY_ARN, {"description": None, "document": READ})
        steps = undo_plan(entry_for(before), live(Kind.IAM_POLICY, POLICY_ARN, exists=False))
        assert calls(steps) == ["iam:CreatePolicy"]


# -------------------------------------------------------------------- property: converges

POLICIES = [READ, READ_REWRITTEN, WRITE, TRUST]
ARNS = [READONLY, ADMIN, f"arn:aws:iam::{ACCOUNT}:policy/p1"]

role_states = st.fixed_dictionaries(
    {
        "path": st.just("/"),
        "description": st.sampled_from([None, "a", "b"]),
        "max_session_duration": st.sampled_from([3600, 7200]),
        "trust_policy": st.sampled_from([TRUST, READ]),
        "inline_policies": st.dictionaries(
            st.sampled_from(["p1", "p2", "p3"]), st.sampled_from(POLICIES), max_size=3
        ),
        "managed_policies": st.lists(st.sampled_from(ARNS), unique=True, max_size=3),
        "permissions_boundary": st.sampled_from([None, BOUNDARY]),
        "tags": st.dictionaries(
            st.sampled_from(["a", "b", "c"]), st.sampled_from(["1", "2"]), max_size=3
        ),
    }
)


def simulate(state: dict[str, Any], steps: tuple[PlanStep, ...]) -> dict[str, Any]:
    """Apply IAM role calls to a spec-shaped state, as IAM would."""
    out = copy.deepcopy(state)
    for step in steps:
        p = step.params
        match step.call:
            case "iam:UpdateAssumeRolePolicy":
                out["trust_policy"] = json.loads(p["PolicyDocument"])
            case "iam:PutRolePolicy":
                out["inline_policies"][p["PolicyName"]] = json.loads(p["PolicyDocument"])
            case "iam:DeleteRolePolicy":
                del out["inline_policies"][p["PolicyName"]]
            case "iam:AttachRolePolicy":
                out["managed_policies"] = sorted({*out["managed_policies"], p["PolicyArn"]})
            case "iam:DetachRolePolicy":
                out["managed_policies"].remove(p["PolicyArn"])
            case "iam:PutRolePermissionsBoundary":
                out["permissions_boundary"] = p["PermissionsBoundary"]
            case "iam:DeleteRolePermissionsBoundary":
                out["permissions_boundary"] = None
            case "iam:UpdateRole":
                if "Description" in p:
                    out["description"] = p["Description"] or None
                if "MaxSessionDuration" in p:
                    out["max_session_duration"] = p["MaxSessionDuration"]
            case "iam:TagRole":
                out["tags"].update({t["Key"]: t["Value"] for t in p["Tags"]})
            case "iam:UntagRole":
                for key in p["TagKeys"]:
                    out["tags"].pop(key, None)
            case other:
                raise AssertionError(f"unexpected call {other}")
    return out


@settings(max_examples=200, deadline=None)
@given(spec=role_states, state=role_states, keys=st.sets(st.sampled_from(list(role_state()))))
def test_applying_the_plan_brings_any_role_in_sync(
    spec: dict[str, Any], state: dict[str, Any], keys: set[str]
) -> None:
    """For any declared subset of a role spec and any live role, applying the plan gives a
    state the diff engine calls in sync, and planning again gives nothing (convergence)."""
    declared = {k: v for k, v in spec.items() if k in keys}
    want = desired(Kind.IAM_ROLE, ROLE, declared)
    after = simulate(state, plan_revert(want, live(Kind.IAM_ROLE, ROLE, state)))
    assert compare(want, live(Kind.IAM_ROLE, ROLE, after)).status is Status.IN_SYNC
    assert plan_revert(want, live(Kind.IAM_ROLE, ROLE, after)) == ()


@settings(max_examples=200, deadline=None)
@given(before=role_states, current=role_states)
def test_undo_restores_any_saved_role_exactly(
    before: dict[str, Any], current: dict[str, Any]
) -> None:
    """For any saved and current role, applying the undo plan gives the saved state: every
    key compares equal, tags included (also tags added since)."""
    entry = entry_for(live(Kind.IAM_ROLE, ROLE, before))
    after = simulate(current, undo_plan(entry, live(Kind.IAM_ROLE, ROLE, current)))
    restored = desired(Kind.IAM_ROLE, ROLE, before)
    assert compare(restored, live(Kind.IAM_ROLE, ROLE, after)).status is Status.IN_SYNC
    assert after["tags"] == before["tags"]
