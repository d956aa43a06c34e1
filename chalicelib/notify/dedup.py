"""Notification de-duplication: the same drift is notified at most once per window.

``DynamoDedupStore`` is shared by every Lambda container (and the CLI when a table is
configured through ``DRIFTWARDEN_DEDUP_TABLE``), so redelivered events and concurrent
containers still notify once. ``MemoryDedupStore`` serves a single process (the CLI without a
table).

DynamoDB table schema
---------------------
- partition (hash) key ``pk``, type String: ``notify#<fingerprint>``; no sort key;
- attribute ``expires_at``, Number: epoch seconds when the window ends. Enable DynamoDB Time
  to Live on ``expires_at`` so old items disappear; because TTL deletion is lazy, the
  conditional write also treats an item whose ``expires_at`` has passed as absent;
- attribute ``first_seen_at``, String: ISO-8601 time the window started (for people).

Billing mode on demand is enough: one ``PutItem`` per alert. The Lambda needs only
``dynamodb:PutItem`` on the table.

Example CloudFormation::

    DedupTable:
      Type: AWS::DynamoDB::Table
      Properties:
        BillingMode: PAY_PER_REQUEST
        AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
        KeySchema: [{AttributeName: pk, KeyType: HASH}]
        TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}

Store errors fail open: ``first_seen`` answers True (notify) and ``last_error`` says why.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger(service="driftwarden")

KEY_PREFIX = "notify#"


class DedupStore(Protocol):
    """Remembers which fingerprints were notified, for how long."""

    @property
    def last_error(self) -> str | None:
        """Why the last ``first_seen`` could not consult the store (``None`` when it could)."""
        ...

    def first_seen(self, fingerprint: str, window_seconds: int, now: datetime) -> bool:
        """True when ``fingerprint`` was not seen within the window (notify), False otherwise.

        A True answer also starts a new window of ``window_seconds`` from ``now``.
        """
        ...


def _epoch(now: datetime) -> int:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return int(now.timestamp())


class DynamoDedupStore:
    """De-duplication shared through a DynamoDB table (schema in the module docstring).

    Parameters
    ----------
    dynamodb
        A DynamoDB client.
    table
        The table name.

    Example
    -------
    >>> store = DynamoDedupStore(session.client("dynamodb"), "driftwarden-dedup")  # doctest: +SKIP
    >>> store.first_seen("ab12", 3600, datetime.now(UTC))  # doctest: +SKIP
    True
    """

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._ddb = dynamodb
        self._table = table
        self.last_error: str | None = None

    def first_seen(self, fingerprint: str, window_seconds: int, now: datetime) -> bool:
        """Claim ``fingerprint`` for the window with one conditional ``PutItem``.

        The write succeeds only when no item exists or the existing window has ended
        (``expires_at <= now``), so exactly one of several concurrent callers gets True.
        Errors other than the failed condition fail open (True) and set ``last_error``.
        """
        start = _epoch(now)
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": KEY_PREFIX + fingerprint},
                    "expires_at": {"N": str(start + window_seconds)},
                    "first_seen_at": {"S": datetime.fromtimestamp(start, UTC).isoformat()},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
                ExpressionAttributeValues={":now": {"N": str(start)}},
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                self.last_error = None
                return False
            return self._fail_open(err)
        except BotoCoreError as err:
            return self._fail_open(err)
        self.last_error = None
        return True

    def _fail_open(self, err: Exception) -> bool:
        self.last_error = f"dedup table {self._table}: {type(err).__name__}: {err}"
        logger.warning("dedup store failed", extra={"error": self.last_error})
        return True


class MemoryDedupStore:
    """In-process de-duplication (one CLI run or one container); thread-safe."""

    def __init__(self) -> None:
        self._expiry: dict[str, int] = {}
        self._lock = threading.Lock()
        self.last_error: str | None = None

    def first_seen(self, fingerprint: str, window_seconds: int, now: datetime) -> bool:
        """True and a new window when ``fingerprint`` has no unexpired window, else False."""
        start = _epoch(now)
        with self._lock:
            for key in [k for k, end in self._expiry.items() if end <= start]:
                del self._expiry[key]
            if fingerprint in self._expiry:
                return False
            self._expiry[fingerprint] = start + window_seconds
            return True


__all__ = ["KEY_PREFIX", "DedupStore", "DynamoDedupStore", "MemoryDedupStore"]
