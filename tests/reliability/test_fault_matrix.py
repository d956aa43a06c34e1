"""The fault matrix: driftwarden against moto's server while AWS, S3, SNS and Slack misbehave.

Faults are injected at the botocore level on the wiring's own clients (``before-call`` hooks
that raise, ``before-send`` hooks that answer in place of the server; see ``faults.py``) or by
the Slack stand-in (failures, delays). Nothing of driftwarden is patched. Every case asserts
the final live state, the journal and the notifications as their receivers got them (the SQS
queue subscribed to the SNS topic, the Slack stand-in), and adds to the session's figures:
write calls made where none were allowed, and notifications lost.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.errors import RegistryError
from chalicelib.local.slack_server import SlackStandIn
from chalicelib.models import Decision, NotificationRecord, Status
from chalicelib.notify.slack import SlackNotifier
from chalicelib.notify.sns import SnsNotifier
from chalicelib.registry.loader import load_directory
from chalicelib.registry.model import canonical_json
from chalicelib.registry.store import pointer_key, publish, snapshot_key
from chalicelib.remediation.journal import JournalEntry
from chalicelib.wiring import Wiring
from tests.conftest import ACCOUNT
from tests.events import api_call
from tests.fakes import (
    POLICIES,
    CallLog,
    SnsInbox,
    build_wiring,
    copy_registry,
    create_dedup_table,
    policy_doc,
)
from tests.reliability.faults import refuse, throttle
from tests.reliability.figures import CaseFigures
from tests.reliability.fuzz import env_int

ATHENA = "dw-quicksight-athena"  # enforce
S3_ROLE = "dw-quicksight-s3"  # enforce
REDSHIFT = "dw-quicksight-redshift"  # alert
DESIRED_INLINE = ["athena-query"]
RESULTS_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/dw-athena-results-bucket"
WIDE = policy_doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
STRANGER_TRUST = policy_doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "quicksight.amazonaws.com"},
        "Action": "sts:AssumeRole",
    },
    {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
        "Action": "sts:AssumeRole",
    },
)
REGISTRY_BUCKET = "dw-registry"
REGISTRY_PREFIX = "registry"
MANAGED_SERVICES = ("iam", "quicksight", "cleanrooms")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
THROTTLE_IN_A_ROW_ENV = "RELIABILITY_THROTTLE_IN_A_ROW"


# ---------------------------------------------------------------------------------------------
# helpers


def iam(session: boto3.Session) -> Any:
    return session.client("iam")


def drift_inline(session: boto3.Session, role: str = ATHENA) -> None:
    """An extra, wide inline policy on ``role``."""
    iam(session).put_role_policy(RoleName=role, PolicyName="temp-debug", PolicyDocument=WIDE)


def inline_event(role: str = ATHENA) -> dict[str, Any]:
    return api_call(
        "aws.iam",
        "PutRolePolicy",
        {"roleName": role, "policyName": "temp-debug", "policyDocument": WIDE},
    )


def inline_names(session: boto3.Session, role: str = ATHENA) -> list[str]:
    return sorted(iam(session).list_role_policies(RoleName=role)["PolicyNames"])


def attached(session: boto3.Session, role: str = ATHENA) -> list[str]:
    policies = iam(session).list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    return sorted(p["PolicyArn"] for p in policies)


def trust_principals(session: boto3.Session, role: str = ATHENA) -> list[Any]:
    document = iam(session).get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    return [s.get("Principal") for s in document["Statement"]]


def in_sync(wiring: Wiring, role: str = ATHENA) -> bool:
    report = wiring.audit(f"iam_role/{role}")
    return all(r.status is Status.IN_SYNC for r in report.resources)


def journal_entries(wiring: Wiring) -> list[JournalEntry]:
    assert wiring.journal is not None
    # Action ids are time-sortable to the second only: order same-second actions by time.
    return sorted(wiring.journal.recent(EPOCH), key=lambda e: e.created_at)


def records_of(outcomes: Iterable[Any]) -> list[NotificationRecord]:
    out: list[NotificationRecord] = []
    for outcome in outcomes:
        if hasattr(outcome, "all_notifications"):
            out.extend(outcome.all_notifications)
        else:
            out.extend(outcome.notifications)
            out.extend(n for r in outcome.responses for n in r.notifications)
    return out


def channels(records: Iterable[NotificationRecord]) -> list[tuple[str, str]]:
    return sorted((r.channel, r.status) for r in records)


def full_wiring(
    session: boto3.Session,
    registry: Path | str,
    journal: str | None,
    inbox: SnsInbox,
    slack: SlackStandIn | None = None,
    **settings: Any,
) -> Wiring:
    """A wiring with SNS (and Slack, when given) configured as in a deployment."""
    extra: dict[str, Any] = {"sns_topic_arn": inbox.topic_arn}
    if journal is not None:
        extra["journal"] = journal
    if slack is not None:
        extra["slack_webhook_url"] = slack.url
    return build_wiring(session, registry, **extra, **settings)


def watch_writes(*wirings: Wiring) -> CallLog:
    """One log of the write calls every wiring makes to the managed services."""
    log = CallLog()
    for wiring in wirings:
        for service in MANAGED_SERVICES:
            log.watch(wiring.client(service))
    return log


def publish_registry(
    session: boto3.Session, source: Path = POLICIES, bucket: str = REGISTRY_BUCKET
) -> str:
    """Publish ``source`` to S3 (creating the versioned bucket); returns the location."""
    s3 = session.client("s3")
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    publish(s3, bucket, REGISTRY_PREFIX, load_directory(source), datetime.now(UTC))
    return f"s3://{bucket}/{REGISTRY_PREFIX}"


# ---------------------------------------------------------------------------------------------
# throttling


class TestThrottling:
    @pytest.mark.parametrize("status", [400, 429], ids=["HTTP 400 Throttling", "HTTP 429"])
    def test_sweep_converges_when_30_percent_of_iam_calls_are_throttled(
        self,
        status: int,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """GIVEN drift on an enforce role and IAM answering 30% of requests with Throttling
        (as IAM does, HTTP 400; or HTTP 429), chosen by a seeded RNG (the retry of a
        throttled call passes in CI, to bound botocore's jittered back-off; the long run
        throttles up to ``RELIABILITY_THROTTLE_IN_A_ROW`` attempts in a row) WHEN
        a sweep runs with botocore's standard retries THEN every resource is read (no
        error), the drift is reverted once, the journal records it applied, the revert is
        notified once, and the account is in sync afterwards."""
        monkeypatch.setenv("DRIFTWARDEN_MAX_ATTEMPTS", "12")
        wiring = full_wiring(session, seeded, journal, inbox)
        fault = throttle(
            wiring.client("iam"),
            0.3,
            seed=20240502 + status,
            status=status,
            max_in_a_row=env_int(THROTTLE_IN_A_ROW_ENV, 1),
        )
        drift_inline(session)

        outcome = wiring.responder.sweep()
        fault.remove()

        assert fault.fired >= 3, f"only {fault.fired} of {fault.seen} requests throttled"
        assert [r.result.ref.id for r in outcome.responses if r.result.status is Status.ERROR] == []
        assert outcome.decision is Decision.REVERTED
        assert inline_names(session) == DESIRED_INLINE
        (entry,) = journal_entries(wiring)
        assert (str(entry.status), entry.calls) == ("applied", ("iam:DeleteRolePolicy",))
        deliveries = inbox.deliveries()
        assert [d.body["decision"] for d in deliveries] == ["reverted"]
        assert figures.notifications(records_of([outcome]), {"sns": 1}, {"sns": 1}) == 0
        assert wiring.audit().summary() == {"in_sync": 9, "drifted": 0, "missing": 0, "error": 0}


# ---------------------------------------------------------------------------------------------
# the registry in S3


def _no_bucket(session: boto3.Session) -> str:
    return "s3://dw-registry-that-does-not-exist/registry"


def _nothing_published(session: boto3.Session) -> str:
    session.client("s3").create_bucket(Bucket=REGISTRY_BUCKET)
    return f"s3://{REGISTRY_BUCKET}/{REGISTRY_PREFIX}"


def _corrupt_snapshot(session: boto3.Session) -> str:
    location = publish_registry(session)
    digest = load_directory(POLICIES).digest
    session.client("s3").put_object(
        Bucket=REGISTRY_BUCKET,
        Key=snapshot_key(REGISTRY_PREFIX, digest),
        Body=b'{"format_version": 1, "entries": [',
    )
    return location


def _corrupt_pointer(session: boto3.Session) -> str:
    location = publish_registry(session)
    session.client("s3").put_object(
        Bucket=REGISTRY_BUCKET, Key=pointer_key(REGISTRY_PREFIX), Body=b"\x00\xffnot json"
    )
    return location


def _half_published(session: boto3.Session) -> str:
    """The pointer moved to a snapshot that was never written (a publish cut in half)."""
    location = publish_registry(session)
    digest = "sha256:" + "ab" * 32
    pointer = {
        "digest": digest,
        "snapshot": snapshot_key(REGISTRY_PREFIX, digest),
        "published_at": "2026-01-01T00:00:00+00:00",
        "entries": 9,
    }
    session.client("s3").put_object(
        Bucket=REGISTRY_BUCKET,
        Key=pointer_key(REGISTRY_PREFIX),
        Body=json.dumps(pointer).encode(),
    )
    return location


def _invalid_snapshot(session: boto3.Session, tmp: Path) -> str:
    """A well-formed snapshot whose registry breaks a guardrail (``iam:*``), written as
    ``publish`` would (publish itself validates first, so it is written by hand)."""

    def grant_iam_star(doc: dict[str, Any]) -> None:
        doc["spec"]["inline_policies"]["athena-query"]["Statement"].append(
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}
        )

    source = copy_registry(tmp / "bad", {"iam/roles/dw-quicksight-athena.yaml": grant_iam_star})
    location = publish_registry(session)
    registry = load_directory(source)
    s3 = session.client("s3")
    s3.put_object(
        Bucket=REGISTRY_BUCKET,
        Key=snapshot_key(REGISTRY_PREFIX, registry.digest),
        Body=canonical_json(registry.body()),
    )
    pointer = {
        "digest": registry.digest,
        "snapshot": snapshot_key(REGISTRY_PREFIX, registry.digest),
    }
    s3.put_object(
        Bucket=REGISTRY_BUCKET, Key=pointer_key(REGISTRY_PREFIX), Body=json.dumps(pointer).encode()
    )
    return location


REGISTRY_FAULTS: dict[str, Callable[[boto3.Session, Path], str]] = {
    "bucket missing": lambda s, _: _no_bucket(s),
    "nothing published": lambda s, _: _nothing_published(s),
    "corrupt snapshot": lambda s, _: _corrupt_snapshot(s),
    "corrupt pointer": lambda s, _: _corrupt_pointer(s),
    "half-published": lambda s, _: _half_published(s),
    "invalid registry": _invalid_snapshot,
}


class TestRegistryFaults:
    @pytest.mark.parametrize("fault", sorted(REGISTRY_FAULTS))
    def test_unusable_registry_writes_nothing_fails_and_alerts(
        self,
        fault: str,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
        tmp_path: Path,
    ) -> None:
        """GIVEN drift on an enforce role and a registry that is missing, corrupt,
        half-published or invalid WHEN the drift event is handled THEN nothing is written
        (not to IAM, not to the journal), the decision is failed, and on-call gets one HIGH
        alert saying the registry is unusable."""
        location = REGISTRY_FAULTS[fault](session, tmp_path)
        wiring = full_wiring(session, location, journal, inbox)
        writes = watch_writes(wiring)
        drift_inline(session)

        outcome = wiring.responder.handle_event(inline_event())

        assert figures.writes_where_forbidden(writes.writes) == []
        assert outcome.decision is Decision.FAILED
        assert outcome.reason is not None and "registry unusable" in outcome.reason
        assert inline_names(session) == sorted([*DESIRED_INLINE, "temp-debug"])
        assert journal_entries(wiring) == []
        (delivery,) = inbox.deliveries()
        assert delivery.body["decision"] == "failed"
        assert delivery.attributes.get("severity") == "high"
        assert "registry" in json.dumps(delivery.body)
        assert figures.notifications(outcome.all_notifications, {"sns": 1}, {"sns": 1}) == 0

    def test_registry_unreadable_for_lack_of_permission_writes_nothing(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
    ) -> None:
        """GIVEN a published registry and S3 refusing GetObject (AccessDenied) WHEN a drift
        event is handled THEN nothing is written and the failure is alerted."""
        location = publish_registry(session)
        wiring = full_wiring(session, location, journal, inbox)
        writes = watch_writes(wiring)
        denied = refuse(wiring.client("s3"), "GetObject")
        drift_inline(session)

        outcome = wiring.responder.handle_event(inline_event())
        denied.remove()

        assert denied.fired >= 1
        assert figures.writes_where_forbidden(writes.writes) == []
        assert outcome.decision is Decision.FAILED
        assert inline_names(session) == sorted([*DESIRED_INLINE, "temp-debug"])
        assert journal_entries(wiring) == []
        assert (
            figures.notifications(
                outcome.all_notifications, {"sns": len(inbox.deliveries())}, {"sns": 1}
            )
            == 0
        )

    def test_registry_replaced_between_two_events_is_seen_by_the_second(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
        tmp_path: Path,
    ) -> None:
        """GIVEN a warm wiring that reverted a drift under registry v1 (role in enforce) WHEN
        v2 (the same role in alert) is published and the same drift happens again THEN the
        second event follows v2: alerted, not written; the journal holds the one revert."""
        location = publish_registry(session)
        wiring = full_wiring(session, location, journal, inbox)
        drift_inline(session)
        first = wiring.responder.handle_event(inline_event())
        assert first.decision is Decision.REVERTED

        def to_alert(doc: dict[str, Any]) -> None:
            doc["mode"] = "alert"

        v2 = copy_registry(tmp_path / "v2", {"iam/roles/dw-quicksight-athena.yaml": to_alert})
        publish_registry(session, v2)
        writes = watch_writes(wiring)
        drift_inline(session)
        second = wiring.responder.handle_event(inline_event())

        assert second.decision is Decision.ALERTED
        (response,) = second.responses
        assert str(response.result.mode) == "alert"
        assert figures.writes_where_forbidden(writes.writes) == []
        assert inline_names(session) == sorted([*DESIRED_INLINE, "temp-debug"])
        assert [str(e.status) for e in journal_entries(wiring)] == ["applied"]
        decisions = [d.body["decision"] for d in inbox.deliveries()]
        assert decisions == ["reverted", "alerted"]
        records = records_of([first, second])
        assert figures.notifications(records, {"sns": len(decisions)}, {"sns": 2}) == 0

    def test_sweep_with_unusable_registry_writes_nothing_and_alerts(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
    ) -> None:
        """GIVEN drift and a half-published registry WHEN the scheduled sweep runs THEN
        nothing is written and on-call is alerted (whether or not the sweep also raises)."""
        location = _half_published(session)
        wiring = full_wiring(session, location, journal, inbox)
        writes = watch_writes(wiring)
        drift_inline(session)

        try:
            outcome: Any = wiring.responder.sweep()
            records = records_of([outcome])
        except RegistryError:
            records = []

        assert figures.writes_where_forbidden(writes.writes) == []
        assert inline_names(session) == sorted([*DESIRED_INLINE, "temp-debug"])
        delivered = len(inbox.deliveries())
        assert figures.notifications(records, {"sns": delivered}, {"sns": 1}) == 0
        assert delivered == 1


# ---------------------------------------------------------------------------------------------
# the journal


class TestJournalFaults:
    @pytest.mark.parametrize("fault", ["bucket missing", "PutObject denied"])
    def test_unwritable_journal_means_no_revert_and_an_alert(
        self,
        fault: str,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
    ) -> None:
        """GIVEN drift on an enforce role and a journal that cannot be written (its bucket is
        gone, or S3 denies PutObject) WHEN the drift event is handled THEN no IAM write is
        made (a revert that cannot be undone is not made), the drift stays, and on-call is
        told why."""
        location = (
            "s3://dw-journal-that-does-not-exist/journal" if fault == "bucket missing" else journal
        )
        wiring = full_wiring(session, seeded, location, inbox)
        writes = watch_writes(wiring)
        denied = refuse(wiring.client("s3"), "PutObject") if fault == "PutObject denied" else None
        drift_inline(session)

        outcome = wiring.responder.handle_event(inline_event())
        if denied is not None:
            denied.remove()
            assert denied.fired >= 1

        assert figures.writes_where_forbidden(writes.writes) == []
        assert outcome.decision in {Decision.ALERTED, Decision.FAILED}
        (response,) = outcome.responses
        assert response.reason is not None and "journal" in response.reason
        assert inline_names(session) == sorted([*DESIRED_INLINE, "temp-debug"])
        (delivery,) = inbox.deliveries()
        assert "journal" in json.dumps(delivery.body)
        assert figures.notifications(outcome.all_notifications, {"sns": 1}, {"sns": 1}) == 0

    def test_outcome_record_unwritable_leaves_the_intent_and_undo_still_restores(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
    ) -> None:
        """GIVEN S3 refusing only the write of the action's outcome record WHEN a drift is
        reverted THEN the revert stands and is notified, the journal keeps the intent (with
        the state before the revert), and ``undo`` of that action restores the drift."""
        wiring = full_wiring(session, seeded, journal, inbox)
        refused = refuse(
            wiring.client("s3"),
            "PutObject",
            when=lambda params: str(params.get("Key", "")).endswith("outcome.json"),
        )
        drift_inline(session)

        outcome = wiring.responder.handle_event(inline_event())
        refused.remove()

        assert refused.fired == 1
        assert outcome.decision is Decision.REVERTED
        assert inline_names(session) == DESIRED_INLINE
        (entry,) = journal_entries(wiring)
        assert str(entry.status) == "pending"
        assert "temp-debug" in entry.before["state"]["inline_policies"]
        assert figures.notifications(outcome.all_notifications, {"sns": 1}, {"sns": 1}) == 0
        assert len(inbox.deliveries()) == 1

        undo = wiring.responder.undo(entry.action_id)

        assert undo.status == "applied"
        assert inline_names(session) == sorted([*DESIRED_INLINE, "temp-debug"])


# ---------------------------------------------------------------------------------------------
# notification channels


class TestNotificationFaults:
    @pytest.mark.parametrize("how", ["Publish refused", "HTTP 500 on every attempt"])
    def test_sns_down_still_reverts_and_reports_the_failure(
        self,
        how: str,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        slack: SlackStandIn,
        figures: CaseFigures,
    ) -> None:
        """GIVEN SNS failing every Publish WHEN a drift event is handled THEN the revert still
        happens and is journalled, the SNS failure is in the outcome's notifications, and
        Slack still receives the message."""
        wiring = full_wiring(session, seeded, journal, inbox, slack)
        sns = wiring.client("sns")
        if how == "Publish refused":
            fault = refuse(sns, "Publish", code="InternalError", status=500)
        else:
            fault = throttle(
                sns,
                1.0,
                seed=1,
                status=500,
                code="InternalFailure",
                operation="Publish",
                max_in_a_row=None,
            )
        drift_inline(session)

        outcome = wiring.responder.handle_event(inline_event())
        fault.remove()

        assert fault.fired >= 1
        assert outcome.decision is Decision.REVERTED
        assert inline_names(session) == DESIRED_INLINE
        assert [str(e.status) for e in journal_entries(wiring)] == ["applied"]
        assert channels(outcome.all_notifications) == [("slack", "sent"), ("sns", "failed")]
        delivered = {"sns": len(inbox.deliveries()), "slack": len(slack.messages)}
        assert delivered == {"sns": 0, "slack": 1}
        assert (
            figures.notifications(outcome.all_notifications, delivered, {"sns": 1, "slack": 1}) == 0
        )

    @pytest.mark.parametrize(
        ("fault", "slack_status"),
        [("HTTP 500", "failed"), ("HTTP 429, Retry-After 1", "sent"), ("1 s slow", "sent")],
    )
    def test_slack_failing_or_slow_never_stops_the_revert(
        self,
        fault: str,
        slack_status: str,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        slack: SlackStandIn,
        figures: CaseFigures,
    ) -> None:
        """GIVEN Slack answering 500, rate-limiting once, or answering slowly (within the
        client's timeout) WHEN a drift event is handled THEN the revert happens, SNS delivers,
        and Slack's result is reported: failed for the 500, sent after the retry or the wait."""
        wiring = full_wiring(session, seeded, journal, inbox, slack)
        if fault == "HTTP 500":
            slack.fail_next(500)
        elif fault.startswith("HTTP 429"):
            slack.fail_next(429, retry_after=1)
        else:
            slack.set_delay(1.0)
        drift_inline(session)

        outcome = wiring.responder.handle_event(inline_event())

        assert outcome.decision is Decision.REVERTED
        assert inline_names(session) == DESIRED_INLINE
        assert [str(e.status) for e in journal_entries(wiring)] == ["applied"]
        assert channels(outcome.all_notifications) == [("slack", slack_status), ("sns", "sent")]
        delivered = {"sns": len(inbox.deliveries()), "slack": len(slack.messages)}
        assert delivered == {"sns": 1, "slack": 1 if slack_status == "sent" else 0}
        assert (
            figures.notifications(outcome.all_notifications, delivered, {"sns": 1, "slack": 1}) == 0
        )

    def test_dedup_table_down_fails_open_and_the_alert_is_sent(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
    ) -> None:
        """GIVEN the DynamoDB de-duplication table refusing every PutItem WHEN a drift is
        reverted THEN the alert is sent anyway (the store fails open) and the store's
        failure is reported next to it."""
        table = create_dedup_table(session)
        wiring = full_wiring(session, seeded, journal, inbox, dedup_table=table)
        refused = refuse(wiring.client("dynamodb"), "PutItem", code="InternalServerError")
        drift_inline(session)

        outcome = wiring.responder.handle_event(inline_event())
        refused.remove()

        assert refused.fired >= 1
        assert outcome.decision is Decision.REVERTED
        assert channels(outcome.all_notifications) == [("dedup", "failed"), ("sns", "sent")]
        assert figures.notifications(outcome.all_notifications, {"sns": 1}, {"sns": 1}) == 0
        assert len(inbox.deliveries()) == 1

    def test_slack_secret_unreadable_is_reported_and_sns_still_delivers(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        slack: SlackStandIn,
        figures: CaseFigures,
    ) -> None:
        """GIVEN DRIFTWARDEN_SLACK_SECRET naming an SSM parameter and SSM refusing
        GetParameter WHEN a drift is reverted THEN the revert stands, Slack is reported failed
        (nothing posted), and SNS delivers."""
        session.client("ssm").put_parameter(
            Name="/driftwarden/test/slack", Value=slack.url, Type="SecureString"
        )
        wiring = full_wiring(
            session, seeded, journal, inbox, slack_secret="/driftwarden/test/slack"
        )
        refused = refuse(wiring.client("ssm"), "GetParameter")
        drift_inline(session)

        outcome = wiring.responder.handle_event(inline_event())
        refused.remove()

        assert refused.fired >= 1
        assert outcome.decision is Decision.REVERTED
        assert inline_names(session) == DESIRED_INLINE
        assert channels(outcome.all_notifications) == [("slack", "failed"), ("sns", "sent")]
        delivered = {"sns": len(inbox.deliveries()), "slack": len(slack.messages)}
        assert delivered == {"sns": 1, "slack": 0}
        expected = {"sns": 1, "slack": 1}
        assert figures.notifications(outcome.all_notifications, delivered, expected) == 0

    def test_slack_slower_than_its_timeout_is_reported_failed_and_the_revert_stands(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        slack: SlackStandIn,
        figures: CaseFigures,
    ) -> None:
        """GIVEN Slack answering after 3 s and a Slack client timeout of 1 s (the notifier is
        built with a short timeout to keep the test fast; the deployed default is 5 s) WHEN a
        drift event is handled THEN the revert happens, SNS delivers, Slack is reported
        failed (timed out), and the event is not held up for the full delay plus retries."""
        wiring = full_wiring(session, seeded, journal, inbox)
        wiring.notifiers = [
            SnsNotifier(wiring.client("sns"), inbox.topic_arn),
            SlackNotifier(slack.url, timeout=1),
        ]
        slack.set_delay(3)
        drift_inline(session)

        started = datetime.now(UTC)
        outcome = wiring.responder.handle_event(inline_event())
        elapsed = (datetime.now(UTC) - started).total_seconds()

        assert outcome.decision is Decision.REVERTED
        assert inline_names(session) == DESIRED_INLINE
        assert channels(outcome.all_notifications) == [("slack", "failed"), ("sns", "sent")]
        assert elapsed < 6
        delivered = {"sns": len(inbox.deliveries()), "slack": 0}
        assert (
            figures.notifications(outcome.all_notifications, delivered, {"sns": 1, "slack": 1}) == 0
        )


# ---------------------------------------------------------------------------------------------
# a revert that fails halfway


def drift_trust_and_attachment(session: boto3.Session) -> str:
    """Attach an extra customer policy and let another account assume the role; returns the
    extra policy's ARN. The planner detaches first, then rewrites the trust policy."""
    client = iam(session)
    arn = client.create_policy(PolicyName="dw-extra", PolicyDocument=WIDE)["Policy"]["Arn"]
    client.attach_role_policy(RoleName=ATHENA, PolicyArn=arn)
    client.update_assume_role_policy(RoleName=ATHENA, PolicyDocument=STRANGER_TRUST)
    return str(arn)


class TestHalfFailedRevert:
    @pytest.mark.parametrize("follow_up", ["next event", "next sweep"])
    def test_half_failed_revert_is_journalled_and_the_next_pass_converges(
        self,
        follow_up: str,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
    ) -> None:
        """GIVEN a role with an extra attached policy and a widened trust policy, and IAM
        refusing UpdateAssumeRolePolicy WHEN the event is handled THEN the detach is made,
        the trust rewrite is refused, the journal records the action ``failed`` with the
        calls made and the error, and on-call is told; WHEN IAM recovers and the next event
        (or sweep) comes THEN only the trust policy is rewritten and the role is in sync."""
        extra = drift_trust_and_attachment(session)
        wiring = full_wiring(session, seeded, journal, inbox)
        refused = refuse(wiring.client("iam"), "UpdateAssumeRolePolicy")

        first = wiring.responder.handle_event(
            api_call("aws.iam", "AttachRolePolicy", {"roleName": ATHENA, "policyArn": extra})
        )
        refused.remove()

        assert refused.fired == 1
        assert first.decision is Decision.FAILED
        (failed_entry,) = journal_entries(wiring)
        assert str(failed_entry.status) == "failed"
        assert failed_entry.calls == ("iam:DetachRolePolicy",)
        assert failed_entry.error is not None and "UpdateAssumeRolePolicy" in failed_entry.error
        assert [s["call"] for s in failed_entry.plan] == [
            "iam:DetachRolePolicy",
            "iam:UpdateAssumeRolePolicy",
        ]
        assert attached(session) == [RESULTS_POLICY]
        assert {"AWS": "arn:aws:iam::999999999999:root"} in trust_principals(session)

        if follow_up == "next event":
            second: Any = wiring.responder.handle_event(
                api_call(
                    "aws.iam",
                    "UpdateAssumeRolePolicy",
                    {"roleName": ATHENA, "policyDocument": STRANGER_TRUST},
                )
            )
        else:
            second = wiring.responder.sweep()

        assert second.decision is Decision.REVERTED
        assert in_sync(wiring)
        assert trust_principals(session) == [{"Service": "quicksight.amazonaws.com"}]
        entries = journal_entries(wiring)
        assert [str(e.status) for e in entries] == ["failed", "applied"]
        assert entries[1].calls == ("iam:UpdateAssumeRolePolicy",)
        decisions = [d.body["decision"] for d in inbox.deliveries()]
        assert decisions == ["failed", "reverted"]
        records = records_of([first, second])
        assert figures.notifications(records, {"sns": len(decisions)}, {"sns": 2}) == 0


# ---------------------------------------------------------------------------------------------
# redelivery, order, concurrency


class TestDeliveryOrder:
    def test_same_event_delivered_three_times_reverts_once_and_notifies_once(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        slack: SlackStandIn,
        figures: CaseFigures,
    ) -> None:
        """GIVEN one drift WHEN its event is delivered three times to one warm container
        THEN one revert (one journal entry, one write) and one message per channel."""
        wiring = full_wiring(session, seeded, journal, inbox, slack)
        writes = watch_writes(wiring)
        drift_inline(session)
        event = inline_event()

        outcomes = [wiring.responder.handle_event(event) for _ in range(3)]

        assert [o.decision for o in outcomes] == [
            Decision.REVERTED,
            Decision.IN_SYNC,
            Decision.IN_SYNC,
        ]
        assert writes.writes == ["iam:DeleteRolePolicy"]
        assert [str(e.status) for e in journal_entries(wiring)] == ["applied"]
        delivered = {"sns": len(inbox.deliveries()), "slack": len(slack.messages)}
        assert delivered == {"sns": 1, "slack": 1}
        records = records_of(outcomes)
        assert figures.notifications(records, delivered, {"sns": 1, "slack": 1}) == 0

    def test_events_out_of_order_across_two_containers_revert_once_and_notify_once(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
    ) -> None:
        """GIVEN two drifts on one role (an inline policy put, then a policy attached) and two
        containers sharing a DynamoDB de-duplication table WHEN the two events arrive out of
        order and twice each (attach, put, attach, put), alternating containers THEN the first
        event reverts both drifts in one action, the rest find the role in sync, and on-call
        gets one message."""
        table = create_dedup_table(session)
        one = full_wiring(session, seeded, journal, inbox, dedup_table=table)
        two = full_wiring(session, seeded, journal, inbox, dedup_table=table)
        writes = watch_writes(one, two)
        drift_inline(session)
        extra = iam(session).create_policy(PolicyName="dw-extra", PolicyDocument=WIDE)
        extra_arn = extra["Policy"]["Arn"]
        iam(session).attach_role_policy(RoleName=ATHENA, PolicyArn=extra_arn)
        put = inline_event()
        attach = api_call(
            "aws.iam", "AttachRolePolicy", {"roleName": ATHENA, "policyArn": extra_arn}
        )

        outcomes = [
            one.responder.handle_event(attach),
            two.responder.handle_event(put),
            two.responder.handle_event(attach),
            one.responder.handle_event(put),
        ]

        assert [o.decision for o in outcomes] == [Decision.REVERTED] + [Decision.IN_SYNC] * 3
        assert sorted(writes.writes) == ["iam:DeleteRolePolicy", "iam:DetachRolePolicy"]
        (entry,) = journal_entries(one)
        assert sorted(entry.calls) == ["iam:DeleteRolePolicy", "iam:DetachRolePolicy"]
        assert in_sync(one)
        deliveries = inbox.deliveries()
        assert len(deliveries) == 1
        assert figures.notifications(records_of(outcomes), {"sns": 1}, {"sns": 1}) == 0

    def test_two_concurrent_events_for_one_role_converge_without_flapping(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
    ) -> None:
        """GIVEN one drift and two containers (two wirings, one journal, one DynamoDB
        de-duplication table) WHEN both handle its event at the same moment (two threads)
        THEN the role converges, at most two reverts are made and none fails, on-call gets
        one message, and a later drift of the same role is still reverted (no flap verdict)."""
        table = create_dedup_table(session)
        wirings = [full_wiring(session, seeded, journal, inbox, dedup_table=table) for _ in "ab"]
        for wiring in wirings:  # build clients and caller identity before the race
            wiring.responder.self_arns()
            _ = wiring.account
        drift_inline(session)
        event = inline_event()
        barrier = threading.Barrier(2)
        outcomes: list[Any] = [None, None]
        errors: list[BaseException] = []

        def run(index: int) -> None:
            barrier.wait()
            try:
                outcomes[index] = wirings[index].responder.handle_event(event)
            except BaseException as err:  # reported below: a crash must fail the test
                errors.append(err)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        assert inline_names(session) == DESIRED_INLINE
        assert in_sync(wirings[0])
        decisions = sorted(str(o.decision) for o in outcomes)
        assert set(decisions) <= {"reverted", "in_sync"} and "reverted" in decisions
        entries = journal_entries(wirings[0])
        assert 1 <= len(entries) <= 2
        assert {str(e.status) for e in entries} == {"applied"}
        assert not any("flapping" in (r.reason or "") for o in outcomes for r in o.responses)
        delivered = len(inbox.deliveries())
        assert delivered == 1
        assert figures.notifications(records_of(outcomes), {"sns": 1}, {"sns": 1}) == 0

        drift_inline(session)
        later = wirings[1].responder.handle_event(inline_event())

        assert later.decision is Decision.REVERTED
        assert inline_names(session) == DESIRED_INLINE
