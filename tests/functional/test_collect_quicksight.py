"""QuickSightCollector against moto's server (data sources) and Stubber (permissions, errors).

moto 5.2.5 emulates Create/Describe/List/UpdateDataSource but answers 404 "Not yet
implemented" to DescribeDataSourcePermissions, so everything about permissions uses botocore's
Stubber, as do the access-denied cases and the parsing of real recorded ListDataSources output.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

import botocore.session
import pytest
from botocore.stub import Stubber

from chalicelib.collectors.quicksight import QuickSightCollector
from chalicelib.errors import AccessDeniedError, CollectorError
from chalicelib.models import DesiredResource, Kind, LiveResource, Mode, ResourceRef
from tests.conftest import ACCOUNT, CORPUS, REGION, load_json

if TYPE_CHECKING:
    import boto3

SPEC_KEYS = {"name", "type", "parameters", "vpc_connection_properties", "ssl_properties"}
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/qs-athena"
ADMIN = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:user/default/admin"
READER = f"arn:aws:quicksight:{REGION}:{ACCOUNT}:group/default/readers"
ATHENA = {"AthenaParameters": {"WorkGroup": "primary", "RoleArn": ROLE}}
REDSHIFT = {
    "RedshiftParameters": {
        "Host": "analytics.abc123.us-east-1.redshift.amazonaws.com",
        "Port": 5439,
        "Database": "sales",
        "ClusterId": "analytics",
        "IAMParameters": {
            "RoleArn": ROLE,
            "DatabaseUser": "quicksight",
            "DatabaseGroups": ["analysts", "readers"],
            "AutoCreateDatabaseUser": True,
        },
    }
}
S3 = {
    "S3Parameters": {
        "ManifestFileLocation": {"Bucket": "analytics-data", "Key": "sales/manifest.json"},
        "RoleArn": ROLE,
    }
}
VPC = {"VpcConnectionArn": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:vpcConnection/analytics"}


def ref(data_source_id: str, account: str = ACCOUNT) -> ResourceRef:
    return ResourceRef(Kind.QUICKSIGHT_DATA_SOURCE, data_source_id, account, REGION)


def desired(data_source_id: str, **spec: Any) -> DesiredResource:
    return DesiredResource(ref(data_source_id), Mode.ALERT, spec, source=f"{data_source_id}.yaml")


def count_calls(client: Any) -> Counter[str]:
    """Count the API operations a client makes (a botocore ``before-call`` hook)."""
    calls: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.*.*", record)
    return calls


def stubbed_client() -> tuple[Any, Stubber]:
    client = botocore.session.get_session().create_client(
        "quicksight",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def data_source(data_source_id: str, **fields: Any) -> dict[str, Any]:
    """A DataSource structure as DescribeDataSource/ListDataSources return it."""
    return {
        "Arn": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:datasource/{data_source_id}",
        "DataSourceId": data_source_id,
        "Name": data_source_id,
        "Type": "ATHENA",
        "Status": "CREATION_SUCCESSFUL",
        "CreatedTime": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        "LastUpdatedTime": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        "DataSourceParameters": ATHENA,
        **fields,
    }


def permissions_response(data_source_id: str, permissions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "DataSourceArn": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:datasource/{data_source_id}",
        "DataSourceId": data_source_id,
        "Permissions": permissions,
        "RequestId": "r",
        "Status": 200,
    }


def placebo(name: str) -> dict[str, Any]:
    """A recorded Cloud Custodian placebo response, datetimes restored for Stubber."""

    def restore(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("__class__") == "datetime":
                fields = {k: v for k, v in value.items() if k != "__class__"}
                return dt.datetime(**fields, tzinfo=dt.UTC)
            return {k: restore(v) for k, v in value.items() if k != "ResponseMetadata"}
        if isinstance(value, list):
            return [restore(v) for v in value]
        return value

    out: dict[str, Any] = restore(load_json(CORPUS / "responses/quicksight" / name)["data"])
    return out


@pytest.fixture
def quicksight(session: boto3.Session) -> Any:
    """GIVEN Athena, Redshift (IAM auth, with credentials) and S3 data sources on moto."""
    client = session.client("quicksight")
    client.create_data_source(
        AwsAccountId=ACCOUNT,
        DataSourceId="athena",
        Name="Athena analytics",
        Type="ATHENA",
        DataSourceParameters=ATHENA,
        SslProperties={"DisableSsl": False},
    )
    client.create_data_source(
        AwsAccountId=ACCOUNT,
        DataSourceId="redshift",
        Name="Redshift sales",
        Type="REDSHIFT",
        DataSourceParameters=REDSHIFT,
        Credentials={"CredentialPair": {"Username": "etl-user", "Password": "hunter2-secret"}},
        VpcConnectionProperties=VPC,
    )
    client.create_data_source(
        AwsAccountId=ACCOUNT,
        DataSourceId="s3",
        Name="S3 sales",
        Type="S3",
        DataSourceParameters=S3,
    )
    return client


class TestSingleRead:
    def test_athena_data_source_has_the_spec_shape(self, quicksight: Any) -> None:
        """DescribeDataSource → name, type, parameters as returned, VPC and SSL properties."""
        live = QuickSightCollector(quicksight).read(ref("athena"))
        assert live.exists and live.error is None
        assert live.state == {
            "name": "Athena analytics",
            "type": "ATHENA",
            "parameters": ATHENA,
            "vpc_connection_properties": None,
            "ssl_properties": {"DisableSsl": False},
        }
        assert live.facts["arn"] == f"arn:aws:quicksight:{REGION}:{ACCOUNT}:datasource/athena"
        assert live.facts["status"] == "CREATION_SUCCESSFUL"

    def test_redshift_iam_parameters_are_read_in_full(self, quicksight: Any) -> None:
        """RedshiftParameters.IAMParameters keep RoleArn, DatabaseUser, DatabaseGroups, Auto..."""
        live = QuickSightCollector(quicksight).read(ref("redshift"))
        assert live.state["parameters"] == REDSHIFT
        assert live.state["vpc_connection_properties"] == VPC

    def test_credentials_never_appear_in_state_or_facts(self, quicksight: Any) -> None:
        """A data source created with a credential pair leaves no trace of it."""
        live = QuickSightCollector(quicksight).read(ref("redshift"))
        dumped = json.dumps([live.state, live.facts], default=str)
        assert "hunter2-secret" not in dumped
        assert "etl-user" not in dumped
        assert "Credential" not in dumped

    def test_s3_manifest_location_is_read(self, quicksight: Any) -> None:
        """S3Parameters keep ManifestFileLocation and RoleArn."""
        live = QuickSightCollector(quicksight).read(ref("s3"))
        assert set(live.state) == SPEC_KEYS
        assert live.state["parameters"] == S3

    def test_missing_data_source_reads_as_not_existing(self, quicksight: Any) -> None:
        """ResourceNotFoundException → exists=False."""
        assert QuickSightCollector(quicksight).read(ref("nope")) == LiveResource(
            ref=ref("nope"), exists=False
        )

    def test_permissions_are_not_read_unless_desired_declares_them(self, quicksight: Any) -> None:
        """Without desired `permissions`, no DescribeDataSourcePermissions call is made."""
        calls = count_calls(quicksight)
        live = QuickSightCollector(quicksight).read(ref("athena"), desired("athena", name="x"))
        assert "permissions" not in live.state
        assert calls == Counter({"DescribeDataSource": 1})


class TestBulkRead:
    def test_bulk_equals_single_for_every_data_source(self, quicksight: Any) -> None:
        """ListDataSources items give the same live resource as DescribeDataSource."""
        collector = QuickSightCollector(quicksight)
        refs = [ref("athena"), ref("redshift"), ref("s3")]
        bulk = collector.read_all(refs)
        assert bulk == {r: collector.read(r) for r in refs}

    def test_bulk_lists_once_per_account_and_reports_absent_ids(self, quicksight: Any) -> None:
        """One ListDataSources call for all refs; unknown ids are exists=False."""
        calls = count_calls(quicksight)
        out = QuickSightCollector(quicksight).read_all([ref("athena"), ref("gone"), ref("s3")])
        assert calls == Counter({"ListDataSources": 1})
        assert [live.exists for live in out.values()] == [True, False, True]

    def test_other_kind_becomes_an_error_entry(self, quicksight: Any) -> None:
        """A foreign kind in bulk mode is an error entry for that ref only."""
        foreign = ResourceRef(Kind.IAM_ROLE, "r", ACCOUNT, REGION)
        out = QuickSightCollector(quicksight).read_all([foreign, ref("athena")])
        assert out[foreign].error is not None
        assert out[ref("athena")].exists


class TestDiscovery:
    def test_discover_lists_all_or_the_named_data_sources(self, quicksight: Any) -> None:
        """discover() returns every data source sorted by id; ids narrow it."""
        collector = QuickSightCollector(quicksight, account_id=ACCOUNT)
        assert [d.ref.id for d in collector.discover()] == ["athena", "redshift", "s3"]
        assert [d.ref.id for d in collector.discover(["s3"])] == ["s3"]

    def test_discover_needs_an_account(self, quicksight: Any) -> None:
        """Without an account (argument or constructor) discovery raises CollectorError."""
        with pytest.raises(CollectorError, match="account"):
            QuickSightCollector(quicksight).discover()


class TestPermissions:
    """DescribeDataSourcePermissions is not emulated by moto 5.2.5: Stubber."""

    def test_permissions_are_read_when_desired_declares_them(self) -> None:
        """state.permissions is [{principal, actions}] sorted by principal, actions sorted."""
        client, stub = stubbed_client()
        stub.add_response(
            "describe_data_source",
            {"DataSource": data_source("athena"), "RequestId": "r", "Status": 200},
            {"AwsAccountId": ACCOUNT, "DataSourceId": "athena"},
        )
        stub.add_response(
            "describe_data_source_permissions",
            permissions_response(
                "athena",
                [
                    {"Principal": READER, "Actions": ["quicksight:DescribeDataSource"]},
                    {
                        "Principal": ADMIN,
                        "Actions": [
                            "quicksight:UpdateDataSource",
                            "quicksight:DescribeDataSource",
                        ],
                    },
                ],
            ),
            {"AwsAccountId": ACCOUNT, "DataSourceId": "athena"},
        )
        with stub:
            live = QuickSightCollector(client).read(
                ref("athena"), desired("athena", permissions=[])
            )
        assert live.state["permissions"] == [
            {"principal": READER, "actions": ["quicksight:DescribeDataSource"]},
            {
                "principal": ADMIN,
                "actions": ["quicksight:DescribeDataSource", "quicksight:UpdateDataSource"],
            },
        ]

    def test_bulk_reads_permissions_only_for_data_sources_that_declare_them(self) -> None:
        """One permissions call per data source whose desired spec has `permissions`."""
        client, stub = stubbed_client()
        stub.add_response(
            "list_data_sources",
            {"DataSources": [data_source("a"), data_source("b")], "Status": 200, "RequestId": "r"},
        )
        stub.add_response(
            "describe_data_source_permissions",
            permissions_response("b", [{"Principal": ADMIN, "Actions": ["quicksight:*"]}]),
            {"AwsAccountId": ACCOUNT, "DataSourceId": "b"},
        )
        wanted = {ref("a"): desired("a", name="a"), ref("b"): desired("b", permissions=[])}
        with stub:
            out = QuickSightCollector(client).read_all([ref("a"), ref("b")], wanted)
            stub.assert_no_pending_responses()
        assert "permissions" not in out[ref("a")].state
        assert out[ref("b")].state["permissions"] == [
            {"principal": ADMIN, "actions": ["quicksight:*"]}
        ]

    def test_a_failed_permissions_read_is_an_error_for_that_data_source_only(self) -> None:
        """AccessDeniedException on one data source's permissions does not stop the others."""
        client, stub = stubbed_client()
        stub.add_response(
            "list_data_sources",
            {"DataSources": [data_source("a"), data_source("b")], "Status": 200, "RequestId": "r"},
        )
        stub.add_client_error(
            "describe_data_source_permissions", "AccessDeniedException", "denied", 403
        )
        wanted = {ref("a"): desired("a", permissions=[]), ref("b"): desired("b", name="b")}
        with stub:
            out = QuickSightCollector(client).read_all([ref("a"), ref("b")], wanted)
        assert "AccessDeniedException" in str(out[ref("a")].error)
        assert "quicksight_data_source/a" in str(out[ref("a")].error)
        assert out[ref("b")].exists and out[ref("b")].error is None


