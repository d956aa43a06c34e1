"""Every Clean Rooms write: the role of configured table associations and memberships."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from chalicelib.models import Kind
from chalicelib.remediation.executors.base import TableExecutor

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_cleanrooms import CleanRoomsServiceClient


class CleanRoomsExecutor(TableExecutor):
    """Applies ``cleanrooms:*`` steps for associations and memberships.

    Both updates are idempotent by nature. ``iam:PassRole`` is listed because Clean Rooms
    requires it for the role it is given.

    Parameters
    ----------
    cleanrooms
        A Clean Rooms client for the region of the memberships.
    """

    kinds: ClassVar[tuple[Kind, ...]] = (
        Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
        Kind.CLEANROOMS_MEMBERSHIP,
    )
    methods: ClassVar[Mapping[str, str]] = {
        "cleanrooms:UpdateConfiguredTableAssociation": "update_configured_table_association",
        "cleanrooms:UpdateMembership": "update_membership",
    }
    permissions: ClassVar[tuple[str, ...]] = (*sorted(methods), "iam:PassRole")

    def __init__(self, cleanrooms: CleanRoomsServiceClient) -> None:
        super().__init__(cleanrooms)
