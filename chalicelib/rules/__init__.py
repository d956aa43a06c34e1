"""Findings: guardrails and the documented QuickSight / Clean Rooms rules (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from chalicelib.diff.engine import compare
from chalicelib.models import (
    DesiredResource,
    Finding,
    Kind,
    LiveResource,
    ResourceResult,
)
from chalicelib.rules import checks
from chalicelib.rules.catalogue import CATALOGUE, GUARDRAIL_CODES, Group, Rule, finding
from chalicelib.rules.checks import Hit, RoleArn, RoleView, parse_role_arn

__all__ = [
    "CATALOGUE",
    "GUARDRAIL_CODES",
    "MANAGED_POLICY_DOCUMENTS_FACT",
    "Group",
    "Rule",
    "RuleViolation",
    "evaluate",
    "finding",
    "live_findings",
    "parse_role_arn",
    "registry_findings",
]

MANAGED_POLICY_DOCUMENTS_FACT: Final = "managed_policy_documents"
"""Key in a live role's ``facts``: ``{policy ARN: default version document}`` for the attached
managed policies whose documents the collector read. Absent documents are unknown."""


class _Unknown:
    """Marker: the role was not read, so rules that need it are skipped."""


_UNKNOWN: Final = _Unknown()

_Resolver = Callable[[RoleArn, str], "RoleView | _Unknown | None"]


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """A finding on one registry entry, with the path inside the entry file."""

    resource: DesiredResource
    path: str
    finding: Finding


# --------------------------------------------------------------------------------------------
# Shared per-kind checks
# --------------------------------------------------------------------------------------------


def _data_source_hits(
    state: Mapping[str, Any], account: str, resolve: _Resolver, base: str
) -> list[Hit]:
    parameters = state.get("parameters")
    if not isinstance(parameters, Mapping):
        return []
    params_path = f"{base}parameters"
    found = checks.role_arns(parameters, params_path)
    hits = checks.multiple_roles(found, params_path)
    seen: set[str] = set()
    for path, arn in found:
        if arn in seen:
            continue
        seen.add(arn)
        parsed = parse_role_arn(arn)
        if parsed is None:
            hits.append(Hit(path, "QS_ROLE_NOT_FOUND", f"{path} {arn!r} is not a role ARN"))
            continue
        if parsed.account != account:
            hits.append(
                Hit(
                    path,
                    "QS_ROLE_WRONG_ACCOUNT",
                    f"role {arn} is in account {parsed.account}, "
                    f"not the data source's account {account}",
                )
            )
            continue
        role = resolve(parsed, account)
        if isinstance(role, _Unknown):
            continue
        if role is None:
            hits.append(Hit(path, "QS_ROLE_NOT_FOUND", f"role {arn} does not exist"))
            continue
        if role.trust_policy is not None and not checks.trusts_service(
            role.trust_policy, checks.QUICKSIGHT_SERVICE
        ):
            hits.append(
                Hit(
                    path,
                    "QS_ROLE_NOT_TRUSTING_QUICKSIGHT",
                    f"role {arn} does not let {checks.QUICKSIGHT_SERVICE} call sts:AssumeRole",
                )
            )
        if path == f"{params_path}.S3Parameters.RoleArn":
            location = parameters["S3Parameters"].get("ManifestFileLocation")
            hits += checks.s3_reads(role, parsed, location, params_path, path)
    return hits


def _cleanrooms_hits(
    state: Mapping[str, Any], key: str, account: str, resolve: _Resolver, base: str
) -> list[Hit]:
    arn = state.get(key)
    if not isinstance(arn, str):
        return []
    path = f"{base}{key}"
    parsed = parse_role_arn(arn)
    if parsed is None:
        return [Hit(path, "CR_ROLE_NOT_FOUND", f"{path} {arn!r} is not a role ARN")]
    role = resolve(parsed, account)
    if isinstance(role, _Unknown):
        return []
    if role is None:
        return [Hit(path, "CR_ROLE_NOT_FOUND", f"role {arn} does not exist")]
    if role.trust_policy is not None and not checks.trusts_service(
        role.trust_policy, checks.CLEANROOMS_SERVICE
    ):
        return [
            Hit(
                path,
                "CR_ROLE_NOT_TRUSTING_CLEANROOMS",
                f"role {arn} does not let {checks.CLEANROOMS_SERVICE} call sts:AssumeRole",
            )
        ]
    return []


_CLEANROOMS_ROLE_KEYS: Final = {
    Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION: "role_arn",
    Kind.CLEANROOMS_MEMBERSHIP: "result_role_arn",
}


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


def _registry_resolver(resources: Sequence[DesiredResource]) -> _Resolver:
    roles: dict[tuple[str, str], DesiredResource] = {}
    documents: dict[str, Any] = {}
    for r in resources:
        if r.ref.kind is Kind.IAM_ROLE:
            roles[(r.ref.account, r.ref.id.lower())] = r
        elif r.ref.kind is Kind.IAM_POLICY and "document" in r.spec:
            documents[r.ref.id] = r.spec["document"]

    def resolve(arn: RoleArn, account: str) -> RoleView | _Unknown | None:
        if arn.account != account:
            return _UNKNOWN
        role = roles.get((arn.account, arn.name.lower()))
        if role is None:
            return None
        declared_path = role.spec.get("path")
        if declared_path is not None and declared_path != arn.path:
            return None
        return checks.role_view(role.spec, documents)

    return resolve


def _entry_hits(resource: DesiredResource, resolve: _Resolver) -> list[Hit]:
    spec, account, kind = resource.spec, resource.ref.account, resource.ref.kind
    hits: list[Hit] = []
    if kind is Kind.IAM_ROLE:
        trust = spec.get("trust_policy")
        if trust is not None:
            hits += checks.trust_guardrails(trust, "spec.trust_policy", account)
            hits += checks.confused_deputy(trust, "spec.trust_policy")
        inline = spec.get("inline_policies")
        if isinstance(inline, Mapping):
            for name in sorted(inline):
                path = f"spec.inline_policies.{name}"
                hits += checks.permission_guardrails(inline[name], path, account)
    elif kind is Kind.IAM_POLICY:
        if spec.get("document") is not None:
            hits += checks.permission_guardrails(spec["document"], "spec.document", account)
    elif kind is Kind.QUICKSIGHT_DATA_SOURCE:
        hits += _data_source_hits(spec, account, resolve, "spec.")
    elif kind in _CLEANROOMS_ROLE_KEYS:
        hits += _cleanrooms_hits(spec, _CLEANROOMS_ROLE_KEYS[kind], account, resolve, "spec.")
    return hits


def registry_findings(resources: Sequence[DesiredResource]) -> list[RuleViolation]:
    """Guardrails and the documented QuickSight / Clean Rooms rules on desired state.

    A guardrail code listed in an entry's ``allow`` is not reported for that entry. Data
    source and Clean Rooms rules look roles up among ``resources`` by account and role name
    (an entry's declared ``path`` must match the ARN's, which defaults to ``/``); a role ARN in
    the same account that names no registry role is ``QS_ROLE_NOT_FOUND`` (``CR_ROLE_NOT_FOUND``
    for Clean Rooms); roles in other accounts are not looked up. The S3 read rules run only
    when every attached managed policy of the role is itself a registry ``iam_policy``.

    Parameters
    ----------
    resources
        All registry entries of one or more account contexts, placeholders resolved.

    Returns
    -------
    list of RuleViolation
        In the order of ``resources``, then by path within an entry.

    Example
    -------
    >>> [v.finding.code for v in registry_findings([])]
    []
    """
    resolve = _registry_resolver(resources)
    violations: list[RuleViolation] = []
    for resource in resources:
        hits = _entry_hits(resource, resolve)
        for hit in sorted(set(hits), key=lambda h: (h.path, h.code, h.message)):
            if hit.code in GUARDRAIL_CODES and hit.code in resource.allow:
                continue
            violations.append(RuleViolation(resource, hit.path, finding(hit.code, hit.message)))
    return violations


# --------------------------------------------------------------------------------------------
# Live state
# --------------------------------------------------------------------------------------------


def _live_resolver(roles_by_arn: Mapping[str, LiveResource | None]) -> _Resolver:
    def resolve(arn: RoleArn, account: str) -> RoleView | _Unknown | None:
        key = str(arn)
        if key not in roles_by_arn:
            return _UNKNOWN
        role = roles_by_arn[key]
        if role is None or (role.error is None and not role.exists):
            return None
        if role.error is not None:
            return _UNKNOWN
        documents = role.facts.get(MANAGED_POLICY_DOCUMENTS_FACT) or {}
        return checks.role_view(role.state, documents)

    return resolve


def live_findings(
    desired: DesiredResource,
    live: LiveResource,
    roles_by_arn: Mapping[str, LiveResource | None],
) -> tuple[Finding, ...]:
    """Rules on live state.

    For roles: ``CR_TRUST_NO_CONFUSED_DEPUTY`` and ``PRINCIPAL_UNIQUE_ID`` on the live trust
    policy. For QuickSight data sources: the QuickSight rules on the live parameters. For
    Clean Rooms resources: the bound role must exist and trust Clean Rooms. Roles come from
    ``roles_by_arn``: ``None`` (or a role that does not exist) means the role is known not to
    exist; an absent key or a role that could not be read skips the rules that need it. Live
    managed policy documents are taken from the role's ``facts`` under
    ``MANAGED_POLICY_DOCUMENTS_FACT``.

    Parameters
    ----------
    desired
        The registry entry (its mode and allow-list do not change live findings).
    live
        The live state; nothing is reported when it is missing or unreadable.
    roles_by_arn
        Live roles referenced by the resource, keyed by role ARN.

    Returns
    -------
    tuple of Finding
        Without duplicates, sorted by code then message.
    """
    del desired  # same findings whatever the entry says; kept for a stable signature
    if live.error is not None or not live.exists:
        return ()
    state, account, kind = live.state, live.ref.account, live.ref.kind
    resolve = _live_resolver(roles_by_arn)
    hits: list[Hit] = []
    if kind is Kind.IAM_ROLE:
        trust = state.get("trust_policy")
        if trust is not None:
            hits += checks.confused_deputy(trust, "trust_policy")
            hits += checks.unique_ids(trust, "trust_policy")
    elif kind is Kind.QUICKSIGHT_DATA_SOURCE:
        hits += _data_source_hits(state, account, resolve, "")
    elif kind in _CLEANROOMS_ROLE_KEYS:
        hits += _cleanrooms_hits(state, _CLEANROOMS_ROLE_KEYS[kind], account, resolve, "")
    found = {finding(h.code, h.message) for h in hits}
    return tuple(sorted(found, key=lambda f: (f.code, f.message)))


def evaluate(
    desired: DesiredResource,
    live: LiveResource,
    roles_by_arn: Mapping[str, LiveResource | None] = MappingProxyType({}),
) -> ResourceResult:
    """Compare one resource and add its live findings: one audit report entry.

    Parameters
    ----------
    desired, live
        As for ``chalicelib.diff.engine.compare``.
    roles_by_arn
        As for ``live_findings``.

    Returns
    -------
    ResourceResult
        ``compare(desired, live)`` with ``findings`` set.
    """
    result = compare(desired, live)
    return dataclasses.replace(result, findings=live_findings(desired, live, roles_by_arn))
