"""Pagination of the collectors' bulk reads, with botocore's Stubber (no moto, no network).

moto's GetAccountAuthorizationDetails ignores MaxItems/Marker and answers everything in one
page, so real multi-page pagination (IsTruncated/Marker, NextToken, nextToken) can only be
tested with Stubber. A Stubber raises on any call that was not queued, so these tests also prove
that bulk reads make no per-role calls (GetRole, GetRolePolicy, ...).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any
from urllib.parse import quote

import botocore.session
import pytest
from botocore.stub import Stubber

from chalicelib.collectors.cleanrooms import CleanRoomsCollector
from chalicelib.collectors.iam import IamCollector
from chalicelib.collectors.quicksight import QuickSightCollector
from chalicelib.models import Kind, ResourceRef
from tests.conftest import CORPUS, load_json

REGION = "us-east-1"
GAAD_PARAMS = {"Filter": ["Role", "LocalManagedPolicy"], "MaxItems": 1000}
POLICY_DOCUMENT_KEYS = {"AssumeRolePolicyDocument", "PolicyDocument", "Document"}


def make_client(service: str) -> Any:
    """A real botocore client with fake credentials; Stubber intercepts every call."""
    return botocore.session.get_session().create_client(
        service,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def placebo(path: str) -> dict[str, Any]:
    """A Cloud Custodian placebo recording as a response: ``data`` with datetimes restored."""

    def restore(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("__class__") == "datetime":
                fields = {k: v for k, v in value.items() if k != "__class__"}
                return dt.datetime(**fields, tzinfo=dt.UTC)
            return {k: restore(v) for k, v in value.items() if k != "ResponseMetadata"}
        if isinstance(value, list):
            return [restore(v) for v in value]
        return value

    restored: dict[str, Any] = restore(load_json(CORPUS / "responses" / path)["data"])
    return restored


def wire_encoded(value: Any) -> Any:
    """IAM's wire form: every policy document as URL-encoded JSON text."""
    if isinstance(value, dict):
        return {
            k: quote(json.dumps(v))
            if k in POLICY_DOCUMENT_KEYS and isinstance(v, dict)
            # the fixture's InstanceProfileList adds nothing here and is left out
            else wire_encoded(v)
            for k, v in value.items()
            if k != "InstanceProfileList"
        }
    if isinstance(value, list):
        return [wire_encoded(v) for v in value]
    return value


@pytest.fixture
def authz() -> dict[str, Any]:
    """GAAD output in real shape (cloudsplaining's hand-assembled fixture, account 012345678901)."""
    data: dict[str, Any] = load_json(
        CORPUS / "responses/iam/cloudsplaining__example-authz-details.json"
    )
    # The hand-made fixture breaks the API model in places the collector does not read:
    # short ids ("MyRole") and null counts. Repair them so that Stubber accepts the response.
    for role in data["RoleDetailList"]:
        role["RoleId"] = f"AROA{role['RoleName'].upper():X<16}"[:20]
    for policy in data["Policies"]:
        policy["PolicyId"] = f"ANPA{policy['PolicyName'].upper():X<16}"[:20]
        if policy.get("PermissionsBoundaryUsageCount") is None:
            policy.pop("PermissionsBoundaryUsageCount", None)
    return data


def listed_role(detail: dict[str, Any], description: str) -> dict[str, Any]:
    """The ListRoles entry of a GAAD role detail, plus Description and MaxSessionDuration."""
    keys = ("Path", "RoleName", "RoleId", "Arn", "CreateDate", "AssumeRolePolicyDocument")
    return {
        **{k: detail[k] for k in keys},
        "Description": description,
        "MaxSessionDuration": 3600,
    }


