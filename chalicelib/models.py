"""Shared value types: resource references, desired and live state, changes, findings, results.

Stdlib-only; imported by every layer. Raw dicts from AWS, events and registry files are turned
into these types at the edge that receives them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping


class Kind(enum.StrEnum):
    """Kinds of managed resource, spelt as in the public audit report."""

    IAM_ROLE = "iam_role"
    IAM_POLICY = "iam_policy"
    QUICKSIGHT_DATA_SOURCE = "quicksight_data_source"
    CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION = "cleanrooms_configured_table_association"
    CLEANROOMS_MEMBERSHIP = "cleanrooms_membership"


class Mode(enum.StrEnum):
    """What driftwarden does about drift on one resource."""

    ENFORCE = "enforce"
    ALERT = "alert"
    IGNORE = "ignore"


class Status(enum.StrEnum):
    """Outcome of comparing one resource."""

    IN_SYNC = "in_sync"
    DRIFTED = "drifted"
    MISSING = "missing"
    ERROR = "error"


class Op(enum.StrEnum):
    """How the live value differs from the desired one.

    ``add``: present live, not desired. ``remove``: desired, absent live. ``change``: both
    present, different.
    """

    ADD = "add"
    REMOVE = "remove"
    CHANGE = "change"


class Severity(enum.StrEnum):
    """Severity of a finding, lowest first."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class AccountContext:
    """Where placeholders resolve: ``${AccountId}``, ``${Region}``, ``${Partition}``."""

    account: str
    region: str
    partition: str = "aws"


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """Identifies one managed resource. ``id`` is the role name, policy ARN, data source ID,
    membership ID, or ``<membership-id>/<association-id>`` for a configured table association."""

    kind: Kind
    id: str
    account: str
    region: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.id}"


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between desired and live state, at a dotted ``path``."""

    path: str
    op: Op
    desired: Any = None
    live: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "op": str(self.op), "desired": self.desired, "live": self.live}


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule violation (documented service rule, guardrail, suspicious live value)."""

    code: str
    severity: Severity
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "severity": str(self.severity), "message": self.message}


@dataclass(frozen=True, slots=True)
class DesiredResource:
    """One registry entry with placeholders resolved for an account context.

    ``spec`` has the kind's spec shape (see docs/registry.md); keys that are absent are not
    managed and never compared. ``source`` is the registry file the entry came from.
    """

    ref: ResourceRef
    mode: Mode
    spec: Mapping[str, Any]
    source: str
    allow: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class LiveResource:
    """Live state of one resource, in the same spec shape as the registry.

    ``exists`` is False when AWS says the resource does not exist; ``error`` is set when it
    could not be read (then ``state`` is empty).
    """

    ref: ResourceRef
    exists: bool
    state: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResourceResult:
    """The comparison of one resource: one entry of the audit report."""

    ref: ResourceRef
    mode: Mode
    status: Status
    changes: tuple[Change, ...] = ()
    findings: tuple[Finding, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": str(self.ref.kind),
            "id": self.ref.id,
            "account": self.ref.account,
            "region": self.ref.region,
            "mode": str(self.mode),
            "status": str(self.status),
            "changes": [c.to_json() for c in self.changes],
            "findings": [f.to_json() for f in self.findings],
        }
        if self.error is not None:
            out["error"] = self.error
        return out


class Decision(enum.StrEnum):
    """What driftwarden decided for one event or sweep (public ``handle-event --json``)."""

    IGNORED = "ignored"
    IN_SYNC = "in_sync"
    ALERTED = "alerted"
    REVERTED = "reverted"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    """A CloudTrail "AWS API Call" record reduced to what driftwarden uses.

    The notice only says *where* to look; live state is always re-read.
    """

    event_id: str
    event_name: str
    event_source: str
    account: str
    region: str
    event_time: str
    actor_arn: str | None = None
    actor_issuer_arn: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    error_code: str | None = None
    read_only: bool = False
    request_parameters: Mapping[str, Any] = field(default_factory=dict)
    response_elements: Mapping[str, Any] = field(default_factory=dict)

    @property
    def service(self) -> str:
        """``iam`` for ``iam.amazonaws.com``."""
        return self.event_source.split(".", 1)[0]

    @property
    def call(self) -> str:
        """``iam:PutRolePolicy``."""
        return f"{self.service}:{self.event_name}"


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One revert (or undo) and the API calls it made or planned."""

    action_id: str
    resource: ResourceRef
    calls: tuple[str, ...]
    status: str

    def to_json(self) -> dict[str, Any]:
        return {
            "action_id": self.action_id,
            "resource": str(self.resource),
            "calls": list(self.calls),
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    """The delivery result of one notification channel."""

    channel: str
    status: str
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"channel": self.channel, "status": self.status}
        if self.detail:
            out["detail"] = self.detail
        return out
