"""QuickSightExecutor: UpdateDataSource/CreateDataSource against moto's server; permissions
with botocore Stubber, because moto 5.2.5 implements neither DescribeDataSourcePermissions
nor UpdateDataSourcePermissions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import botocore.session
import pytest
from botocore.stub import Stubber

from chalicelib.collectors.quicksight import QuickSightCollector
from chalicelib.diff.engine import compare
from chalicelib.errors import RemediationError
from chalicelib.models import DesiredResource, Kind, Mode, ResourceRef, Status
from chalicelib.remediation.executors import PartialRemediationError, QuickSightExecutor
from chalicelib.remediation.planner import PlanStep, plan_revert
from tests.conftest import ACCOUNT, REGION

if TYPE_CHECKING:
    import boto3

ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/qs-athena"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/attacker"
ALICE = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:user/default/alice"
MALLORY = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:user/default/mallory"
ATHENA: dict[str, Any] = {"AthenaParameters": {"WorkGroup": "primary", "RoleArn": ROLE}}
DESCRIBE = ["quicksight:DescribeDataSource", "quicksight:PassDataSource"]


def ref(data_source_id: str = "sales") -> ResourceRef:
    return ResourceRef(Kind.QUICKSIGHT_DATA_SOURCE, data_source_id, ACCOUNT, REGION)


def desired(**spec: Any) -> DesiredResource:
    base: dict[str, Any] = {"name": "Sales", "type": "ATHENA", "parameters": ATHENA}
    return DesiredResource(ref(), Mode.ENFORCE, {**base, **spec}, "policies/sales.yaml")


@pytest.fixture
def quicksight(session: boto3.Session) -> Any:
    """GIVEN an Athena data source as the registry declares it, on moto."""
    client: Any = session.client("quicksight")
    client.create_data_source(
        AwsAccountId=ACCOUNT,
        DataSourceId="sales",
        Name="Sales",
        Type="ATHENA",
        DataSourceParameters=ATHENA,
    )
    return client


class TestDataSourceOnMoto:
    def test_swapped_role_and_name_are_reverted_to_in_sync(self, quicksight: Any) -> None:
        """GIVEN the data source's RoleArn and name changed WHEN the plan is applied THEN one
        UpdateDataSource is made and a re-read compares in sync."""
        quicksight.update_data_source(
            AwsAccountId=ACCOUNT,
            DataSourceId="sales",
            Name="Hijacked",
            DataSourceParameters={
                "AthenaParameters": {"WorkGroup": "primary", "RoleArn": OTHER_ROLE}
            },
        )
        collector = QuickSightCollector(quicksight)
        steps = plan_revert(desired(), collector.read(ref()))

        made = QuickSightExecutor(quicksight).apply(steps)

        assert made == ("quicksight:UpdateDataSource",)
        assert compare(desired(), collector.read(ref())).status is Status.IN_SYNC

    def test_deleted_data_source_is_recreated_when_asked(self, quicksight: Any) -> None:
        """With recreate, a deleted data source is created again (without credentials)."""
        quicksight.delete_data_source(AwsAccountId=ACCOUNT, DataSourceId="sales")
        collector = QuickSightCollector(quicksight)
        steps = plan_revert(desired(), collector.read(ref()), recreate=True)

        made = QuickSightExecutor(quicksight).apply(steps)

        assert made == ("quicksight:CreateDataSource",)
        assert compare(desired(), collector.read(ref())).status is Status.IN_SYNC

    def test_dry_run_changes_nothing(self, quicksight: Any) -> None:
        """Dry run returns the planned call and leaves the drift in place."""
        quicksight.update_data_source(
            AwsAccountId=ACCOUNT, DataSourceId="sales", Name="Hijacked", DataSourceParameters=ATHENA
        )
        collector = QuickSightCollector(quicksight)
        steps = plan_revert(desired(), collector.read(ref()))

        assert QuickSightExecutor(quicksight).apply(steps, dry_run=True) == (
            "quicksight:UpdateDataSource",
        )
        assert collector.read(ref()).state["name"] == "Hijacked"

    def test_missing_data_source_update_is_a_remediation_error(self, quicksight: Any) -> None:
        """An update of a deleted data source fails as a RemediationError naming the call."""
        step = PlanStep(
            "quicksight:UpdateDataSource",
            {"AwsAccountId": ACCOUNT, "DataSourceId": "gone", "Name": "x"},
            "update",
        )
        with pytest.raises(RemediationError, match="quicksight:UpdateDataSource"):
            QuickSightExecutor(quicksight).apply([step])


def stubbed_client() -> tuple[Any, Stubber]:
    client = botocore.session.get_session().create_client(
        "quicksight",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def describe_response() -> dict[str, Any]:
    return {
        "DataSource": {
            "Arn": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:datasource/sales",
            "DataSourceId": "sales",
            "Name": "Sales",
            "Type": "ATHENA",
            "Status": "CREATION_SUCCESSFUL",
            "CreatedTime": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            "DataSourceParameters": ATHENA,
        },
        "RequestId": "r",
        "Status": 200,
    }


def permissions_response(permissions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "DataSourceArn": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:datasource/sales",
        "DataSourceId": "sales",
        "Permissions": permissions,
        "RequestId": "r",
        "Status": 200,
    }


class TestPermissionsWithStubber:
    """moto lacks the permissions APIs: Stubber with expected_params stands in for them."""

    def test_extra_principal_is_revoked_and_missing_one_granted(self) -> None:
        """GIVEN alice lost access and mallory gained it WHEN the plan is applied THEN one
        UpdateDataSourcePermissions grants alice and revokes mallory; the re-read is in sync."""
        client, stub = stubbed_client()
        spec = desired(permissions=[{"principal": ALICE, "actions": DESCRIBE}])
        ids = {"AwsAccountId": ACCOUNT, "DataSourceId": "sales"}
        stub.add_response("describe_data_source", describe_response(), ids)
        stub.add_response(
            "describe_data_source_permissions",
            permissions_response([{"Principal": MALLORY, "Actions": DESCRIBE}]),
            ids,
        )
        stub.add_response(
            "update_data_source_permissions",
            {"DataSourceId": "sales", "RequestId": "r", "Status": 200},
            {
                **ids,
                "GrantPermissions": [{"Principal": ALICE, "Actions": DESCRIBE}],
                "RevokePermissions": [{"Principal": MALLORY, "Actions": DESCRIBE}],
            },
        )
        stub.add_response("describe_data_source", describe_response(), ids)
        stub.add_response(
            "describe_data_source_permissions",
            permissions_response([{"Principal": ALICE, "Actions": DESCRIBE}]),
            ids,
        )
        collector = QuickSightCollector(client)
        with stub:
            steps = plan_revert(spec, collector.read(ref(), spec))
            made = QuickSightExecutor(client).apply(steps)
            after = collector.read(ref(), spec)
        stub.assert_no_pending_responses()
        assert made == ("quicksight:UpdateDataSourcePermissions",)
        assert compare(spec, after).status is Status.IN_SYNC

    def test_failed_permissions_update_after_update_is_partial(self) -> None:
        """GIVEN UpdateDataSource succeeded WHEN UpdateDataSourcePermissions fails THEN the
        error is partial and records the update."""
        client, stub = stubbed_client()
        steps = [
            PlanStep(
                "quicksight:UpdateDataSource",
                {"AwsAccountId": ACCOUNT, "DataSourceId": "sales", "Name": "Sales"},
                "update",
            ),
            PlanStep(
                "quicksight:UpdateDataSourcePermissions",
                {
                    "AwsAccountId": ACCOUNT,
                    "DataSourceId": "sales",
                    "GrantPermissions": [{"Principal": ALICE, "Actions": DESCRIBE}],
                },
                "grant",
            ),
        ]
        stub.add_response("update_data_source", {"DataSourceId": "sales", "Status": 200})
        stub.add_client_error(
            "update_data_source_permissions", "ThrottlingException", http_status_code=429
        )
        with stub, pytest.raises(PartialRemediationError) as caught:
            QuickSightExecutor(client).apply(steps)
        assert caught.value.calls == ("quicksight:UpdateDataSource",)


def test_credentials_are_never_written() -> None:
    """A step carrying Credentials is refused before any call (no client call is stubbed, so
    any call would fail the test)."""
    client, stub = stubbed_client()
    step = PlanStep(
        "quicksight:UpdateDataSource",
        {
            "AwsAccountId": ACCOUNT,
            "DataSourceId": "sales",
            "Name": "Sales",
            "Credentials": {"CredentialPair": {"Username": "u", "Password": "p"}},
        },
        "update",
    )
    with stub, pytest.raises(RemediationError, match="Credentials"):
        QuickSightExecutor(client).apply([step])


def test_every_call_has_a_client_method_and_a_permission() -> None:
    """The call table names real client methods; PassRole is declared for RoleArn."""
    client, _ = stubbed_client()
    for call, method in QuickSightExecutor.methods.items():
        assert callable(getattr(client, method)), call
        assert call in QuickSightExecutor.permissions
    assert "iam:PassRole" in QuickSightExecutor.permissions
