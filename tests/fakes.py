"""Shared test doubles and helpers for the response tests: API call counters, a recording
notifier, an SNS inbox read back from the emulator, Stubber-backed clients, registry copies."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import botocore.session
import yaml
from botocore.stub import Stubber

from chalicelib.models import AccountContext, NotificationRecord
from tests.conftest import ACCOUNT, REGION, ROOT

if TYPE_CHECKING:
    import boto3

    from chalicelib.notify.base import Alert
    from chalicelib.wiring import Wiring

#: Operation-name prefixes of calls that change nothing.
READ_PREFIXES = ("Get", "List", "Describe", "Head", "Simulate", "Lookup", "Search", "BatchGet")

POLICIES = ROOT / "policies"


# ---------------------------------------------------------------------------------------------
# API calls


@dataclass
class CallLog:
    """Every API operation the watched clients make, as ``service:Operation`` (a botocore
    ``before-call`` hook, so nothing is patched)."""

    calls: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, client: Any) -> Any:
        """Record every call ``client`` makes from now on; returns the client."""
        prefix = client.meta.service_model.service_name

        def record(model: Any, **_: Any) -> None:
            with self._lock:
                self.calls.append(f"{prefix}:{model.name}")

        client.meta.events.register("before-call.*.*", record)
        return client

    @property
    def writes(self) -> list[str]:
        """The calls that can change something (not Get/List/Describe/...)."""
        return [c for c in self.calls if not c.split(":", 1)[1].startswith(READ_PREFIXES)]

    def writes_to(self, service: str) -> list[str]:
        """The write calls made to one service (``iam``, ``quicksight``...)."""
        return [c for c in self.writes if c.startswith(f"{service}:")]


def watch_wiring(wiring: Any, *services: str) -> CallLog:
    """A ``CallLog`` of the wiring's clients for ``services`` (default: every managed one,
    plus S3 for the journal and SNS for notifications)."""
    log = CallLog()
    for service in services or ("iam", "quicksight", "cleanrooms", "s3", "sns", "sts"):
        log.watch(wiring.client(service))
    return log


def stubbed_client(service: str, region: str = REGION) -> tuple[Any, Stubber]:
    """A botocore client for ``service`` with a ``Stubber`` attached and activated (for the
    APIs moto 5.2.5 does not emulate); put it in a wiring with ``wiring._clients[service]``."""
    client = botocore.session.get_session().create_client(
        service,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


# ---------------------------------------------------------------------------------------------
# Notifications


class RecordingNotifier:
    """A ``Notifier`` that keeps every alert it is given (and can be told to fail)."""

    def __init__(self, name: str = "recording", *, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> NotificationRecord:
        self.alerts.append(alert)
        if self.fail:
            return NotificationRecord(self.name, "failed", "told to fail")
        return NotificationRecord(self.name, "sent")


@dataclass(frozen=True)
class SnsDelivery:
    """One SNS notification as an SQS subscriber receives it."""

    subject: str
    body: dict[str, Any]
    attributes: dict[str, str]


class SnsInbox:
    """An SNS topic with an SQS queue subscribed, on the emulator: notifications read back."""

    def __init__(self, session: boto3.Session, name: str = "driftwarden-alerts") -> None:
        self._sns = session.client("sns")
        self._sqs = session.client("sqs")
        self.topic_arn: str = self._sns.create_topic(Name=name)["TopicArn"]
        self.queue_url: str = self._sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self._sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def deliveries(self) -> list[SnsDelivery]:
        """Every notification published so far (drains the queue)."""
        out: list[SnsDelivery] = []
        while True:
            got = self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = got.get("Messages", [])
            if not messages:
                return out
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {
                    key: value["Value"]
                    for key, value in (envelope.get("MessageAttributes") or {}).items()
                }
                out.append(
                    SnsDelivery(
                        envelope.get("Subject", ""), json.loads(envelope["Message"]), attributes
                    )
                )
                self._sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


def create_dedup_table(session: boto3.Session, name: str = "driftwarden-dedup") -> str:
    """The notification de-duplication table (schema of ``chalicelib.notify.dedup``)."""
    session.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    return name


# ---------------------------------------------------------------------------------------------
# Registries and accounts


def copy_registry(
    target: Path,
    edits: Mapping[str, Callable[[dict[str, Any]], None]] | None = None,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
    source: Path = POLICIES,
) -> Path:
    """A copy of the sample registry under ``target``, with entries edited or added.

    ``edits`` maps a file (relative to the registry, e.g. ``iam/roles/dw-quicksight-athena.yaml``)
    to a function changing its parsed document in place; ``extra`` maps new file names to
    entry documents.
    """
    shutil.copytree(source, target)
    for name, edit in (edits or {}).items():
        path = target / name
        document = yaml.safe_load(path.read_text())
        edit(document)
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    for name, document in (extra or {}).items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(dict(document), sort_keys=False))
    return target


def seed_registry(registry: Path, session: boto3.Session) -> Path:
    """Create the IAM and QuickSight resources of ``registry`` in the emulated account."""
    from chalicelib.local.seed import seed_account
    from chalicelib.registry.loader import load_directory

    loaded = load_directory(registry)
    seed_account(
        loaded.resolve(AccountContext(ACCOUNT, REGION)),
        session.client("iam"),
        session.client("quicksight"),
    )
    return registry


def reset_emulator(endpoint: str) -> None:
    """Wipe moto's state. moto's backends are process-wide, so an emulator started later in
    the same process (the demo's) would otherwise see what a test left behind."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request) as response:
        response.read()


def create_bucket(session: boto3.Session, name: str = "driftwarden-journal") -> str:
    """A versioned bucket (the journal's home); returns its name."""
    s3 = session.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def build_wiring(session: boto3.Session, registry: Path | str, **settings: Any) -> Wiring:
    """A wiring for the emulated account with ``Settings(registry=..., **settings)``."""
    from chalicelib.config import Settings
    from chalicelib.wiring import Wiring

    return Wiring(Settings(registry=str(registry), **settings), session)


def policy_doc(*statements: Mapping[str, Any]) -> str:
    """A policy document as the JSON text IAM takes."""
    return json.dumps({"Version": "2012-10-17", "Statement": [dict(s) for s in statements]})


__all__ = [
    "READ_PREFIXES",
    "CallLog",
    "RecordingNotifier",
    "SnsDelivery",
    "SnsInbox",
    "build_wiring",
    "copy_registry",
    "create_bucket",
    "create_dedup_table",
    "policy_doc",
    "reset_emulator",
    "seed_registry",
    "stubbed_client",
    "watch_wiring",
]
