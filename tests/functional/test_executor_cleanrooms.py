"""CleanRoomsExecutor: membership query logging against moto's server; the result role and
configured table associations with botocore Stubber, because moto 5.2.5's UpdateMembership
ignores defaultResultConfiguration and it does not emulate configured table associations."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import botocore.session
import pytest
from botocore.stub import Stubber

from chalicelib.collectors.cleanrooms import CleanRoomsCollector
from chalicelib.diff.engine import compare
from chalicelib.errors import RemediationError
from chalicelib.models import DesiredResource, Kind, Mode, ResourceRef, Status
from chalicelib.remediation.executors import CleanRoomsExecutor
from chalicelib.remediation.planner import PlanStep, plan_revert
from tests.conftest import ACCOUNT, REGION

if TYPE_CHECKING:
    import boto3

RESULT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/cleanrooms-results"
READ_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/cleanrooms-reader"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/attacker"
MEMBERSHIP = "c5773151-1c6c-40ff-86f2-543d68654295"
ASSOCIATION = "0b3c6e4e-7f0a-4a43-9d1e-2f5e8c1b7a90"
ARN_PREFIX = f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}"
OUTPUT: dict[str, Any] = {"s3": {"resultFormat": "CSV", "bucket": "analytics-results"}}
WHEN = dt.datetime(2026, 6, 10, tzinfo=dt.UTC)


def membership_ref(membership_id: str = MEMBERSHIP) -> ResourceRef:
    return ResourceRef(Kind.CLEANROOMS_MEMBERSHIP, membership_id, ACCOUNT, REGION)


def association_ref() -> ResourceRef:
    return ResourceRef(
        Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, f"{MEMBERSHIP}/{ASSOCIATION}", ACCOUNT, REGION
    )


def desired(ref: ResourceRef, **spec: Any) -> DesiredResource:
    return DesiredResource(ref, Mode.ENFORCE, spec, "policies/cleanrooms.yaml")


@pytest.fixture
def cleanrooms(session: boto3.Session) -> Any:
    return session.client("cleanrooms")


def create_membership(client: Any, log: str) -> str:
    """A collaboration and this account's membership in it (with a result configuration)."""
    collaboration = client.create_collaboration(
        members=[],
        name="sales-insights",
        description="joint sales analysis",
        creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"],
        creatorDisplayName="analytics",
        queryLogStatus="ENABLED",
    )["collaboration"]
    membership = client.create_membership(
        collaborationIdentifier=collaboration["id"],
        queryLogStatus=log,
        defaultResultConfiguration={"outputConfiguration": OUTPUT, "roleArn": RESULT_ROLE},
    )["membership"]
    return str(membership["id"])


class TestMembershipOnMoto:
    def test_disabled_query_logging_is_reverted_to_in_sync(self, cleanrooms: Any) -> None:
        """GIVEN query logging was disabled WHEN the plan is applied THEN UpdateMembership
        turns it on and a re-read compares in sync."""
        membership_id = create_membership(cleanrooms, "DISABLED")
        want = desired(membership_ref(membership_id), query_log_status="ENABLED")
        collector = CleanRoomsCollector(cleanrooms)
        steps = plan_revert(want, collector.read(membership_ref(membership_id)))

        made = CleanRoomsExecutor(cleanrooms).apply(steps)

        assert made == ("cleanrooms:UpdateMembership",)
        after = collector.read(membership_ref(membership_id))
        assert compare(want, after).status is Status.IN_SYNC

    def test_applying_twice_is_harmless(self, cleanrooms: Any) -> None:
        """UpdateMembership is idempotent: a second apply succeeds and stays in sync."""
        membership_id = create_membership(cleanrooms, "DISABLED")
        want = desired(membership_ref(membership_id), query_log_status="ENABLED")
        collector = CleanRoomsCollector(cleanrooms)
        steps = plan_revert(want, collector.read(membership_ref(membership_id)))
        executor = CleanRoomsExecutor(cleanrooms)
        executor.apply(steps)
        executor.apply(steps)
        assert compare(want, collector.read(membership_ref(membership_id))).status is (
            Status.IN_SYNC
        )

    def test_missing_membership_is_a_remediation_error(self, cleanrooms: Any) -> None:
        """Updating a membership that does not exist fails as a RemediationError."""
        step = PlanStep(
            "cleanrooms:UpdateMembership",
            {"membershipIdentifier": MEMBERSHIP, "queryLogStatus": "ENABLED"},
            "update",
        )
        with pytest.raises(RemediationError, match="ResourceNotFoundException"):
            CleanRoomsExecutor(cleanrooms).apply([step])


