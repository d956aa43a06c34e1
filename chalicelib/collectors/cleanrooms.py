"""Every Clean Rooms read: memberships and configured table associations."""

from __future__ import annotations

import copy
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from chalicelib.collectors.base import call, call_or_none, failed, missing, unsupported
from chalicelib.errors import CollectorError
from chalicelib.models import Kind, LiveResource, ResourceRef

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from mypy_boto3_cleanrooms import CleanRoomsServiceClient
    from mypy_boto3_cleanrooms.type_defs import PaginatorConfigTypeDef

    from chalicelib.models import DesiredResource

_PAGE: PaginatorConfigTypeDef = {"PageSize": 100}


def split_association_id(ref: ResourceRef) -> tuple[str, str]:
    """``(membership_id, association_id)`` from ``<membership-id>/<association-id>``.

    Raises
    ------
    CollectorError
        The id does not have that form.
    """
    membership_id, sep, association_id = ref.id.partition("/")
    if not sep or not membership_id or not association_id or "/" in association_id:
        raise CollectorError(
            f"cannot read {ref}: the id must be <membership-id>/<configured-table-association-id>"
        )
    return membership_id, association_id


def _account_from_arn(arn: object) -> str:
    parts = str(arn or "").split(":", 5)
    return parts[4] if len(parts) == 6 else ""


def membership_state(membership: Mapping[str, Any]) -> dict[str, Any]:
    """The ``cleanrooms_membership`` spec shape of a ``Membership``."""
    result = membership.get("defaultResultConfiguration") or {}
    return {
        "result_role_arn": result.get("roleArn"),
        "query_log_status": membership.get("queryLogStatus"),
    }


def membership_facts(membership: Mapping[str, Any]) -> dict[str, Any]:
    """Read-only facts of a ``Membership`` (ARN, status, collaboration, result output)."""
    result = membership.get("defaultResultConfiguration") or {}
    return {
        "arn": membership.get("arn"),
        "status": membership.get("status"),
        "collaboration_id": membership.get("collaborationId"),
        "collaboration_arn": membership.get("collaborationArn"),
        "member_abilities": list(membership.get("memberAbilities") or ()),
        "result_output_configuration": copy.deepcopy(result.get("outputConfiguration")),
    }


def association_state(association: Mapping[str, Any]) -> dict[str, Any]:
    """The ``cleanrooms_configured_table_association`` spec shape."""
    return {"name": association.get("name"), "role_arn": association.get("roleArn")}


def association_facts(association: Mapping[str, Any]) -> dict[str, Any]:
    """Read-only facts of a ``ConfiguredTableAssociation``."""
    return {
        "arn": association.get("arn"),
        "configured_table_id": association.get("configuredTableId"),
        "configured_table_arn": association.get("configuredTableArn"),
        "membership_arn": association.get("membershipArn"),
        "analysis_rule_types": list(association.get("analysisRuleTypes") or ()),
    }


