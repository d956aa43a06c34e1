"""Which AWS actions each Lambda function needs: declared per component, unioned per function.

Collectors and executors declare their own ``permissions``; this module declares the other
AWS-touching pieces (Lambda logs, the caller identity, the member-account roles, the registry
store, the journal, the notifiers, the de-duplication table and the report history) and maps
every Lambda function (the handler names of ``app.py``) to the components it uses. The
permissions test compares the result with ``.chalice/policy-<function>.json``; ``deploy/`` and
``docs/deployment.md`` describe the resources those policies name.

Nothing here is imported by the Lambda handlers; it is a declaration read by tests and tools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.audit.history import ReportHistory
from chalicelib.collectors.cleanrooms import CleanRoomsCollector
from chalicelib.collectors.iam import IamCollector
from chalicelib.collectors.quicksight import QuickSightCollector
from chalicelib.events.routes import EVENTBRIDGE_SOURCES, ROUTES
from chalicelib.kinds import SERVICE_OF_KIND
from chalicelib.remediation.executors.cleanrooms import CleanRoomsExecutor
from chalicelib.remediation.executors.iam import IamExecutor
from chalicelib.remediation.executors.quicksight import QuickSightExecutor
from chalicelib.remediation.journal import S3Journal

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: Action-name prefixes that only read. Any other action counts as a write.
READ_PREFIXES: tuple[str, ...] = (
    "Get",
    "List",
    "Describe",
    "Head",
    "BatchGet",
    "Query",
    "Scan",
    "Search",
    "Lookup",
)

_READ_PREFIXES_LOWER = tuple(p.lower() for p in READ_PREFIXES)

#: Actions that change nothing although their names do not start with a read prefix.
#: ``sts:AssumeRole`` only obtains credentials; what they allow is bounded by the assumed
#: role's own policy (``deploy/member-role.json``).
NON_MUTATING: frozenset[str] = frozenset({"sts:assumerole"})


def is_write(action: str) -> bool:
    """True when ``action`` (``service:Name``) may change something.

    Classification is by name, ignoring case as IAM does: ``Get*``, ``List*``, ``Describe*``
    and the other ``READ_PREFIXES`` read; ``NON_MUTATING`` lists the exceptions; everything
    else writes (including wildcards such as ``iam:*`` or ``*``).

    Example
    -------
    >>> is_write("iam:GetRole"), is_write("iam:PutRolePolicy"), is_write("sts:AssumeRole")
    (False, True, False)
    """
    if action == "*" or ":" not in action:
        return True
    name = action.split(":", 1)[1]
    if "*" in name or "?" in name:
        return True
    if action.lower() in NON_MUTATING:
        return False
    return not name.lower().startswith(_READ_PREFIXES_LOWER)


@dataclass(frozen=True, slots=True)
class Component:
    """A piece of driftwarden that calls AWS, with the actions it calls."""

    name: str
    permissions: tuple[str, ...]


def _component(cls: type, name: str | None = None) -> Component:
    return Component(name or cls.__name__, tuple(getattr(cls, "permissions", ())))


#: Writing the function's own logs (Chalice adds nothing when ``autogen_policy`` is false).
LAMBDA_LOGS = Component(
    "lambda-logs", ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
)
#: ``Wiring.account`` and ``Wiring.self_arns``: who am I (account, partition, own role).
IDENTITY = Component("identity", ("sts:GetCallerIdentity",))
#: Acting in member accounts through ``DRIFTWARDEN_ASSUME_ROLE`` (``driftwarden-member``).
MEMBER_ROLE = Component("member-role", ("sts:AssumeRole",))
#: The audit function's member role (``driftwarden-member-audit``: reads only).
MEMBER_AUDIT_ROLE = Component("member-audit-role", ("sts:AssumeRole",))
#: ``S3RegistryStore.load``: the pointer (conditional GET) and the snapshot it names;
#: ``s3:ListBucket`` makes a missing pointer a 404 (not found) rather than a 403 (denied).
REGISTRY_STORE = Component("registry-store", ("s3:GetObject", "s3:ListBucket"))
#: ``S3Journal``: append-only records of every action (read back for undo and resume).
JOURNAL = Component("journal", S3Journal.permissions)
#: ``SnsNotifier.notify``.
SNS_NOTIFIER = Component("sns-notifier", ("sns:Publish",))
#: ``load_slack_secret``: an SSM parameter (SecureString) or a Secrets Manager secret.
SLACK_SECRET = Component("slack-secret", ("ssm:GetParameter", "secretsmanager:GetSecretValue"))
#: ``DynamoDedupStore.first_seen``: one conditional PutItem per alert.
DEDUP = Component("dedup", ("dynamodb:PutItem",))
#: ``ReportHistory.save`` and ``latest``: the sweep writes, the audit endpoint reads.
HISTORY_WRITE = Component("report-history", ReportHistory.permissions)
HISTORY_READ = Component("report-history-read", ReportHistory.read_permissions)

#: The collector and executor of each service (``chalicelib.kinds.SERVICE_OF_KIND`` values).
COLLECTORS: Mapping[str, Component] = {
    "iam": _component(IamCollector),
    "quicksight": _component(QuickSightCollector),
    "cleanrooms": _component(CleanRoomsCollector),
}
EXECUTORS: Mapping[str, Component] = {
    "iam": _component(IamExecutor),
    "quicksight": _component(QuickSightExecutor),
    "cleanrooms": _component(CleanRoomsExecutor),
}

#: The event handlers of ``app.py`` and the EventBridge source each one subscribes to.
EVENT_FUNCTIONS: Mapping[str, str] = {
    "on_iam_change": "aws.iam",
    "on_quicksight_change": "aws.quicksight",
    "on_cleanrooms_change": "aws.cleanrooms",
}
SWEEP_FUNCTION = "sweep"
API_FUNCTION = "api_handler"


def services_of_source(eventbridge_source: str) -> tuple[str, ...]:
    """The services whose resources the routes of one EventBridge source can name."""
    event_source = EVENTBRIDGE_SOURCES[eventbridge_source]
    kinds = {r.kind for r in ROUTES if r.event_source == event_source}
    return tuple(sorted({SERVICE_OF_KIND[k] for k in kinds}))


# Every function that responds: registry in, journal, notifications and de-duplication out.
_RESPONDER: tuple[Component, ...] = (
    LAMBDA_LOGS,
    IDENTITY,
    MEMBER_ROLE,
    REGISTRY_STORE,
    JOURNAL,
    SNS_NOTIFIER,
    SLACK_SECRET,
    DEDUP,
)


def _dedupe(components: Iterable[Component]) -> tuple[Component, ...]:
    return tuple(dict.fromkeys(components))


def function_components() -> dict[str, tuple[Component, ...]]:
    """Every Lambda function and the components its code uses.

    An event handler compares only the kinds its source's routes name, and reads IAM roles for
    the findings of data sources and Clean Rooms resources (``Pipeline.roles_for``); it writes
    with those kinds' executors. The sweep compares and responds for every kind and saves the
    report. The API handler only audits: collectors, registry and the report history, read-only.
    """
    out: dict[str, tuple[Component, ...]] = {}
    for function, source in EVENT_FUNCTIONS.items():
        services = services_of_source(source)
        out[function] = _dedupe(
            (
                *_RESPONDER,
                COLLECTORS["iam"],
                *(COLLECTORS[s] for s in services),
                *(EXECUTORS[s] for s in services),
            )
        )
    out[SWEEP_FUNCTION] = _dedupe(
        (*_RESPONDER, *COLLECTORS.values(), *EXECUTORS.values(), HISTORY_WRITE)
    )
    out[API_FUNCTION] = (
        LAMBDA_LOGS,
        IDENTITY,
        MEMBER_AUDIT_ROLE,
        REGISTRY_STORE,
        *COLLECTORS.values(),
        HISTORY_READ,
    )
    return out


#: The roles of ``deploy/member-role.json``: what driftwarden does in a member account.
MEMBER_ROLES: Mapping[str, tuple[Component, ...]] = {
    "driftwarden-member": (*COLLECTORS.values(), *EXECUTORS.values()),
    "driftwarden-member-audit": tuple(COLLECTORS.values()),
}


def required_actions(components: Iterable[Component]) -> frozenset[str]:
    """The union of the components' actions, lower-cased (IAM action names ignore case)."""
    return frozenset(a.lower() for c in components for a in c.permissions)


def function_permissions() -> dict[str, frozenset[str]]:
    """Every Lambda function and the (lower-cased) actions its code needs."""
    return {name: required_actions(parts) for name, parts in function_components().items()}
