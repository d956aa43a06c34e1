"""The notification contract: the ``Alert`` value, the ``Notifier`` protocol and fan-out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from chalicelib.errors import NotificationError
from chalicelib.models import (
    ActionRecord,
    ChangeNotice,
    Decision,
    NotificationRecord,
    ResourceResult,
    Severity,
)
from chalicelib.notify.render import fingerprint

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from chalicelib.notify.dedup import DedupStore

#: Delivery statuses a ``NotificationRecord`` produced by this package carries.
SENT = "sent"
FAILED = "failed"
SUPPRESSED = "suppressed"

#: Default de-duplication window: the same drift is notified at most once an hour.
DEFAULT_DEDUP_WINDOW_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Alert:
    """Everything a channel needs to tell on-call about one resource.

    Attributes
    ----------
    result
        The audit entry of the resource (ref, mode, status, changes, findings).
    decision
        What driftwarden decided: alerted, reverted, failed or in_sync.
    summary
        One line saying what driftwarden did, e.g. ``"reverted with 2 calls"``.
    notice
        The CloudTrail event that pointed at the resource; ``None`` for a sweep.
    action
        The revert, if one was made or planned.
    undo_command
        How to undo the action, e.g. ``"driftwarden undo <id>"``.
    severity
        How loud the message is.
    reason
        Why the drift was not reverted (alert mode, trusted actor, paused, limit, flapping...).
    scope
        What the alert is about when it names no resource, e.g. ``registry s3://b/p`` when a
        sweep cannot read the registry; ``result`` is then None.
    """

    result: ResourceResult | None
    decision: Decision
    summary: str
    notice: ChangeNotice | None = None
    action: ActionRecord | None = None
    undo_command: str | None = None
    severity: Severity = Severity.MEDIUM
    reason: str | None = None
    scope: str | None = None


class Notifier(Protocol):
    """One delivery channel (SNS topic, Slack webhook or bot).

    ``send`` never raises: a failed delivery is a ``NotificationRecord`` with status
    ``"failed"`` and a short detail that never contains a secret.
    """

    name: str

    def send(self, alert: Alert) -> NotificationRecord:
        """Deliver ``alert`` and report how it went."""
        ...


def failed(channel: str, err: BaseException | str, *secrets: str | None) -> NotificationRecord:
    """A ``failed`` record whose detail is short and has every secret value masked.

    Parameters
    ----------
    channel
        The channel name.
    err
        The error (or a message) that made the delivery fail.
    *secrets
        Values that must never appear in the detail (webhook URL, token).
    """
    detail = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
    return NotificationRecord(channel, FAILED, _short(scrub(detail, *secrets)))


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every non-empty secret value replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dispatch(
    alert: Alert,
    notifiers: Iterable[Notifier],
    *,
    now: datetime,
    dedup: DedupStore | None = None,
    window_seconds: int = DEFAULT_DEDUP_WINDOW_SECONDS,
    key: str | None = None,
) -> tuple[NotificationRecord, ...]:
    """Send ``alert`` on every channel unless the same drift was notified within the window.

    Parameters
    ----------
    alert
        The alert to deliver.
    notifiers
        The configured channels; each is tried even when an earlier one failed.
    now
        The current time (passed to the de-duplication store).
    dedup
        The de-duplication store; ``None`` notifies every time.
    window_seconds
        How long the same fingerprint stays suppressed after it was first notified.
    key
        The de-duplication key; defaults to ``fingerprint(alert)`` (same resource, same diff).

    Returns
    -------
    tuple[NotificationRecord, ...]
        One record per channel (``sent``, ``failed`` or ``suppressed``), plus a ``dedup``
        record with status ``failed`` when the store could not be reached (the alert is then
        sent anyway: the store fails open).
    """
    channels = list(notifiers)
    records: list[NotificationRecord] = []
    if dedup is not None and channels:
        first = dedup.first_seen(key or fingerprint(alert), window_seconds, now)
        if dedup.last_error is not None:
            records.append(NotificationRecord("dedup", FAILED, _short(dedup.last_error)))
        if not first:
            detail = f"same drift already notified within {window_seconds}s"
            return tuple(NotificationRecord(n.name, SUPPRESSED, detail) for n in channels)
    for notifier in channels:
        records.append(_send_one(notifier, alert))
    return tuple(records)


def _send_one(notifier: Notifier, alert: Alert) -> NotificationRecord:
    try:
        return notifier.send(alert)
    except NotificationError as err:  # a channel broke its contract; keep the others going
        return failed(notifier.name, err)


__all__ = [
    "DEFAULT_DEDUP_WINDOW_SECONDS",
    "FAILED",
    "SENT",
    "SUPPRESSED",
    "Alert",
    "Notifier",
    "dispatch",
    "failed",
    "scrub",
]