class TestIamBulkPagination:
    def test_gaad_and_list_roles_are_followed_across_pages(self, authz: dict[str, Any]) -> None:
        """Two GAAD pages (IsTruncated/Marker) and two ListRoles pages are all read."""
        # GIVEN the fixture's roles and policies split over two pages of each call
        roles = authz["RoleDetailList"]
        policies = authz["Policies"]
        client = make_client("iam")
        stub = Stubber(client)
        stub.add_response(
            "get_account_authorization_details",
            wire_encoded(
                {
                    "RoleDetailList": roles[:2],
                    "Policies": policies[2:],
                    "IsTruncated": True,
                    "Marker": "page-2",
                }
            ),
            GAAD_PARAMS,
        )
        stub.add_response(
            "get_account_authorization_details",
            wire_encoded(
                {"RoleDetailList": roles[2:], "Policies": policies[:2], "IsTruncated": False}
            ),
            {**GAAD_PARAMS, "Marker": "page-2"},
        )
        stub.add_response(
            "list_roles",
            wire_encoded(
                {"Roles": [listed_role(roles[0], "first")], "IsTruncated": True, "Marker": "r2"}
            ),
            {"MaxItems": 1000},
        )
        stub.add_response(
            "list_roles",
            wire_encoded(
                {"Roles": [listed_role(r, "later") for r in roles[1:]], "IsTruncated": False}
            ),
            {"MaxItems": 1000, "Marker": "r2"},
        )
        refs = [
            ResourceRef(Kind.IAM_ROLE, r["RoleName"], "012345678901", REGION) for r in roles
        ] + [ResourceRef(Kind.IAM_POLICY, policies[1]["Arn"], "012345678901", REGION)]
        # WHEN every role is read in bulk
        with stub:
            out = IamCollector(client).read_all(refs)
            stub.assert_no_pending_responses()
        # THEN roles from both pages exist, with documents decoded and ListRoles fields merged
        for detail in roles:
            live = out[ResourceRef(Kind.IAM_ROLE, detail["RoleName"], "012345678901", REGION)]
            assert live.exists and live.error is None
            assert live.state["trust_policy"] == detail["AssumeRolePolicyDocument"]
            assert live.state["inline_policies"] == {
                p["PolicyName"]: p["PolicyDocument"] for p in detail["RolePolicyList"]
            }
            assert live.state["managed_policies"] == sorted(
                p["PolicyArn"] for p in detail["AttachedManagedPolicies"]
            )
            assert live.state["tags"] == {t["Key"]: t["Value"] for t in detail["Tags"]}
        assert out[refs[0]].state["description"] == "first"
        assert out[refs[-2]].state["description"] == "later"
        # AND the customer-managed policy from page 2 has its default version's document
        default = next(v for v in policies[1]["PolicyVersionList"] if v["IsDefaultVersion"])
        assert out[refs[-1]].state["document"] == default["Document"]

    def test_bulk_read_makes_no_per_role_calls(self, authz: dict[str, Any]) -> None:
        """Only GAAD and ListRoles are queued: any GetRole/GetRolePolicy/List*RolePolicies call
        would make the Stubber raise."""
        roles = authz["RoleDetailList"]
        client = make_client("iam")
        stub = Stubber(client)
        stub.add_response(
            "get_account_authorization_details",
            wire_encoded({"RoleDetailList": roles, "Policies": [], "IsTruncated": False}),
            GAAD_PARAMS,
        )
        stub.add_response(
            "list_roles",
            wire_encoded({"Roles": [listed_role(r, "d") for r in roles], "IsTruncated": False}),
        )
        refs = [ResourceRef(Kind.IAM_ROLE, r["RoleName"], "012345678901", REGION) for r in roles]
        with stub:
            out = IamCollector(client).read_all(refs)
            stub.assert_no_pending_responses()
        assert all(live.exists and live.error is None for live in out.values())

    def test_role_missing_from_list_roles_is_an_error_not_a_guess(
        self, authz: dict[str, Any]
    ) -> None:
        """A role in GAAD but not in ListRoles (changed between passes) gets an error entry."""
        roles = authz["RoleDetailList"]
        client = make_client("iam")
        stub = Stubber(client)
        stub.add_response(
            "get_account_authorization_details",
            wire_encoded({"RoleDetailList": roles[:2], "Policies": [], "IsTruncated": False}),
        )
        stub.add_response(
            "list_roles",
            wire_encoded({"Roles": [listed_role(roles[0], "d")], "IsTruncated": False}),
        )
        refs = [
            ResourceRef(Kind.IAM_ROLE, r["RoleName"], "012345678901", REGION) for r in roles[:2]
        ]
        with stub:
            out = IamCollector(client).read_all(refs)
        assert out[refs[0]].error is None
        assert "changed during the bulk read" in str(out[refs[1]].error)


