"""Notification de-duplication: the DynamoDB store on moto's server, the in-process store,
and fan-out through ``dispatch``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.errors import NotificationError
from chalicelib.models import (
    Change,
    Decision,
    Kind,
    Mode,
    NotificationRecord,
    Op,
    ResourceRef,
    ResourceResult,
    Status,
)
from chalicelib.notify.base import Alert, dispatch
from chalicelib.notify.dedup import KEY_PREFIX, DedupStore, DynamoDedupStore, MemoryDedupStore
from chalicelib.notify.render import fingerprint

if TYPE_CHECKING:
    import boto3

TABLE = "driftwarden-dedup"
WINDOW = 3600
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
FP = "3f2a9c0d4e5b6a7c8d9e0f1a2b3c4d5e"


def create_table(dynamodb: Any) -> None:
    """The documented schema: pk (S) hash key, TTL on expires_at."""
    dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=TABLE,
        TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True},
    )


@pytest.fixture
def dynamodb(session: boto3.Session) -> Any:
    client = session.client("dynamodb")
    create_table(client)
    return client


StoreFactory = Callable[[], DedupStore]


@pytest.fixture(params=["dynamodb", "memory"])
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    """Builds stores that share state (two Lambda containers on one table, or one process)."""
    if request.param == "memory":
        shared = MemoryDedupStore()
        return lambda: shared
    client = request.getfixturevalue("dynamodb")
    return lambda: DynamoDedupStore(client, TABLE)


class TestStoreSemantics:
    def test_first_sighting_notifies_and_repeat_within_window_does_not(
        self, store_factory: StoreFactory
    ) -> None:
        """GIVEN a new fingerprint THEN first_seen is True, and False again within the window."""
        store = store_factory()
        assert store.first_seen(FP, WINDOW, T0) is True
        assert store.first_seen(FP, WINDOW, T0 + timedelta(seconds=WINDOW - 1)) is False
        assert store.last_error is None

    def test_same_fingerprint_notifies_again_after_the_window(
        self, store_factory: StoreFactory
    ) -> None:
        """GIVEN a window that has ended THEN the drift is notified again and a new window
        starts."""
        store = store_factory()
        assert store.first_seen(FP, WINDOW, T0) is True
        later = T0 + timedelta(seconds=WINDOW)
        assert store.first_seen(FP, WINDOW, later) is True
        assert store.first_seen(FP, WINDOW, later + timedelta(seconds=10)) is False

    def test_different_fingerprints_are_independent(self, store_factory: StoreFactory) -> None:
        """Another drift is not suppressed by the first one's window."""
        store = store_factory()
        assert store.first_seen(FP, WINDOW, T0) is True
        assert store.first_seen("other", WINDOW, T0) is True

    def test_two_store_instances_share_state(self, store_factory: StoreFactory) -> None:
        """GIVEN two containers (two store instances) THEN the second sees the first's claim."""
        container_a, container_b = store_factory(), store_factory()
        assert container_a.first_seen(FP, WINDOW, T0) is True
        assert container_b.first_seen(FP, WINDOW, T0 + timedelta(seconds=5)) is False


class TestDynamoStore:
    def test_item_carries_ttl_in_epoch_seconds(self, dynamodb: Any) -> None:
        """The claim is stored under notify#<fingerprint> with expires_at = now + window."""
        DynamoDedupStore(dynamodb, TABLE).first_seen(FP, WINDOW, T0)

        item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": KEY_PREFIX + FP}})["Item"]

        assert int(item["expires_at"]["N"]) == int(T0.timestamp()) + WINDOW
        assert item["first_seen_at"]["S"] == T0.isoformat()

    def test_store_error_fails_open_and_is_reported(self, session: boto3.Session) -> None:
        """GIVEN a table that does not exist THEN first_seen is True (notify) and last_error
        names the problem."""
        store = DynamoDedupStore(session.client("dynamodb"), "no-such-table")

        assert store.first_seen(FP, WINDOW, T0) is True
        assert store.last_error is not None
        assert "no-such-table" in store.last_error
        assert "ResourceNotFoundException" in store.last_error

    def test_error_is_cleared_by_the_next_successful_call(self, session: boto3.Session) -> None:
        """GIVEN a call that failed because the table was missing WHEN the table exists and
        the next call succeeds THEN last_error is cleared (it describes the latest call)."""
        client = session.client("dynamodb")
        store = DynamoDedupStore(client, TABLE)
        store.first_seen(FP, WINDOW, T0)
        assert store.last_error is not None

        create_table(client)

        assert store.first_seen(FP, WINDOW, T0) is True
        assert store.last_error is None


