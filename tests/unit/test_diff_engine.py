"""Unit tests for the diff engine: status, per-kind comparison, unmanaged keys, paths."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from chalicelib.diff.engine import compare, diff_spec
from chalicelib.models import (
    Change,
    DesiredResource,
    Kind,
    LiveResource,
    Mode,
    Op,
    ResourceRef,
    Status,
)

ACCOUNT = "123456789012"
OTHER = "210987654321"
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/qs-athena"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/analytics/athena-read"

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "quicksight.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
ATHENA_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowAthena",
            "Effect": "Allow",
            "Action": ["athena:StartQueryExecution", "athena:GetQueryResults"],
            "Resource": "*",
        }
    ],
}
ROLE_SPEC: dict[str, Any] = {
    "path": "/service-role/",
    "description": "QuickSight reads Athena",
    "max_session_duration": 3600,
    "trust_policy": TRUST,
    "inline_policies": {"athena-query": ATHENA_POLICY},
    "managed_policies": [POLICY_ARN, "arn:aws:iam::aws:policy/AWSQuicksightAthenaAccess"],
    "permissions_boundary": None,
    "tags": {"owner": "analytics"},
}


def encode(doc: dict[str, Any]) -> str:
    return urllib.parse.quote(json.dumps(doc))


def ref(kind: Kind, rid: str) -> ResourceRef:
    return ResourceRef(kind=kind, id=rid, account=ACCOUNT, region=REGION)


def desired(kind: Kind, rid: str, spec: dict[str, Any], mode: Mode = Mode.ALERT) -> DesiredResource:
    return DesiredResource(ref=ref(kind, rid), mode=mode, spec=spec, source=f"policies/{rid}.yaml")


def live(kind: Kind, rid: str, state: dict[str, Any]) -> LiveResource:
    return LiveResource(ref=ref(kind, rid), exists=True, state=state)


def role_live(**overrides: Any) -> dict[str, Any]:
    """A live role in sync with ROLE_SPEC, spelled the way IAM returns it."""
    state: dict[str, Any] = {
        "path": "/service-role/",
        "description": "QuickSight reads Athena",
        "max_session_duration": 3600,
        "trust_policy": encode(TRUST),
        "inline_policies": {"athena-query": encode(ATHENA_POLICY)},
        "managed_policies": list(reversed(ROLE_SPEC["managed_policies"])),
        "permissions_boundary": None,
        "tags": {"owner": "analytics", "cost-centre": "42"},
    }
    state.update(overrides)
    return state


def role_changes(spec: dict[str, Any], state: dict[str, Any]) -> list[tuple[str, Op, Any, Any]]:
    return [(c.path, c.op, c.desired, c.live) for c in diff_spec(Kind.IAM_ROLE, spec, state)]


class TestStatus:
    def test_unreadable_live_state_is_error_with_the_message(self) -> None:
        """GIVEN a live read that failed WHEN compared THEN status is error with the message."""
        failed = LiveResource(ref=ref(Kind.IAM_ROLE, "r"), exists=False, error="AccessDenied")
        result = compare(desired(Kind.IAM_ROLE, "r", ROLE_SPEC), failed)
        assert (result.status, result.error, result.changes) == (Status.ERROR, "AccessDenied", ())

    def test_absent_resource_is_missing_without_changes(self) -> None:
        """GIVEN a resource that does not exist WHEN compared THEN status is missing."""
        gone = LiveResource(ref=ref(Kind.IAM_ROLE, "r"), exists=False)
        result = compare(desired(Kind.IAM_ROLE, "r", ROLE_SPEC), gone)
        assert (result.status, result.changes, result.error) == (Status.MISSING, (), None)

    def test_in_sync_resource_carries_ref_and_mode(self) -> None:
        """GIVEN an in-sync role WHEN compared THEN status in_sync with the entry's mode."""
        entry = desired(Kind.IAM_ROLE, "qs-athena", ROLE_SPEC, mode=Mode.ENFORCE)
        result = compare(entry, live(Kind.IAM_ROLE, "qs-athena", role_live()))
        assert (result.status, result.mode, result.ref) == (Status.IN_SYNC, Mode.ENFORCE, entry.ref)
        assert result.findings == ()

    def test_drifted_resource_lists_sorted_json_safe_changes(self) -> None:
        """GIVEN a role drifted in several keys WHEN compared THEN status drifted, the changes
        are sorted by path and serialise as JSON."""
        state = role_live(max_session_duration=43200, description="changed", tags={})
        result = compare(desired(Kind.IAM_ROLE, "r", ROLE_SPEC), live(Kind.IAM_ROLE, "r", state))
        assert result.status is Status.DRIFTED
        paths = [c.path for c in result.changes]
        assert paths == sorted(paths) == ["description", "max_session_duration", "tags.owner"]
        json.dumps(result.to_json())


