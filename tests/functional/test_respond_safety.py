"""Every safety rule of the responder against moto's server: the kill switch, the revert limit,
flap detection, trusted actors, driftwarden's own role and its own events, irrelevant and
malformed events, an unusable registry, a missing or unwritable journal, and dry run.

Write calls are counted with a botocore ``before-call`` hook on the wiring's clients.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import service
from chalicelib.config import Settings
from chalicelib.models import Decision
from chalicelib.wiring import Wiring
from tests.conftest import ACCOUNT, REGION, ROOT
from tests.events import api_call
from tests.fakes import (
    POLICIES,
    CallLog,
    RecordingNotifier,
    build_wiring,
    copy_registry,
    create_bucket,
    policy_doc,
    reset_emulator,
    stubbed_client,
    watch_wiring,
)

ATHENA_ROLE = "dw-quicksight-athena"
S3_ROLE = "dw-quicksight-s3"
WIDE = policy_doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
MANAGED = ("iam", "quicksight", "cleanrooms", "s3")


@pytest.fixture(autouse=True)
def _leave_emulator_clean(moto_endpoint: str) -> Iterator[None]:
    """Wipe moto after each test (its state is process-wide; see ``reset_emulator``)."""
    yield
    reset_emulator(moto_endpoint)


@pytest.fixture
def journal(session: boto3.Session) -> str:
    return f"s3://{create_bucket(session)}/journal"


def drift(session: boto3.Session, role: str = ATHENA_ROLE) -> None:
    """An extra inline policy on ``role``."""
    session.client("iam").put_role_policy(
        RoleName=role, PolicyName="temp-debug", PolicyDocument=WIDE
    )


def event(role: str = ATHENA_ROLE, **kwargs: Any) -> dict[str, Any]:
    """The PutRolePolicy event of :func:`drift` (``kwargs`` as for ``api_call``)."""
    return api_call(
        "aws.iam",
        "PutRolePolicy",
        {"roleName": role, "policyName": "temp-debug", "policyDocument": WIDE},
        **kwargs,
    )


def still_drifted(session: boto3.Session, role: str = ATHENA_ROLE) -> bool:
    names = session.client("iam").list_role_policies(RoleName=role)["PolicyNames"]
    return "temp-debug" in names


def from_env(
    monkeypatch: pytest.MonkeyPatch, session: boto3.Session, **env: str
) -> tuple[Wiring, RecordingNotifier, CallLog]:
    """A wiring whose settings come from ``DRIFTWARDEN_*`` variables (as in the Lambda), with a
    recording notifier and a call log."""
    for name, value in env.items():
        monkeypatch.setenv(f"DRIFTWARDEN_{name}", value)
    wiring = Wiring(Settings.from_env(), session)
    notifier = RecordingNotifier()
    wiring.notifiers = [notifier]
    return wiring, notifier, watch_wiring(wiring)


def assumed_session(session: boto3.Session, role: str, name: str) -> boto3.Session:
    """A session whose STS caller identity is ``assumed-role/<role>/<name>``."""
    iam = session.client("iam")
    try:
        iam.get_role(RoleName=role)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=policy_doc())
    creds = session.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName=name
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )


class TestKillSwitch:
    def test_paused_environment_alerts_and_writes_nothing(
        self, seeded: Path, session: boto3.Session, journal: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """GIVEN DRIFTWARDEN_PAUSED=true WHEN enforce drift arrives THEN it is alerted with
        reason "paused" and no write call is made."""
        wiring, notifier, calls = from_env(
            monkeypatch, session, REGISTRY=str(seeded), JOURNAL=journal, PAUSED="true"
        )
        drift(session)

        outcome = wiring.responder.handle_event(event())

        assert outcome.decision is Decision.ALERTED
        assert outcome.responses[0].reason == "paused"
        assert calls.writes == []
        assert still_drifted(session)
        assert [a.reason for a in notifier.alerts] == ["paused"]

    def test_paused_registry_alerts_and_writes_nothing(
        self, seeded: Path, tmp_path: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN the registry's settings say ``paused: true`` WHEN enforce drift arrives THEN
        it is alerted with reason "paused" and no write call is made."""

        def pause(doc: dict[str, Any]) -> None:
            doc["paused"] = True

        registry = copy_registry(tmp_path / "registry", {"registry.yaml": pause})
        wiring = build_wiring(session, registry, journal=journal)
        calls = watch_wiring(wiring)
        drift(session)

        outcome = wiring.responder.handle_event(event())

        assert outcome.decision is Decision.ALERTED
        assert outcome.responses[0].reason == "paused"
        assert calls.writes == []
        assert still_drifted(session)