class RecordingChannel:
    """A channel that records what it was asked to send."""

    def __init__(self, name: str, status: str = "sent") -> None:
        self.name = name
        self.status = status
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> NotificationRecord:
        self.sent.append(alert)
        return NotificationRecord(self.name, self.status)


class ContractBreakingChannel:
    """A channel that raises instead of returning a failed record."""

    name = "broken"

    def send(self, alert: Alert) -> NotificationRecord:
        raise NotificationError("boom")


class FailingStore:
    """A store whose backend is down: fails open and reports it."""

    last_error: str | None = None

    def first_seen(self, fingerprint: str, window_seconds: int, now: datetime) -> bool:
        self.last_error = "dedup table t: EndpointConnectionError: unreachable"
        return True


def make_alert(event_id: str = "e-1") -> Alert:
    ref = ResourceRef(Kind.IAM_ROLE, "dw-role", "123456789012", "us-east-1")
    result = ResourceResult(
        ref, Mode.ALERT, Status.DRIFTED, (Change("description", Op.CHANGE, "a", "b"),)
    )
    return Alert(result, Decision.ALERTED, f"alerted ({event_id})")


class TestDispatch:
    def test_every_channel_is_sent_to_on_first_sighting(self) -> None:
        """GIVEN two channels and a fresh store THEN both send and both records are kept."""
        sns, slack = RecordingChannel("sns"), RecordingChannel("slack", status="failed")
        records = dispatch(make_alert(), [sns, slack], now=T0, dedup=MemoryDedupStore())
        assert records == (NotificationRecord("sns", "sent"), NotificationRecord("slack", "failed"))
        assert len(sns.sent) == len(slack.sent) == 1

    def test_redelivered_event_is_suppressed_within_the_window(self, dynamodb: Any) -> None:
        """GIVEN the same drift from a redelivered event in another container THEN no
        channel sends and each record says suppressed."""
        sns = RecordingChannel("sns")
        first = dispatch(make_alert("e-1"), [sns], now=T0, dedup=DynamoDedupStore(dynamodb, TABLE))
        again = dispatch(
            make_alert("e-2"),
            [sns],
            now=T0 + timedelta(minutes=5),
            dedup=DynamoDedupStore(dynamodb, TABLE),
        )
        assert [r.status for r in first] == ["sent"]
        assert [(r.channel, r.status) for r in again] == [("sns", "suppressed")]
        assert len(sns.sent) == 1
        assert fingerprint(make_alert("e-1")) == fingerprint(make_alert("e-2"))

    def test_store_failure_still_notifies_and_adds_a_dedup_record(self) -> None:
        """GIVEN a broken store THEN the alert goes out and a failed dedup record explains."""
        sns = RecordingChannel("sns")
        records = dispatch(make_alert(), [sns], now=T0, dedup=FailingStore())
        assert records[0].channel == "dedup" and records[0].status == "failed"
        assert records[1] == NotificationRecord("sns", "sent")
        assert len(sns.sent) == 1

    def test_a_raising_channel_does_not_stop_the_others(self) -> None:
        """GIVEN a channel that raises NotificationError THEN it is recorded failed and the
        next channel still sends."""
        after = RecordingChannel("after")
        records = dispatch(make_alert(), [ContractBreakingChannel(), after], now=T0)
        assert [(r.channel, r.status) for r in records] == [("broken", "failed"), ("after", "sent")]
        assert len(after.sent) == 1

    def test_without_channels_nothing_is_claimed(self) -> None:
        """GIVEN no channel THEN the store is not consulted, so a later channel still sends."""
        store = MemoryDedupStore()
        assert dispatch(make_alert(), [], now=T0, dedup=store) == ()
        assert store.first_seen(fingerprint(make_alert()), WINDOW, T0) is True