def stubbed_client() -> tuple[Any, Stubber]:
    client = botocore.session.get_session().create_client(
        "cleanrooms",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def membership(result_role: str) -> dict[str, Any]:
    """A Membership as GetMembership returns it."""
    return {
        "id": MEMBERSHIP,
        "arn": f"{ARN_PREFIX}:membership/{MEMBERSHIP}",
        "collaborationArn": f"{ARN_PREFIX}:collaboration/c0ffee00-0000-4000-8000-000000000000",
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


def association(role: str) -> dict[str, Any]:
    """A ConfiguredTableAssociation as GetConfiguredTableAssociation returns it."""
    table = "b7401977-f670-42ba-873b-eed937073127"
    return {
        "arn": f"{ARN_PREFIX}:configuredtableassociation/{MEMBERSHIP}/{ASSOCIATION}",
        "id": ASSOCIATION,
        "configuredTableId": table,
        "configuredTableArn": f"{ARN_PREFIX}:configuredtable/{table}",
        "membershipId": MEMBERSHIP,
        "membershipArn": f"{ARN_PREFIX}:membership/{MEMBERSHIP}",
        "roleArn": role,
        "name": "sales",
        "createTime": WHEN,
        "updateTime": WHEN,
    }


class TestWithStubber:
    """moto ignores the result configuration and lacks associations: Stubber stands in."""

    def test_swapped_result_role_is_restored_keeping_the_output(self) -> None:
        """GIVEN the result role was swapped WHEN the plan is applied THEN UpdateMembership
        sends the live output configuration with the desired role; the re-read is in sync."""
        client, stub = stubbed_client()
        want = desired(membership_ref(), result_role_arn=RESULT_ROLE)
        get = {"membershipIdentifier": MEMBERSHIP}
        stub.add_response("get_membership", {"membership": membership(OTHER_ROLE)}, get)
        stub.add_response(
            "update_membership",
            {"membership": membership(RESULT_ROLE)},
            {
                "membershipIdentifier": MEMBERSHIP,
                "defaultResultConfiguration": {
                    "outputConfiguration": OUTPUT,
                    "roleArn": RESULT_ROLE,
                },
            },
        )
        stub.add_response("get_membership", {"membership": membership(RESULT_ROLE)}, get)
        collector = CleanRoomsCollector(client)
        with stub:
            made = CleanRoomsExecutor(client).apply(plan_revert(want, collector.read(want.ref)))
            after = collector.read(want.ref)
        stub.assert_no_pending_responses()
        assert made == ("cleanrooms:UpdateMembership",)
        assert compare(want, after).status is Status.IN_SYNC

    def test_swapped_association_role_is_restored(self) -> None:
        """GIVEN an association's role was swapped WHEN the plan is applied THEN
        UpdateConfiguredTableAssociation restores it; the re-read is in sync."""
        client, stub = stubbed_client()
        want = desired(association_ref(), name="sales", role_arn=READ_ROLE)
        ids = {
            "membershipIdentifier": MEMBERSHIP,
            "configuredTableAssociationIdentifier": ASSOCIATION,
        }
        stub.add_response(
            "get_configured_table_association",
            {"configuredTableAssociation": association(OTHER_ROLE)},
            ids,
        )
        stub.add_response(
            "update_configured_table_association",
            {"configuredTableAssociation": association(READ_ROLE)},
            {**ids, "roleArn": READ_ROLE},
        )
        stub.add_response(
            "get_configured_table_association",
            {"configuredTableAssociation": association(READ_ROLE)},
            ids,
        )
        collector = CleanRoomsCollector(client)
        with stub:
            made = CleanRoomsExecutor(client).apply(plan_revert(want, collector.read(want.ref)))
            after = collector.read(want.ref)
        stub.assert_no_pending_responses()
        assert made == ("cleanrooms:UpdateConfiguredTableAssociation",)
        assert compare(want, after).status is Status.IN_SYNC

    def test_access_denied_is_a_remediation_error_not_a_client_error(self) -> None:
        """A refused write surfaces as RemediationError naming the call and the AWS code."""
        client, stub = stubbed_client()
        stub.add_client_error(
            "update_configured_table_association", "AccessDeniedException", http_status_code=403
        )
        step = PlanStep(
            "cleanrooms:UpdateConfiguredTableAssociation",
            {
                "membershipIdentifier": MEMBERSHIP,
                "configuredTableAssociationIdentifier": ASSOCIATION,
                "roleArn": READ_ROLE,
            },
            "restore",
        )
        with stub, pytest.raises(RemediationError, match="AccessDeniedException"):
            CleanRoomsExecutor(client).apply([step])


def test_every_call_has_a_client_method_and_a_permission() -> None:
    """The call table names real client methods; PassRole is declared for the roles."""
    client, _ = stubbed_client()
    for call, method in CleanRoomsExecutor.methods.items():
        assert callable(getattr(client, method)), call
        assert call in CleanRoomsExecutor.permissions
    assert "iam:PassRole" in CleanRoomsExecutor.permissions
