"""The rule checks on policy documents and specs; each returns hits (path, code, message)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.diff.iam_policy import (
    PolicyStatement,
    allows,
    condition_keys,
    iter_statements,
    parse_document,
    principal_account,
    statement_allows,
    unique_id_principals,
)

PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b")
QUICKSIGHT_SERVICE = "quicksight.amazonaws.com"
CLEANROOMS_SERVICE = "cleanrooms.amazonaws.com"
CONFUSED_DEPUTY_KEYS = frozenset({"aws:sourcearn", "aws:sourceaccount", "sts:externalid"})

_ROLE_ARN_RE = re.compile(r"^arn:([a-z0-9-]+):iam::(\d{12}):role(/(?:[^/]+/)*)([^/]+)$")


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule violation before it is tied to a resource: where, which code, what."""

    path: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class RoleArn:
    """The parts of an IAM role ARN."""

    partition: str
    account: str
    path: str
    name: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{self.path}{self.name}"


def parse_role_arn(arn: str) -> RoleArn | None:
    """Split ``arn:<partition>:iam::<account>:role<path><name>``; ``None`` if it is not one.

    Example
    -------
    >>> parse_role_arn("arn:aws:iam::123456789012:role/service-role/qs").path
    '/service-role/'
    """
    match = _ROLE_ARN_RE.match(arn)
    if match is None:
        return None
    partition, account, path, name = match.groups()
    return RoleArn(partition=partition, account=account, path=path, name=name)


def _statement_path(base: str, statement: PolicyStatement) -> str:
    return f"{base}.Statement[{statement.index}]"


def _safe_statements(doc: Any) -> list[PolicyStatement]:
    try:
        return list(iter_statements(doc))
    except (ValueError, TypeError, AttributeError):
        return []


# --------------------------------------------------------------------------------------------
# Guardrails
# --------------------------------------------------------------------------------------------


def permission_guardrails(doc: Any, base: str, account: str) -> list[Hit]:
    """``GUARD_WILDCARD_ACTION``, ``GUARD_IAM_WILDCARD`` and ``GUARD_PASSROLE_ANY``.

    PassRole counts when an action pattern (or a ``NotAction`` that does not exclude it)
    covers ``iam:PassRole`` and a resource pattern covers every role of the account, such as
    ``*`` or ``arn:aws:iam::<account>:role/*``. Conditions do not exempt a statement.
    """
    hits: list[Hit] = []
    for s in _safe_statements(doc):
        if s.effect != "Allow":
            continue
        where = _statement_path(base, s)
        actions = s.action or frozenset()
        if actions & {"*", "*:*"}:
            hits.append(Hit(where, "GUARD_WILDCARD_ACTION", f"{where} allows every action"))
        if "iam:*" in actions:
            hits.append(Hit(where, "GUARD_IAM_WILDCARD", f"{where} allows iam:*"))
        any_role = any(
            statement_allows(s, "iam:PassRole", f"arn:{p}:iam::{account}:role/*")
            for p in PARTITIONS
        )
        if any_role:
            hits.append(
                Hit(where, "GUARD_PASSROLE_ANY", f"{where} allows iam:PassRole on every role")
            )
    return hits


#: Condition keys that narrow who may assume a role (lower-cased, as canonicalised).
CALLER_RESTRICTING_KEYS = frozenset(
    {
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourceidentity",
        "sts:externalid",
        "aws:userid",
        "aws:username",
    }
)


def _restricts_caller(statement: PolicyStatement) -> bool:
    keys = condition_keys(statement)
    return bool(keys & CALLER_RESTRICTING_KEYS) or any(
        key.startswith("aws:principaltag/") for key in keys
    )


def trust_guardrails(doc: Any, base: str, account: str) -> list[Hit]:
    """``GUARD_TRUST_ANY``: an Allow statement whose principal is ``*``, a ``NotPrincipal``, or
    an AWS principal in another account than ``account``, unless a condition restricts who the
    caller can be (organisation, account, principal ARN, source, external ID). A condition that
    restricts nobody (``aws:SecureTransport``, a date) does not count."""
    hits: list[Hit] = []
    for s in _safe_statements(doc):
        if s.effect != "Allow" or _restricts_caller(s):
            continue
        where = _statement_path(base, s)
        if s.not_principal is not None:
            hits.append(Hit(where, "GUARD_TRUST_ANY", f"{where} trusts everyone (NotPrincipal)"))
            continue
        aws = sorted(v for kind, v in s.principal or () if kind == "AWS")
        if "*" in aws:
            hits.append(Hit(where, "GUARD_TRUST_ANY", f"{where} lets any principal (*) assume"))
            continue
        foreign = sorted(
            {acct for v in aws if (acct := principal_account(v)) is not None and acct != account}
        )
        if foreign:
            hits.append(
                Hit(
                    where,
                    "GUARD_TRUST_ANY",
                    f"{where} lets account(s) {', '.join(foreign)} assume without a condition",
                )
            )
    return hits


# --------------------------------------------------------------------------------------------
# Trust rules
# --------------------------------------------------------------------------------------------


def trusts_service(doc: Any, service: str) -> bool:
    """Whether a trust policy lets ``service`` call ``sts:AssumeRole`` (``*`` counts)."""
    for s in _safe_statements(doc):
        named = {(kind, v.lower()) for kind, v in s.principal or ()}
        if (("Service", service) in named or ("AWS", "*") in named) and statement_allows(
            s, "sts:AssumeRole"
        ):
            return True
    return False