class TestIamSinglePagination:
    def test_inline_and_attached_policy_lists_are_followed_across_pages(self) -> None:
        """ListRolePolicies and ListAttachedRolePolicies pages (IsTruncated/Marker) are all read."""
        doc = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
        client = make_client("iam")
        stub = Stubber(client)
        stub.add_response(
            "get_role",
            {
                "Role": {
                    "Path": "/",
                    "RoleName": "r",
                    "RoleId": "AROAEXAMPLEEXAMPLE01",
                    "Arn": "arn:aws:iam::123456789012:role/r",
                    "CreateDate": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                    "AssumeRolePolicyDocument": quote(json.dumps(doc)),
                    "MaxSessionDuration": 3600,
                }
            },
            {"RoleName": "r"},
        )
        stub.add_response(
            "list_role_policies",
            {"PolicyNames": ["a"], "IsTruncated": True, "Marker": "m"},
            {"RoleName": "r"},
        )
        stub.add_response(
            "list_role_policies",
            {"PolicyNames": ["b"], "IsTruncated": False},
            {"RoleName": "r", "Marker": "m"},
        )
        stub.add_response(
            "list_attached_role_policies",
            {
                "AttachedPolicies": [
                    {"PolicyName": "x", "PolicyArn": "arn:aws:iam::123456789012:policy/x"}
                ],
                "IsTruncated": True,
                "Marker": "n",
            },
            {"RoleName": "r"},
        )
        stub.add_response(
            "list_attached_role_policies",
            {
                "AttachedPolicies": [{"PolicyName": "y", "PolicyArn": "arn:aws:iam::aws:policy/y"}],
                "IsTruncated": False,
            },
            {"RoleName": "r", "Marker": "n"},
        )
        for name in ("a", "b"):
            stub.add_response(
                "get_role_policy",
                {"RoleName": "r", "PolicyName": name, "PolicyDocument": quote(json.dumps(doc))},
                {"RoleName": "r", "PolicyName": name},
            )
        # read for the data-source rules: the attached customer-managed policy's document too
        policy_x = "arn:aws:iam::123456789012:policy/x"
        stub.add_response(
            "get_policy",
            {"Policy": {"Arn": policy_x, "DefaultVersionId": "v1"}},
            {"PolicyArn": policy_x},
        )
        stub.add_response(
            "get_policy_version",
            {"PolicyVersion": {"Document": quote(json.dumps(doc)), "VersionId": "v1"}},
            {"PolicyArn": policy_x, "VersionId": "v1"},
        )
        with stub:
            arn = "arn:aws:iam::123456789012:role/r"
            found = IamCollector(client).read_roles_by_arn([arn])[arn]
            stub.assert_no_pending_responses()
        assert found is not None
        live = found
        assert live.state["inline_policies"] == {"a": doc, "b": doc}
        assert live.facts["managed_policy_documents"] == {policy_x: doc}
        assert live.state["managed_policies"] == [
            "arn:aws:iam::123456789012:policy/x",
            "arn:aws:iam::aws:policy/y",
        ]


class TestQuickSightPagination:
    def test_list_data_sources_is_followed_across_pages(self) -> None:
        """A real ListDataSources response split over two pages (NextToken) is all read."""
        data = placebo(
            "quicksight/cloud-custodian__test_quicksight_datasource__quicksight.ListDataSources_1.json"
        )
        sources = data["DataSources"]
        account = "644160558196"
        client = make_client("quicksight")
        stub = Stubber(client)
        first = {**copy.deepcopy(data), "DataSources": sources[:4], "NextToken": "t2"}
        second = {**copy.deepcopy(data), "DataSources": sources[4:]}
        stub.add_response("list_data_sources", first, {"AwsAccountId": account, "MaxResults": 100})
        stub.add_response(
            "list_data_sources",
            second,
            {"AwsAccountId": account, "MaxResults": 100, "NextToken": "t2"},
        )
        refs = [
            ResourceRef(Kind.QUICKSIGHT_DATA_SOURCE, s["DataSourceId"], account, REGION)
            for s in sources
        ]
        with stub:
            out = QuickSightCollector(client).read_all(refs)
            stub.assert_no_pending_responses()
        assert all(out[r].exists for r in refs)
        tagged = out[refs[4]]
        assert tagged.ref.id == "tagged-example-source"
        assert tagged.state["parameters"] == {
            "S3Parameters": {
                "ManifestFileLocation": {
                    "Bucket": "c7ntest-quicksight-test-bucket",
                    "Key": "manifest.json",
                },
                "RoleArn": "arn:aws:iam::644160558196:role/QuickSightS3AccessRole",
            }
        }


