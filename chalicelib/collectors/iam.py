"""Every IAM read: roles and customer-managed policies, one at a time or in one bulk pass."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

from chalicelib.collectors.base import (
    call,
    call_or_none,
    failed,
    missing,
    read_each,
    unsupported,
)
from chalicelib.errors import CollectorError
from chalicelib.models import Kind, LiveResource, ResourceRef

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_iam.literals import EntityTypeType
    from mypy_boto3_iam.type_defs import PaginatorConfigTypeDef

    from chalicelib.models import DesiredResource

#: Role paths of service-linked roles, which AWS owns and nobody can change.
SERVICE_LINKED_PATH = "/aws-service-role/"

#: Role fact: ``{policy ARN: default version document}`` of the attached customer-managed
#: policies that could be read (AWS-managed ones are never included: they are not in the bulk
#: read, and both modes must agree). An absent ARN means "unknown".
MANAGED_POLICY_DOCUMENTS = "managed_policy_documents"

_GAAD_FILTER: list[EntityTypeType] = ["Role", "LocalManagedPolicy"]
_PAGE: PaginatorConfigTypeDef = {"PageSize": 1000}


def policy_document(value: object, what: str) -> dict[str, Any]:
    """Parse a policy document as IAM returns it.

    botocore normally decodes IAM documents into dicts; a string (URL-encoded JSON, as on the
    wire, or plain JSON) is decoded here.

    Parameters
    ----------
    value
        The document: a mapping or a string.
    what
        What the document belongs to, for the error message.

    Returns
    -------
    dict
        The document as a new dict.

    Raises
    ------
    CollectorError
        The value is not a JSON object.
    """
    if isinstance(value, Mapping):
        return copy.deepcopy(dict(value))
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            text = unquote(text)
        try:
            parsed = json.loads(text)
        except ValueError as err:
            raise CollectorError(f"cannot read {what}: policy document is not valid JSON") from err
        if isinstance(parsed, dict):
            return parsed
    raise CollectorError(f"cannot read {what}: policy document is not a JSON object")


def role_name_from_arn(arn: str) -> str | None:
    """The role name of a role ARN (the last path segment), or None if it is not a role ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam":
        return None
    resource = parts[5]
    if not resource.startswith("role/"):
        return None
    name = resource.rsplit("/", 1)[-1]
    return name or None


def account_from_arn(arn: str) -> str:
    """The account field of an ARN ("" when the ARN has none)."""
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 else ""


def is_customer_managed(policy_arn: str) -> bool:
    """True for a customer-managed policy ARN (AWS-managed ones have the account ``aws``)."""
    parts = policy_arn.split(":", 5)
    return len(parts) == 6 and parts[4] not in ("", "aws") and parts[5].startswith("policy/")


def customer_managed_arns(
    roles: Iterable[LiveResource], *, include_boundaries: bool = True
) -> list[str]:
    """The customer-managed policy ARNs that the given roles attach (and use as boundary).

    Parameters
    ----------
    roles
        Live roles (their ``state`` in the ``iam_role`` spec shape).
    include_boundaries
        Also return customer-managed permissions boundaries.

    Returns
    -------
    list of str
        Sorted, without duplicates.
    """
    arns: set[str] = set()
    for role in roles:
        arns.update(str(a) for a in role.state.get("managed_policies") or ())
        boundary = role.state.get("permissions_boundary")
        if include_boundaries and isinstance(boundary, str):
            arns.add(boundary)
    return sorted(a for a in arns if is_customer_managed(a))


def _text(value: object) -> str | None:
    """A description as the registry spells it: a non-empty string or None."""
    return value if isinstance(value, str) and value else None


def _role_state(
    role: Mapping[str, Any], inline: Mapping[str, dict[str, Any]], managed: Iterable[str], what: str
) -> dict[str, Any]:
    """The ``iam_role`` spec shape from a Role/RoleDetail plus its inline and managed policies."""
    trust = role.get("AssumeRolePolicyDocument")
    boundary = role.get("PermissionsBoundary") or {}
    return {
        "path": role.get("Path", "/"),
        "description": _text(role.get("Description")),
        "max_session_duration": role.get("MaxSessionDuration"),
        "trust_policy": None if trust is None else policy_document(trust, f"{what} trust policy"),
        "inline_policies": dict(sorted(inline.items())),
        "managed_policies": sorted(set(managed)),
        "permissions_boundary": boundary.get("PermissionsBoundaryArn"),
        "tags": {t["Key"]: t.get("Value", "") for t in role.get("Tags") or ()},
    }


