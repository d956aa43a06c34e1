"""Every QuickSight read: data sources and their permissions, never their credentials."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from chalicelib.collectors.base import call, call_or_none, failed, missing, unsupported
from chalicelib.errors import CollectorError
from chalicelib.models import Kind, LiveResource, ResourceRef

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from mypy_boto3_quicksight import QuickSightClient
    from mypy_boto3_quicksight.type_defs import PaginatorConfigTypeDef

    from chalicelib.models import DesiredResource

#: Keys that hold or point to credentials; removed at any depth from what is kept.
SECRET_KEYS: frozenset[str] = frozenset(
    {
        "Credentials",
        "CredentialPair",
        "KeyPairCredentials",
        "OAuthClientCredentials",
        "ServiceAccountCredentials",
        "WebProxyCredentials",
        "SharePointClientCredentials",
        "OneDriveClientCredentials",
        "Password",
        "PrivateKey",
        "PrivateKeyPassphrase",
        "ClientSecret",
        "SecretArn",
        "CopySourceArn",
    }
)

_PAGE: PaginatorConfigTypeDef = {"PageSize": 100}


def without_secrets(value: Any) -> Any:
    """A deep copy of ``value`` without any key in ``SECRET_KEYS``."""
    if isinstance(value, Mapping):
        return {k: without_secrets(v) for k, v in value.items() if k not in SECRET_KEYS}
    if isinstance(value, list | tuple):
        return [without_secrets(v) for v in value]
    return copy.deepcopy(value)


def data_source_state(data_source: Mapping[str, Any]) -> dict[str, Any]:
    """The ``quicksight_data_source`` spec shape of a ``DataSource`` (without permissions).

    Only the managed fields are kept, so credentials and secret ARNs never enter the state.
    """
    return {
        "name": data_source.get("Name"),
        "type": data_source.get("Type"),
        "parameters": without_secrets(data_source.get("DataSourceParameters")),
        "vpc_connection_properties": without_secrets(data_source.get("VpcConnectionProperties")),
        "ssl_properties": without_secrets(data_source.get("SslProperties")),
    }


def data_source_facts(data_source: Mapping[str, Any]) -> dict[str, Any]:
    """Read-only facts of a ``DataSource``: ARN, status, alternate parameters, error info."""
    return {
        "arn": data_source.get("Arn"),
        "status": data_source.get("Status"),
        "alternate_data_source_parameters": without_secrets(
            data_source.get("AlternateDataSourceParameters") or []
        ),
        "error_info": without_secrets(data_source.get("ErrorInfo")),
    }


def permissions_state(permissions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``[{"principal", "actions"}]`` sorted by principal, each with sorted actions."""
    out = [
        {"principal": p.get("Principal"), "actions": sorted(p.get("Actions") or ())}
        for p in permissions
    ]
    return sorted(out, key=lambda p: str(p["principal"]))


def wants_permissions(desired: DesiredResource | None) -> bool:
    """True when the desired spec manages the data source permissions."""
    return desired is not None and "permissions" in desired.spec