class CleanRoomsCollector:
    """Reads ``cleanrooms_membership`` and ``cleanrooms_configured_table_association``.

    Parameters
    ----------
    cleanrooms
        A Clean Rooms client for the region of the memberships.
    """

    kinds: ClassVar[tuple[Kind, ...]] = (
        Kind.CLEANROOMS_MEMBERSHIP,
        Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
    )
    permissions: ClassVar[tuple[str, ...]] = (
        "cleanrooms:GetConfiguredTableAssociation",
        "cleanrooms:GetMembership",
        "cleanrooms:ListConfiguredTableAssociations",
        "cleanrooms:ListMemberships",
    )

    def __init__(self, cleanrooms: CleanRoomsServiceClient) -> None:
        self._cr = cleanrooms

    # ----------------------------------------------------------------- single reads

    def read(self, ref: ResourceRef, desired: DesiredResource | None = None) -> LiveResource:
        """Read one membership (GetMembership) or association (GetConfiguredTableAssociation).

        Returns
        -------
        LiveResource
            ``exists=False`` when Clean Rooms says it (or its membership) does not exist.

        Raises
        ------
        AccessDeniedError
            Clean Rooms refused a read.
        CollectorError
            Any other failure, a malformed association id, or a kind this collector does not
            read.
        """
        if ref.kind is Kind.CLEANROOMS_MEMBERSHIP:
            return self._read_membership(ref)
        if ref.kind is Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION:
            return self._read_association(ref)
        raise unsupported(ref, self.kinds, type(self).__name__)

    def _read_membership(self, ref: ResourceRef) -> LiveResource:
        got = call_or_none(str(ref), partial(self._cr.get_membership, membershipIdentifier=ref.id))
        if got is None:
            return missing(ref)
        membership = got["membership"]
        return LiveResource(
            ref=ref,
            exists=True,
            state=membership_state(membership),
            facts=membership_facts(membership),
        )

    def _read_association(self, ref: ResourceRef) -> LiveResource:
        membership_id, association_id = split_association_id(ref)
        got = call_or_none(
            str(ref),
            partial(
                self._cr.get_configured_table_association,
                membershipIdentifier=membership_id,
                configuredTableAssociationIdentifier=association_id,
            ),
        )
        if got is None:
            return missing(ref)
        association = got["configuredTableAssociation"]
        return LiveResource(
            ref=ref,
            exists=True,
            state=association_state(association),
            facts=association_facts(association),
        )

    # ------------------------------------------------------------------- bulk reads

    def read_all(
        self,
        refs: Sequence[ResourceRef],
        desired: Mapping[ResourceRef, DesiredResource] | None = None,
    ) -> dict[ResourceRef, LiveResource]:
        """Read many memberships and associations.

        One ListMemberships pass tells which memberships exist; each one in ``refs`` is then
        read with GetMembership, because the list summaries lack the result configuration.
        Associations: one ListConfiguredTableAssociations pass per membership, then
        GetConfiguredTableAssociation per association in ``refs``, because the summaries lack
        ``roleArn``.

        Returns
        -------
        dict
            One entry per distinct ref; ``error`` set for what could not be read.
        """
        out: dict[ResourceRef, LiveResource] = {}
        memberships: list[ResourceRef] = []
        associations: dict[str, list[ResourceRef]] = {}
        for ref in dict.fromkeys(refs):
            if ref.kind is Kind.CLEANROOMS_MEMBERSHIP:
                memberships.append(ref)
            elif ref.kind is Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION:
                try:
                    membership_id, _ = split_association_id(ref)
                except CollectorError as err:
                    out[ref] = failed(ref, err)
                    continue
                associations.setdefault(membership_id, []).append(ref)
            else:
                out[ref] = failed(ref, unsupported(ref, self.kinds, type(self).__name__))
        if memberships:
            out.update(self._read_memberships(memberships))
        for membership_id, group in associations.items():
            out.update(self._read_associations(membership_id, group))
        return {ref: out[ref] for ref in dict.fromkeys(refs)}

    def _read_memberships(self, refs: Sequence[ResourceRef]) -> dict[ResourceRef, LiveResource]:
        try:
            listed = {summary["id"] for summary in self._list_memberships()}
        except CollectorError as err:
            return {ref: failed(ref, err) for ref in refs}
        # ListMemberships summaries lack defaultResultConfiguration (the result role), so each
        # listed membership that the refs name is read with GetMembership.
        return {ref: self._read_listed(ref, ref.id in listed) for ref in refs}

    def _read_associations(
        self, membership_id: str, refs: Sequence[ResourceRef]
    ) -> dict[ResourceRef, LiveResource]:
        try:
            listed = self._list_associations(membership_id)
        except CollectorError as err:
            return {ref: failed(ref, err) for ref in refs}
        if listed is None:  # the membership itself does not exist
            return {ref: missing(ref) for ref in refs}
        # The summaries lack roleArn: each listed association that the refs name is read
        # with GetConfiguredTableAssociation.
        ids = {summary["id"] for summary in listed}
        return {ref: self._read_listed(ref, split_association_id(ref)[1] in ids) for ref in refs}

    def _read_listed(self, ref: ResourceRef, listed: bool) -> LiveResource:
        if not listed:
            return missing(ref)
        try:
            return self.read(ref)
        except CollectorError as err:
            return failed(ref, err)

    def _list_memberships(self) -> list[Mapping[str, Any]]:
        def pages() -> list[Mapping[str, Any]]:
            paginator = self._cr.get_paginator("list_memberships")
            return [
                summary
                for page in paginator.paginate(PaginationConfig=_PAGE)
                for summary in page["membershipSummaries"]
            ]

        return call("the Clean Rooms memberships", pages)

    def _list_associations(self, membership_id: str) -> list[Mapping[str, Any]] | None:
        def pages() -> list[Mapping[str, Any]]:
            paginator = self._cr.get_paginator("list_configured_table_associations")
            return [
                summary
                for page in paginator.paginate(
                    membershipIdentifier=membership_id, PaginationConfig=_PAGE
                )
                for summary in page["configuredTableAssociationSummaries"]
            ]

        return call_or_none(
            f"the configured table associations of membership {membership_id}", pages
        )

    # -------------------------------------------------------------------- discovery

    def discover(self, *, include_associations: bool = True) -> list[LiveResource]:
        """List every membership and (for active memberships) its associations, for ``capture``.

        Parameters
        ----------
        include_associations
            Also list configured table associations (moto does not emulate them: pass False
            against the local emulator).

        Returns
        -------
        list of LiveResource
            Memberships sorted by ID, each followed by its associations sorted by ID (some may
            carry ``error``); resources deleted during the listing are left out.

        Raises
        ------
        AccessDeniedError
            Clean Rooms refused a listing.
        CollectorError
            A listing failed.
        """
        region = self._cr.meta.region_name
        out: list[LiveResource] = []
        for summary in sorted(self._list_memberships(), key=lambda s: str(s["id"])):
            membership_id = str(summary["id"])
            account = _account_from_arn(summary.get("arn"))
            ref = ResourceRef(Kind.CLEANROOMS_MEMBERSHIP, membership_id, account, region)
            live = self._read_listed(ref, True)
            if live.exists or live.error:
                out.append(live)
            if not include_associations or summary.get("status") != "ACTIVE":
                continue
            for association in sorted(
                self._list_associations(membership_id) or (), key=lambda a: str(a["id"])
            ):
                assoc_ref = ResourceRef(
                    Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
                    f"{membership_id}/{association['id']}",
                    _account_from_arn(association.get("arn")) or account,
                    region,
                )
                live = self._read_listed(assoc_ref, True)
                if live.exists or live.error:
                    out.append(live)
        return out
