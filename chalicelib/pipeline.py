"""The sequence registry -> live -> diff -> findings (audit), with per-resource isolation.

All collaborators come through the constructor; this module builds no clients and reads no
environment variables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger

from chalicelib.audit.report import AuditReport
from chalicelib.diff.engine import compare
from chalicelib.errors import DriftError, ResourceNotFoundError
from chalicelib.models import (
    AccountContext,
    DesiredResource,
    Kind,
    LiveResource,
    ResourceRef,
    ResourceResult,
    Status,
)
from chalicelib.rules import live_findings

if TYPE_CHECKING:
    from chalicelib.collectors.base import Collector
    from chalicelib.config import Settings
    from chalicelib.registry.model import Registry
    from chalicelib.registry.store import RegistryStore

logger = Logger(service="driftwarden")


class RoleLookup(Protocol):
    """What the pipeline needs from the IAM reader to check data sources against their roles."""

    def roles_by_arn(self) -> Mapping[str, LiveResource]: ...

    def read_roles_by_arn(self, arns: Iterable[str]) -> dict[str, LiveResource | None]: ...


@dataclass(frozen=True, slots=True)
class Selector:
    """Restricts an audit to one resource: ``KIND/ID`` as the CLI and the endpoint take it."""

    kind: Kind
    id: str

    @classmethod
    def parse(cls, text: str) -> Selector:
        """Parse ``KIND/ID`` (the id may itself contain slashes).

        Raises
        ------
        ResourceNotFoundError
            The kind is unknown or the text has no ``/``.
        """
        kind_text, sep, ident = text.partition("/")
        if not sep or not ident:
            raise ResourceNotFoundError(f"expected KIND/ID, got {text!r}")
        try:
            kind = Kind(kind_text)
        except ValueError:
            valid = ", ".join(k.value for k in Kind)
            raise ResourceNotFoundError(
                f"unknown kind {kind_text!r}; valid kinds: {valid}"
            ) from None
        return cls(kind, ident)


def role_arns_in(value: Any) -> set[str]:
    """Every ``RoleArn``/``roleArn`` string found anywhere inside a spec value."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key.lower() in {"rolearn", "role_arn", "result_role_arn"} and isinstance(item, str):
                found.add(item)
            else:
                found |= role_arns_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= role_arns_in(item)
    return found


