"""CleanRoomsCollector: memberships against moto's server, associations with Stubber.

moto 5.2.5 emulates memberships (create, get, list; update of queryLogStatus only) but not
configured table associations (404 "Not yet implemented"), so every association test uses
botocore's Stubber, with response shapes from the Clean Rooms API model.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

import botocore.session
import pytest
from botocore.stub import Stubber

from chalicelib.collectors.cleanrooms import CleanRoomsCollector
from chalicelib.errors import AccessDeniedError, CollectorError
from chalicelib.models import Kind, LiveResource, ResourceRef
from tests.conftest import ACCOUNT, REGION

if TYPE_CHECKING:
    import boto3

RESULT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/cleanrooms-results"
READ_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/cleanrooms-reader"
MEMBERSHIP = "c5773151-1c6c-40ff-86f2-543d68654295"
ASSOCIATION = "0b3c6e4e-7f0a-4a43-9d1e-2f5e8c1b7a90"
TABLE = "b7401977-f670-42ba-873b-eed937073127"
ARN_PREFIX = f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}"
UNKNOWN = "00000000-0000-0000-0000-000000000000"


def membership_ref(membership_id: str) -> ResourceRef:
    return ResourceRef(Kind.CLEANROOMS_MEMBERSHIP, membership_id, ACCOUNT, REGION)


def association_ref(membership_id: str = MEMBERSHIP, assoc: str = ASSOCIATION) -> ResourceRef:
    return ResourceRef(
        Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, f"{membership_id}/{assoc}", ACCOUNT, REGION
    )


def count_calls(client: Any) -> Counter[str]:
    """Count the API operations a client makes (a botocore ``before-call`` hook)."""
    calls: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.*.*", record)
    return calls


def stubbed_client() -> tuple[Any, Stubber]:
    client = botocore.session.get_session().create_client(
        "cleanrooms",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def association(assoc: str = ASSOCIATION, role: str = READ_ROLE) -> dict[str, Any]:
    """A ConfiguredTableAssociation as GetConfiguredTableAssociation returns it."""
    return {
        "arn": f"{ARN_PREFIX}:configuredtableassociation/{MEMBERSHIP}/{assoc}",
        "id": assoc,
        "configuredTableId": TABLE,
        "configuredTableArn": f"{ARN_PREFIX}:configuredtable/{TABLE}",
        "membershipId": MEMBERSHIP,
        "membershipArn": f"{ARN_PREFIX}:membership/{MEMBERSHIP}",
        "roleArn": role,
        "name": "sales",
        "description": "sales table",
        "analysisRuleTypes": ["AGGREGATION"],
        "createTime": dt.datetime(2026, 6, 10, tzinfo=dt.UTC),
        "updateTime": dt.datetime(2026, 6, 10, tzinfo=dt.UTC),
    }


def summary(assoc: str) -> dict[str, Any]:
    """A ConfiguredTableAssociationSummary (no roleArn: hence the Get per association)."""
    full = association(assoc)
    keys = ("configuredTableId", "membershipId", "membershipArn", "name", "createTime")
    return {
        **{k: full[k] for k in keys},
        "updateTime": full["updateTime"],
        "id": assoc,
        "arn": full["arn"],
    }


@pytest.fixture
def cleanrooms(session: boto3.Session) -> Any:
    return session.client("cleanrooms")


def create_membership(client: Any, result_role: str | None, log: str = "DISABLED") -> str:
    """Create a collaboration and this account's membership in it; return the membership id."""
    collaboration = client.create_collaboration(
        members=[],
        name="sales-insights",
        description="joint sales analysis",
        creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"],
        creatorDisplayName="analytics",
        queryLogStatus="ENABLED",
    )["collaboration"]
    kwargs: dict[str, Any] = {}
    if result_role is not None:
        kwargs["defaultResultConfiguration"] = {
            "outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": "analytics-results"}},
            "roleArn": result_role,
        }
    membership = client.create_membership(
        collaborationIdentifier=collaboration["id"], queryLogStatus=log, **kwargs
    )["membership"]
    return str(membership["id"])


