"""Each mode through the responder against moto's server: ``enforce`` reverts (journal entry with
before and after), ``alert`` notifies and writes nothing, ``ignore`` does nothing at all.

moto 5.2.5 emulates neither QuickSight data source permissions nor Clean Rooms configured table
associations, and its UpdateMembership ignores the result configuration: those kinds are driven
through ``Responder.handle_event`` with Stubber-backed clients put into the wiring's client cache
(``wiring._clients[service]``), while IAM stays on moto.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.models import Decision, Op, Status
from tests.conftest import ACCOUNT, REGION
from tests.events import api_call
from tests.fakes import (
    RecordingNotifier,
    build_wiring,
    copy_registry,
    create_bucket,
    policy_doc,
    reset_emulator,
    seed_registry,
    stubbed_client,
    watch_wiring,
)

ATHENA_ROLE = "dw-quicksight-athena"
REDSHIFT_ROLE = "dw-quicksight-redshift"
WIDE = policy_doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
READ_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/dw-cleanrooms-read-data"
RECEIVE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/dw-cleanrooms-receive-results"
OTHER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/partner-controlled"
MEMBERSHIP = "c5773151-1c6c-40ff-86f2-543d68654295"
ASSOCIATION = "0b3c6e4e-7f0a-4a43-9d1e-2f5e8c1b7a90"
CR_ARN = f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}"
WHEN = dt.datetime(2026, 6, 10, tzinfo=dt.UTC)
OUTPUT: dict[str, Any] = {"s3": {"resultFormat": "CSV", "bucket": "dw-cleanrooms-results"}}
ANALYSTS = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:group/default/analysts"
MALLORY = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:user/default/mallory"
USE = ["quicksight:DescribeDataSource", "quicksight:PassDataSource"]
OWN = [*USE, "quicksight:UpdateDataSourcePermissions"]


@pytest.fixture(autouse=True)
def _leave_emulator_clean(moto_endpoint: str) -> Iterator[None]:
    """Wipe moto after each test (its state is process-wide; see ``reset_emulator``)."""
    yield
    reset_emulator(moto_endpoint)


@pytest.fixture
def journal(session: boto3.Session) -> str:
    return f"s3://{create_bucket(session)}/journal"


def put_extra_inline(session: boto3.Session, role: str) -> None:
    session.client("iam").put_role_policy(
        RoleName=role, PolicyName="temp-debug", PolicyDocument=WIDE
    )


def put_event(role: str) -> dict[str, Any]:
    return api_call(
        "aws.iam",
        "PutRolePolicy",
        {"roleName": role, "policyName": "temp-debug", "policyDocument": WIDE},
    )


def inline_names(session: boto3.Session, role: str) -> list[str]:
    return list(session.client("iam").list_role_policies(RoleName=role)["PolicyNames"])


class TestEnforce:
    def test_drift_is_reverted_and_journalled_with_before_and_after(
        self, seeded: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN an extra inline policy on an enforce role WHEN its event is handled THEN one
        DeleteRolePolicy removes it, and the journal entry is applied with the drifted state
        as ``before``, the desired state as ``after``, the plan, event and actor."""
        wiring = build_wiring(session, seeded, journal=journal)
        notifier = RecordingNotifier()
        wiring.notifiers = [notifier]
        put_extra_inline(session, ATHENA_ROLE)

        outcome = wiring.responder.handle_event(put_event(ATHENA_ROLE))

        assert outcome.decision is Decision.REVERTED
        (response,) = outcome.responses
        assert response.action is not None
        assert response.action.calls == ("iam:DeleteRolePolicy",)
        assert inline_names(session, ATHENA_ROLE) == ["athena-query"]
        assert wiring.journal is not None
        entry = wiring.journal.get(response.action.action_id)
        assert str(entry.status) == "applied"
        assert entry.before["exists"] is True
        assert set(entry.before["state"]["inline_policies"]) == {"athena-query", "temp-debug"}
        assert entry.after is not None
        assert set(entry.after["state"]["inline_policies"]) == {"athena-query"}
        assert [step["call"] for step in entry.plan] == ["iam:DeleteRolePolicy"]
        assert entry.calls == ("iam:DeleteRolePolicy",)
        assert entry.event is not None
        assert entry.event["event_name"] == "PutRolePolicy"
        assert entry.actor == (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/platform-admin/alice@example.com"
        )
        (alert,) = notifier.alerts
        assert alert.decision is Decision.REVERTED
        assert alert.undo_command == f"driftwarden undo {response.action.action_id}"

    def test_drift_fixed_before_the_event_arrives_needs_no_write(
        self, seeded: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN a drift that was undone by hand before its (late) event arrives WHEN the event
        is handled THEN the live state is re-read, found in sync, and nothing is written."""
        wiring = build_wiring(session, seeded, journal=journal)
        calls = watch_wiring(wiring)
        put_extra_inline(session, ATHENA_ROLE)
        session.client("iam").delete_role_policy(RoleName=ATHENA_ROLE, PolicyName="temp-debug")

        outcome = wiring.responder.handle_event(put_event(ATHENA_ROLE))

        assert outcome.decision is Decision.IN_SYNC
        assert calls.writes_to("iam") == []
        assert calls.writes_to("s3") == []


class TestAlert:
    def test_alert_entry_is_notified_and_nothing_is_written(
        self, seeded: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN an extra inline policy on an alert-mode role WHEN its event is handled THEN
        the decision is alerted, one notification says "mode alert", no IAM or journal write
        call is made and the drift stays."""
        wiring = build_wiring(session, seeded, journal=journal)
        notifier = RecordingNotifier()
        wiring.notifiers = [notifier]
        calls = watch_wiring(wiring)
        put_extra_inline(session, REDSHIFT_ROLE)

        outcome = wiring.responder.handle_event(put_event(REDSHIFT_ROLE))

        assert outcome.decision is Decision.ALERTED
        assert outcome.exit_code() == 3
        assert calls.writes_to("iam") == []
        assert calls.writes_to("s3") == []
        assert "temp-debug" in inline_names(session, REDSHIFT_ROLE)
        (alert,) = notifier.alerts
        assert alert.decision is Decision.ALERTED
        assert alert.reason == "mode alert"
        assert alert.action is None


class TestIgnore:
    def test_ignore_entry_is_left_alone_without_notification(
        self, tmp_path: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN a role whose entry has mode ignore WHEN it drifts and its event is handled
        THEN the decision is ignored (mode ignore), nothing is written and nobody is told."""

        def ignore(doc: dict[str, Any]) -> None:
            doc["mode"] = "ignore"

        registry = seed_registry(
            copy_registry(tmp_path / "registry", {f"iam/roles/{ATHENA_ROLE}.yaml": ignore}),
            session,
        )
        wiring = build_wiring(session, registry, journal=journal)
        notifier = RecordingNotifier()
        wiring.notifiers = [notifier]
        calls = watch_wiring(wiring)
        put_extra_inline(session, ATHENA_ROLE)

        outcome = wiring.responder.handle_event(put_event(ATHENA_ROLE))

        assert outcome.decision is Decision.IGNORED
        (response,) = outcome.responses
        assert response.reason == "mode ignore"
        assert calls.writes == []
        assert notifier.alerts == []
        assert "temp-debug" in inline_names(session, ATHENA_ROLE)


# ---------------------------------------------------------------------------------------------
# Kinds moto does not emulate: Stubber-backed clients in the wiring's client cache


def _declare_permissions(doc: dict[str, Any]) -> None:
    doc["spec"]["permissions"] = [
        {"principal": ANALYSTS, "actions": USE},
        {
            "principal": f"arn:aws:quicksight:{REGION}:${{AccountId}}:group/default/bi-admins",
            "actions": OWN,
        },
    ]


@pytest.fixture
def stub_registry(tmp_path: Path, session: boto3.Session) -> Path:
    """The sample registry plus data source permissions, a Clean Rooms association and a
    membership (IAM and QuickSight seeded on moto)."""
    extra = {
        "cleanrooms/association.yaml": {
            "kind": "cleanrooms_configured_table_association",
            "id": f"{MEMBERSHIP}/{ASSOCIATION}",
            "mode": "enforce",
            "spec": {
                "name": "orders",
                "role_arn": "arn:${Partition}:iam::${AccountId}:role/service-role/"
                "dw-cleanrooms-read-data",
            },
        },
        "cleanrooms/membership.yaml": {
            "kind": "cleanrooms_membership",
            "id": MEMBERSHIP,
            "mode": "enforce",
            "spec": {
                "result_role_arn": "arn:${Partition}:iam::${AccountId}:role/service-role/"
                "dw-cleanrooms-receive-results",
                "query_log_status": "ENABLED",
            },
        },
    }
    registry = copy_registry(
        tmp_path / "registry",
        {"quicksight/data-sources/dw-sales-athena.yaml": _declare_permissions},
        extra,
    )
    return seed_registry(registry, session)


def _data_source() -> dict[str, Any]:
    return {
        "DataSource": {
            "Arn": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:datasource/dw-sales-athena",
            "DataSourceId": "dw-sales-athena",
            "Name": "Sales (Athena)",
            "Type": "ATHENA",
            "Status": "CREATION_SUCCESSFUL",
            "CreatedTime": WHEN,
            "DataSourceParameters": {
                "AthenaParameters": {
                    "WorkGroup": "primary",
                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/{ATHENA_ROLE}",
                }
            },
            "SslProperties": {"DisableSsl": False},
        },
        "RequestId": "r",
        "Status": 200,
    }


def _permissions(*extra: dict[str, Any]) -> dict[str, Any]:
    declared = [
        {"Principal": ANALYSTS, "Actions": USE},
        {
            "Principal": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:group/default/bi-admins",
            "Actions": OWN,
        },
    ]
    return {
        "DataSourceArn": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:datasource/dw-sales-athena",
        "DataSourceId": "dw-sales-athena",
        "Permissions": [*declared, *extra],
        "RequestId": "r",
        "Status": 200,
    }


def _association(role: str) -> dict[str, Any]:
    table = "b7401977-f670-42ba-873b-eed937073127"
    return {
        "configuredTableAssociation": {
            "arn": f"{CR_ARN}:configuredtableassociation/{MEMBERSHIP}/{ASSOCIATION}",
            "id": ASSOCIATION,
            "configuredTableId": table,
            "configuredTableArn": f"{CR_ARN}:configuredtable/{table}",
            "membershipId": MEMBERSHIP,
            "membershipArn": f"{CR_ARN}:membership/{MEMBERSHIP}",
            "roleArn": role,
            "name": "orders",
            "createTime": WHEN,
            "updateTime": WHEN,
        }
    }


def _membership(result_role: str) -> dict[str, Any]:
    return {
        "membership": {
            "id": MEMBERSHIP,
            "arn": f"{CR_ARN}:membership/{MEMBERSHIP}",
            "collaborationArn": f"{CR_ARN}:collaboration/c0ffee00-0000-4000-8000-000000000000",
            "collaborationId": "c0ffee00-0000-4000-8000-000000000000",
            "collaborationCreatorAccountId": ACCOUNT,
            "collaborationCreatorDisplayName": "analytics",
            "collaborationName": "sales-insights",
            "createTime": WHEN,
            "updateTime": WHEN,
            "status": "ACTIVE",
            "memberAbilities": ["CAN_QUERY", "CAN_RECEIVE_RESULTS"],
            "queryLogStatus": "ENABLED",
            "defaultResultConfiguration": {"outputConfiguration": OUTPUT, "roleArn": result_role},
            "paymentConfiguration": {"queryCompute": {"isResponsible": True}},
        }
    }


class TestKindsMotoLacks:
    def test_granted_data_source_permission_is_revoked(
        self, stub_registry: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN mallory was granted access to an enforce data source (QuickSight stubbed: moto
        lacks the permissions APIs) WHEN UpdateDataSourcePermissions is handled THEN one
        UpdateDataSourcePermissions revokes exactly mallory and the re-read is in sync."""
        wiring = build_wiring(session, stub_registry, journal=journal)
        quicksight, stub = stubbed_client("quicksight")
        wiring._clients["quicksight"] = quicksight
        ids = {"AwsAccountId": ACCOUNT, "DataSourceId": "dw-sales-athena"}
        drifted = _permissions({"Principal": MALLORY, "Actions": OWN})
        for _ in range(2):  # the comparison, then the re-read just before writing
            stub.add_response("describe_data_source", _data_source(), ids)
            stub.add_response("describe_data_source_permissions", drifted, ids)
        stub.add_response(
            "update_data_source_permissions",
            {"DataSourceId": "dw-sales-athena", "RequestId": "r", "Status": 200},
            {**ids, "RevokePermissions": [{"Principal": MALLORY, "Actions": sorted(OWN)}]},
        )
        stub.add_response("describe_data_source", _data_source(), ids)
        stub.add_response("describe_data_source_permissions", _permissions(), ids)
        event = api_call(
            "aws.quicksight",
            "UpdateDataSourcePermissions",
            {
                **{k[0].lower() + k[1:]: v for k, v in ids.items()},
                "grantPermissions": [{"principal": MALLORY, "actions": OWN}],
            },
        )

        outcome = wiring.responder.handle_event(event)

        stub.assert_no_pending_responses()
        assert outcome.decision is Decision.REVERTED, outcome.to_json()
        (response,) = outcome.responses
        assert response.action is not None
        assert response.action.calls == ("quicksight:UpdateDataSourcePermissions",)
        assert [(c.path, c.op) for c in response.result.changes] == [
            (f"permissions.{MALLORY}", Op.ADD)
        ]

    def test_swapped_association_role_is_restored(
        self, stub_registry: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN a configured table association re-pointed at a partner's role (Clean Rooms
        stubbed: moto lacks associations) WHEN UpdateConfiguredTableAssociation is handled THEN
        the role is put back and the re-read is in sync."""
        wiring = build_wiring(session, stub_registry, journal=journal)
        cleanrooms, stub = stubbed_client("cleanrooms")
        wiring._clients["cleanrooms"] = cleanrooms
        ids = {
            "membershipIdentifier": MEMBERSHIP,
            "configuredTableAssociationIdentifier": ASSOCIATION,
        }
        for _ in range(2):
            stub.add_response("get_configured_table_association", _association(OTHER_ROLE_ARN), ids)
        stub.add_response(
            "update_configured_table_association",
            _association(READ_ROLE_ARN),
            {**ids, "roleArn": READ_ROLE_ARN},
        )
        stub.add_response("get_configured_table_association", _association(READ_ROLE_ARN), ids)
        event = api_call(
            "aws.cleanrooms",
            "UpdateConfiguredTableAssociation",
            {**ids, "roleArn": OTHER_ROLE_ARN},
        )

        outcome = wiring.responder.handle_event(event)

        stub.assert_no_pending_responses()
        assert outcome.decision is Decision.REVERTED, outcome.to_json()
        (response,) = outcome.responses
        assert response.action is not None
        assert response.action.calls == ("cleanrooms:UpdateConfiguredTableAssociation",)
        assert response.result.status is Status.DRIFTED

    def test_swapped_membership_result_role_is_restored_keeping_the_output(
        self, stub_registry: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN the membership's result role was swapped (Clean Rooms stubbed: moto ignores
        the result configuration) WHEN UpdateMembership is handled THEN UpdateMembership sends
        the live output configuration with the registry's role."""
        wiring = build_wiring(session, stub_registry, journal=journal)
        cleanrooms, stub = stubbed_client("cleanrooms")
        wiring._clients["cleanrooms"] = cleanrooms
        get = {"membershipIdentifier": MEMBERSHIP}
        for _ in range(2):
            stub.add_response("get_membership", _membership(OTHER_ROLE_ARN), get)
        stub.add_response(
            "update_membership",
            _membership(RECEIVE_ROLE_ARN),
            {
                **get,
                "defaultResultConfiguration": {
                    "outputConfiguration": OUTPUT,
                    "roleArn": RECEIVE_ROLE_ARN,
                },
            },
        )
        stub.add_response("get_membership", _membership(RECEIVE_ROLE_ARN), get)
        event = api_call(
            "aws.cleanrooms",
            "UpdateMembership",
            {
                **get,
                "defaultResultConfiguration": {
                    "outputConfiguration": OUTPUT,
                    "roleArn": OTHER_ROLE_ARN,
                },
            },
        )

        outcome = wiring.responder.handle_event(event)

        stub.assert_no_pending_responses()
        assert outcome.decision is Decision.REVERTED, json.dumps(outcome.to_json())
        (response,) = outcome.responses
        assert response.action is not None
        assert response.action.calls == ("cleanrooms:UpdateMembership",)