class TestCleanRoomsPagination:
    def test_list_memberships_is_followed_across_pages(self) -> None:
        """A real ListMemberships response split over two pages (nextToken); each managed
        membership is then read with GetMembership (the summaries lack the result role)."""
        prefix = "cleanrooms/cloud-custodian__test_cleanrooms_membership_query_logging__cleanrooms."
        listing = placebo(prefix + "ListMemberships_1.json")["membershipSummaries"]
        got = [placebo(prefix + f"GetMembership_{i}.json") for i in (1, 2)]
        client = make_client("cleanrooms")
        stub = Stubber(client)
        stub.add_response(
            "list_memberships",
            {"membershipSummaries": listing[:1], "nextToken": "n2"},
            {"maxResults": 100},
        )
        stub.add_response(
            "list_memberships",
            {"membershipSummaries": listing[1:]},
            {"maxResults": 100, "nextToken": "n2"},
        )
        refs = [
            ResourceRef(Kind.CLEANROOMS_MEMBERSHIP, s["id"], "644160558196", REGION)
            for s in listing
        ]
        for ref, response in zip(refs, got, strict=True):
            stub.add_response("get_membership", response, {"membershipIdentifier": ref.id})
        with stub:
            out = CleanRoomsCollector(client).read_all(refs)
            stub.assert_no_pending_responses()
        assert out[refs[0]].state == {
            "result_role_arn": (
                "arn:aws:iam::644160558196:role/service-role/cleanrooms-query-receiver-20260609004931"
            ),
            "query_log_status": "DISABLED",
        }
        assert out[refs[1]].state == {"result_role_arn": None, "query_log_status": "ENABLED"}

    def test_list_configured_table_associations_is_followed_across_pages(self) -> None:
        """Association listings page by nextToken; only associations in refs are fetched."""
        membership = "c5773151-1c6c-40ff-86f2-543d68654295"
        prefix = "arn:aws:cleanrooms:us-east-1:644160558196"
        table = "b7401977-f670-42ba-873b-eed937073127"
        client = make_client("cleanrooms")
        stub = Stubber(client)

        def summary(assoc_id: str) -> dict[str, Any]:
            return {
                "configuredTableId": table,
                "membershipId": membership,
                "membershipArn": f"{prefix}:membership/{membership}",
                "name": f"table-{assoc_id[:4]}",
                "createTime": dt.datetime(2026, 6, 10, tzinfo=dt.UTC),
                "updateTime": dt.datetime(2026, 6, 10, tzinfo=dt.UTC),
                "id": assoc_id,
                "arn": f"{prefix}:configuredtableassociation/{membership}/{assoc_id}",
            }

        first, second = (
            "11111111-1111-1111-1111-111111111111",
            "22222222-2222-2222-2222-222222222222",
        )
        params = {"membershipIdentifier": membership, "maxResults": 100}
        stub.add_response(
            "list_configured_table_associations",
            {"configuredTableAssociationSummaries": [summary(first)], "nextToken": "n2"},
            params,
        )
        stub.add_response(
            "list_configured_table_associations",
            {"configuredTableAssociationSummaries": [summary(second)]},
            {**params, "nextToken": "n2"},
        )
        stub.add_response(
            "get_configured_table_association",
            {
                "configuredTableAssociation": {
                    **summary(second),
                    "configuredTableArn": f"{prefix}:configuredtable/{table}",
                    "roleArn": "arn:aws:iam::644160558196:role/cleanrooms-reader",
                }
            },
            {"membershipIdentifier": membership, "configuredTableAssociationIdentifier": second},
        )
        ref = ResourceRef(
            Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
            f"{membership}/{second}",
            "644160558196",
            REGION,
        )
        with stub:
            out = CleanRoomsCollector(client).read_all([ref])
            stub.assert_no_pending_responses()
        assert out[ref].state == {
            "name": "table-2222",
            "role_arn": "arn:aws:iam::644160558196:role/cleanrooms-reader",
        }