class TestMembershipsOnMoto:
    def test_membership_state_has_result_role_and_query_log_status(self, cleanrooms: Any) -> None:
        """GetMembership → {result_role_arn, query_log_status}; facts carry ARN and status."""
        membership_id = create_membership(cleanrooms, RESULT_ROLE)
        live = CleanRoomsCollector(cleanrooms).read(membership_ref(membership_id))
        assert live.state == {"result_role_arn": RESULT_ROLE, "query_log_status": "DISABLED"}
        assert live.facts["arn"] == f"{ARN_PREFIX}:membership/{membership_id}"
        assert live.facts["status"] == "ACTIVE"
        assert live.facts["result_output_configuration"] == {
            "s3": {"resultFormat": "CSV", "bucket": "analytics-results"}
        }

    def test_membership_without_result_configuration_has_no_result_role(
        self, cleanrooms: Any
    ) -> None:
        """No defaultResultConfiguration → result_role_arn None (key still present)."""
        membership_id = create_membership(cleanrooms, None, log="ENABLED")
        live = CleanRoomsCollector(cleanrooms).read(membership_ref(membership_id))
        assert live.state == {"result_role_arn": None, "query_log_status": "ENABLED"}

    def test_query_log_status_change_is_seen(self, cleanrooms: Any) -> None:
        """A re-read after UpdateMembership shows the new queryLogStatus."""
        membership_id = create_membership(cleanrooms, RESULT_ROLE)
        cleanrooms.update_membership(membershipIdentifier=membership_id, queryLogStatus="ENABLED")
        live = CleanRoomsCollector(cleanrooms).read(membership_ref(membership_id))
        assert live.state["query_log_status"] == "ENABLED"

    def test_missing_membership_reads_as_not_existing(self, cleanrooms: Any) -> None:
        """ResourceNotFoundException → exists=False."""
        live = CleanRoomsCollector(cleanrooms).read(membership_ref(UNKNOWN))
        assert live == LiveResource(ref=membership_ref(UNKNOWN), exists=False)

    def test_bulk_equals_single_and_gets_only_listed_refs(self, cleanrooms: Any) -> None:
        """1 ListMemberships + 1 GetMembership per managed, listed ref; unknown → missing."""
        managed = create_membership(cleanrooms, RESULT_ROLE)
        create_membership(cleanrooms, None)  # not managed: never fetched
        collector = CleanRoomsCollector(cleanrooms)
        single = collector.read(membership_ref(managed))
        calls = count_calls(cleanrooms)
        out = collector.read_all([membership_ref(managed), membership_ref(UNKNOWN)])
        assert calls == Counter({"ListMemberships": 1, "GetMembership": 1})
        assert out[membership_ref(managed)] == single
        assert out[membership_ref(UNKNOWN)].exists is False

    def test_discover_without_associations_lists_memberships(self, cleanrooms: Any) -> None:
        """discover(include_associations=False) returns every membership sorted by id."""
        ids = sorted(
            [create_membership(cleanrooms, RESULT_ROLE), create_membership(cleanrooms, None)]
        )
        found = CleanRoomsCollector(cleanrooms).discover(include_associations=False)
        assert [m.ref.id for m in found] == ids
        assert {m.ref.account for m in found} == {ACCOUNT}

    def test_declared_permissions_cover_every_call_made(self, cleanrooms: Any) -> None:
        """Every operation called on moto is declared; every declared one exists."""
        membership_id = create_membership(cleanrooms, RESULT_ROLE)
        calls = count_calls(cleanrooms)
        collector = CleanRoomsCollector(cleanrooms)
        collector.read(membership_ref(membership_id))
        collector.read_all([membership_ref(membership_id)])
        collector.discover(include_associations=False)
        assert {f"cleanrooms:{op}" for op in calls} <= set(CleanRoomsCollector.permissions)
        model = botocore.session.get_session().get_service_model("cleanrooms")
        assert {p.split(":")[1] for p in CleanRoomsCollector.permissions} <= set(
            model.operation_names
        )


