"""IamCollector against moto's server: single and bulk reads, discovery, error mapping."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import botocore.session
import pytest
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.collectors.iam import (
    MANAGED_POLICY_DOCUMENTS,
    IamCollector,
    customer_managed_arns,
    policy_document,
    role_name_from_arn,
)
from chalicelib.errors import AccessDeniedError, CollectorError
from chalicelib.models import Kind, LiveResource, ResourceRef
from tests.conftest import ACCOUNT, REGION

if TYPE_CHECKING:
    import boto3

ROLE_SPEC_KEYS = {
    "path",
    "description",
    "max_session_duration",
    "trust_policy",
    "inline_policies",
    "managed_policies",
    "permissions_boundary",
    "tags",
}

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "quicksight.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ],
}
ATHENA_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["athena:GetQueryExecution", "athena:StartQueryExecution"],
            "Resource": "*",
        }
    ],
}
S3_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadData",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::analytics-data", "arn:aws:s3:::analytics-data/raw data/*"],
        }
    ],
}
GLUE_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "glue:GetTable", "Resource": "*"}],
}
BOUNDARY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*", "athena:*", "glue:*"], "Resource": "*"}],
}


def role_ref(name: str) -> ResourceRef:
    return ResourceRef(Kind.IAM_ROLE, name, ACCOUNT, REGION)


def policy_ref(arn: str) -> ResourceRef:
    return ResourceRef(Kind.IAM_POLICY, arn, ACCOUNT, REGION)


@pytest.fixture
def iam(session: boto3.Session) -> Any:
    return session.client("iam")


@pytest.fixture
def account(iam: Any) -> dict[str, str]:
    """GIVEN a realistic QuickSight service role with every managed attribute set."""
    boundary = iam.create_policy(
        PolicyName="analytics-boundary", PolicyDocument=json.dumps(BOUNDARY)
    )
    athena = iam.create_policy(
        PolicyName="athena-read",
        Path="/analytics/",
        Description="Athena read access for QuickSight",
        PolicyDocument=json.dumps(ATHENA_READ),
    )
    iam.create_role(
        RoleName="qs-athena",
        Path="/service-role/",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Description="QuickSight reads Athena",
        MaxSessionDuration=7200,
        PermissionsBoundary=boundary["Policy"]["Arn"],
        Tags=[{"Key": "team", "Value": "analytics"}, {"Key": "cost-center", "Value": "42"}],
    )
    iam.put_role_policy(
        RoleName="qs-athena", PolicyName="s3-read", PolicyDocument=json.dumps(S3_READ)
    )
    iam.put_role_policy(
        RoleName="qs-athena", PolicyName="glue-read", PolicyDocument=json.dumps(GLUE_READ)
    )
    iam.attach_role_policy(RoleName="qs-athena", PolicyArn=athena["Policy"]["Arn"])
    return {"boundary": boundary["Policy"]["Arn"], "athena": athena["Policy"]["Arn"]}


def count_calls(client: Any) -> Counter[str]:
    """Count the API operations a client makes (a botocore ``before-call`` hook)."""
    calls: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client.meta.events.register("before-call.*.*", record)
    return calls


class TestSingleRead:
    def test_role_state_has_every_spec_field_with_live_values(
        self, iam: Any, account: dict[str, str]
    ) -> None:
        """A role read returns the iam_role spec shape, documents parsed, tags complete."""
        # WHEN the role is read
        live = IamCollector(iam).read(role_ref("qs-athena"))
        # THEN the state has exactly the spec shape and the live values
        assert live.exists and live.error is None
        assert live.state == {
            "path": "/service-role/",
            "description": "QuickSight reads Athena",
            "max_session_duration": 7200,
            "trust_policy": TRUST,
            "inline_policies": {"glue-read": GLUE_READ, "s3-read": S3_READ},
            "managed_policies": [account["athena"]],
            "permissions_boundary": account["boundary"],
            "tags": {"team": "analytics", "cost-center": "42"},
        }

    def test_role_facts_carry_arn_and_role_id(self, iam: Any, account: dict[str, str]) -> None:
        """Facts give the role ARN (with its path) and the unique role ID."""
        live = IamCollector(iam).read(role_ref("qs-athena"))
        assert live.facts["arn"] == f"arn:aws:iam::{ACCOUNT}:role/service-role/qs-athena"
        assert str(live.facts["role_id"]).startswith("AROA")

    def test_attached_customer_policy_documents_are_a_role_fact(
        self, iam: Any, account: dict[str, str]
    ) -> None:
        """facts.managed_policy_documents maps each attached customer-managed policy to its
        default document when a role is read for the rules on related roles (by ARN, or in
        bulk); a role read for its own comparison skips those calls."""
        collector = IamCollector(iam)
        arn = collector.read(role_ref("qs-athena")).facts["arn"]
        by_arn = collector.read_roles_by_arn([arn])[arn]
        bulk = collector.read_all([role_ref("qs-athena")])[role_ref("qs-athena")]
        expected = {account["athena"]: ATHENA_READ}
        assert by_arn is not None
        assert by_arn.facts[MANAGED_POLICY_DOCUMENTS] == expected
        assert bulk.facts[MANAGED_POLICY_DOCUMENTS] == expected
        assert collector.read(role_ref("qs-athena")).facts[MANAGED_POLICY_DOCUMENTS] == {}

    def test_bare_role_has_empty_values_not_missing_keys(self, iam: Any) -> None:
        """A role with nothing optional still has every key: None, {} or []."""
        iam.create_role(RoleName="bare", AssumeRolePolicyDocument=json.dumps(TRUST))
        live = IamCollector(iam).read(role_ref("bare"))
        assert set(live.state) == ROLE_SPEC_KEYS
        assert live.state["description"] is None
        assert live.state["permissions_boundary"] is None
        assert live.state["inline_policies"] == {}
        assert live.state["managed_policies"] == []
        assert live.state["tags"] == {}
        assert live.state["max_session_duration"] == 3600

    def test_missing_role_reads_as_not_existing(self, iam: Any) -> None:
        """NoSuchEntity on GetRole is exists=False, not an error."""
        live = IamCollector(iam).read(role_ref("no-such-role"))
        assert live == LiveResource(ref=role_ref("no-such-role"), exists=False)

    def test_policy_state_is_the_default_version_document(
        self, iam: Any, account: dict[str, str]
    ) -> None:
        """A policy read follows DefaultVersionId after a new default version is set."""
        # GIVEN a second version that becomes the default
        iam.create_policy_version(
            PolicyArn=account["athena"], PolicyDocument=json.dumps(GLUE_READ), SetAsDefault=True
        )
        # WHEN the policy is read
        live = IamCollector(iam).read(policy_ref(account["athena"]))
        # THEN the state is the new default document and the facts name that version
        assert live.state == {
            "description": "Athena read access for QuickSight",
            "document": GLUE_READ,
        }
        assert live.facts == {"arn": account["athena"], "default_version_id": "v2"}

    def test_policy_without_description_reads_none(self, iam: Any, account: dict[str, str]) -> None:
        """An empty description (moto) and an absent one (AWS) both read as None."""
        live = IamCollector(iam).read(policy_ref(account["boundary"]))
        assert live.state["description"] is None

    def test_missing_policy_reads_as_not_existing(self, iam: Any) -> None:
        """NoSuchEntity on GetPolicy is exists=False."""
        ref = policy_ref(f"arn:aws:iam::{ACCOUNT}:policy/nothing-here")
        assert IamCollector(iam).read(ref).exists is False

    def test_document_with_url_special_characters_round_trips(self, iam: Any) -> None:
        """Characters that IAM URL-encodes on the wire (%, +, space) come back unchanged."""
        doc = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/a b+c%25"}
            ],
        }
        iam.create_role(RoleName="odd", AssumeRolePolicyDocument=json.dumps(TRUST))
        iam.put_role_policy(RoleName="odd", PolicyName="odd", PolicyDocument=json.dumps(doc))
        live = IamCollector(iam).read(role_ref("odd"))
        assert live.state["inline_policies"] == {"odd": doc}

    def test_other_kind_is_refused(self, iam: Any) -> None:
        """A kind the collector does not read raises CollectorError naming the resource."""
        ref = ResourceRef(Kind.QUICKSIGHT_DATA_SOURCE, "ds", ACCOUNT, REGION)
        with pytest.raises(CollectorError, match="quicksight_data_source/ds"):
            IamCollector(iam).read(ref)


class TestBulkRead:
    def test_bulk_role_equals_single_role(self, iam: Any, account: dict[str, str]) -> None:
        """read_all gives the same state and facts for a role as a read by ARN."""
        collector = IamCollector(iam)
        arn = collector.read(role_ref("qs-athena")).facts["arn"]
        single = collector.read_roles_by_arn([arn])[arn]
        bulk = collector.read_all([role_ref("qs-athena")])[role_ref("qs-athena")]
        assert single is not None
        assert bulk.state == single.state
        assert bulk.facts == single.facts

    def test_bulk_policy_equals_single_policy(self, iam: Any, account: dict[str, str]) -> None:
        """read_all gives the same state and facts for a policy as read."""
        iam.create_policy_version(
            PolicyArn=account["athena"], PolicyDocument=json.dumps(S3_READ), SetAsDefault=True
        )
        collector = IamCollector(iam)
        ref = policy_ref(account["athena"])
        assert collector.read_all([ref])[ref] == collector.read(ref)

    def test_bulk_reports_absent_refs_as_not_existing(
        self, iam: Any, account: dict[str, str]
    ) -> None:
        """Refs that are not in the account come back exists=False, one entry per ref."""
        refs = [
            role_ref("qs-athena"),
            role_ref("gone"),
            policy_ref(f"arn:aws:iam::{ACCOUNT}:policy/gone"),
        ]
        out = IamCollector(iam).read_all(refs)
        assert list(out) == refs
        assert [out[r].exists for r in refs] == [True, False, False]
        assert out[refs[1]].error is None

    def test_bulk_makes_one_gaad_and_one_list_roles_call_for_fifty_roles(self, iam: Any) -> None:
        """50 roles are read with exactly 1 GetAccountAuthorizationDetails + 1 ListRoles."""
        # GIVEN 50 roles, each with an inline policy
        for i in range(50):
            iam.create_role(RoleName=f"role-{i:02}", AssumeRolePolicyDocument=json.dumps(TRUST))
            iam.put_role_policy(
                RoleName=f"role-{i:02}", PolicyName="p", PolicyDocument=json.dumps(S3_READ)
            )
        calls = count_calls(iam)
        # WHEN they are read in bulk
        out = IamCollector(iam).read_all([role_ref(f"role-{i:02}") for i in range(50)])
        # THEN two list calls were made and nothing per role
        assert calls == Counter({"GetAccountAuthorizationDetails": 1, "ListRoles": 1})
        assert all(
            live.exists and live.state["inline_policies"] == {"p": S3_READ} for live in out.values()
        )

    def test_bulk_keeps_every_role_by_arn(self, iam: Any, account: dict[str, str]) -> None:
        """roles_by_arn holds roles the refs did not name, from the last bulk read."""
        iam.create_role(RoleName="unmanaged", AssumeRolePolicyDocument=json.dumps(TRUST))
        collector = IamCollector(iam)
        assert collector.roles_by_arn() == {}
        collector.read_all([role_ref("qs-athena")])
        arn = f"arn:aws:iam::{ACCOUNT}:role/unmanaged"
        assert collector.roles_by_arn()[arn].state["trust_policy"] == TRUST
        assert set(collector.roles_by_arn()) == {
            arn,
            f"arn:aws:iam::{ACCOUNT}:role/service-role/qs-athena",
        }

    def test_other_kind_becomes_an_error_entry(self, iam: Any) -> None:
        """A foreign kind in bulk mode is an error for that ref only."""
        foreign = ResourceRef(Kind.CLEANROOMS_MEMBERSHIP, "m", ACCOUNT, REGION)
        iam.create_role(RoleName="bare", AssumeRolePolicyDocument=json.dumps(TRUST))
        out = IamCollector(iam).read_all([foreign, role_ref("bare")])
        assert out[foreign].error is not None
        assert out[role_ref("bare")].exists


class TestRoleLookupByArn:
    def test_existing_role_is_returned_and_unknown_arns_are_none(
        self, iam: Any, account: dict[str, str]
    ) -> None:
        """read_roles_by_arn: the role for its exact ARN; None for absent, wrong-path, non-role."""
        good = f"arn:aws:iam::{ACCOUNT}:role/service-role/qs-athena"
        wrong_path = f"arn:aws:iam::{ACCOUNT}:role/qs-athena"
        absent = f"arn:aws:iam::{ACCOUNT}:role/nobody"
        not_role = f"arn:aws:iam::{ACCOUNT}:user/alice"
        out = IamCollector(iam).read_roles_by_arn([good, wrong_path, absent, not_role])
        assert out[good] is not None and out[good].state["path"] == "/service-role/"
        assert out[wrong_path] is None
        assert out[absent] is None
        assert out[not_role] is None

    def test_role_of_another_account_is_an_error_not_a_match(
        self, iam: Any, account: dict[str, str]
    ) -> None:
        """A same-named role in another account is never taken for the local one."""
        other = "arn:aws:iam::999999999999:role/service-role/qs-athena"
        out = IamCollector(iam).read_roles_by_arn([other])
        assert out[other] is not None and out[other].error is not None
        assert "999999999999" in str(out[other].error)

    @pytest.mark.parametrize(
        ("arn", "name"),
        [
            ("arn:aws:iam::123456789012:role/a", "a"),
            ("arn:aws:iam::123456789012:role/service-role/x/b", "b"),
            ("arn:aws-cn:iam::123456789012:role/c", "c"),
            ("arn:aws:iam::123456789012:policy/p", None),
            ("arn:aws:s3:::bucket", None),
            ("not-an-arn", None),
        ],
    )
    def test_role_name_is_the_last_path_segment(self, arn: str, name: str | None) -> None:
        """role_name_from_arn takes the last path segment of role ARNs only."""
        assert role_name_from_arn(arn) == name


class TestDiscovery:
    @pytest.fixture
    def roles(self, iam: Any, account: dict[str, str]) -> None:
        iam.create_role(
            RoleName="etl",
            Path="/analytics/",
            AssumeRolePolicyDocument=json.dumps(TRUST),
            Tags=[{"Key": "team", "Value": "data"}],
        )
        iam.create_role(
            RoleName="AWSServiceRoleForQuickSight",
            Path="/aws-service-role/quicksight.amazonaws.com/",
            AssumeRolePolicyDocument=json.dumps(TRUST),
        )

    def test_no_filter_returns_all_but_service_linked_roles(self, iam: Any, roles: None) -> None:
        """discover_roles() lists every role sorted by name, without service-linked roles."""
        found = IamCollector(iam).discover_roles()
        assert [r.ref.id for r in found] == ["etl", "qs-athena"]

    @pytest.mark.parametrize(
        ("kwargs", "expected"),
        [
            ({"names": ["etl"]}, ["etl"]),
            ({"names": ["AWSServiceRoleForQuickSight"]}, ["AWSServiceRoleForQuickSight"]),
            ({"path_prefix": "/analytics/"}, ["etl"]),
            ({"tag": ("team", None)}, ["etl", "qs-athena"]),
            ({"tag": ("team", "data")}, ["etl"]),
            ({"tag": ("team", "data"), "path_prefix": "/service-role/"}, []),
        ],
    )
    def test_filters_combine_with_and(
        self, iam: Any, roles: None, kwargs: dict[str, Any], expected: list[str]
    ) -> None:
        """Names, path prefix and tag filters select roles; together they all must hold."""
        found = IamCollector(iam).discover_roles(**kwargs)
        assert [r.ref.id for r in found] == expected

    def test_attached_customer_policies_include_the_boundary(
        self, iam: Any, account: dict[str, str]
    ) -> None:
        """discover_attached_policies returns attached and boundary customer-managed policies."""
        collector = IamCollector(iam)
        roles = collector.discover_roles(names=["qs-athena"])
        found = collector.discover_attached_policies(roles)
        assert {p.ref.id: p.state["document"] for p in found} == {
            account["athena"]: ATHENA_READ,
            account["boundary"]: BOUNDARY,
        }
        without = collector.discover_attached_policies(roles, include_boundaries=False)
        assert [p.ref.id for p in without] == [account["athena"]]

    def test_aws_managed_policies_are_not_customer_managed(self) -> None:
        """customer_managed_arns drops AWS-managed ARNs and duplicates."""
        role = LiveResource(
            ref=role_ref("r"),
            exists=True,
            state={
                "managed_policies": [
                    "arn:aws:iam::aws:policy/ReadOnlyAccess",
                    f"arn:aws:iam::{ACCOUNT}:policy/a",
                ],
                "permissions_boundary": f"arn:aws:iam::{ACCOUNT}:policy/a",
            },
        )
        assert customer_managed_arns([role, role]) == [f"arn:aws:iam::{ACCOUNT}:policy/a"]


class TestErrorMapping:
    """moto cannot be told to refuse a call: these use botocore's Stubber on a real client."""

    @pytest.fixture
    def stubbed(self) -> tuple[Any, Stubber]:
        client = botocore.session.get_session().create_client(
            "iam",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        return client, Stubber(client)

    def test_access_denied_raises_access_denied_error(self, stubbed: tuple[Any, Stubber]) -> None:
        """AccessDenied → AccessDeniedError naming the resource and the AWS code, from err."""
        client, stub = stubbed
        stub.add_client_error("get_role", "AccessDenied", "not authorized", 403)
        with stub, pytest.raises(AccessDeniedError) as info:
            IamCollector(client).read(role_ref("qs-athena"))
        assert "iam_role/qs-athena" in str(info.value)
        assert "AccessDenied" in str(info.value)
        assert info.value.__cause__ is not None

    def test_other_aws_error_raises_collector_error(self, stubbed: tuple[Any, Stubber]) -> None:
        """Any other code → CollectorError (not AccessDeniedError) with the code in the message."""
        client, stub = stubbed
        stub.add_client_error("get_policy", "ServiceFailure", "boom", 500)
        with stub, pytest.raises(CollectorError) as info:
            IamCollector(client).read(policy_ref(f"arn:aws:iam::{ACCOUNT}:policy/p"))
        assert not isinstance(info.value, AccessDeniedError)
        assert "ServiceFailure" in str(info.value)

    def test_bulk_failure_marks_every_ref_instead_of_raising(
        self, stubbed: tuple[Any, Stubber]
    ) -> None:
        """A refused GAAD gives each ref an error entry; the read does not crash."""
        client, stub = stubbed
        stub.add_client_error(
            "get_account_authorization_details", "AccessDenied", "not authorized", 403
        )
        refs = [role_ref("a"), policy_ref(f"arn:aws:iam::{ACCOUNT}:policy/p")]
        with stub:
            out = IamCollector(client).read_all(refs)
        assert all("AccessDenied" in str(out[r].error) for r in refs)

    def test_role_deleted_mid_read_is_missing(self, stubbed: tuple[Any, Stubber]) -> None:
        """NoSuchEntity on ListRolePolicies after GetRole succeeded reads as exists=False."""
        client, stub = stubbed
        stub.add_response(
            "get_role",
            {
                "Role": {
                    "Path": "/",
                    "RoleName": "a",
                    "RoleId": "AROAEXAMPLEEXAMPLE01",
                    "Arn": f"arn:aws:iam::{ACCOUNT}:role/a",
                    "CreateDate": "2024-01-01T00:00:00Z",
                    "AssumeRolePolicyDocument": quote(json.dumps(TRUST)),
                }
            },
        )
        stub.add_client_error("list_role_policies", "NoSuchEntity", "gone", 404)
        stub.add_response("list_attached_role_policies", {"AttachedPolicies": []})
        with stub:
            assert IamCollector(client).read(role_ref("a")).exists is False


class TestAwsManagedPolicyInBulk:
    """moto does not load AWS-managed policies by default: Stubber."""

    def test_aws_managed_policy_ref_is_read_on_its_own(self) -> None:
        """GAAD's LocalManagedPolicy filter omits AWS-managed policies, so such a ref is read
        with GetPolicy/GetPolicyVersion instead of being reported missing."""
        client = botocore.session.get_session().create_client(
            "iam", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        stub = Stubber(client)
        arn = "arn:aws:iam::aws:policy/AWSQuicksightAthenaAccess"
        stub.add_response(
            "get_account_authorization_details",
            {"RoleDetailList": [], "Policies": [], "IsTruncated": False},
        )
        stub.add_response("list_roles", {"Roles": [], "IsTruncated": False})
        stub.add_response(
            "get_policy",
            {"Policy": {"Arn": arn, "DefaultVersionId": "v11", "Description": "QuickSight"}},
            {"PolicyArn": arn},
        )
        stub.add_response(
            "get_policy_version",
            {"PolicyVersion": {"Document": quote(json.dumps(ATHENA_READ)), "VersionId": "v11"}},
            {"PolicyArn": arn, "VersionId": "v11"},
        )
        with stub:
            out = IamCollector(client).read_all([policy_ref(arn)])
            stub.assert_no_pending_responses()
        assert out[policy_ref(arn)].state == {"description": "QuickSight", "document": ATHENA_READ}


class TestPermissions:
    def test_declared_permissions_cover_every_call_made(
        self, iam: Any, account: dict[str, str]
    ) -> None:
        """Every operation the collector calls (single, bulk, lookup) is declared."""
        calls = count_calls(iam)
        collector = IamCollector(iam)
        collector.read(role_ref("qs-athena"))
        collector.read(policy_ref(account["athena"]))
        collector.read_all([role_ref("qs-athena")])
        collector.read_roles_by_arn([f"arn:aws:iam::{ACCOUNT}:role/service-role/qs-athena"])
        assert {f"iam:{op}" for op in calls} <= set(IamCollector.permissions)

    def test_declared_permissions_are_real_iam_read_operations(self) -> None:
        """Each permission names an existing IAM operation, and none writes."""
        operations = set(botocore.session.get_session().get_service_model("iam").operation_names)
        for permission in IamCollector.permissions:
            service, action = permission.split(":")
            assert service == "iam" and action in operations
            assert action.startswith(("Get", "List"))


class TestPolicyDocument:
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=10,
    )

    @given(st.dictionaries(st.text(), json_values, max_size=4))
    @settings(max_examples=200)
    def test_url_encoded_document_decodes_to_the_original(self, doc: dict[str, Any]) -> None:
        """quote(json.dumps(doc)) — the IAM wire form — decodes back to doc."""
        assert policy_document(quote(json.dumps(doc)), "x") == doc

    def test_plain_json_string_and_dict_are_accepted(self) -> None:
        """A plain JSON string and an already-decoded dict give the same document."""
        assert policy_document(json.dumps(S3_READ), "x") == policy_document(S3_READ, "x") == S3_READ

    @pytest.mark.parametrize("value", ["%7Bnot json", quote("[1, 2]"), 42])
    def test_non_object_document_raises_collector_error(self, value: object) -> None:
        """Anything that is not a JSON object is a CollectorError naming the owner."""
        with pytest.raises(CollectorError, match="iam_role/r"):
            policy_document(value, "iam_role/r")
