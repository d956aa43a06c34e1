"""Notifications of the responder, read back from where they land: SNS from moto's server (topic
with an SQS subscription), Slack from the loopback stand-in webhook; de-duplication across
redelivered events and separate containers through a DynamoDB table on moto; and a failing
channel that must never stop a revert."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.local.slack_server import SlackStandIn, render_text
from chalicelib.models import Decision
from tests.conftest import ACCOUNT, REGION
from tests.events import api_call
from tests.fakes import (
    SnsInbox,
    build_wiring,
    create_bucket,
    create_dedup_table,
    policy_doc,
    reset_emulator,
)

ATHENA_ROLE = "dw-quicksight-athena"
REDSHIFT_ROLE = "dw-quicksight-redshift"
WIDE = policy_doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
ACTOR = f"arn:aws:sts::{ACCOUNT}:assumed-role/platform-admin/alice@example.com"
SOURCE_IP = "198.51.100.23"
RESOURCE_KEYS = {"kind", "id", "account", "region", "mode", "status", "changes", "findings"}


@pytest.fixture(autouse=True)
def _leave_emulator_clean(moto_endpoint: str) -> Iterator[None]:
    """Wipe moto after each test (its state is process-wide; see ``reset_emulator``)."""
    yield
    reset_emulator(moto_endpoint)


@pytest.fixture
def journal(session: boto3.Session) -> str:
    return f"s3://{create_bucket(session)}/journal"


@pytest.fixture
def inbox(session: boto3.Session) -> SnsInbox:
    return SnsInbox(session)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as stand_in:
        yield stand_in


def drift(session: boto3.Session, role: str = ATHENA_ROLE) -> None:
    session.client("iam").put_role_policy(
        RoleName=role, PolicyName="temp-debug", PolicyDocument=WIDE
    )


def event(role: str = ATHENA_ROLE) -> dict[str, Any]:
    return api_call(
        "aws.iam",
        "PutRolePolicy",
        {"roleName": role, "policyName": "temp-debug", "policyDocument": WIDE},
    )


def statuses(outcome: Any) -> list[tuple[str, str]]:
    return [(n.channel, n.status) for n in outcome.all_notifications]


class TestSns:
    def test_revert_message_has_subject_body_and_attributes(
        self, seeded: Path, session: boto3.Session, journal: str, inbox: SnsInbox
    ) -> None:
        """GIVEN SNS configured WHEN an enforce drift is reverted THEN the topic's subscriber
        receives a short subject, a JSON body with the audit entry of the resource, the event,
        the actor, the action and the undo command, and the severity/kind/decision
        attributes."""
        wiring = build_wiring(session, seeded, journal=journal, sns_topic_arn=inbox.topic_arn)
        drift(session)

        outcome = wiring.responder.handle_event(event())

        assert statuses(outcome) == [("sns", "sent")]
        (delivery,) = inbox.deliveries()
        assert delivery.subject == f"[driftwarden] reverted drift on iam_role/{ATHENA_ROLE}"
        body = delivery.body
        assert set(body) >= RESOURCE_KEYS
        assert (body["kind"], body["id"], body["account"], body["region"]) == (
            "iam_role",
            ATHENA_ROLE,
            ACCOUNT,
            REGION,
        )
        assert body["mode"] == "enforce"
        assert body["status"] == "drifted"
        assert body["changes"] == [
            {
                "path": "inline_policies.temp-debug",
                "op": "add",
                "desired": None,
                "live": json.loads(WIDE),
            }
        ]
        assert body["event"]["name"] == "PutRolePolicy"
        assert body["event"]["source_ip"] == SOURCE_IP
        assert body["actor"] == ACTOR
        action = outcome.responses[0].action
        assert action is not None
        assert body["action"] == {
            "action_id": action.action_id,
            "resource": f"iam_role/{ATHENA_ROLE}",
            "calls": ["iam:DeleteRolePolicy"],
            "status": "applied",
        }
        assert body["decision"] == "reverted"
        assert body["undo"] == f"driftwarden undo {action.action_id}"
        assert delivery.attributes["decision"] == "reverted"
        assert delivery.attributes["kind"] == "iam_role"
        assert delivery.attributes["severity"] == body["severity"]

    def test_alert_message_has_no_undo_and_says_why(
        self, seeded: Path, session: boto3.Session, journal: str, inbox: SnsInbox
    ) -> None:
        """GIVEN an alert-mode role WHEN it drifts THEN the SNS message says alerted, carries no
        action and no undo command, and gives the reason."""
        wiring = build_wiring(session, seeded, journal=journal, sns_topic_arn=inbox.topic_arn)
        drift(session, REDSHIFT_ROLE)

        wiring.responder.handle_event(event(REDSHIFT_ROLE))

        (delivery,) = inbox.deliveries()
        assert delivery.subject == f"[driftwarden] drift on iam_role/{REDSHIFT_ROLE}"
        assert delivery.body["decision"] == "alerted"
        assert delivery.body["action"] is None
        assert delivery.body["undo"] is None
        assert delivery.body["reason"] == "mode alert"
        assert delivery.attributes["decision"] == "alerted"
        assert delivery.attributes["severity"] == "medium"


class TestSlack:
    def test_blocks_show_resource_actor_source_ip_diff_and_undo(
        self, seeded: Path, session: boto3.Session, journal: str, slack: SlackStandIn
    ) -> None:
        """GIVEN a Slack webhook (the loopback stand-in) WHEN an enforce drift is reverted THEN
        one Block Kit message is posted naming the resource, the actor, the source IP, the
        compact diff and the undo command."""
        wiring = build_wiring(session, seeded, journal=journal, slack_webhook_url=slack.url)
        drift(session)

        outcome = wiring.responder.handle_event(event())

        assert statuses(outcome) == [("slack", "sent")]
        (message,) = slack.messages
        assert message["blocks"], message
        text = render_text(message)
        action = outcome.responses[0].action
        assert action is not None
        assert f"iam_role/{ATHENA_ROLE}" in text
        assert ACTOR in text
        assert f"Source IP: {SOURCE_IP}" in text
        assert "+ inline_policies.temp-debug:" in text
        assert f"driftwarden undo {action.action_id}" in text
        assert "iam:DeleteRolePolicy" in text

    def test_failing_channel_never_stops_the_revert(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        slack: SlackStandIn,
        inbox: SnsInbox,
    ) -> None:
        """GIVEN Slack answering HTTP 500 WHEN an enforce drift arrives THEN it is reverted
        anyway, SNS is still sent, and the Slack failure is reported in the outcome."""
        wiring = build_wiring(
            session,
            seeded,
            journal=journal,
            slack_webhook_url=slack.url,
            sns_topic_arn=inbox.topic_arn,
        )
        slack.fail_next(500)
        drift(session)

        outcome = wiring.responder.handle_event(event())

        assert outcome.decision is Decision.REVERTED
        names = session.client("iam").list_role_policies(RoleName=ATHENA_ROLE)["PolicyNames"]
        assert names == ["athena-query"]
        assert sorted(statuses(outcome)) == [("slack", "failed"), ("sns", "sent")]
        (failure,) = [n for n in outcome.to_json()["notifications"] if n["status"] == "failed"]
        assert "500" in failure["detail"]
        assert slack.url not in failure["detail"]
        assert len(inbox.deliveries()) == 1


class TestDeduplication:
    def test_alert_redelivered_three_times_across_two_containers_is_notified_once(
        self, seeded: Path, session: boto3.Session, journal: str, inbox: SnsInbox
    ) -> None:
        """GIVEN two wirings (two Lambda containers) sharing a DynamoDB dedup table WHEN the
        same alert-mode event is delivered three times across them THEN one notification is
        sent and the other two are suppressed."""
        table = create_dedup_table(session)
        settings = {"journal": journal, "sns_topic_arn": inbox.topic_arn, "dedup_table": table}
        first_container = build_wiring(session, seeded, **settings)
        second_container = build_wiring(session, seeded, **settings)
        drift(session, REDSHIFT_ROLE)

        outcomes = [
            first_container.responder.handle_event(event(REDSHIFT_ROLE)),
            second_container.responder.handle_event(event(REDSHIFT_ROLE)),
            first_container.responder.handle_event(event(REDSHIFT_ROLE)),
        ]

        assert [o.decision for o in outcomes] == [Decision.ALERTED] * 3
        assert [statuses(o) for o in outcomes] == [
            [("sns", "sent")],
            [("sns", "suppressed")],
            [("sns", "suppressed")],
        ]
        assert len(inbox.deliveries()) == 1

    def test_enforce_redelivered_three_times_reverts_once_and_notifies_once(
        self, seeded: Path, session: boto3.Session, journal: str, inbox: SnsInbox
    ) -> None:
        """GIVEN two containers sharing the dedup table WHEN the same enforce event is delivered
        three times THEN one revert is made and notified; the redeliveries re-read the live
        state, find it in sync, write nothing and notify nobody."""
        table = create_dedup_table(session)
        settings = {"journal": journal, "sns_topic_arn": inbox.topic_arn, "dedup_table": table}
        containers = [build_wiring(session, seeded, **settings) for _ in range(2)]
        drift(session)

        outcomes = [containers[i % 2].responder.handle_event(event()) for i in range(3)]

        assert [o.decision for o in outcomes] == [
            Decision.REVERTED,
            Decision.IN_SYNC,
            Decision.IN_SYNC,
        ]
        assert [len(o.all_notifications) for o in outcomes] == [1, 0, 0]
        assert len(inbox.deliveries()) == 1
        listed = session.client("s3").list_objects_v2(
            Bucket="driftwarden-journal", Prefix="journal/actions/"
        )
        action_ids = {obj["Key"].split("/")[2] for obj in listed.get("Contents", [])}
        assert len(action_ids) == 1

    def test_same_drift_with_a_new_decision_is_notified_again(
        self, seeded: Path, session: boto3.Session, journal: str, inbox: SnsInbox
    ) -> None:
        """GIVEN an alert already sent for a drift WHEN the same drift is later escalated with
        another decision (the registry paused) THEN that escalation is notified, not
        suppressed."""
        table = create_dedup_table(session)
        wiring = build_wiring(
            session, seeded, journal=journal, sns_topic_arn=inbox.topic_arn, dedup_table=table
        )
        paused = build_wiring(
            session,
            seeded,
            journal=journal,
            sns_topic_arn=inbox.topic_arn,
            dedup_table=table,
            paused=True,
        )
        drift(session)

        first = paused.responder.handle_event(event())
        second = paused.responder.handle_event(event())
        third = wiring.responder.handle_event(event())

        assert statuses(first) == [("sns", "sent")]
        assert statuses(second) == [("sns", "suppressed")]
        assert third.decision is Decision.REVERTED
        assert statuses(third) == [("sns", "sent")]
        assert [d.body["decision"] for d in inbox.deliveries()] == ["alerted", "reverted"]

    def test_unreachable_dedup_table_fails_open(
        self, seeded: Path, session: boto3.Session, journal: str, inbox: SnsInbox
    ) -> None:
        """GIVEN a dedup table that does not exist WHEN an alert is sent THEN it is delivered
        anyway and the dedup failure is reported alongside."""
        wiring = build_wiring(
            session,
            seeded,
            journal=journal,
            sns_topic_arn=inbox.topic_arn,
            dedup_table="no-such-table",
        )
        drift(session, REDSHIFT_ROLE)

        outcome = wiring.responder.handle_event(event(REDSHIFT_ROLE))

        assert ("dedup", "failed") in statuses(outcome)
        assert ("sns", "sent") in statuses(outcome)
        assert len(inbox.deliveries()) == 1