class TestAssociationsWithStubber:
    """Configured table associations are not emulated by moto 5.2.5: Stubber."""

    def test_association_state_has_name_and_role(self) -> None:
        """GetConfiguredTableAssociation(membership, association) → {name, role_arn}."""
        client, stub = stubbed_client()
        stub.add_response(
            "get_configured_table_association",
            {"configuredTableAssociation": association()},
            {
                "membershipIdentifier": MEMBERSHIP,
                "configuredTableAssociationIdentifier": ASSOCIATION,
            },
        )
        with stub:
            live = CleanRoomsCollector(client).read(association_ref())
        assert live.state == {"name": "sales", "role_arn": READ_ROLE}
        assert live.facts["configured_table_id"] == TABLE

    def test_missing_association_reads_as_not_existing(self) -> None:
        """ResourceNotFoundException → exists=False."""
        client, stub = stubbed_client()
        stub.add_client_error(
            "get_configured_table_association", "ResourceNotFoundException", "", 404
        )
        with stub:
            assert CleanRoomsCollector(client).read(association_ref()).exists is False

    @pytest.mark.parametrize("bad_id", ["no-slash", "/assoc", f"{MEMBERSHIP}/", "a/b/c"])
    def test_malformed_association_id_is_refused(self, bad_id: str) -> None:
        """An id that is not <membership-id>/<association-id> raises CollectorError (read) and
        is an error entry (read_all), without any call."""
        client, stub = stubbed_client()
        bad = ResourceRef(Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, bad_id, ACCOUNT, REGION)
        with stub:
            with pytest.raises(CollectorError, match="membership-id"):
                CleanRoomsCollector(client).read(bad)
            assert CleanRoomsCollector(client).read_all([bad])[bad].error is not None

    def test_bulk_lists_per_membership_and_gets_only_managed_associations(self) -> None:
        """One listing per membership; Get only for refs in the listing; others missing."""
        other, gone = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
        client, stub = stubbed_client()
        stub.add_response(
            "list_configured_table_associations",
            {"configuredTableAssociationSummaries": [summary(ASSOCIATION), summary(other)]},
            {"membershipIdentifier": MEMBERSHIP, "maxResults": 100},
        )
        stub.add_response(
            "get_configured_table_association",
            {"configuredTableAssociation": association()},
            {
                "membershipIdentifier": MEMBERSHIP,
                "configuredTableAssociationIdentifier": ASSOCIATION,
            },
        )
        refs = [association_ref(), association_ref(assoc=gone)]
        with stub:
            out = CleanRoomsCollector(client).read_all(refs)
            stub.assert_no_pending_responses()
        assert out[refs[0]].state == {"name": "sales", "role_arn": READ_ROLE}
        assert out[refs[1]].exists is False and out[refs[1]].error is None

    def test_bulk_associations_of_a_deleted_membership_are_missing(self) -> None:
        """ResourceNotFoundException on the listing → every association of it is missing."""
        client, stub = stubbed_client()
        stub.add_client_error(
            "list_configured_table_associations", "ResourceNotFoundException", "", 404
        )
        with stub:
            out = CleanRoomsCollector(client).read_all([association_ref()])
        assert out[association_ref()] == LiveResource(ref=association_ref(), exists=False)

    def test_a_failed_get_is_an_error_for_that_association_only(self) -> None:
        """ThrottlingException on one Get does not crash the bulk read."""
        second = "33333333-3333-3333-3333-333333333333"
        client, stub = stubbed_client()
        stub.add_response(
            "list_configured_table_associations",
            {"configuredTableAssociationSummaries": [summary(ASSOCIATION), summary(second)]},
        )
        stub.add_client_error("get_configured_table_association", "ThrottlingException", "", 429)
        stub.add_response(
            "get_configured_table_association", {"configuredTableAssociation": association(second)}
        )
        refs = [association_ref(), association_ref(assoc=second)]
        with stub:
            out = CleanRoomsCollector(client).read_all(refs)
        assert "ThrottlingException" in str(out[refs[0]].error)
        assert out[refs[1]].exists and out[refs[1]].error is None

    def test_access_denied_raises_access_denied_error(self) -> None:
        """AccessDeniedException → AccessDeniedError naming the resource and the code."""
        client, stub = stubbed_client()
        stub.add_client_error("get_membership", "AccessDeniedException", "denied", 403)
        with stub, pytest.raises(AccessDeniedError) as info:
            CleanRoomsCollector(client).read(membership_ref(MEMBERSHIP))
        assert f"cleanrooms_membership/{MEMBERSHIP}" in str(info.value)
        assert "AccessDeniedException" in str(info.value)

    def test_discover_includes_associations_of_active_memberships(self) -> None:
        """discover() lists memberships, then each active membership's associations."""
        client, stub = stubbed_client()
        created = dt.datetime(2026, 6, 9, tzinfo=dt.UTC)
        membership = {
            "id": MEMBERSHIP,
            "arn": f"{ARN_PREFIX}:membership/{MEMBERSHIP}",
            "collaborationArn": f"{ARN_PREFIX}:collaboration/{TABLE}",
            "collaborationId": TABLE,
            "collaborationCreatorAccountId": ACCOUNT,
            "collaborationCreatorDisplayName": "analytics",
            "collaborationName": "sales-insights",
            "createTime": created,
            "updateTime": created,
            "status": "ACTIVE",
            "memberAbilities": ["CAN_QUERY"],
            "paymentConfiguration": {"queryCompute": {"isResponsible": True}},
        }
        stub.add_response("list_memberships", {"membershipSummaries": [membership]})
        stub.add_response(
            "get_membership", {"membership": {**membership, "queryLogStatus": "ENABLED"}}
        )
        stub.add_response(
            "list_configured_table_associations",
            {"configuredTableAssociationSummaries": [summary(ASSOCIATION)]},
        )
        stub.add_response(
            "get_configured_table_association", {"configuredTableAssociation": association()}
        )
        with stub:
            found = CleanRoomsCollector(client).discover()
            stub.assert_no_pending_responses()
        assert [(r.ref.kind, r.ref.id) for r in found] == [
            (Kind.CLEANROOMS_MEMBERSHIP, MEMBERSHIP),
            (Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, f"{MEMBERSHIP}/{ASSOCIATION}"),
        ]