def confused_deputy(doc: Any, base: str) -> list[Hit]:
    """``CR_TRUST_NO_CONFUSED_DEPUTY``: an Allow statement trusting Clean Rooms with no
    condition on ``aws:SourceArn``, ``aws:SourceAccount`` or ``sts:ExternalId``."""
    hits: list[Hit] = []
    for s in _safe_statements(doc):
        services = {v.lower() for kind, v in s.principal or () if kind == "Service"}
        if s.effect != "Allow" or CLEANROOMS_SERVICE not in services:
            continue
        if condition_keys(s) & CONFUSED_DEPUTY_KEYS:
            continue
        where = _statement_path(base, s)
        hits.append(
            Hit(
                where,
                "CR_TRUST_NO_CONFUSED_DEPUTY",
                f"{where} trusts {CLEANROOMS_SERVICE} without aws:SourceArn, "
                "aws:SourceAccount or sts:ExternalId condition",
            )
        )
    return hits


def unique_ids(doc: Any, base: str) -> list[Hit]:
    """``PRINCIPAL_UNIQUE_ID``: principals IAM replaced with a unique ID (deleted)."""
    try:
        found = unique_id_principals(doc)
    except (ValueError, TypeError, AttributeError):
        return []
    if not found:
        return []
    return [
        Hit(
            base,
            "PRINCIPAL_UNIQUE_ID",
            f"{base} names unique ID(s) {', '.join(found)}: the principal was deleted",
        )
    ]


# --------------------------------------------------------------------------------------------
# QuickSight and Clean Rooms role references
# --------------------------------------------------------------------------------------------


def role_arns(parameters: Any, base: str) -> list[tuple[str, str]]:
    """Every ``RoleArn`` string inside data source parameters, as ``(path, arn)``."""
    found: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key in sorted(value, key=str):
                child = f"{path}.{key}"
                if key == "RoleArn" and isinstance(value[key], str):
                    found.append((child, value[key]))
                else:
                    walk(value[key], child)
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    walk(parameters, base)
    return found


def multiple_roles(found: Sequence[tuple[str, str]], base: str) -> list[Hit]:
    """``QS_MULTIPLE_ROLES``: more than one distinct role ARN."""
    distinct = sorted({arn for _, arn in found})
    if len(distinct) < 2:
        return []
    return [Hit(base, "QS_MULTIPLE_ROLES", f"{base} names {len(distinct)} roles: {distinct}")]


@dataclass(frozen=True, slots=True)
class RoleView:
    """What the rules know of a role: its trust policy and the documents of its policies.

    ``documents`` is ``None`` when some attached policy's document is unknown, so rules that
    need every permission (the S3 read rules) are skipped.
    """

    trust_policy: Any
    documents: tuple[Any, ...] | None


def role_view(state: Mapping[str, Any], managed_documents: Mapping[str, Any]) -> RoleView:
    """Build a ``RoleView`` from a role in spec shape and known managed policy documents."""
    inline = state.get("inline_policies")
    managed = state.get("managed_policies")
    documents: tuple[Any, ...] | None
    if inline is None and managed is None:
        documents = None
    else:
        docs = list((inline or {}).values())
        arns = [str(a) for a in managed or ()]
        if all(arn in managed_documents for arn in arns):
            docs += [managed_documents[arn] for arn in arns]
            documents = tuple(docs)
        else:
            documents = None
    return RoleView(trust_policy=state.get("trust_policy"), documents=documents)


def _combined(documents: Sequence[Any]) -> dict[str, Any]:
    statements: list[Any] = []
    for doc in documents:
        try:
            parsed = parse_document(doc)
        except (ValueError, TypeError, AttributeError):
            continue
        body = parsed.get("Statement", [])
        statements += [body] if isinstance(body, Mapping) else list(body)
    return {"Version": "2012-10-17", "Statement": statements}


def s3_reads(role: RoleView, role_arn: RoleArn, location: Any, base: str, where: str) -> list[Hit]:
    """``QS_S3_CANNOT_READ_MANIFEST`` / ``QS_S3_CANNOT_READ_DATA``.

    The manifest check asks for ``s3:GetObject`` on ``arn:<partition>:s3:::<bucket>/<key>``.
    The data files are named inside the manifest, which driftwarden does not read, so the data
    check asks for ``s3:GetObject`` on every object of the manifest's bucket
    (``arn:<partition>:s3:::<bucket>/*`` or broader). Skipped when a policy of the role is
    unknown.
    """
    if role.documents is None or not isinstance(location, Mapping):
        return []
    bucket, key = location.get("Bucket"), location.get("Key")
    if not isinstance(bucket, str) or not isinstance(key, str):
        return []
    try:
        combined = _combined(role.documents)
        manifest = f"arn:{role_arn.partition}:s3:::{bucket}/{key}"
        data = f"arn:{role_arn.partition}:s3:::{bucket}/*"
        can_manifest = allows(combined, "s3:GetObject", manifest)
        can_data = allows(combined, "s3:GetObject", data)
    except ValueError:
        return []
    hits: list[Hit] = []
    if not can_manifest:
        hits.append(
            Hit(
                where,
                "QS_S3_CANNOT_READ_MANIFEST",
                f"role {role_arn} cannot s3:GetObject the manifest {manifest}",
            )
        )
    if not can_data:
        hits.append(
            Hit(
                where,
                "QS_S3_CANNOT_READ_DATA",
                f"role {role_arn} cannot s3:GetObject objects in bucket {bucket} ({data})",
            )
        )
    return hits