def _role_facts(
    role: Mapping[str, Any], documents: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "arn": role.get("Arn"),
        "role_id": role.get("RoleId"),
        MANAGED_POLICY_DOCUMENTS: copy.deepcopy(dict(sorted((documents or {}).items()))),
    }


def _policy_state(policy: Mapping[str, Any], document: object, what: str) -> dict[str, Any]:
    return {
        "description": _text(policy.get("Description")),
        "document": policy_document(document, f"{what} default version"),
    }


def _policy_facts(policy: Mapping[str, Any]) -> dict[str, Any]:
    return {"arn": policy.get("Arn"), "default_version_id": policy.get("DefaultVersionId")}


@dataclasses.dataclass(frozen=True, slots=True)
class _Snapshot:
    """Every role and customer-managed policy of the account, from one bulk pass."""

    roles: Mapping[str, LiveResource]  # by role name
    roles_by_arn: Mapping[str, LiveResource]
    policies: Mapping[str, LiveResource]  # by policy ARN


class IamCollector:
    """Reads ``iam_role`` and ``iam_policy`` resources.

    Single reads use GetRole/ListRolePolicies/GetRolePolicy/ListAttachedRolePolicies and
    GetPolicy/GetPolicyVersion. ``read_all`` makes one GetAccountAuthorizationDetails pass and one
    ListRoles pass (for Description and MaxSessionDuration, which the former lacks) and never
    reads roles one by one; it keeps the parsed snapshot of *all* roles for ``roles_by_arn``.

    Parameters
    ----------
    iam
        An IAM client.

    Example
    -------
    >>> collector = IamCollector(session.client("iam"))  # doctest: +SKIP
    >>> ref = ResourceRef(Kind.IAM_ROLE, "reader", "123456789012", "us-east-1")  # doctest: +SKIP
    >>> collector.read(ref).state["trust_policy"]  # doctest: +SKIP
    """

    kinds: ClassVar[tuple[Kind, ...]] = (Kind.IAM_ROLE, Kind.IAM_POLICY)
    permissions: ClassVar[tuple[str, ...]] = (
        "iam:GetAccountAuthorizationDetails",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:ListRoles",
    )

    def __init__(self, iam: IAMClient) -> None:
        self._iam = iam
        self._snapshot: _Snapshot | None = None

    # ----------------------------------------------------------------- single reads

    def read(self, ref: ResourceRef, desired: DesiredResource | None = None) -> LiveResource:
        """Read one role (``ref.id`` is the role name) or policy (``ref.id`` is its ARN).

        Parameters
        ----------
        ref
            The resource to read.
        desired
            Not used: IAM reads are complete and cheap.

        Returns
        -------
        LiveResource
            ``exists=False`` when IAM says it does not exist.

        Raises
        ------
        AccessDeniedError
            IAM refused a read.
        CollectorError
            Any other failure, or a kind this collector does not read.
        """
        if ref.kind is Kind.IAM_ROLE:
            return self._read_role(ref)
        if ref.kind is Kind.IAM_POLICY:
            return self._read_policy(ref)
        raise unsupported(ref, self.kinds, type(self).__name__)

    def _read_role(self, ref: ResourceRef, with_documents: bool = False) -> LiveResource:
        """One role. ``with_documents`` also reads the default documents of its attached
        customer-managed policies (2 calls each), which only the data-source rules need."""
        what, name = str(ref), ref.id
        got = call_or_none(what, partial(self._iam.get_role, RoleName=name))
        if got is None:
            return missing(ref)
        role = got["Role"]
        names = call_or_none(
            what,
            lambda: [
                policy_name
                for page in self._iam.get_paginator("list_role_policies").paginate(RoleName=name)
                for policy_name in page["PolicyNames"]
            ],
        )
        attached = call_or_none(
            what,
            lambda: [
                item["PolicyArn"]
                for page in self._iam.get_paginator("list_attached_role_policies").paginate(
                    RoleName=name
                )
                for item in page["AttachedPolicies"]
                if "PolicyArn" in item
            ],
        )
        if names is None or attached is None:
            return missing(ref)  # deleted while being read
        inline: dict[str, dict[str, Any]] = {}
        for policy_name in names:
            policy = call_or_none(
                what, partial(self._iam.get_role_policy, RoleName=name, PolicyName=policy_name)
            )
            if policy is None:
                continue  # deleted between ListRolePolicies and GetRolePolicy
            inline[policy_name] = policy_document(
                policy["PolicyDocument"], f"{what} inline policy {policy_name}"
            )
        return LiveResource(
            ref=ref,
            exists=True,
            state=_role_state(role, inline, attached, what),
            facts=_role_facts(role, self._attached_documents(attached) if with_documents else {}),
        )

    def _attached_documents(self, attached: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Default documents of the attached customer-managed policies; unreadable ones are
        left out (unknown), never an error of the role."""
        documents: dict[str, dict[str, Any]] = {}
        for arn in sorted(set(attached)):
            if not is_customer_managed(arn):
                continue
            ref = ResourceRef(Kind.IAM_POLICY, arn, account_from_arn(arn), "")
            try:
                live = self._read_policy(ref)
            except CollectorError:
                continue
            if live.exists:
                documents[arn] = live.state["document"]
        return documents

    def _read_policy(self, ref: ResourceRef) -> LiveResource:
        what, arn = str(ref), ref.id
        for _attempt in range(2):
            got = call_or_none(what, partial(self._iam.get_policy, PolicyArn=arn))
            if got is None:
                return missing(ref)
            policy = got["Policy"]
            version_id = policy.get("DefaultVersionId", "")
            version = call_or_none(
                what, partial(self._iam.get_policy_version, PolicyArn=arn, VersionId=version_id)
            )
            if version is not None:
                return LiveResource(
                    ref=ref,
                    exists=True,
                    state=_policy_state(policy, version["PolicyVersion"].get("Document"), what),
                    facts=_policy_facts(policy),
                )
            # The default version changed between GetPolicy and GetPolicyVersion: read again.
        raise CollectorError(f"cannot read {what}: its default version kept changing")

    def read_roles_by_arn(self, arns: Iterable[str]) -> dict[str, LiveResource | None]:
        """Read roles named by ARN one by one (single-event mode), for rules on related roles.

        Parameters
        ----------
        arns
            Role ARNs, e.g. the ``RoleArn`` of a QuickSight data source.

        Returns
        -------
        dict
            ARN → live role, or ``None`` when no role has that ARN (including a non-role ARN or
            a different path). A role that cannot be read, or that lives in another account
            than the client's, gives a ``LiveResource`` with ``error`` set.
        """
        region = self._iam.meta.region_name
        out: dict[str, LiveResource | None] = {}
        for arn in arns:
            if arn in out:
                continue
            name = role_name_from_arn(arn)
            if name is None:
                out[arn] = None
                continue
            ref = ResourceRef(Kind.IAM_ROLE, name, account_from_arn(arn), region)
            try:
                live = self._read_role(ref, with_documents=True)
            except CollectorError as err:
                out[arn] = failed(ref, err)
                continue
            live_arn = str(live.facts.get("arn", ""))
            if live.exists and live_arn != arn and account_from_arn(live_arn) != ref.account:
                out[arn] = failed(
                    ref,
                    f"cannot read {ref}: role {arn} is in account {ref.account}, the IAM client "
                    f"reads account {account_from_arn(live_arn)}",
                )
            elif not live.exists or live_arn != arn:
                out[arn] = None
            else:
                out[arn] = live
        return out

    # ------------------------------------------------------------------- bulk reads

    def read_all(
        self,
        refs: Sequence[ResourceRef],
        desired: Mapping[ResourceRef, DesiredResource] | None = None,
    ) -> dict[ResourceRef, LiveResource]:
        """Read many roles and policies with one bulk pass (GAAD + ListRoles).

        Also refreshes the snapshot that ``roles_by_arn`` returns. A policy ref that is not
        customer-managed (not in the bulk output) is read on its own.

        Parameters
        ----------
        refs
            ``iam_role`` and ``iam_policy`` refs; any other kind gets an error entry.
        desired
            Not used.

        Returns
        -------
        dict
            One entry per distinct ref: ``exists=False`` when the account has no such role or
            customer-managed policy, ``error`` set when it could not be read (if the bulk pass
            itself fails, every ref carries that error).
        """
        try:
            snapshot = self._refresh()
        except CollectorError as err:
            return {ref: failed(ref, err) for ref in refs}
        out: dict[ResourceRef, LiveResource] = {}
        for ref in refs:
            if ref.kind is Kind.IAM_ROLE:
                live = snapshot.roles.get(ref.id)
            elif ref.kind is Kind.IAM_POLICY:
                if not is_customer_managed(ref.id):
                    # GAAD's LocalManagedPolicy filter has no AWS-managed policies: read alone.
                    out.update(read_each([ref], self.read))
                    continue
                live = snapshot.policies.get(ref.id)
            else:
                out[ref] = failed(ref, unsupported(ref, self.kinds, type(self).__name__))
                continue
            out[ref] = missing(ref) if live is None else dataclasses.replace(live, ref=ref)
        return out

    def refresh_roles(self) -> Mapping[str, LiveResource]:
        """Make one bulk pass now and return every role of the account by ARN.

        Raises
        ------
        AccessDeniedError
            IAM refused the bulk read.
        CollectorError
            Any other failure of the bulk read.
        """
        return self._refresh().roles_by_arn

    def roles_by_arn(self) -> Mapping[str, LiveResource]:
        """Every role of the account by ARN, from the last bulk pass (empty before the first)."""
        return {} if self._snapshot is None else self._snapshot.roles_by_arn

    def _refresh(self) -> _Snapshot:
        self._snapshot = None
        self._snapshot = self._bulk_read()
        return self._snapshot

    def _bulk_read(self) -> _Snapshot:
        region = self._iam.meta.region_name
        what = "the IAM account authorization details"
        details: list[Mapping[str, Any]] = []
        policies: list[Mapping[str, Any]] = []

        def gaad() -> None:
            paginator = self._iam.get_paginator("get_account_authorization_details")
            for page in paginator.paginate(Filter=_GAAD_FILTER, PaginationConfig=_PAGE):
                details.extend(page.get("RoleDetailList", []))
                policies.extend(page.get("Policies", []))

        def list_roles() -> dict[str, Mapping[str, Any]]:
            paginator = self._iam.get_paginator("list_roles")
            return {
                role["RoleName"]: role
                for page in paginator.paginate(PaginationConfig=_PAGE)
                for role in page["Roles"]
            }

        call(what, gaad)
        listed = call("the IAM role list", list_roles)

        by_policy_arn: dict[str, LiveResource] = {}
        for policy in policies:
            arn = policy.get("Arn", "")
            ref = ResourceRef(Kind.IAM_POLICY, arn, account_from_arn(arn), region)
            by_policy_arn[arn] = self._bulk_policy(ref, policy)
        documents = {
            arn: dict(live.state["document"])
            for arn, live in by_policy_arn.items()
            if live.exists and is_customer_managed(arn)
        }
        roles: dict[str, LiveResource] = {}
        for detail in details:
            name = detail.get("RoleName", "")
            arn = detail.get("Arn", "")
            ref = ResourceRef(Kind.IAM_ROLE, name, account_from_arn(arn), region)
            roles[name] = self._bulk_role(ref, detail, listed.get(name), documents)
        return _Snapshot(
            roles=roles,
            roles_by_arn={str(r.facts.get("arn") or r.ref.id): r for r in roles.values()},
            policies=by_policy_arn,
        )

    @staticmethod
    def _bulk_role(
        ref: ResourceRef,
        detail: Mapping[str, Any],
        listed: Mapping[str, Any] | None,
        documents: Mapping[str, dict[str, Any]],
    ) -> LiveResource:
        attached = [
            a["PolicyArn"] for a in detail.get("AttachedManagedPolicies") or () if "PolicyArn" in a
        ]
        facts = _role_facts(detail, {a: documents[a] for a in attached if a in documents})
        if listed is None or listed.get("RoleId") != detail.get("RoleId"):
            # Created, deleted or re-created between the two passes: the next read will tell.
            return dataclasses.replace(
                failed(ref, f"cannot read {ref}: role changed during the bulk read"), facts=facts
            )
        merged = {
            **detail,
            "Description": listed.get("Description"),
            "MaxSessionDuration": listed.get("MaxSessionDuration"),
        }
        inline: dict[str, dict[str, Any]] = {}
        try:
            for item in detail.get("RolePolicyList") or ():
                policy_name = item.get("PolicyName", "")
                inline[policy_name] = policy_document(
                    item.get("PolicyDocument"), f"{ref} inline policy {policy_name}"
                )
            state = _role_state(merged, inline, attached, str(ref))
        except CollectorError as err:
            return dataclasses.replace(failed(ref, err), facts=facts)
        return LiveResource(ref=ref, exists=True, state=state, facts=facts)

    @staticmethod
    def _bulk_policy(ref: ResourceRef, policy: Mapping[str, Any]) -> LiveResource:
        facts = _policy_facts(policy)
        versions = policy.get("PolicyVersionList") or ()
        default = next((v for v in versions if v.get("IsDefaultVersion")), None)
        if default is None:
            return failed(ref, f"cannot read {ref}: no default version in the bulk read")
        try:
            state = _policy_state(policy, default.get("Document"), str(ref))
        except CollectorError as err:
            return failed(ref, err)
        return LiveResource(ref=ref, exists=True, state=state, facts=facts)

    # -------------------------------------------------------------------- discovery

    def discover_roles(
        self,
        names: Sequence[str] = (),
        path_prefix: str | None = None,
        tag: tuple[str, str | None] | None = None,
        *,
        fresh: bool = True,
    ) -> list[LiveResource]:
        """List live roles for ``capture``, from one fresh bulk pass (or, with ``fresh=False``,
        the last one when there is one).

        Filters combine with AND; with no filter every role is returned. Service-linked roles
        (path ``/aws-service-role/``) are left out unless named.

        Parameters
        ----------
        names
            Only these role names.
        path_prefix
            Only roles whose path starts with this.
        tag
            ``(key, value)``: only roles with this tag; ``value`` None matches any value.

        Returns
        -------
        list of LiveResource
            Existing roles sorted by name (some may carry ``error``).

        Raises
        ------
        AccessDeniedError
            IAM refused the bulk read.
        CollectorError
            Any other failure of the bulk read.
        """
        wanted = set(names)
        out: list[LiveResource] = []
        snapshot = self._snapshot if not fresh and self._snapshot is not None else self._refresh()
        for name, role in sorted(snapshot.roles.items()):
            path = str(role.state.get("path") or "")
            if wanted and name not in wanted:
                continue
            if not wanted and path.startswith(SERVICE_LINKED_PATH):
                continue
            if path_prefix is not None and not path.startswith(path_prefix):
                continue
            if tag is not None:
                tags = role.state.get("tags") or {}
                key, value = tag
                if key not in tags or (value is not None and tags[key] != value):
                    continue
            out.append(role)
        return out

    def discover_policies(self, arns: Iterable[str]) -> list[LiveResource]:
        """Customer-managed policies by ARN for ``capture``.

        Uses the last bulk pass (``discover_roles`` makes one), or makes one if none was made.

        Returns
        -------
        list of LiveResource
            The policies that exist, sorted by ARN; AWS-managed and unknown ARNs are left out.

        Raises
        ------
        AccessDeniedError
            IAM refused the bulk read.
        CollectorError
            Any other failure of the bulk read.
        """
        snapshot = self._snapshot or self._refresh()
        found = {arn: snapshot.policies[arn] for arn in arns if arn in snapshot.policies}
        return [found[arn] for arn in sorted(found)]

    def discover_attached_policies(
        self, roles: Iterable[LiveResource], *, include_boundaries: bool = True
    ) -> list[LiveResource]:
        """The customer-managed policies that ``roles`` attach (and use as boundaries).

        Raises
        ------
        AccessDeniedError
            IAM refused the bulk read.
        CollectorError
            Any other failure of the bulk read.
        """
        return self.discover_policies(
            customer_managed_arns(roles, include_boundaries=include_boundaries)
        )
