"""The Chalice event handlers end to end: real drift made on moto's server with boto3, the
matching CloudTrail event delivered through ``chalice.test.Client``, and the live state, the
journal and the notifications read back afterwards.

Clean Rooms configured table associations, the membership result role and QuickSight data
source permissions are not emulated by moto 5.2.5; they are covered through the responder with
Stubber-backed clients in tests/functional/test_respond_modes.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger
from chalice.app import Chalice
from chalice.test import Client

import app as chalice_app
from chalicelib import service
from chalicelib.config import Settings
from chalicelib.errors import RegistryError
from chalicelib.local.slack_server import SlackStandIn
from chalicelib.models import Status
from chalicelib.wiring import Wiring
from tests.conftest import ACCOUNT, REGION, ROOT
from tests.events import CORPUS_EVENTS, api_call, corpus_event_files, envelope
from tests.fakes import (
    POLICIES,
    SnsInbox,
    copy_registry,
    create_bucket,
    policy_doc,
    reset_emulator,
    seed_registry,
    watch_wiring,
)

HANDLER_OF = {
    "aws.iam": "on_iam_change",
    "aws.quicksight": "on_quicksight_change",
    "aws.cleanrooms": "on_cleanrooms_change",
}
INVALID_REGISTRY = ROOT / "tests" / "data" / "registries" / "invalid"
ATHENA_ROLE = "dw-quicksight-athena"
REDSHIFT_ROLE = "dw-quicksight-redshift"
RESULTS_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/dw-athena-results-bucket"
S3_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/dw-quicksight-s3"
ATHENA_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/{ATHENA_ROLE}"
RECEIVE_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/dw-cleanrooms-receive-results"
WIDE = policy_doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
QUICKSIGHT_TRUST = {
    "Effect": "Allow",
    "Principal": {"Service": "quicksight.amazonaws.com"},
    "Action": "sts:AssumeRole",
}
OTHER_ACCOUNT_TRUST = {
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
    "Action": "sts:AssumeRole",
}


# ---------------------------------------------------------------------------------------------
# fixtures and helpers


@pytest.fixture(autouse=True)
def _leave_emulator_clean(moto_endpoint: str) -> Iterator[None]:
    """Wipe moto after each test (its state is process-wide; see ``reset_emulator``)."""
    yield
    reset_emulator(moto_endpoint)


@pytest.fixture
def journal(session: boto3.Session) -> str:
    """``DRIFTWARDEN_JOURNAL`` in a versioned bucket on the emulator."""
    return f"s3://{create_bucket(session)}/journal"


@pytest.fixture
def lambda_env(
    monkeypatch: pytest.MonkeyPatch, journal: str, seeded: Path
) -> Iterator[dict[str, str]]:
    """The Lambda's environment for the seeded account; the per-container wiring is reset
    before and after."""
    env = {"DRIFTWARDEN_REGISTRY": str(seeded), "DRIFTWARDEN_JOURNAL": journal}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    service.reset()
    yield env
    service.reset()


@pytest.fixture
def client(lambda_env: dict[str, str]) -> Iterator[Client]:
    with Client(chalice_app.app, stage_name="test") as test_client:
        yield test_client


@pytest.fixture
def lambda_over(
    monkeypatch: pytest.MonkeyPatch, journal: str
) -> Iterator[Callable[[Path, dict[str, Any]], dict[str, Any]]]:
    """Delivers an event to a fresh Lambda container whose registry is the given directory
    (with the journal bucket); the container is forgotten afterwards."""

    def run(registry: Path, event: dict[str, Any]) -> dict[str, Any]:
        monkeypatch.setenv("DRIFTWARDEN_REGISTRY", str(registry))
        monkeypatch.setenv("DRIFTWARDEN_JOURNAL", journal)
        service.reset()
        with Client(chalice_app.app, stage_name="test") as test_client:
            return deliver(test_client, event)

    yield run
    service.reset()


@pytest.fixture(scope="module")
def warm_container(moto_endpoint: str) -> Iterator[None]:
    """One warm Lambda container for the events that must never reach a resource: the
    environment (sample registry, no journal) is set for the module and the per-container
    wiring is built once and reused, as a warm Lambda reuses it across invocations."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
        patch.setenv("DRIFTWARDEN_REGISTRY", str(POLICIES))
        service.reset()
        yield
        service.reset()