class TestIamRole:
    def test_unmanaged_keys_are_not_compared(self) -> None:
        """GIVEN a spec with only a trust policy WHEN live differs elsewhere THEN in sync."""
        state = role_live(inline_policies={"x": ATHENA_POLICY}, managed_policies=[], tags={})
        assert role_changes({"trust_policy": TRUST}, state) == []

    def test_only_declared_tags_are_compared(self) -> None:
        """GIVEN live has an extra tag WHEN compared THEN it is ignored; a declared tag that
        changed or vanished is reported at tags.<key>."""
        assert role_changes({"tags": {"owner": "analytics"}}, role_live()) == []
        assert role_changes({"tags": {"owner": "analytics"}}, role_live(tags={"owner": "x"})) == [
            ("tags.owner", Op.CHANGE, "analytics", "x")
        ]
        assert role_changes({"tags": {"owner": "analytics"}}, role_live(tags={})) == [
            ("tags.owner", Op.REMOVE, "analytics", None)
        ]

    def test_iam_tag_list_shape_is_accepted(self) -> None:
        """GIVEN live tags as IAM's Key/Value list WHEN compared THEN they match a map."""
        state = role_live(tags=[{"Key": "owner", "Value": "analytics"}])
        assert role_changes({"tags": {"owner": "analytics"}}, state) == []

    def test_trust_policy_compares_semantically(self) -> None:
        """GIVEN the URL-encoded trust policy with a new principal WHEN compared THEN the added
        principal is reported under trust_policy."""
        trust = json.loads(json.dumps(TRUST))
        trust["Statement"][0]["Principal"]["AWS"] = OTHER
        assert role_changes({"trust_policy": TRUST}, role_live(trust_policy=encode(trust))) == [
            ("trust_policy.Statement[0].Principal.AWS", Op.ADD, None, [OTHER])
        ]

    def test_inline_policy_drift_is_reported_inside_the_policy(self) -> None:
        """GIVEN an inline policy with an added action WHEN compared THEN the path names the
        policy, the statement Sid and the field."""
        drifted = json.loads(json.dumps(ATHENA_POLICY))
        drifted["Statement"][0]["Action"].append("athena:DeleteWorkGroup")
        state = role_live(inline_policies={"athena-query": drifted})
        assert role_changes({"inline_policies": ROLE_SPEC["inline_policies"]}, state) == [
            (
                "inline_policies.athena-query.Statement[Sid=AllowAthena].Action",
                Op.ADD,
                None,
                ["athena:DeleteWorkGroup"],
            )
        ]

    def test_extra_inline_policy_is_an_add_with_the_live_document(self) -> None:
        """GIVEN a live inline policy the registry does not declare WHEN compared THEN add."""
        extra = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        state = role_live(
            inline_policies={"athena-query": ATHENA_POLICY, "backdoor": encode(extra)}
        )
        assert role_changes({"inline_policies": ROLE_SPEC["inline_policies"]}, state) == [
            ("inline_policies.backdoor", Op.ADD, None, extra)
        ]

    def test_missing_inline_policy_is_a_remove(self) -> None:
        """GIVEN a declared inline policy absent live WHEN compared THEN remove."""
        assert role_changes(
            {"inline_policies": ROLE_SPEC["inline_policies"]}, role_live(inline_policies={})
        ) == [("inline_policies.athena-query", Op.REMOVE, ATHENA_POLICY, None)]

    def test_empty_inline_policies_means_none_allowed(self) -> None:
        """GIVEN inline_policies: {} WHEN live has one THEN it is an add."""
        assert [c[:2] for c in role_changes({"inline_policies": {}}, role_live())] == [
            ("inline_policies.athena-query", Op.ADD)
        ]

    def test_managed_policies_compare_as_a_set_one_change_per_arn(self) -> None:
        """GIVEN reordered, extra and missing managed policies WHEN compared THEN one add per
        extra ARN and one remove per missing ARN, at managed_policies."""
        admin = "arn:aws:iam::aws:policy/AdministratorAccess"
        state = role_live(
            managed_policies=[admin, "arn:aws:iam::aws:policy/AWSQuicksightAthenaAccess"]
        )
        assert role_changes({"managed_policies": ROLE_SPEC["managed_policies"]}, state) == [
            ("managed_policies", Op.ADD, None, admin),
            ("managed_policies", Op.REMOVE, POLICY_ARN, None),
        ]

    @pytest.mark.parametrize(
        ("want", "have", "expected"),
        [
            (None, None, []),
            (None, POLICY_ARN, [("permissions_boundary", Op.ADD, None, POLICY_ARN)]),
            (POLICY_ARN, None, [("permissions_boundary", Op.REMOVE, POLICY_ARN, None)]),
            (POLICY_ARN, "arn:x", [("permissions_boundary", Op.CHANGE, POLICY_ARN, "arn:x")]),
        ],
        ids=["both-none", "added", "removed", "changed"],
    )
    def test_permissions_boundary(self, want: Any, have: Any, expected: list[Any]) -> None:
        """GIVEN a desired and a live boundary WHEN compared THEN the op follows None-ness."""
        assert (
            role_changes({"permissions_boundary": want}, role_live(permissions_boundary=have))
            == expected
        )

    def test_empty_and_missing_description_are_the_same(self) -> None:
        """GIVEN description "" desired and none live WHEN compared THEN in sync."""
        assert role_changes({"description": ""}, role_live(description=None)) == []

    def test_missing_live_path_defaults_to_root(self) -> None:
        """GIVEN path "/" desired and no path live WHEN compared THEN in sync."""
        assert role_changes({"path": "/"}, {}) == []