class TestErrorsAndRecordedResponses:
    def test_access_denied_raises_access_denied_error(self) -> None:
        """AccessDeniedException → AccessDeniedError naming the resource and the code."""
        client, stub = stubbed_client()
        stub.add_client_error("describe_data_source", "AccessDeniedException", "denied", 403)
        with stub, pytest.raises(AccessDeniedError, match=r"quicksight_data_source/athena.*Access"):
            QuickSightCollector(client).read(ref("athena"))

    def test_unsupported_edition_raises_collector_error(self) -> None:
        """Other codes (e.g. UnsupportedUserEditionException) → CollectorError, chained."""
        client, stub = stubbed_client()
        stub.add_client_error("describe_data_source", "UnsupportedUserEditionException", "", 403)
        with stub, pytest.raises(CollectorError) as info:
            QuickSightCollector(client).read(ref("athena"))
        assert not isinstance(info.value, AccessDeniedError)
        assert "UnsupportedUserEditionException" in str(info.value)
        assert info.value.__cause__ is not None

    def test_failed_listing_marks_every_ref_of_that_account(self) -> None:
        """A refused ListDataSources becomes an error entry per ref, not a crash."""
        client, stub = stubbed_client()
        stub.add_client_error("list_data_sources", "AccessDeniedException", "denied", 403)
        with stub:
            out = QuickSightCollector(client).read_all([ref("a"), ref("b")])
        assert all("AccessDeniedException" in str(live.error) for live in out.values())

    def test_secret_arn_is_dropped(self) -> None:
        """A DataSource with SecretArn keeps it out of state and facts."""
        client, stub = stubbed_client()
        secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:qs-redshift-AbCdEf"
        stub.add_response(
            "describe_data_source",
            {
                "DataSource": data_source(
                    "rs", Type="REDSHIFT", DataSourceParameters=REDSHIFT, SecretArn=secret
                ),
                "RequestId": "r",
                "Status": 200,
            },
        )
        with stub:
            live = QuickSightCollector(client).read(ref("rs"))
        assert secret not in json.dumps([live.state, live.facts], default=str)

    def test_recorded_list_data_sources_is_parsed(self) -> None:
        """Real ListDataSources output (Cloud Custodian recording) parses into the spec shape;
        a FILE data source without DataSourceParameters has parameters None."""
        client, stub = stubbed_client()
        account = "644160558196"
        stub.add_response(
            "list_data_sources",
            placebo(
                "cloud-custodian__test_quicksight_datasource_tag_removetag__quicksight."
                "ListDataSources_1.json"
            ),
        )
        file_ref = ref("af6cc037-15c3-4506-b0c5-f7924cdd4f7e", account)
        with stub:
            out = QuickSightCollector(client).read_all([file_ref])
        assert out[file_ref].state == {
            "name": "c7n_unimplemented_services_ranked.csv",
            "type": "FILE",
            "parameters": None,
            "vpc_connection_properties": None,
            "ssl_properties": None,
        }

    def test_recorded_empty_listing_makes_every_ref_missing(self) -> None:
        """Real empty ListDataSources output (standard edition account) → exists=False."""
        client, stub = stubbed_client()
        stub.add_response(
            "list_data_sources",
            placebo(
                "cloud-custodian__test_quicksight_datasource_standard_edition__quicksight."
                "ListDataSources_1.json"
            ),
        )
        with stub:
            out = QuickSightCollector(client).read_all([ref("a")])
        assert out[ref("a")] == LiveResource(ref=ref("a"), exists=False)

    def test_declared_permissions_cover_every_call_made(self, quicksight: Any) -> None:
        """Every operation the collector calls on moto is declared in `permissions`."""
        calls = count_calls(quicksight)
        collector = QuickSightCollector(quicksight, account_id=ACCOUNT)
        collector.read(ref("athena"))
        collector.read_all([ref("s3")])
        collector.discover()
        assert {f"quicksight:{op}" for op in calls} <= set(QuickSightCollector.permissions)
        model = botocore.session.get_session().get_service_model("quicksight")
        assert {p.split(":")[1] for p in QuickSightCollector.permissions} <= set(
            model.operation_names
        )