class QuickSightCollector:
    """Reads ``quicksight_data_source`` resources (``ref.account`` is the AwsAccountId).

    Permissions are read only when the desired spec declares ``permissions``: they cost one
    DescribeDataSourcePermissions call per data source.

    Parameters
    ----------
    quicksight
        A QuickSight client for the region of the data sources.
    account_id
        The AwsAccountId that ``discover`` lists when it is given none.
    """

    kinds: ClassVar[tuple[Kind, ...]] = (Kind.QUICKSIGHT_DATA_SOURCE,)
    permissions: ClassVar[tuple[str, ...]] = (
        "quicksight:DescribeDataSource",
        "quicksight:DescribeDataSourcePermissions",
        "quicksight:ListDataSources",
    )

    def __init__(self, quicksight: QuickSightClient, account_id: str | None = None) -> None:
        self._qs = quicksight
        self._account_id = account_id

    def read(self, ref: ResourceRef, desired: DesiredResource | None = None) -> LiveResource:
        """Read one data source with DescribeDataSource (and its permissions if desired).

        Returns
        -------
        LiveResource
            ``exists=False`` when QuickSight says it does not exist.

        Raises
        ------
        AccessDeniedError
            QuickSight refused a read.
        CollectorError
            Any other failure, or a kind this collector does not read.
        """
        if ref.kind is not Kind.QUICKSIGHT_DATA_SOURCE:
            raise unsupported(ref, self.kinds, type(self).__name__)
        got = call_or_none(
            str(ref),
            partial(self._qs.describe_data_source, AwsAccountId=ref.account, DataSourceId=ref.id),
        )
        if got is None or "DataSource" not in got:
            return missing(ref)
        return self._live(ref, got["DataSource"], wants_permissions(desired))

    def _live(
        self, ref: ResourceRef, data_source: Mapping[str, Any], with_permissions: bool
    ) -> LiveResource:
        state = data_source_state(data_source)
        if with_permissions:
            permissions = self._permissions(ref)
            if permissions is None:
                return missing(ref)  # deleted while being read
            state["permissions"] = permissions
        return LiveResource(ref=ref, exists=True, state=state, facts=data_source_facts(data_source))

    def _permissions(self, ref: ResourceRef) -> list[dict[str, Any]] | None:
        got = call_or_none(
            f"{ref} permissions",
            partial(
                self._qs.describe_data_source_permissions,
                AwsAccountId=ref.account,
                DataSourceId=ref.id,
            ),
        )
        return None if got is None else permissions_state(got.get("Permissions") or ())

    def read_all(
        self,
        refs: Sequence[ResourceRef],
        desired: Mapping[ResourceRef, DesiredResource] | None = None,
    ) -> dict[ResourceRef, LiveResource]:
        """Read many data sources: one ListDataSources pass per account, plus one
        DescribeDataSourcePermissions per data source whose desired spec declares permissions.

        Returns
        -------
        dict
            One entry per distinct ref; ``error`` set for what could not be read (every ref of
            an account whose listing failed carries that error).
        """
        desired = desired or {}
        out: dict[ResourceRef, LiveResource] = {}
        listings: dict[str, dict[str, Mapping[str, Any]] | CollectorError] = {}
        for ref in refs:
            if ref in out:
                continue
            if ref.kind is not Kind.QUICKSIGHT_DATA_SOURCE:
                out[ref] = failed(ref, unsupported(ref, self.kinds, type(self).__name__))
                continue
            if ref.account not in listings:
                try:
                    listings[ref.account] = self._list(ref.account)
                except CollectorError as err:
                    listings[ref.account] = err
            listing = listings[ref.account]
            if isinstance(listing, CollectorError):
                out[ref] = failed(ref, listing)
                continue
            data_source = listing.get(ref.id)
            if data_source is None:
                out[ref] = missing(ref)
                continue
            try:
                out[ref] = self._live(ref, data_source, wants_permissions(desired.get(ref)))
            except CollectorError as err:
                out[ref] = failed(ref, err)
        return out

    def _list(self, account: str) -> dict[str, Mapping[str, Any]]:
        def pages() -> dict[str, Mapping[str, Any]]:
            paginator = self._qs.get_paginator("list_data_sources")
            return {
                item["DataSourceId"]: item
                for page in paginator.paginate(AwsAccountId=account, PaginationConfig=_PAGE)
                for item in page.get("DataSources", [])
                if "DataSourceId" in item
            }

        return call(f"the QuickSight data sources of account {account}", pages)

    def discover(
        self,
        ids: Sequence[str] = (),
        *,
        account: str | None = None,
        with_permissions: bool = False,
    ) -> list[LiveResource]:
        """List live data sources for ``capture``.

        Parameters
        ----------
        ids
            Only these data source IDs (all when empty).
        account
            The AwsAccountId; defaults to the ``account_id`` given to the constructor.
        with_permissions
            Also read each data source's permissions (one call each).

        Returns
        -------
        list of LiveResource
            Existing data sources sorted by ID (some may carry ``error``).

        Raises
        ------
        AccessDeniedError
            QuickSight refused the listing.
        CollectorError
            The listing failed, or no account is known.
        """
        account = account or self._account_id
        if not account:
            raise CollectorError("cannot list QuickSight data sources: no account ID given")
        region = self._qs.meta.region_name
        wanted = set(ids)
        out: list[LiveResource] = []
        for data_source_id, data_source in sorted(self._list(account).items()):
            if wanted and data_source_id not in wanted:
                continue
            ref = ResourceRef(Kind.QUICKSIGHT_DATA_SOURCE, data_source_id, account, region)
            try:
                live = self._live(ref, data_source, with_permissions)
            except CollectorError as err:
                live = failed(ref, err)
            if live.exists or live.error:
                out.append(live)
        return out
