"""The SNS channel against moto's server: publish, then read the notification back from SQS."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.models import (
    ActionRecord,
    Change,
    ChangeNotice,
    Decision,
    Finding,
    Kind,
    Mode,
    Op,
    ResourceRef,
    ResourceResult,
    Severity,
    Status,
)
from chalicelib.notify.base import Alert
from chalicelib.notify.render import fingerprint
from chalicelib.notify.sns import SnsNotifier

if TYPE_CHECKING:
    import boto3

ACCOUNT = "123456789012"
REF = ResourceRef(Kind.QUICKSIGHT_DATA_SOURCE, "sales-athena", ACCOUNT, "us-east-1")


def make_alert() -> Alert:
    result = ResourceResult(
        REF,
        Mode.ENFORCE,
        Status.DRIFTED,
        (
            Change(
                "parameters.AthenaParameters.RoleArn",
                Op.CHANGE,
                "arn:aws:iam::123456789012:role/dw-quicksight-athena",
                "arn:aws:iam::123456789012:role/someone-elses",
            ),
        ),
        (Finding("qs_role_untrusted", Severity.HIGH, "role does not trust QuickSight"),),
    )
    notice = ChangeNotice(
        event_id="e-1",
        event_name="UpdateDataSource",
        event_source="quicksight.amazonaws.com",
        account=ACCOUNT,
        region="us-east-1",
        event_time="2024-05-01T10:00:00Z",
        actor_arn="arn:aws:iam::123456789012:user/bob",
        source_ip="198.51.100.4",
    )
    return Alert(
        result=result,
        decision=Decision.REVERTED,
        summary="reverted with 1 call",
        notice=notice,
        action=ActionRecord("act-1", REF, ("quicksight:UpdateDataSource",), "applied"),
        undo_command="driftwarden undo act-1",
        severity=Severity.HIGH,
    )


@pytest.fixture
def topic_and_queue(session: boto3.Session) -> tuple[Any, str, Any, str]:
    """A topic with an SQS queue subscribed (raw message delivery off)."""
    sns = session.client("sns")
    sqs = session.client("sqs")
    topic_arn = sns.create_topic(Name="driftwarden-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="oncall")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return sns, topic_arn, sqs, queue_url


def receive_one(sqs: Any, queue_url: str) -> dict[str, Any]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert len(messages.get("Messages", [])) == 1
    envelope: dict[str, Any] = json.loads(messages["Messages"][0]["Body"])
    return envelope


def test_published_notification_reaches_subscriber_with_subject_body_and_attributes(
    topic_and_queue: tuple[Any, str, Any, str],
) -> None:
    """GIVEN a topic with an SQS subscriber WHEN an alert is sent THEN the subscriber gets the
    subject, the JSON body with the machine-readable diff, and the message attributes."""
    sns, topic_arn, sqs, queue_url = topic_and_queue
    alert = make_alert()

    record = SnsNotifier(sns, topic_arn).send(alert)

    assert record.channel == "sns"
    assert record.status == "sent"
    envelope = receive_one(sqs, queue_url)
    assert envelope["TopicArn"] == topic_arn
    assert (
        envelope["Subject"] == "[driftwarden] reverted drift on quicksight_data_source/sales-athena"
    )
    body = json.loads(envelope["Message"])
    assert body["kind"] == "quicksight_data_source"
    assert body["id"] == "sales-athena"
    assert body["changes"] == [
        {
            "path": "parameters.AthenaParameters.RoleArn",
            "op": "change",
            "desired": "arn:aws:iam::123456789012:role/dw-quicksight-athena",
            "live": "arn:aws:iam::123456789012:role/someone-elses",
        }
    ]
    assert body["actor"] == "arn:aws:iam::123456789012:user/bob"
    assert body["event"]["source_ip"] == "198.51.100.4"
    assert body["action"]["calls"] == ["quicksight:UpdateDataSource"]
    assert body["undo"] == "driftwarden undo act-1"
    assert body["fingerprint"] == fingerprint(alert)
    attributes = {k: (v["Type"], v["Value"]) for k, v in envelope["MessageAttributes"].items()}
    assert attributes["severity"] == ("String", "high")
    assert attributes["kind"] == ("String", "quicksight_data_source")
    assert attributes["decision"] == ("String", "reverted")


def test_publish_to_missing_topic_is_a_failed_record_not_an_exception(
    session: boto3.Session,
) -> None:
    """GIVEN a topic ARN that does not exist WHEN an alert is sent THEN send returns a failed
    record with a short detail and raises nothing."""
    sns = session.client("sns")
    missing = f"arn:aws:sns:us-east-1:{ACCOUNT}:nope"

    record = SnsNotifier(sns, missing, name="sns-oncall").send(make_alert())

    assert record.channel == "sns-oncall"
    assert record.status == "failed"
    assert record.detail
    assert len(record.detail) <= 300
