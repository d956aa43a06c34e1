"""The finding catalogue as data: every rule code with its severity, group and title."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from chalicelib.models import Finding, Severity

if TYPE_CHECKING:
    from collections.abc import Mapping


class Group(enum.StrEnum):
    """Where a rule comes from and where it applies."""

    GUARDRAIL = "guardrail"
    """Refused in the registry unless the entry lists the code under ``allow``."""
    QUICKSIGHT = "quicksight"
    """A documented QuickSight rule, checked on the registry and on live state."""
    CLEANROOMS = "cleanrooms"
    """A documented Clean Rooms rule, checked on the registry and on live state."""
    LIVE = "live"
    """Only live state can show it."""


@dataclass(frozen=True, slots=True)
class Rule:
    """Catalogue metadata of one rule code."""

    code: str
    severity: Severity
    group: Group
    title: str


_RULES = (
    Rule(
        "GUARD_WILDCARD_ACTION",
        Severity.CRITICAL,
        Group.GUARDRAIL,
        "An Allow statement grants every action (* or *:*)",
    ),
    Rule(
        "GUARD_IAM_WILDCARD",
        Severity.CRITICAL,
        Group.GUARDRAIL,
        "An Allow statement grants every IAM action (iam:*)",
    ),
    Rule(
        "GUARD_PASSROLE_ANY",
        Severity.HIGH,
        Group.GUARDRAIL,
        "iam:PassRole is allowed on every role (Resource *)",
    ),
    Rule(
        "GUARD_TRUST_ANY",
        Severity.CRITICAL,
        Group.GUARDRAIL,
        "The trust policy lets anyone, or another account, assume the role without a condition",
    ),
    Rule(
        "QS_ROLE_WRONG_ACCOUNT",
        Severity.HIGH,
        Group.QUICKSIGHT,
        "The data source's role is not in the data source's account",
    ),
    Rule(
        "QS_ROLE_NOT_TRUSTING_QUICKSIGHT",
        Severity.HIGH,
        Group.QUICKSIGHT,
        "The data source's role does not let quicksight.amazonaws.com assume it",
    ),
    Rule(
        "QS_ROLE_NOT_FOUND",
        Severity.HIGH,
        Group.QUICKSIGHT,
        "The data source's role ARN names no existing role",
    ),
    Rule(
        "QS_MULTIPLE_ROLES",
        Severity.MEDIUM,
        Group.QUICKSIGHT,
        "The data source names more than one role (one role per data source)",
    ),
    Rule(
        "QS_S3_CANNOT_READ_MANIFEST",
        Severity.HIGH,
        Group.QUICKSIGHT,
        "The S3 data source's role cannot read the manifest file",
    ),
    Rule(
        "QS_S3_CANNOT_READ_DATA",
        Severity.MEDIUM,
        Group.QUICKSIGHT,
        "The S3 data source's role cannot read objects in the manifest's bucket",
    ),
    Rule(
        "CR_TRUST_NO_CONFUSED_DEPUTY",
        Severity.HIGH,
        Group.CLEANROOMS,
        "The trust policy lets cleanrooms.amazonaws.com assume the role without a condition on "
        "aws:SourceArn, aws:SourceAccount or sts:ExternalId",
    ),
    Rule(
        "CR_ROLE_NOT_FOUND",
        Severity.HIGH,
        Group.CLEANROOMS,
        "The Clean Rooms role ARN names no existing role",
    ),
    Rule(
        "CR_ROLE_NOT_TRUSTING_CLEANROOMS",
        Severity.HIGH,
        Group.CLEANROOMS,
        "The Clean Rooms role does not let cleanrooms.amazonaws.com assume it",
    ),
    Rule(
        "PRINCIPAL_UNIQUE_ID",
        Severity.MEDIUM,
        Group.LIVE,
        "A policy principal was replaced by a unique ID: the principal was deleted",
    ),
)

CATALOGUE: Mapping[str, Rule] = MappingProxyType({rule.code: rule for rule in _RULES})
"""Every rule code, with its metadata."""

GUARDRAIL_CODES: frozenset[str] = frozenset(
    rule.code for rule in _RULES if rule.group is Group.GUARDRAIL
)
"""The codes an entry may list under ``allow``."""


def finding(code: str, message: str) -> Finding:
    """Build a finding for a catalogued code, with the catalogue's severity.

    Raises
    ------
    KeyError
        When ``code`` is not in the catalogue (a programming error).

    Example
    -------
    >>> finding("QS_ROLE_NOT_FOUND", "role x does not exist").severity
    <Severity.HIGH: 'high'>
    """
    return Finding(code=code, severity=CATALOGUE[code].severity, message=message)