class Pipeline:
    """Compares the registry with live state for one account context."""

    def __init__(
        self,
        store: RegistryStore,
        collectors: Mapping[Kind, Collector],
        roles: RoleLookup,
        settings: Settings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.collectors = collectors
        self.roles = roles
        self.settings = settings
        self.clock = clock

    def load_registry(self) -> Registry:
        """The current registry (validated by the store).

        Raises
        ------
        RegistryError
            The registry is missing, unreadable or invalid.
        """
        return self.store.load()

    def desired(self, registry: Registry, ctx: AccountContext) -> tuple[DesiredResource, ...]:
        return registry.resolve(ctx, self.settings.mode)

    def audit(
        self,
        ctx: AccountContext,
        selector: Selector | None = None,
        kinds: frozenset[Kind] | None = None,
    ) -> AuditReport:
        """Compare every registry entry (or the selected one) with live state; change nothing.

        Raises
        ------
        RegistryError
            The registry cannot be used.
        ResourceNotFoundError
            The selector names no registry entry.
        """
        registry = self.load_registry()
        desired = self.desired(registry, ctx)
        if kinds is not None:
            desired = tuple(d for d in desired if d.ref.kind in kinds)
        if selector is not None:
            desired = tuple(
                d for d in desired if d.ref.kind is selector.kind and d.ref.id == selector.id
            )
            if not desired:
                raise ResourceNotFoundError(
                    f"{selector.kind}/{selector.id} is not in the registry ({registry.location})"
                )
        results = self.compare_all(desired, bulk=selector is None)
        return AuditReport(
            generated_at=self.clock(),
            registry_source=registry.location,
            registry_digest=registry.digest,
            resources=results,
        )

    def read_live(
        self, desired: Sequence[DesiredResource], bulk: bool
    ) -> dict[ResourceRef, LiveResource]:
        """Live state of every desired resource; per-resource failures become ``error``."""
        by_kind: dict[Kind, list[DesiredResource]] = defaultdict(list)
        for item in desired:
            by_kind[item.ref.kind].append(item)
        live: dict[ResourceRef, LiveResource] = {}
        # One collector may serve several kinds (IAM roles and policies): read them together.
        groups: dict[int, list[DesiredResource]] = defaultdict(list)
        owners: dict[int, Collector] = {}
        for kind, items in by_kind.items():
            collector = self.collectors[kind]
            groups[id(collector)].extend(items)
            owners[id(collector)] = collector
        for key, items in groups.items():
            collector = owners[key]
            index = {d.ref: d for d in items}
            if bulk:
                try:
                    live.update(collector.read_all([d.ref for d in items], index))
                except DriftError as err:
                    logger.exception("bulk read failed", extra={"collector": type(collector)})
                    for d in items:
                        live[d.ref] = LiveResource(d.ref, exists=False, error=str(err))
            else:
                for d in items:
                    live[d.ref] = self._read_one(collector, d)
        for d in desired:
            live.setdefault(d.ref, LiveResource(d.ref, exists=False))
        return live

    @staticmethod
    def _read_one(collector: Collector, desired: DesiredResource) -> LiveResource:
        try:
            return collector.read(desired.ref, desired)
        except DriftError as err:
            logger.warning(
                "live read failed",
                extra={"resource_kind": str(desired.ref.kind), "resource_id": desired.ref.id},
            )
            return LiveResource(desired.ref, exists=False, error=str(err))

    def roles_for(
        self,
        desired: Sequence[DesiredResource],
        live: Mapping[ResourceRef, LiveResource],
        bulk: bool,
    ) -> dict[str, LiveResource | None]:
        """Live roles named by the data sources and Clean Rooms resources being compared."""
        wanted: set[str] = set()
        for d in desired:
            if d.ref.kind is Kind.IAM_ROLE or d.ref.kind is Kind.IAM_POLICY:
                continue
            wanted |= role_arns_in(d.spec)
            state = live.get(d.ref)
            if state is not None and state.exists:
                wanted |= role_arns_in(state.state)
        if not wanted:
            return {}
        iam_read_in_bulk = bulk and any(
            d.ref.kind in (Kind.IAM_ROLE, Kind.IAM_POLICY) for d in desired
        )
        if iam_read_in_bulk:
            # The bulk IAM read of this comparison already listed every role of the account.
            known = self.roles.roles_by_arn()
            return {arn: known.get(arn) for arn in wanted}
        try:
            return self.roles.read_roles_by_arn(sorted(wanted))
        except DriftError:
            logger.warning("role lookup failed", extra={"roles": sorted(wanted)})
            return {}

    def compare_all(
        self, desired: Sequence[DesiredResource], bulk: bool = True
    ) -> tuple[ResourceResult, ...]:
        """Read, diff and check every resource; one failure never stops the others."""
        live = self.read_live(desired, bulk)
        roles = self.roles_for(desired, live, bulk)
        results: list[ResourceResult] = []
        for d in desired:
            try:
                result = compare(d, live[d.ref])
                if result.status in (Status.IN_SYNC, Status.DRIFTED):
                    findings = live_findings(d, live[d.ref], roles)
                    result = replace(result, findings=result.findings + tuple(findings))
            except Exception as err:  # per-resource isolation (STYLE 3.4)
                logger.exception(
                    "compare failed",
                    extra={"resource_kind": str(d.ref.kind), "resource_id": d.ref.id},
                )
                result = ResourceResult(d.ref, d.mode, Status.ERROR, error=f"compare failed: {err}")
            results.append(result)
        return tuple(results)