class TestRevertLimit:
    def test_second_drift_beyond_the_limit_is_alerted_with_the_limit_reason(
        self, seeded: Path, session: boto3.Session, journal: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """GIVEN DRIFTWARDEN_MAX_REVERTS=1 and one revert already made this hour WHEN another
        enforce resource drifts THEN it is alerted (not reverted), and the notification says
        the limit was reached."""
        wiring, notifier, calls = from_env(
            monkeypatch, session, REGISTRY=str(seeded), JOURNAL=journal, MAX_REVERTS="1"
        )
        drift(session, ATHENA_ROLE)
        first = wiring.responder.handle_event(event(ATHENA_ROLE))
        drift(session, S3_ROLE)
        writes_before = len(calls.writes_to("iam"))

        second = wiring.responder.handle_event(event(S3_ROLE))

        assert first.decision is Decision.REVERTED
        assert second.decision is Decision.ALERTED
        reason = second.responses[0].reason or ""
        assert "revert limit reached (1 per hour)" in reason
        assert len(calls.writes_to("iam")) == writes_before
        assert still_drifted(session, S3_ROLE)
        assert "revert limit" in (notifier.alerts[-1].reason or "")


class TestFlapDetection:
    def test_fourth_drift_within_the_window_is_left_alone_and_escalated(
        self, seeded: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN the same resource reverted three times within 30 minutes WHEN it drifts a
        fourth time THEN it is left alone with the flapping reason and that escalation is
        notified (not de-duplicated away)."""
        wiring = build_wiring(session, seeded, journal=journal)
        notifier = RecordingNotifier()
        wiring.notifiers = [notifier]
        decisions = []
        for _ in range(3):
            drift(session)
            decisions.append(wiring.responder.handle_event(event()).decision)
        drift(session)

        fourth = wiring.responder.handle_event(event())

        assert decisions == [Decision.REVERTED] * 3
        assert fourth.decision is Decision.ALERTED
        reason = fourth.responses[0].reason or ""
        assert reason.startswith("flapping: reverted 3 times in 30 minutes")
        assert still_drifted(session)
        assert notifier.alerts[-1].reason == reason
        sent = [n for n in fourth.all_notifications if n.status == "sent"]
        assert sent, fourth.to_json()


class TestTrustedActors:
    def test_change_by_a_trusted_actor_is_alerted_not_reverted(
        self, seeded: Path, session: boto3.Session, journal: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """GIVEN DRIFTWARDEN_TRUSTED_ACTORS with a wildcard matching the IaC pipeline's role
        WHEN the pipeline changes an enforce role THEN the change is alerted, not reverted."""
        wiring, notifier, calls = from_env(
            monkeypatch,
            session,
            REGISTRY=str(seeded),
            JOURNAL=journal,
            TRUSTED_ACTORS=f"arn:aws:iam::{ACCOUNT}:role/ci-*, arn:aws:iam::*:role/terraform-*",
        )
        drift(session)

        outcome = wiring.responder.handle_event(
            event(actor_role="terraform-pipeline", actor_session="run-4711")
        )

        assert outcome.decision is Decision.ALERTED
        assert outcome.responses[0].reason == "change by a trusted actor"
        assert calls.writes == []
        assert still_drifted(session)
        (alert,) = notifier.alerts
        assert alert.notice is not None
        assert alert.notice.actor_arn == (
            f"arn:aws:sts::{ACCOUNT}:assumed-role/terraform-pipeline/run-4711"
        )

    def test_change_by_someone_else_is_still_reverted(
        self, seeded: Path, session: boto3.Session, journal: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """GIVEN trusted actors configured WHEN a person outside them makes the change THEN it
        is reverted as usual."""
        wiring, _, _ = from_env(
            monkeypatch,
            session,
            REGISTRY=str(seeded),
            JOURNAL=journal,
            TRUSTED_ACTORS="arn:aws:iam::*:role/terraform-*",
        )
        drift(session)

        outcome = wiring.responder.handle_event(event())

        assert outcome.decision is Decision.REVERTED


class TestOwnRole:
    def test_registry_role_named_like_the_caller_role_is_never_reverted(
        self, seeded: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN driftwarden runs as a role that the registry also lists WHEN somebody else
        changes that role THEN it is alerted ("never manages its own role"), not reverted."""
        own = assumed_session(session, ATHENA_ROLE, "remediator")
        wiring = Wiring(Settings(registry=str(seeded), journal=journal), own)
        calls = watch_wiring(wiring)
        drift(session)

        outcome = wiring.responder.handle_event(event())

        assert outcome.decision is Decision.ALERTED
        assert outcome.responses[0].reason == "driftwarden never manages its own role"
        assert calls.writes == []
        assert still_drifted(session)


class TestOwnEvents:
    def test_event_by_a_configured_self_arn_is_ignored_without_reading(
        self, seeded: Path, session: boto3.Session, journal: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """GIVEN DRIFTWARDEN_SELF_ARNS names driftwarden's role WHEN an event made by that role
        arrives THEN it is ignored as driftwarden's own, without reading or writing anything."""
        wiring, notifier, calls = from_env(
            monkeypatch,
            session,
            REGISTRY=str(seeded),
            JOURNAL=journal,
            SELF_ARNS=f"arn:aws:iam::{ACCOUNT}:role/driftwarden",
        )
        drift(session)

        outcome = wiring.responder.handle_event(
            event(actor_role="driftwarden", actor_session="remediator")
        )

        assert outcome.decision is Decision.IGNORED
        assert outcome.reason == "caused by driftwarden itself"
        assert [c for c in calls.calls if c.split(":")[0] in MANAGED] == []
        assert notifier.alerts == []
        assert still_drifted(session)

    def test_event_by_the_sts_caller_is_ignored_without_reading(
        self, seeded: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN driftwarden runs as an assumed role (learned from STS) WHEN an event made by
        that session arrives THEN it is ignored, without reading or writing anything."""
        own = assumed_session(session, "driftwarden", "remediator")
        wiring = Wiring(Settings(registry=str(seeded), journal=journal), own)
        calls = watch_wiring(wiring)
        drift(session)

        outcome = wiring.responder.handle_event(
            event(actor_role="driftwarden", actor_session="remediator")
        )

        assert outcome.decision is Decision.IGNORED
        assert outcome.reason == "caused by driftwarden itself"
        assert [c for c in calls.calls if c.split(":")[0] in MANAGED] == []


# ---------------------------------------------------------------------------------------------
# events that must not be acted on


IRRELEVANT: dict[str, tuple[Any, str]] = {
    "errorCode": (event(error_code="AccessDenied"), "failed call (errorCode=AccessDenied)"),
    "read-only": (
        api_call("aws.iam", "GetRole", {"roleName": ATHENA_ROLE}, read_only=True),
        "read-only event",
    ),
    "unknown event": (api_call("aws.iam", "CreateUser", {"userName": "x"}), "unknown event name"),
    "unmanaged role": (event("not-in-the-registry"), "not managed by the registry"),
    "other service": (api_call("aws.s3", "PutBucketPolicy", {"bucketName": "b"}), "unknown"),
    "no identifier": (api_call("aws.iam", "PutRolePolicy", {}), "no resource identifier"),
    "null parameters": (api_call("aws.iam", "PutRolePolicy", None), "no resource identifier"),
    "other detail-type": ({**event(), "detail-type": "AWS Console Sign In"}, "malformed event"),
    "not JSON": ('{"detail-type": "AWS API Call via CloudTrail", "deta', "malformed event"),
    "a list": ([event()], "malformed event"),
    "null": (None, "malformed event"),
    "empty object": ({}, "malformed event"),
    "detail not an object": ({**event(), "detail": [1, 2]}, "malformed event"),
    "eventName not a string": (
        {**event(), "detail": {**event()["detail"], "eventName": ["PutRolePolicy"]}},
        "malformed event",
    ),
    "truncated detail": (
        {**event(), "detail": {"eventSource": "iam.amazonaws.com", "eventName": "PutRolePolicy"}},
        "",
    ),
}


class TestIrrelevantAndMalformedEvents:
    @pytest.mark.parametrize(("raw", "reason"), IRRELEVANT.values(), ids=list(IRRELEVANT))
    def test_event_is_ignored_with_a_reason_and_nothing_is_read_or_written(
        self, raw: Any, reason: str, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN an event driftwarden must not act on (failed, read-only, unknown, unmanaged,
        malformed or truncated) WHEN it is handled THEN the decision is ignored with a reason,
        nothing raises, no managed resource or journal is read or written, nobody is told."""
        wiring = build_wiring(session, POLICIES, journal=journal)
        notifier = RecordingNotifier()
        wiring.notifiers = [notifier]
        calls = watch_wiring(wiring)

        outcome = wiring.responder.handle_event(raw)

        assert outcome.decision is Decision.IGNORED
        assert outcome.reason
        assert reason in outcome.reason
        assert outcome.exit_code() == 0
        assert [c for c in calls.calls if c.split(":")[0] in MANAGED] == []
        assert notifier.alerts == []

    def test_huge_policy_document_in_the_event_is_harmless(
        self, seeded: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN an event carrying a multi-megabyte policy document WHEN it is handled THEN the
        live state decides (here: in sync) and nothing is written."""
        wiring = build_wiring(session, seeded, journal=journal)
        calls = watch_wiring(wiring)
        huge = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": f"s3:Get{i}", "Resource": "*"}
                    for i in range(60_000)
                ],
            }
        )
        raw = api_call(
            "aws.iam",
            "PutRolePolicy",
            {"roleName": ATHENA_ROLE, "policyName": "athena-query", "policyDocument": huge},
        )

        outcome = wiring.responder.handle_event(raw)

        assert outcome.decision is Decision.IN_SYNC
        assert calls.writes == []


class TestUnusableRegistry:
    @pytest.mark.parametrize(
        "registry",
        [
            str(ROOT / "tests" / "data" / "registries" / "invalid"),
            "/nonexistent/registry",
            "s3://no-such-registry-bucket/registry",
        ],
        ids=["invalid", "missing", "unreadable-s3"],
    )
    def test_no_write_and_an_alert(
        self, registry: str, seeded: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN a registry that is invalid, missing or unreadable WHEN an event for a managed
        resource arrives THEN the decision is failed, nothing is written and an alert is sent."""
        wiring = build_wiring(session, registry, journal=journal)
        notifier = RecordingNotifier()
        wiring.notifiers = [notifier]
        calls = watch_wiring(wiring)
        drift(session)

        outcome = wiring.responder.handle_event(event())

        assert outcome.decision is Decision.FAILED
        assert outcome.exit_code() == 1
        assert "registry unusable" in (outcome.reason or "")
        assert calls.writes == []
        (alert,) = notifier.alerts
        assert alert.decision is Decision.FAILED
        assert alert.result.ref.id == ATHENA_ROLE
        assert still_drifted(session)


class TestJournal:
    def test_lambda_without_a_journal_does_not_revert(
        self, seeded: Path, session: boto3.Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """GIVEN the Lambda's wiring without DRIFTWARDEN_JOURNAL WHEN enforce drift arrives
        THEN it is alerted (reverts need a journal) and nothing is written."""
        monkeypatch.setenv("DRIFTWARDEN_REGISTRY", str(seeded))
        service.reset()
        try:
            wiring = service.lambda_wiring()
            calls = watch_wiring(wiring)
            drift(session)

            outcome = wiring.responder.handle_event(event())
        finally:
            service.reset()

        assert outcome.decision is Decision.ALERTED
        assert "no journal configured" in (outcome.responses[0].reason or "")
        assert calls.writes == []
        assert still_drifted(session)

    def test_unwritable_journal_means_no_revert(self, seeded: Path, session: boto3.Session) -> None:
        """GIVEN a journal in a bucket that does not exist WHEN enforce drift arrives THEN the
        intent cannot be saved, so nothing is reverted and the drift is alerted."""
        wiring = build_wiring(session, seeded, journal="s3://no-such-journal-bucket/j")
        calls = watch_wiring(wiring)
        drift(session)

        outcome = wiring.responder.handle_event(event())

        assert outcome.decision is Decision.ALERTED
        assert "journal unwritable" in (outcome.responses[0].reason or "")
        assert calls.writes_to("iam") == []
        assert still_drifted(session)


class TestRevertsThatCannotHappen:
    def test_drift_no_api_call_can_fix_is_alerted_not_attempted(
        self, seeded: Path, tmp_path: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN a registry entry declaring another role path (IAM cannot change a path) WHEN
        the role's event is handled THEN the drift is alerted as not revertible and nothing is
        written."""

        def move(doc: dict[str, Any]) -> None:
            doc["spec"]["path"] = "/cleanrooms/"

        registry = copy_registry(
            tmp_path / "registry", {"iam/roles/dw-cleanrooms-read-data.yaml": move}
        )
        wiring = build_wiring(session, registry, journal=journal)
        calls = watch_wiring(wiring)

        outcome = wiring.responder.handle_event(event("dw-cleanrooms-read-data"))

        assert outcome.decision is Decision.ALERTED
        reason = outcome.responses[0].reason or ""
        assert reason.startswith("cannot revert:")
        assert "path" in reason
        assert calls.writes == []

    def test_revert_refused_by_aws_is_failed_and_journalled(
        self, seeded: Path, session: boto3.Session, journal: str
    ) -> None:
        """GIVEN QuickSight refusing the update (stubbed: the error path needs a refusal moto
        does not produce) WHEN an enforce data source is reverted THEN the decision is failed
        (exit 1), the action is failed and the journal entry records the error."""
        wiring = build_wiring(session, seeded, journal=journal)
        quicksight, stub = stubbed_client("quicksight")
        wiring._clients["quicksight"] = quicksight
        ids = {"AwsAccountId": ACCOUNT, "DataSourceId": "dw-sales-athena"}
        described = {
            "DataSource": {
                "Arn": f"arn:aws:quicksight:{REGION}:{ACCOUNT}:datasource/dw-sales-athena",
                "DataSourceId": "dw-sales-athena",
                "Name": "Sales (Athena)",
                "Type": "ATHENA",
                "DataSourceParameters": {
                    "AthenaParameters": {
                        "WorkGroup": "primary",
                        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/{S3_ROLE}",
                    }
                },
                "SslProperties": {"DisableSsl": False},
            },
            "Status": 200,
        }
        stub.add_response("describe_data_source", described, ids)
        stub.add_response("describe_data_source", described, ids)
        stub.add_client_error(
            "update_data_source", "AccessDeniedException", "not allowed", http_status_code=403
        )
        raw = api_call(
            "aws.quicksight",
            "UpdateDataSource",
            {"awsAccountId": ACCOUNT, "dataSourceId": "dw-sales-athena"},
        )

        outcome = wiring.responder.handle_event(raw)

        stub.assert_no_pending_responses()
        assert outcome.decision is Decision.FAILED
        assert outcome.exit_code() == 1
        (response,) = outcome.responses
        assert response.action is not None
        assert response.action.status == "failed"
        assert wiring.journal is not None
        entry = wiring.journal.get(response.action.action_id)
        assert str(entry.status) == "failed"
        assert "AccessDeniedException" in (entry.error or "")


class TestDryRun:
    def test_dry_run_environment_plans_and_writes_nothing(
        self, seeded: Path, session: boto3.Session, journal: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """GIVEN DRIFTWARDEN_DRY_RUN=true WHEN enforce drift arrives THEN the revert is planned
        (action status planned, with its calls), nothing is written, not even the journal."""
        wiring, _, calls = from_env(
            monkeypatch, session, REGISTRY=str(seeded), JOURNAL=journal, DRY_RUN="true"
        )
        drift(session)

        outcome = wiring.responder.handle_event(event())

        (response,) = outcome.responses
        assert response.action is not None
        assert response.action.status == "planned"
        assert response.action.calls == ("iam:DeleteRolePolicy",)
        assert outcome.decision is Decision.ALERTED
        assert calls.writes == []
        assert still_drifted(session)
        listed = session.client("s3").list_objects_v2(Bucket="driftwarden-journal")
        assert listed.get("KeyCount", 0) == 0