class TestIamPolicy:
    def test_equivalent_document_is_in_sync(self) -> None:
        """GIVEN the live default version spelled differently WHEN compared THEN in sync."""
        rewritten = {
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": ["ATHENA:GetQueryResults", "athena:startqueryexecution"],
                "Resource": ["*"],
            },
        }
        spec = {"document": ATHENA_POLICY, "description": "read"}
        state = {"document": encode(rewritten), "description": "read"}
        assert diff_spec(Kind.IAM_POLICY, spec, state) == []

    def test_new_default_version_with_wider_access_is_drift(self) -> None:
        """GIVEN a new default version that adds a statement WHEN compared THEN it is an add
        under document."""
        wider = json.loads(json.dumps(ATHENA_POLICY))
        wider["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
        changes = diff_spec(Kind.IAM_POLICY, {"document": ATHENA_POLICY}, {"document": wider})
        assert [(c.path, c.op) for c in changes] == [("document.Statement[live:1]", Op.ADD)]

    def test_unparseable_live_document_is_a_change(self) -> None:
        """GIVEN a live document that is not JSON WHEN compared THEN one change at document."""
        changes = diff_spec(Kind.IAM_POLICY, {"document": ATHENA_POLICY}, {"document": "%%garbage"})
        assert [(c.path, c.op) for c in changes] == [("document", Op.CHANGE)]


DS_SPEC: dict[str, Any] = {
    "name": "Redshift sales",
    "type": "REDSHIFT",
    "parameters": {
        "RedshiftParameters": {
            "Host": "sales.example.com",
            "Port": 5439,
            "Database": "sales",
            "IAMParameters": {
                "RoleArn": ROLE_ARN,
                "DatabaseUser": "qs",
                "DatabaseGroups": ["analysts", "readers"],
                "AutoCreateDatabaseUser": False,
            },
        }
    },
    "vpc_connection_properties": None,
    "ssl_properties": {"DisableSsl": False},
    "permissions": [
        {
            "principal": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:group/default/analysts",
            "actions": ["quicksight:DescribeDataSource", "quicksight:PassDataSource"],
        }
    ],
}
GROUP = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:group/default/analysts"


def ds_live(**overrides: Any) -> dict[str, Any]:
    state = json.loads(json.dumps(DS_SPEC))
    state["parameters"]["RedshiftParameters"]["IAMParameters"]["DatabaseGroups"] = [
        "readers",
        "analysts",
    ]
    state["permissions"] = [
        {
            "Principal": GROUP,
            "Actions": ["QUICKSIGHT:PassDataSource", "quicksight:describedatasource"],
        }
    ]
    state.update(overrides)
    return state


def ds_changes(
    state: dict[str, Any], spec: dict[str, Any] = DS_SPEC
) -> list[tuple[str, Op, Any, Any]]:
    return [
        (c.path, c.op, c.desired, c.live)
        for c in diff_spec(Kind.QUICKSIGHT_DATA_SOURCE, spec, state)
    ]


class TestQuickSightDataSource:
    def test_group_order_and_permission_spelling_are_not_drift(self) -> None:
        """GIVEN reordered DatabaseGroups and permissions in API shape and other case
        WHEN compared THEN in sync."""
        assert ds_changes(ds_live()) == []

    def test_changed_role_arn_is_reported_at_its_parameter_path(self) -> None:
        """GIVEN a different RoleArn live WHEN compared THEN a change at the nested path."""
        state = ds_live()
        state["parameters"]["RedshiftParameters"]["IAMParameters"]["RoleArn"] = (
            "arn:aws:iam::1:role/x"
        )
        assert ds_changes(state) == [
            (
                "parameters.RedshiftParameters.IAMParameters.RoleArn",
                Op.CHANGE,
                ROLE_ARN,
                "arn:aws:iam::1:role/x",
            )
        ]

    def test_added_parameter_key_is_an_add(self) -> None:
        """GIVEN a RoleArn added live where none was declared WHEN compared THEN add."""
        spec = {"parameters": {"AthenaParameters": {"WorkGroup": "primary"}}}
        state = {"parameters": {"AthenaParameters": {"WorkGroup": "primary", "RoleArn": ROLE_ARN}}}
        assert ds_changes(state, spec) == [
            ("parameters.AthenaParameters.RoleArn", Op.ADD, None, ROLE_ARN)
        ]

    def test_database_group_added_is_reported_as_a_set_change(self) -> None:
        """GIVEN an extra database group live WHEN compared THEN add listing the group."""
        state = ds_live()
        state["parameters"]["RedshiftParameters"]["IAMParameters"]["DatabaseGroups"].append(
            "admins"
        )
        assert ds_changes(state) == [
            ("parameters.RedshiftParameters.IAMParameters.DatabaseGroups", Op.ADD, None, ["admins"])
        ]

    def test_new_permission_principal_is_an_add(self) -> None:
        """GIVEN a principal granted on the data source live WHEN compared THEN add at
        permissions.<principal> with its actions."""
        user = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:user/default/mallory"
        state = ds_live()
        state["permissions"].append({"Principal": user, "Actions": ["quicksight:UpdateDataSource"]})
        assert ds_changes(state) == [
            (f"permissions.{user}", Op.ADD, None, ["quicksight:UpdateDataSource"])
        ]

    def test_changed_permission_actions_are_a_change(self) -> None:
        """GIVEN a principal with one more action live WHEN compared THEN change with both sets."""
        state = ds_live(
            permissions=[
                {
                    "principal": GROUP,
                    "actions": [
                        *DS_SPEC["permissions"][0]["actions"],
                        "quicksight:DeleteDataSource",
                    ],
                }
            ]
        )
        ((path, op, want, have),) = ds_changes(state)
        assert (path, op) == (f"permissions.{GROUP}", Op.CHANGE)
        assert "quicksight:DeleteDataSource" in have and "quicksight:DeleteDataSource" not in want

    def test_removed_permission_principal_is_a_remove(self) -> None:
        """GIVEN the declared principal absent live WHEN compared THEN remove."""
        assert [c[:2] for c in ds_changes(ds_live(permissions=[]))] == [
            (f"permissions.{GROUP}", Op.REMOVE)
        ]

    def test_null_vpc_equals_absent_and_ssl_change_is_reported(self) -> None:
        """GIVEN vpc null desired and absent live, SSL disabled live WHEN compared THEN only the
        SSL flag changes."""
        state = ds_live(ssl_properties={"DisableSsl": True})
        del state["vpc_connection_properties"]
        assert ds_changes(state) == [("ssl_properties.DisableSsl", Op.CHANGE, False, True)]

    def test_vpc_connection_added_is_an_add(self) -> None:
        """GIVEN a VPC connection live where null is desired WHEN compared THEN add."""
        vpc = {"VpcConnectionArn": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:vpcConnection/v"}
        assert ds_changes(ds_live(vpc_connection_properties=vpc)) == [
            ("vpc_connection_properties", Op.ADD, None, vpc)
        ]


class TestCleanRooms:
    def test_association_role_change_is_reported(self) -> None:
        """GIVEN an association bound to another role live WHEN compared THEN change role_arn."""
        spec = {"name": "orders", "role_arn": ROLE_ARN}
        state = {"name": "orders", "role_arn": "arn:aws:iam::1:role/other"}
        result = compare(
            desired(Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, "m/a", spec),
            live(Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, "m/a", state),
        )
        assert result.status is Status.DRIFTED
        assert result.changes == (
            Change("role_arn", Op.CHANGE, ROLE_ARN, "arn:aws:iam::1:role/other"),
        )

    def test_membership_in_sync_and_query_log_drift(self) -> None:
        """GIVEN a membership WHEN only query logging differs THEN one change at that key."""
        spec = {"result_role_arn": ROLE_ARN, "query_log_status": "ENABLED"}
        assert diff_spec(Kind.CLEANROOMS_MEMBERSHIP, spec, dict(spec)) == []
        assert diff_spec(
            Kind.CLEANROOMS_MEMBERSHIP, spec, {**spec, "query_log_status": "DISABLED"}
        ) == [Change("query_log_status", Op.CHANGE, "ENABLED", "DISABLED")]


def test_empty_object_live_equals_null_desired() -> None:
    """GIVEN vpc_connection_properties null desired and {} live WHEN compared THEN in sync."""
    spec = {"vpc_connection_properties": None}
    assert diff_spec(Kind.QUICKSIGHT_DATA_SOURCE, spec, {"vpc_connection_properties": {}}) == []
