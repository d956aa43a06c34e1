"""The route table (CloudTrail event -> resource kind and id), event patterns, actor checks."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from chalicelib.models import ChangeNotice, Kind, ResourceRef

__all__ = [
    "EVENTBRIDGE_SOURCES",
    "MUTATING_EVENT_NAMES",
    "REASON_NO_IDENTIFIER",
    "REASON_READ_ONLY",
    "REASON_UNKNOWN_EVENT",
    "ROUTES",
    "Field",
    "FirstOf",
    "Joined",
    "Route",
    "RouteResult",
    "actor_matches",
    "event_patterns",
    "find_route",
    "is_own_event",
    "route",
]

REASON_UNKNOWN_EVENT = "unknown event name"
REASON_READ_ONLY = "read-only event"
REASON_NO_IDENTIFIER = "no resource identifier in the event"

IAM = "iam.amazonaws.com"
QUICKSIGHT = "quicksight.amazonaws.com"
CLEANROOMS = "cleanrooms.amazonaws.com"

#: EventBridge ``source`` -> CloudTrail ``eventSource`` of the services driftwarden watches.
EVENTBRIDGE_SOURCES: Mapping[str, str] = MappingProxyType(
    {"aws.iam": IAM, "aws.quicksight": QUICKSIGHT, "aws.cleanrooms": CLEANROOMS}
)

_CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"


# ---------------------------------------------------------------------------------------------
# Identifier extractors: small frozen values, so a route row stays data (and prints readably).


def _resolve(notice: ChangeNotice, path: str) -> Any:
    """The value at a dotted CloudTrail path (``requestParameters.role.roleName``), or None."""
    head, _, rest = path.partition(".")
    node: Any
    if head == "requestParameters":
        node = notice.request_parameters
    elif head == "responseElements":
        node = notice.response_elements
    else:
        return None
    for key in rest.split(".") if rest else ():
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


@dataclass(frozen=True, slots=True)
class Field:
    """The non-empty string at a dotted path of the event, e.g. ``requestParameters.roleName``.

    The first segment is ``requestParameters`` or ``responseElements``.
    """

    path: str

    def __call__(self, notice: ChangeNotice) -> tuple[str, ...]:
        value = _resolve(notice, self.path)
        return (value,) if isinstance(value, str) and value else ()


@dataclass(frozen=True, slots=True)
class FirstOf:
    """The ids of the first extractor that finds any (e.g. request, else response)."""

    options: tuple[Callable[[ChangeNotice], tuple[str, ...]], ...]

    def __call__(self, notice: ChangeNotice) -> tuple[str, ...]:
        for option in self.options:
            found = option(notice)
            if found:
                return found
        return ()


@dataclass(frozen=True, slots=True)
class Joined:
    """One id made of parts joined by ``sep`` (``<membership-id>/<association-id>``).

    Yields nothing unless every part yields exactly one value.
    """

    parts: tuple[Callable[[ChangeNotice], tuple[str, ...]], ...]
    sep: str = "/"

    def __call__(self, notice: ChangeNotice) -> tuple[str, ...]:
        values: list[str] = []
        for part in self.parts:
            found = part(notice)
            if len(found) != 1:
                return ()
            values.append(found[0])
        return (self.sep.join(values),)


# ---------------------------------------------------------------------------------------------
# The route table.


@dataclass(frozen=True, slots=True)
class Route:
    """One CloudTrail event that can change a managed resource, and how to find that resource.

    ``ids`` extracts the resource ids from the notice; ``account`` (optional) extracts the
    account that owns the resource when the event names it (else the notice's account).
    ``expands_to_attached_roles`` marks a customer-managed policy route: the pipeline must
    also re-check the registry roles that attach the policy.
    """

    event_source: str
    event_name: str
    kind: Kind
    ids: Callable[[ChangeNotice], tuple[str, ...]]
    account: Callable[[ChangeNotice], tuple[str, ...]] | None = None
    expands_to_attached_roles: bool = False

    @property
    def eventbridge_source(self) -> str:
        """``aws.iam`` for ``iam.amazonaws.com``."""
        return "aws." + self.event_source.split(".", 1)[0]


_ROLE_NAME = Field("requestParameters.roleName")
_POLICY_ARN = Field("requestParameters.policyArn")
_DATA_SOURCE_ID = FirstOf(
    (
        Field("requestParameters.dataSourceId"),
        Field("requestParameters.DataSourceId"),
        Field("responseElements.dataSourceId"),
        Field("responseElements.DataSourceId"),
    )
)
_QUICKSIGHT_ACCOUNT = FirstOf(
    (Field("requestParameters.awsAccountId"), Field("requestParameters.AwsAccountId"))
)
_MEMBERSHIP_ID = Field("requestParameters.membershipIdentifier")
_ASSOCIATION_ID = Joined(
    (_MEMBERSHIP_ID, Field("requestParameters.configuredTableAssociationIdentifier"))
)


def _role(name: str, ids: Callable[[ChangeNotice], tuple[str, ...]] = _ROLE_NAME) -> Route:
    return Route(IAM, name, Kind.IAM_ROLE, ids)


def _policy(name: str) -> Route:
    return Route(IAM, name, Kind.IAM_POLICY, _POLICY_ARN, expands_to_attached_roles=True)


def _data_source(name: str) -> Route:
    return Route(
        QUICKSIGHT, name, Kind.QUICKSIGHT_DATA_SOURCE, _DATA_SOURCE_ID, account=_QUICKSIGHT_ACCOUNT
    )


#: Every event driftwarden acts on, one row per (eventSource, eventName), in the spirit of
#: cloud-custodian's ``cwe.py``. Adding a kind adds rows here; the EventBridge patterns and
#: :data:`MUTATING_EVENT_NAMES` are derived from this table.
ROUTES: tuple[Route, ...] = (
    # IAM roles -> iam_role by role name.
    _role("CreateRole", FirstOf((_ROLE_NAME, Field("responseElements.role.roleName")))),
    _role("DeleteRole"),
    _role("UpdateRole"),
    _role("UpdateRoleDescription"),
    _role("UpdateAssumeRolePolicy"),
    _role("PutRolePolicy"),
    _role("DeleteRolePolicy"),
    _role("AttachRolePolicy"),
    _role("DetachRolePolicy"),
    _role("PutRolePermissionsBoundary"),
    _role("DeleteRolePermissionsBoundary"),
    _role("TagRole"),
    _role("UntagRole"),
    # Customer-managed policies -> iam_policy by ARN, plus the registry roles attaching it.
    _policy("CreatePolicyVersion"),
    _policy("SetDefaultPolicyVersion"),
    _policy("DeletePolicyVersion"),
    _policy("DeletePolicy"),
    # QuickSight data sources -> quicksight_data_source by DataSourceId.
    _data_source("CreateDataSource"),
    _data_source("UpdateDataSource"),
    _data_source("UpdateDataSourcePermissions"),
    _data_source("DeleteDataSource"),
    # Clean Rooms configured table associations -> "<membership-id>/<association-id>".
    Route(
        CLEANROOMS,
        "CreateConfiguredTableAssociation",
        Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
        Joined(
            (
                FirstOf(
                    (
                        _MEMBERSHIP_ID,
                        Field("responseElements.configuredTableAssociation.membershipId"),
                    )
                ),
                Field("responseElements.configuredTableAssociation.id"),
            )
        ),
    ),
    Route(
        CLEANROOMS,
        "UpdateConfiguredTableAssociation",
        Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
        _ASSOCIATION_ID,
    ),
    Route(
        CLEANROOMS,
        "DeleteConfiguredTableAssociation",
        Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
        _ASSOCIATION_ID,
    ),
    # Clean Rooms memberships -> cleanrooms_membership by membership id.
    Route(
        CLEANROOMS,
        "CreateMembership",
        Kind.CLEANROOMS_MEMBERSHIP,
        FirstOf((Field("responseElements.membership.id"), _MEMBERSHIP_ID)),
    ),
    Route(CLEANROOMS, "UpdateMembership", Kind.CLEANROOMS_MEMBERSHIP, _MEMBERSHIP_ID),
    Route(CLEANROOMS, "DeleteMembership", Kind.CLEANROOMS_MEMBERSHIP, _MEMBERSHIP_ID),
)

_BY_EVENT: Mapping[tuple[str, str], Route] = MappingProxyType(
    {(r.event_source, r.event_name): r for r in ROUTES}
)


def _names_by_source(routes: Iterable[Route]) -> Mapping[str, tuple[str, ...]]:
    names: dict[str, list[str]] = {source: [] for source in EVENTBRIDGE_SOURCES}
    for row in routes:
        names.setdefault(row.eventbridge_source, []).append(row.event_name)
    return MappingProxyType({source: tuple(found) for source, found in names.items()})


#: EventBridge source (``aws.iam``, ``aws.quicksight``, ``aws.cleanrooms``) -> the event names
#: driftwarden routes, in table order.
MUTATING_EVENT_NAMES: Mapping[str, tuple[str, ...]] = _names_by_source(ROUTES)


def event_patterns() -> dict[str, dict[str, Any]]:
    """The EventBridge event pattern of each watched source, for ``@app.on_cw_event``.

    Returns
    -------
    dict[str, dict]
        A fresh dict per call, keyed by EventBridge source, e.g. ``{"aws.iam": {"source":
        ["aws.iam"], "detail-type": ["AWS API Call via CloudTrail"], "detail": {"eventSource":
        ["iam.amazonaws.com"], "eventName": ["CreateRole", ...]}}}``.

    Example
    -------
    >>> @app.on_cw_event(event_patterns()["aws.iam"])  # doctest: +SKIP
    ... def on_iam_change(event): ...
    """
    return {
        source: {
            "source": [source],
            "detail-type": [_CLOUDTRAIL_DETAIL_TYPE],
            "detail": {"eventSource": [EVENTBRIDGE_SOURCES[source]], "eventName": list(names)},
        }
        for source, names in MUTATING_EVENT_NAMES.items()
    }


# ---------------------------------------------------------------------------------------------
# Routing.


@dataclass(frozen=True, slots=True)
class RouteResult:
    """Where a notice points: resources to re-read, or why it points nowhere.

    ``policy_arns`` are customer-managed policies whose attaching registry roles must also be
    re-checked. ``reason`` is set exactly when ``refs`` is empty.
    """

    refs: tuple[ResourceRef, ...] = ()
    policy_arns: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def routed(self) -> bool:
        """True when at least one resource must be re-read."""
        return bool(self.refs)


def find_route(event_source: str, event_name: str) -> Route | None:
    """The route row for a CloudTrail ``eventSource``/``eventName`` pair, or None.

    Parameters
    ----------
    event_source
        e.g. ``iam.amazonaws.com``.
    event_name
        e.g. ``PutRolePolicy``.

    Returns
    -------
    Route or None
        None when driftwarden does not act on that event.
    """
    return _BY_EVENT.get((event_source, event_name))


def route(notice: ChangeNotice) -> RouteResult:
    """Decide which managed resources an event points at.

    Failed calls (``errorCode``) and read-only calls never yield resources, whatever their
    name: driftwarden must not act on them. Never raises.

    Parameters
    ----------
    notice
        A parsed event (see :func:`chalicelib.events.cloudtrail.parse_event`).

    Returns
    -------
    RouteResult
        ``refs`` (and ``policy_arns`` for policy routes), or ``reason`` which is one of
        ``"failed call (errorCode=...)"``, ``"read-only event"``, ``"unknown event name"``,
        ``"no resource identifier in the event"``.

    Example
    -------
    >>> result = route(parse_event(event))  # doctest: +SKIP
    >>> [str(ref) for ref in result.refs]  # doctest: +SKIP
    ['iam_role/analytics-reader']
    """
    if notice.error_code is not None:
        return RouteResult(reason=f"failed call (errorCode={notice.error_code})")
    if notice.read_only:
        return RouteResult(reason=REASON_READ_ONLY)
    row = find_route(notice.event_source, notice.event_name)
    if row is None:
        return RouteResult(reason=REASON_UNKNOWN_EVENT)
    ids = tuple(dict.fromkeys(row.ids(notice)))
    if not ids:
        return RouteResult(reason=REASON_NO_IDENTIFIER)
    owners = row.account(notice) if row.account is not None else ()
    account = owners[0] if owners else notice.account
    refs = tuple(ResourceRef(row.kind, ident, account, notice.region) for ident in ids)
    return RouteResult(refs=refs, policy_arns=ids if row.expands_to_attached_roles else ())


# ---------------------------------------------------------------------------------------------
# Actor checks (driftwarden's own writes, trusted actors).

_SESSION_ARN = re.compile(r"arn:([^:]+):sts::([^:]*):assumed-role/([^/]+)(?:/.*)?", re.DOTALL)
_ROLE_ARN = re.compile(r"arn:([^:]+):iam::([^:]*):role/(.*/)?([^/]+)", re.DOTALL)


@functools.lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters (``/`` included), ``?`` one; nothing else is special."""
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(body, re.DOTALL)


def _session_role(arn: str) -> str | None:
    """``arn:P:iam::A:role/NAME`` for an assumed-role session ARN (the path is unknown)."""
    match = _SESSION_ARN.fullmatch(arn)
    if match is None:
        return None
    partition, account, name = match.groups()
    return f"arn:{partition}:iam::{account}:role/{name}"


def _without_path(pattern: str) -> str | None:
    """A role ARN pattern with its path dropped, when that cannot widen it; else None.

    ``.../role/service/driftwarden`` -> ``.../role/driftwarden``; a wildcard name under a path
    (``role/service/*``) is not rewritten, as ``role/*`` would match roles outside the path.
    """
    match = _ROLE_ARN.fullmatch(pattern)
    if match is None:
        return None
    partition, account, path, name = match.groups()
    if path and ("*" in name or "?" in name):
        return None
    return f"arn:{partition}:iam::{account}:role/{name}"


def actor_matches(notice: ChangeNotice, patterns: Iterable[str]) -> bool:
    """Whether the event's caller matches one of ``patterns`` (ARNs, ``*``/``?`` wildcards).

    The caller is ``userIdentity.arn`` or the session issuer's ARN (for an assumed role, the
    role ARN with its path). An assumed-role session ARN
    ``arn:aws:sts::ACCT:assumed-role/NAME/SESSION`` also matches the role ARN
    ``arn:aws:iam::ACCT:role[/path]/NAME`` (role names are unique in an account whatever their
    path, so the path the session ARN lacks does not matter; a wildcard name under a path is
    not widened to every path). Matching is case-sensitive; blank patterns are skipped; a single
    string is taken as one pattern.

    Parameters
    ----------
    notice
        The parsed event.
    patterns
        ARNs or ARN patterns, e.g. ``arn:aws:iam::*:role/platform-*``.

    Returns
    -------
    bool
        True on the first match.
    """
    if isinstance(patterns, str):  # one ARN, not a sequence of one-character patterns
        patterns = (patterns,)
    actors = [arn for arn in (notice.actor_arn, notice.actor_issuer_arn) if arn]
    session_roles = [role for role in map(_session_role, actors) if role]
    for raw in patterns:
        if not isinstance(raw, str) or not raw.strip():
            continue
        pattern = raw.strip()
        if any(_glob(pattern).fullmatch(arn) for arn in actors):
            return True
        if not session_roles:
            continue
        short = _without_path(pattern)
        candidates = (pattern,) if short is None else (pattern, short)
        if any(_glob(c).fullmatch(role) for c in candidates for role in session_roles):
            return True
    return False


def is_own_event(notice: ChangeNotice, self_arns: Sequence[str]) -> bool:
    """Whether driftwarden itself made the call (so it must not react to it).

    Same matching as :func:`actor_matches`; ``self_arns`` are the caller identity of the
    running function plus ``DRIFTWARDEN_SELF_ARNS``.

    Parameters
    ----------
    notice
        The parsed event.
    self_arns
        driftwarden's role ARN(s), session ARNs or patterns.

    Returns
    -------
    bool
        True when the caller is driftwarden.
    """
    return actor_matches(notice, self_arns)
