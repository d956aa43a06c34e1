"""``capture``: choose the live resources to adopt into registry files (roles by name, path or
tag; QuickSight data sources and the roles they use; Clean Rooms service roles and memberships;
the customer-managed policies those roles attach)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from chalicelib.diff.iam_policy import principals
from chalicelib.errors import CollectorError
from chalicelib.models import Kind, LiveResource
from chalicelib.pipeline import role_arns_in

if TYPE_CHECKING:
    from chalicelib.wiring import Wiring

logger = Logger(service="driftwarden")
CLEANROOMS_SERVICE = "cleanrooms.amazonaws.com"


@dataclass(frozen=True, slots=True)
class CaptureFilters:
    """What to capture. With no filter at all, every data source and Clean Rooms resource and
    the roles they use are captured."""

    roles: tuple[str, ...] = ()
    path_prefix: str | None = None
    tag: tuple[str, str | None] | None = None
    data_sources: tuple[str, ...] = ()
    all_data_sources: bool = False
    cleanrooms: bool = False

    @property
    def role_filter(self) -> bool:
        return bool(self.roles or self.path_prefix or self.tag)

    @property
    def empty(self) -> bool:
        return not (
            self.role_filter or self.data_sources or self.all_data_sources or self.cleanrooms
        )


def trusts_cleanrooms(role: LiveResource) -> bool:
    """Whether a live role's trust policy names the Clean Rooms service principal."""
    trust = role.state.get("trust_policy")
    if not isinstance(trust, dict):
        return False
    try:
        return any(value == CLEANROOMS_SERVICE for _, value in principals(trust))
    except ValueError:
        return False


def capture_live(wiring: Wiring, filters: CaptureFilters) -> list[LiveResource]:
    """The live resources ``filters`` select, with the roles and policies they depend on.

    Raises
    ------
    CollectorError
        A listing failed.
    """
    iam = wiring.iam_collector
    ctx = wiring.account
    everything = filters.empty
    picked: dict[tuple[Kind, str], LiveResource] = {}

    def keep(items: list[LiveResource]) -> None:
        for item in items:
            if item.exists and item.error is None:
                picked.setdefault((item.ref.kind, item.ref.id), item)

    all_roles = iam.discover_roles()
    by_arn = {str(r.facts.get("arn")): r for r in all_roles}
    if filters.role_filter:
        # Filtered from the bulk pass just made: no second pass over the account.
        keep(iam.discover_roles(filters.roles, filters.path_prefix, filters.tag, fresh=False))
    if everything or filters.all_data_sources or filters.data_sources:
        quicksight = wiring.collectors[Kind.QUICKSIGHT_DATA_SOURCE]
        sources = quicksight.discover(filters.data_sources, account=ctx.account)  # type: ignore[attr-defined]
        keep(sources)
        for source in sources:
            keep([by_arn[arn] for arn in role_arns_in(source.state) if arn in by_arn])
    if everything or filters.cleanrooms:
        keep([role for role in all_roles if trusts_cleanrooms(role)])
        cleanrooms = wiring.collectors[Kind.CLEANROOMS_MEMBERSHIP]
        try:
            rooms = cleanrooms.discover()  # type: ignore[attr-defined]
        except CollectorError as err:
            logger.warning("clean rooms associations not listed", extra={"error": str(err)})
            try:
                rooms = cleanrooms.discover(include_associations=False)  # type: ignore[attr-defined]
            except CollectorError as again:
                logger.warning("clean rooms not captured", extra={"error": str(again)})
                rooms = []
        keep(rooms)
        for room in rooms:
            keep([by_arn[arn] for arn in role_arns_in(room.state) if arn in by_arn])
    roles = [item for (kind, _), item in picked.items() if kind is Kind.IAM_ROLE]
    keep(iam.discover_attached_policies(roles))
    order = list(Kind)
    return sorted(picked.values(), key=lambda r: (order.index(r.ref.kind), r.ref.id))