@pytest.fixture
def bare_client(warm_container: None) -> Iterator[Client]:
    with Client(chalice_app.app, stage_name="test") as test_client:
        yield test_client


def deliver(client: Client, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke the handler EventBridge would invoke for ``event``; returns its result."""
    payload: dict[str, Any] = client.lambda_.invoke(HANDLER_OF[event["source"]], event).payload
    return payload


def audit(registry: Path | str, session: boto3.Session, selector: str) -> Status:
    """The status of one resource, compared afresh by a separate wiring."""
    report = Wiring(Settings(registry=str(registry)), session).audit(selector)
    (result,) = report.resources
    return result.status


def journal_entry(session: boto3.Session, journal: str, action_id: str) -> Any:
    return Wiring(Settings(journal=journal), session).journal.get(action_id)  # type: ignore[union-attr]


def iam(session: boto3.Session) -> Any:
    return session.client("iam")


def qs(session: boto3.Session) -> Any:
    return session.client("quicksight")


# ---------------------------------------------------------------------------------------------
# drift made with boto3, one per mutating event name


def _delete_role(session: boto3.Session) -> None:
    client = iam(session)
    client.detach_role_policy(RoleName=ATHENA_ROLE, PolicyArn=RESULTS_POLICY)
    client.delete_role_policy(RoleName=ATHENA_ROLE, PolicyName="athena-query")
    client.delete_role(RoleName=ATHENA_ROLE)


def _recreate_role_by_hand(session: boto3.Session) -> None:
    _delete_role(session)
    iam(session).create_role(
        RoleName=ATHENA_ROLE,
        Path="/service-role/",
        AssumeRolePolicyDocument=policy_doc(QUICKSIGHT_TRUST, OTHER_ACCOUNT_TRUST),
        Description="recreated by hand",
    )


def _update_role(session: boto3.Session) -> None:
    iam(session).update_role(RoleName=ATHENA_ROLE, Description="changed", MaxSessionDuration=7200)


def _widen_trust(session: boto3.Session) -> None:
    iam(session).update_assume_role_policy(
        RoleName=ATHENA_ROLE, PolicyDocument=policy_doc(QUICKSIGHT_TRUST, OTHER_ACCOUNT_TRUST)
    )


def _put_extra_inline(session: boto3.Session) -> None:
    iam(session).put_role_policy(RoleName=ATHENA_ROLE, PolicyName="temp-debug", PolicyDocument=WIDE)


def _rewrite_inline(session: boto3.Session) -> None:
    iam(session).put_role_policy(
        RoleName=ATHENA_ROLE, PolicyName="athena-query", PolicyDocument=WIDE
    )


def _delete_inline(session: boto3.Session) -> None:
    iam(session).delete_role_policy(RoleName=ATHENA_ROLE, PolicyName="athena-query")


def _extra_policy(session: boto3.Session, name: str = "contractor-admin") -> str:
    created = iam(session).create_policy(PolicyName=name, PolicyDocument=WIDE)
    return str(created["Policy"]["Arn"])


def _attach_extra(session: boto3.Session) -> None:
    iam(session).attach_role_policy(RoleName=ATHENA_ROLE, PolicyArn=_extra_policy(session))


def _detach(session: boto3.Session) -> None:
    iam(session).detach_role_policy(RoleName=ATHENA_ROLE, PolicyArn=RESULTS_POLICY)


def _put_boundary(session: boto3.Session) -> None:
    iam(session).put_role_permissions_boundary(
        RoleName=ATHENA_ROLE, PermissionsBoundary=_extra_policy(session, "boundary")
    )


def _retag(session: boto3.Session) -> None:
    iam(session).tag_role(RoleName=ATHENA_ROLE, Tags=[{"Key": "team", "Value": "marketing"}])


def _untag(session: boto3.Session) -> None:
    iam(session).untag_role(RoleName=ATHENA_ROLE, TagKeys=["team"])


def _new_default_version(session: boto3.Session) -> None:
    iam(session).create_policy_version(
        PolicyArn=RESULTS_POLICY, PolicyDocument=WIDE, SetAsDefault=True
    )


def _set_default_version(session: boto3.Session) -> None:
    client = iam(session)
    client.create_policy_version(PolicyArn=RESULTS_POLICY, PolicyDocument=WIDE, SetAsDefault=False)
    client.set_default_policy_version(PolicyArn=RESULTS_POLICY, VersionId="v2")


def _delete_good_version(session: boto3.Session) -> None:
    _new_default_version(session)
    iam(session).delete_policy_version(PolicyArn=RESULTS_POLICY, VersionId="v1")


def _athena_parameters(role_arn: str) -> dict[str, Any]:
    return {"AthenaParameters": {"WorkGroup": "primary", "RoleArn": role_arn}}


def _delete_data_source(session: boto3.Session) -> None:
    qs(session).delete_data_source(AwsAccountId=ACCOUNT, DataSourceId="dw-sales-athena")


def _recreate_data_source(session: boto3.Session) -> None:
    _delete_data_source(session)
    qs(session).create_data_source(
        AwsAccountId=ACCOUNT,
        DataSourceId="dw-sales-athena",
        Name="Sales (Athena)",
        Type="ATHENA",
        DataSourceParameters=_athena_parameters(S3_ROLE_ARN),
        # Kept as declared: moto's UpdateDataSource drops SslProperties, so only the role drifts.
        SslProperties={"DisableSsl": False},
    )


def _repoint_data_source(session: boto3.Session) -> None:
    qs(session).update_data_source(
        AwsAccountId=ACCOUNT,
        DataSourceId="dw-sales-athena",
        Name="Sales (Athena)",
        DataSourceParameters=_athena_parameters(S3_ROLE_ARN),
    )


def _role_event(event_name: str, **params: Any) -> Callable[[], dict[str, Any]]:
    return lambda: api_call("aws.iam", event_name, {"roleName": ATHENA_ROLE, **params})


def _policy_event(event_name: str, **params: Any) -> Callable[[], dict[str, Any]]:
    return lambda: api_call("aws.iam", event_name, {"policyArn": RESULTS_POLICY, **params})


def _data_source_event(event_name: str, **params: Any) -> Callable[[], dict[str, Any]]:
    return lambda: api_call(
        "aws.quicksight",
        event_name,
        {"awsAccountId": ACCOUNT, "dataSourceId": "dw-sales-athena", **params},
    )


@dataclass(frozen=True)
class Case:
    """One mutating event: the drift that causes it, the event, what must be back in sync."""

    drift: Callable[[boto3.Session], None]
    event: Callable[[], dict[str, Any]]
    selector: str
    calls: tuple[str, ...]


ROLE_SELECTOR = f"iam_role/{ATHENA_ROLE}"
POLICY_SELECTOR = f"iam_policy/{RESULTS_POLICY}"
DATA_SOURCE_SELECTOR = "quicksight_data_source/dw-sales-athena"

ENFORCE_CASES: dict[str, Case] = {
    "CreateRole": Case(
        _recreate_role_by_hand,
        _role_event("CreateRole", assumeRolePolicyDocument="{}", path="/service-role/"),
        ROLE_SELECTOR,
        (
            "iam:UpdateAssumeRolePolicy",
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:UpdateRole",
            "iam:TagRole",
        ),
    ),
    "UpdateRole": Case(
        _update_role,
        _role_event("UpdateRole", description="changed", maxSessionDuration=7200),
        ROLE_SELECTOR,
        ("iam:UpdateRole",),
    ),
    "UpdateAssumeRolePolicy": Case(
        _widen_trust,
        _role_event("UpdateAssumeRolePolicy", policyDocument="{}"),
        ROLE_SELECTOR,
        ("iam:UpdateAssumeRolePolicy",),
    ),
    "PutRolePolicy (extra policy)": Case(
        _put_extra_inline,
        _role_event("PutRolePolicy", policyName="temp-debug", policyDocument=WIDE),
        ROLE_SELECTOR,
        ("iam:DeleteRolePolicy",),
    ),
    "PutRolePolicy (rewritten policy)": Case(
        _rewrite_inline,
        _role_event("PutRolePolicy", policyName="athena-query", policyDocument=WIDE),
        ROLE_SELECTOR,
        ("iam:PutRolePolicy",),
    ),
    "DeleteRolePolicy": Case(
        _delete_inline,
        _role_event("DeleteRolePolicy", policyName="athena-query"),
        ROLE_SELECTOR,
        ("iam:PutRolePolicy",),
    ),
    "AttachRolePolicy": Case(
        _attach_extra,
        _role_event(
            "AttachRolePolicy", policyArn=f"arn:aws:iam::{ACCOUNT}:policy/contractor-admin"
        ),
        ROLE_SELECTOR,
        ("iam:DetachRolePolicy",),
    ),
    "DetachRolePolicy": Case(
        _detach,
        _role_event("DetachRolePolicy", policyArn=RESULTS_POLICY),
        ROLE_SELECTOR,
        ("iam:AttachRolePolicy",),
    ),
    "PutRolePermissionsBoundary": Case(
        _put_boundary,
        _role_event(
            "PutRolePermissionsBoundary",
            permissionsBoundary=f"arn:aws:iam::{ACCOUNT}:policy/boundary",
        ),
        ROLE_SELECTOR,
        ("iam:DeleteRolePermissionsBoundary",),
    ),
    "TagRole": Case(
        _retag,
        _role_event("TagRole", tags=[{"key": "team", "value": "marketing"}]),
        ROLE_SELECTOR,
        ("iam:TagRole",),
    ),
    "UntagRole": Case(
        _untag, _role_event("UntagRole", tagKeys=["team"]), ROLE_SELECTOR, ("iam:TagRole",)
    ),
    "CreatePolicyVersion": Case(
        _new_default_version,
        _policy_event("CreatePolicyVersion", policyDocument=WIDE, setAsDefault=True),
        POLICY_SELECTOR,
        ("iam:CreatePolicyVersion",),
    ),
    "SetDefaultPolicyVersion": Case(
        _set_default_version,
        _policy_event("SetDefaultPolicyVersion", versionId="v2"),
        POLICY_SELECTOR,
        ("iam:CreatePolicyVersion",),
    ),
    "DeletePolicyVersion": Case(
        _delete_good_version,
        _policy_event("DeletePolicyVersion", versionId="v1"),
        POLICY_SELECTOR,
        ("iam:CreatePolicyVersion",),
    ),
    "CreateDataSource": Case(
        _recreate_data_source,
        _data_source_event("CreateDataSource", name="Sales (Athena)", type="ATHENA"),
        DATA_SOURCE_SELECTOR,
        ("quicksight:UpdateDataSource",),
    ),
    "UpdateDataSource": Case(
        _repoint_data_source,
        _data_source_event("UpdateDataSource", name="Sales (Athena)"),
        DATA_SOURCE_SELECTOR,
        ("quicksight:UpdateDataSource",),
    ),
}


class TestEnforceEachEvent:
    @pytest.mark.parametrize("name", list(ENFORCE_CASES))
    def test_drift_behind_the_event_is_reverted_and_journalled(
        self,
        name: str,
        client: Client,
        session: boto3.Session,
        seeded: Path,
        journal: str,
    ) -> None:
        """GIVEN an enforce entry changed with boto3 WHEN its CloudTrail event reaches the
        handler THEN the decision is reverted with the expected calls, the journal holds the
        applied action, and a fresh audit finds the resource in sync."""
        case = ENFORCE_CASES[name]
        case.drift(session)

        result = deliver(client, case.event())

        assert result["decision"] == "reverted", result
        (action,) = result["actions"]
        assert action["status"] == "applied"
        assert action["resource"] == case.selector
        assert set(case.calls) <= set(action["calls"]), action["calls"]
        assert audit(seeded, session, case.selector) is Status.IN_SYNC
        entry = journal_entry(session, journal, action["action_id"])
        assert str(entry.status) == "applied"
        assert entry.event["event_name"] == case.event()["detail"]["eventName"]
        assert entry.before["exists"] is True

    def test_policy_event_also_rechecks_the_roles_that_attach_the_policy(
        self, client: Client, session: boto3.Session
    ) -> None:
        """GIVEN a new default version of a managed policy WHEN CreatePolicyVersion arrives
        THEN the policy and the registry role attaching it are both compared."""
        _new_default_version(session)

        result = deliver(client, ENFORCE_CASES["CreatePolicyVersion"].event())

        compared = {f"{r['kind']}/{r['id']}" for r in result["resources"]}
        assert compared == {POLICY_SELECTOR, ROLE_SELECTOR}

    def test_deleted_permissions_boundary_is_put_back(
        self,
        tmp_path: Path,
        session: boto3.Session,
        lambda_over: Callable[[Path, dict[str, Any]], dict[str, Any]],
    ) -> None:
        """GIVEN a registry role declaring a permissions boundary WHEN the boundary is deleted
        and DeleteRolePermissionsBoundary arrives THEN it is put back."""

        def with_boundary(doc: dict[str, Any]) -> None:
            doc["spec"]["permissions_boundary"] = (
                "arn:${Partition}:iam::${AccountId}:policy/dw-athena-results-bucket"
            )

        registry = seed_registry(
            copy_registry(
                tmp_path / "registry", {"iam/roles/dw-quicksight-s3.yaml": with_boundary}
            ),
            session,
        )
        iam(session).delete_role_permissions_boundary(RoleName="dw-quicksight-s3")

        result = lambda_over(
            registry,
            api_call("aws.iam", "DeleteRolePermissionsBoundary", {"roleName": "dw-quicksight-s3"}),
        )

        assert result["decision"] == "reverted", result
        assert result["actions"][0]["calls"] == ["iam:PutRolePermissionsBoundary"]
        role = iam(session).get_role(RoleName="dw-quicksight-s3")["Role"]
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == RESULTS_POLICY


class TestDeletedResources:
    def test_deleted_role_is_reported_not_recreated(
        self, client: Client, session: boto3.Session
    ) -> None:
        """GIVEN an enforce role without ``recreate`` WHEN it is deleted (DeleteRole) THEN the
        decision is alerted with the resource missing, and the role stays gone."""
        _delete_role(session)

        result = deliver(client, _role_event("DeleteRole")())

        assert result["decision"] == "alerted"
        assert result["resources"][0]["status"] == "missing"
        assert result["actions"] == []
        with pytest.raises(iam(session).exceptions.NoSuchEntityException):
            iam(session).get_role(RoleName=ATHENA_ROLE)

    def test_deleted_data_source_is_reported_not_recreated(
        self, client: Client, session: boto3.Session
    ) -> None:
        """GIVEN an enforce data source without ``recreate`` WHEN DeleteDataSource arrives
        THEN it is alerted as missing and nothing is created."""
        _delete_data_source(session)

        result = deliver(client, _data_source_event("DeleteDataSource")())

        assert result["decision"] == "alerted"
        assert result["resources"][0]["status"] == "missing"
        assert result["actions"] == []

    @pytest.mark.parametrize(
        ("file", "delete", "event", "selector"),
        [
            (
                "iam/roles/dw-quicksight-athena.yaml",
                _delete_role,
                _role_event("DeleteRole"),
                ROLE_SELECTOR,
            ),
            (
                "quicksight/data-sources/dw-sales-athena.yaml",
                _delete_data_source,
                _data_source_event("DeleteDataSource"),
                DATA_SOURCE_SELECTOR,
            ),
        ],
        ids=["DeleteRole", "DeleteDataSource"],
    )
    def test_deleted_resource_is_recreated_when_the_entry_asks(
        self,
        file: str,
        delete: Callable[[boto3.Session], None],
        event: Callable[[], dict[str, Any]],
        selector: str,
        tmp_path: Path,
        session: boto3.Session,
        journal: str,
        lambda_over: Callable[[Path, dict[str, Any]], dict[str, Any]],
    ) -> None:
        """GIVEN an enforce entry with ``recreate: true`` WHEN the resource is deleted THEN the
        delete event recreates it, it compares in sync, and the journal saved that it did not
        exist before."""

        def recreate(doc: dict[str, Any]) -> None:
            doc["recreate"] = True

        registry = seed_registry(copy_registry(tmp_path / "registry", {file: recreate}), session)
        delete(session)

        result = lambda_over(registry, event())

        assert result["decision"] == "reverted", result
        assert audit(registry, session, selector) is Status.IN_SYNC
        entry = journal_entry(session, journal, result["actions"][0]["action_id"])
        assert entry.before == {"exists": False, "state": {}}


class TestCleanRoomsMembershipOnMoto:
    def test_disabled_query_logging_is_reverted(
        self,
        tmp_path: Path,
        session: boto3.Session,
        lambda_over: Callable[[Path, dict[str, Any]], dict[str, Any]],
    ) -> None:
        """GIVEN an enforce membership (moto emulates memberships) WHEN query logging is
        turned off and UpdateMembership arrives THEN it is turned back on."""
        cleanrooms = session.client("cleanrooms")
        collaboration = cleanrooms.create_collaboration(
            members=[],
            name="sales-insights",
            description="joint sales analysis",
            creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"],
            creatorDisplayName="analytics",
            queryLogStatus="ENABLED",
        )["collaboration"]
        membership_id = cleanrooms.create_membership(
            collaborationIdentifier=collaboration["id"],
            queryLogStatus="ENABLED",
            defaultResultConfiguration={
                "outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": "results"}},
                "roleArn": RECEIVE_ROLE_ARN,
            },
        )["membership"]["id"]
        entry = {
            "kind": "cleanrooms_membership",
            "id": membership_id,
            "mode": "enforce",
            "spec": {
                "result_role_arn": "arn:${Partition}:iam::${AccountId}:role/service-role/"
                "dw-cleanrooms-receive-results",
                "query_log_status": "ENABLED",
            },
        }
        registry = seed_registry(
            copy_registry(tmp_path / "registry", extra={"cleanrooms/membership.yaml": entry}),
            session,
        )
        cleanrooms.update_membership(membershipIdentifier=membership_id, queryLogStatus="DISABLED")

        result = lambda_over(
            registry,
            api_call(
                "aws.cleanrooms",
                "UpdateMembership",
                {"membershipIdentifier": membership_id, "queryLogStatus": "DISABLED"},
            ),
        )

        assert result["decision"] == "reverted", result
        assert result["actions"][0]["calls"] == ["cleanrooms:UpdateMembership"]
        live = cleanrooms.get_membership(membershipIdentifier=membership_id)["membership"]
        assert live["queryLogStatus"] == "ENABLED"


class TestAlertThroughTheHandler:
    def test_alert_entry_is_notified_and_left_untouched(
        self, client: Client, session: boto3.Session, seeded: Path
    ) -> None:
        """GIVEN an alert-mode role drifted WHEN its event arrives THEN the decision is
        alerted, no write call is made and the drift is still there."""
        wiring = service.lambda_wiring(chalice_app.metrics)
        calls = watch_wiring(wiring)
        iam(session).put_role_policy(
            RoleName=REDSHIFT_ROLE, PolicyName="temp-debug", PolicyDocument=WIDE
        )

        result = deliver(
            client,
            api_call(
                "aws.iam",
                "PutRolePolicy",
                {"roleName": REDSHIFT_ROLE, "policyName": "temp-debug", "policyDocument": WIDE},
            ),
        )

        assert result["decision"] == "alerted"
        assert result["actions"] == []
        assert calls.writes_to("iam") == []
        assert calls.writes_to("s3") == []
        assert (
            "temp-debug" in iam(session).list_role_policies(RoleName=REDSHIFT_ROLE)["PolicyNames"]
        )
        assert audit(seeded, session, f"iam_role/{REDSHIFT_ROLE}") is Status.DRIFTED


class TestNotificationsThroughTheHandler:
    def test_revert_is_published_to_sns_and_posted_to_slack(
        self,
        client: Client,
        session: boto3.Session,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """GIVEN SNS and Slack configured in the Lambda's environment WHEN a revert happens
        THEN both channels report sent, SNS holds the message and Slack got the blocks."""
        inbox = SnsInbox(session)
        with SlackStandIn() as slack:
            monkeypatch.setenv("DRIFTWARDEN_SNS_TOPIC_ARN", inbox.topic_arn)
            monkeypatch.setenv("DRIFTWARDEN_SLACK_WEBHOOK_URL", slack.url)
            _put_extra_inline(session)
            result = deliver(client, ENFORCE_CASES["PutRolePolicy (extra policy)"].event())
            posted = slack.messages

        assert result["decision"] == "reverted"
        assert {(n["channel"], n["status"]) for n in result["notifications"]} == {
            ("sns", "sent"),
            ("slack", "sent"),
        }
        (delivery,) = inbox.deliveries()
        assert delivery.body["decision"] == "reverted"
        assert delivery.body["undo"] == f"driftwarden undo {result['actions'][0]['action_id']}"
        assert len(posted) == 1


# ---------------------------------------------------------------------------------------------
# bad and irrelevant input through the handler


class TestIgnoredThroughTheHandler:
    @pytest.mark.parametrize(
        ("event", "reason"),
        [
            (
                api_call(
                    "aws.iam",
                    "PutRolePolicy",
                    {"roleName": ATHENA_ROLE, "policyName": "x", "policyDocument": WIDE},
                    error_code="AccessDenied",
                ),
                "failed call",
            ),
            (
                api_call("aws.iam", "GetRole", {"roleName": ATHENA_ROLE}, read_only=True),
                "read-only",
            ),
            (api_call("aws.iam", "CreateUser", {"userName": "mallory"}), "unknown event"),
            (api_call("aws.iam", "TagRole", {"roleName": "not-in-registry"}), "not managed"),
            (api_call("aws.iam", "TagRole", {}), "no resource identifier"),
            (
                api_call("aws.iam", "TagRole", {"roleName": ATHENA_ROLE}, account="210987654321"),
                "account",
            ),
        ],
        ids=["errorCode", "read-only", "unknown", "unmanaged", "no-identifier", "other-account"],
    )
    def test_event_is_ignored_with_a_reason_and_nothing_is_written(
        self, event: dict[str, Any], reason: str, bare_client: Client
    ) -> None:
        """GIVEN an event driftwarden must not act on WHEN it reaches the handler THEN the
        decision is ignored with a reason and no write call is made."""
        calls = watch_wiring(service.lambda_wiring(chalice_app.metrics))

        result = deliver(bare_client, event)

        assert result["decision"] == "ignored"
        assert reason in result["reason"]
        assert calls.writes == []

    @pytest.mark.parametrize(
        "detail",
        [
            {},
            {"eventSource": "iam.amazonaws.com"},
            {"eventSource": "iam.amazonaws.com", "eventName": 42},
            {"eventSource": "iam.amazonaws.com", "eventName": "TagRole", "requestParameters": "x"},
            'truncated {"eventName": "TagRo',
        ],
        ids=["empty", "no-name", "wrong-type", "params-not-object", "truncated-text"],
    )
    def test_malformed_detail_is_ignored_without_an_exception(
        self, detail: Any, bare_client: Client
    ) -> None:
        """GIVEN an EventBridge envelope whose CloudTrail detail is broken WHEN it reaches the
        handler THEN no exception escapes and the decision is ignored with a reason."""
        event = api_call("aws.iam", "TagRole", {"roleName": ATHENA_ROLE})
        event["detail"] = detail

        result = deliver(bare_client, event)

        assert result["decision"] == "ignored"
        assert result["reason"]


class TestCorpusEvents:
    @pytest.mark.parametrize(
        "path",
        corpus_event_files(),
        ids=[str(p.relative_to(CORPUS_EVENTS)) for p in corpus_event_files()],
    )
    def test_every_corpus_event_yields_a_decision_with_a_reason_when_ignored(
        self, path: Path, bare_client: Client
    ) -> None:
        """GIVEN a real event from the shared corpus, wrapped as EventBridge delivers it WHEN
        it reaches the handler of its source THEN it never raises and an ignored decision
        carries a reason (none of them names a registry resource)."""
        raw = json.loads(path.read_text())
        event = raw if "detail" in raw else envelope(raw)

        result = deliver(bare_client, event)

        assert result["decision"] in {"ignored", "in_sync", "alerted", "reverted", "failed"}
        assert result["decision"] == "ignored"
        assert result["reason"]


# ---------------------------------------------------------------------------------------------
# powertools under Chalice


@pytest.fixture
def route_logs() -> Iterator[Callable[[], None]]:
    """Returns a function that points the shared ``driftwarden`` logger at the current
    (captured) ``sys.stdout`` at INFO; call it in the test body, where capsys is active.

    The powertools Logger keeps the stream it was created with (pytest's collection-time
    stdout), and a CLI run in the same process moves it to its ``err`` at WARNING.
    """
    stdlib = logging.getLogger("driftwarden")
    level = stdlib.level

    def route() -> None:
        for handler in stdlib.handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(sys.stdout)
        stdlib.setLevel(logging.INFO)

    yield route
    stdlib.setLevel(level)
    for handler in stdlib.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.stream = sys.__stdout__  # no flush: capsys has closed its stream by now


class TestPowertoolsUnderChalice:
    def test_middleware_logs_json_with_correlation_id_and_flushes_metrics(
        self,
        client: Client,
        session: boto3.Session,
        route_logs: Callable[[], None],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """GIVEN the middleware registered in app.py WHEN a drift event is handled THEN the
        handler returns, each log line is JSON with the event ID as correlation ID and the
        function name, and the EMF blob carries DriftDetected and DriftReverted."""
        _put_extra_inline(session)
        event = ENFORCE_CASES["PutRolePolicy (extra policy)"].event()
        route_logs()
        capsys.readouterr()

        result = deliver(client, event)

        assert result["decision"] == "reverted"
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
        logs = [line for line in lines if "_aws" not in line]
        metrics = [line for line in lines if "_aws" in line]
        assert logs, "no log line captured"
        assert {line["correlation_id"] for line in logs} == {event["id"]}
        assert {line["function_name"] for line in logs} == {"on_iam_change"}
        assert any(line["message"] == "drift detected" for line in logs)
        assert any(line["message"] == "revert applied" for line in logs)
        names = {
            m["Name"]
            for blob in metrics
            for directive in blob["_aws"]["CloudWatchMetrics"]
            for m in directive["Metrics"]
        }
        assert {"DriftDetected", "DriftReverted"} <= names
        assert any(
            blob.get("DriftReverted") == [1.0] or blob.get("DriftReverted") == 1.0
            for blob in metrics
        )

    def test_plain_inject_lambda_context_decorator_fails_on_a_cw_event_handler(self) -> None:
        """GIVEN powertools' plain ``@logger.inject_lambda_context`` on a Chalice
        ``on_cw_event`` handler WHEN it is invoked THEN it fails with TypeError, because Chalice
        passes one event object and the decorator wants (event, context): the trap app.py
        avoids with ConvertToMiddleware."""
        trap = Chalice(app_name="trap")
        trap_logger = Logger(service="trap")

        @trap.on_cw_event({"source": ["aws.iam"]}, name="decorated")
        @trap_logger.inject_lambda_context
        def decorated(event: Any) -> dict[str, Any]:
            return {"ok": True}

        event = api_call("aws.iam", "TagRole", {"roleName": ATHENA_ROLE})
        with Client(trap) as test_client, pytest.raises(TypeError, match="context"):
            test_client.lambda_.invoke("decorated", event)


class TestSweepHandler:
    def test_scheduled_sweep_reverts_enforce_drift_and_reports_alert_drift(
        self, client: Client, session: boto3.Session, seeded: Path
    ) -> None:
        """GIVEN drift on an enforce role and an alert role WHEN the hourly sweep runs THEN the
        enforce role is reverted, the alert role is left drifted, and the decision is alerted."""
        _put_extra_inline(session)
        iam(session).put_role_policy(
            RoleName=REDSHIFT_ROLE, PolicyName="temp-debug", PolicyDocument=WIDE
        )
        event = client.events.generate_cw_event(
            source="aws.events",
            detail_type="Scheduled Event",
            detail={},
            resources=[],
            region=REGION,
        )

        result = client.lambda_.invoke("sweep", event).payload

        assert result["decision"] == "alerted"
        decisions = {f"{r['kind']}/{r['id']}": r["decision"] for r in result["resources"]}
        assert decisions[ROLE_SELECTOR] == "reverted"
        assert decisions[f"iam_role/{REDSHIFT_ROLE}"] == "alerted"
        assert audit(seeded, session, ROLE_SELECTOR) is Status.IN_SYNC
        assert audit(seeded, session, f"iam_role/{REDSHIFT_ROLE}") is Status.DRIFTED

    def test_scheduled_sweep_with_an_unusable_registry_sends_an_alert(
        self, aws: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """GIVEN an invalid registry and Slack configured WHEN the hourly sweep runs THEN
        nothing is written and an alert is posted (the Lambda may still fail to be retried)."""
        with SlackStandIn() as slack:
            monkeypatch.setenv("DRIFTWARDEN_REGISTRY", str(INVALID_REGISTRY))
            monkeypatch.setenv("DRIFTWARDEN_SLACK_WEBHOOK_URL", slack.url)
            service.reset()
            with Client(chalice_app.app, stage_name="test") as test_client:
                event = test_client.events.generate_cw_event(
                    source="aws.events",
                    detail_type="Scheduled Event",
                    detail={},
                    resources=[],
                    region=REGION,
                )
                with contextlib.suppress(RegistryError):
                    test_client.lambda_.invoke("sweep", event)
            posted = slack.messages
        service.reset()

        assert posted, "no alert for the unusable registry"
