"""Every QuickSight write: data sources and their permissions, never their credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from chalicelib.errors import RemediationError
from chalicelib.models import Kind
from chalicelib.remediation.executors.base import TableExecutor

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from mypy_boto3_quicksight import QuickSightClient

    from chalicelib.remediation.planner import PlanStep


class QuickSightExecutor(TableExecutor):
    """Applies ``quicksight:*`` steps for ``quicksight_data_source``.

    A step carrying ``Credentials`` is refused before any call: driftwarden never writes
    credentials. Creating a data source that exists counts as done. ``iam:PassRole`` is
    listed because QuickSight requires it for the data source's ``RoleArn``.

    Parameters
    ----------
    quicksight
        A QuickSight client for the region of the data sources.
    """

    kinds: ClassVar[tuple[Kind, ...]] = (Kind.QUICKSIGHT_DATA_SOURCE,)
    methods: ClassVar[Mapping[str, str]] = {
        "quicksight:CreateDataSource": "create_data_source",
        "quicksight:UpdateDataSource": "update_data_source",
        "quicksight:UpdateDataSourcePermissions": "update_data_source_permissions",
    }
    already_done: ClassVar[Mapping[str, frozenset[str]]] = {
        "quicksight:CreateDataSource": frozenset({"ResourceExistsException"}),
    }
    permissions: ClassVar[tuple[str, ...]] = (*sorted(methods), "iam:PassRole")

    def __init__(self, quicksight: QuickSightClient) -> None:
        super().__init__(quicksight)

    def apply(self, steps: Sequence[PlanStep], dry_run: bool = False) -> tuple[str, ...]:
        """Make the steps' calls in order; refuse any step that carries credentials.

        Raises
        ------
        PartialRemediationError
            A step failed after earlier calls were made.
        RemediationError
            The first call failed, a step is not a QuickSight data source call, or a step
            carries ``Credentials``.
        """
        for step in steps:
            if "Credentials" in step.params:
                raise RemediationError(f"{step.call} refused: driftwarden never writes Credentials")
        return super().apply(steps, dry_run)
