"""Composition root: the only place that builds boto3 clients and assembles the pipeline.

Clients are built lazily and cached per warm container; nothing is built at import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from chalicelib.accounts import AccountSessions
from chalicelib.audit.history import ReportHistory
from chalicelib.audit.report import AuditReport
from chalicelib.aws import client_config, make_session
from chalicelib.collectors.cleanrooms import CleanRoomsCollector
from chalicelib.collectors.iam import IamCollector
from chalicelib.collectors.quicksight import QuickSightCollector
from chalicelib.errors import CollectorError, ConfigError, DriftError, ResourceNotFoundError
from chalicelib.kinds import SERVICE_OF_KIND
from chalicelib.models import AccountContext, DesiredResource, Kind, ResourceResult, Status
from chalicelib.notify.dedup import DynamoDedupStore, MemoryDedupStore
from chalicelib.pipeline import Pipeline, Selector
from chalicelib.registry.store import FileRegistryStore, S3RegistryStore
from chalicelib.remediation.executors.cleanrooms import CleanRoomsExecutor
from chalicelib.remediation.executors.iam import IamExecutor
from chalicelib.remediation.executors.quicksight import QuickSightExecutor
from chalicelib.remediation.journal import open_journal
from chalicelib.respond import REGIONAL_KINDS, Responder, SweepOutcome

if TYPE_CHECKING:
    from collections.abc import Sequence

    from boto3.session import Session

    from chalicelib.collectors.base import Collector
    from chalicelib.config import Settings
    from chalicelib.notify.base import Notifier
    from chalicelib.notify.dedup import DedupStore
    from chalicelib.registry.store import RegistryStore
    from chalicelib.remediation.executors.base import Executor
    from chalicelib.remediation.journal import Journal
    from chalicelib.respond import MetricsSink


logger = Logger(service="driftwarden")


def parse_s3_url(value: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into bucket and prefix (without a trailing slash).

    Raises
    ------
    ConfigError
        The value is not an ``s3://`` URL with a bucket.
    """
    if not value.startswith("s3://"):
        raise ConfigError(f"not an s3:// location: {value!r}")
    bucket, _, prefix = value[len("s3://") :].partition("/")
    if not bucket:
        raise ConfigError(f"no bucket in {value!r}")
    return bucket, prefix.strip("/")


@dataclass
class Wiring:
    """Clients, collectors, registry store and pipeline for one set of settings and session."""

    settings: Settings
    session: Session = field(default_factory=make_session)
    default_journal: str | None = None
    metrics: MetricsSink | None = None
    parent: Wiring | None = None
    context: AccountContext | None = None
    _clients: dict[str, Any] = field(default_factory=dict)
    _children: dict[tuple[str, str], Wiring] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A cached boto3 client for ``service`` (honours AWS_ENDPOINT_URL like boto3 does)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=client_config())  # type: ignore[call-overload]
        return self._clients[service]

    @cached_property
    def identity(self) -> tuple[str, str]:
        """``(account, ARN)`` of the credentials, read once from STS and kept for the container.

        Raises
        ------
        ConfigError
            The caller identity cannot be determined.
        """
        try:
            answer = self.client("sts").get_caller_identity()
        except Exception as err:  # botocore errors of any kind: no credentials, no endpoint
            raise ConfigError(f"cannot determine the AWS identity: {err}") from err
        return str(answer["Account"]), str(answer["Arn"])

    @cached_property
    def account(self) -> AccountContext:
        """The account, region and partition this wiring acts in (from STS for the root).

        Raises
        ------
        ConfigError
            The caller identity cannot be determined.
        """
        if self.context is not None:
            return self.context
        account, arn = self.identity
        region = self.session.region_name or "us-east-1"
        return AccountContext(account=account, region=region, partition=arn.split(":")[1])

    @property
    def caller_arn(self) -> str:
        """The ARN driftwarden acts as here.

        Raises
        ------
        ConfigError
            The caller identity cannot be determined.
        """
        return self.identity[1]

    def store_for(self, location: str) -> RegistryStore:
        """A registry store for a directory or an ``s3://bucket/prefix`` location."""
        if location.startswith("s3://"):
            bucket, prefix = parse_s3_url(location)
            return S3RegistryStore(self.client("s3"), bucket, prefix)
        return FileRegistryStore(Path(location))

    @cached_property
    def store(self) -> RegistryStore:
        # Every account reads the one registry (and shares its ETag cache) through the root.
        if self.parent is not None:
            return self.parent.store
        return self.store_for(self.settings.registry)

    @cached_property
    def sessions(self) -> AccountSessions:
        return AccountSessions(
            self.session, self.account, self.settings.assume_role, sts=self.client("sts")
        )

    def for_account(self, account: str, region: str) -> Wiring:
        """The wiring acting in ``account`` and ``region`` (this one when they are its own).

        Another account is reached by assuming ``DRIFTWARDEN_ASSUME_ROLE``; the registry,
        journal, notifiers and de-duplication store are shared with this wiring.

        Raises
        ------
        ConfigError
            Another account is asked for and no role to assume is configured.
        """
        root = self.parent or self
        own = root.account
        if (account, region) == (own.account, own.region):
            return root
        key = (account, region)
        session = root.sessions.session_for(account, region)
        known = root._children.get(key)
        if known is None or known.session is not session:  # new or renewed credentials
            root._children[key] = Wiring(
                settings=root.settings,
                session=session,
                default_journal=root.default_journal,
                metrics=root.metrics,
                parent=root,
                context=AccountContext(account, region, own.partition),
            )
        return root._children[key]

    @cached_property
    def iam_collector(self) -> IamCollector:
        return IamCollector(self.client("iam"))

    @cached_property
    def collectors(self) -> dict[Kind, Collector]:
        by_service: dict[str, Collector] = {
            "iam": self.iam_collector,
            "quicksight": QuickSightCollector(self.client("quicksight")),
            "cleanrooms": CleanRoomsCollector(self.client("cleanrooms")),
        }
        return {kind: by_service[service] for kind, service in SERVICE_OF_KIND.items()}

    @cached_property
    def pipeline(self) -> Pipeline:
        return Pipeline(self.store, self.collectors, self.iam_collector, self.settings)

    def audit(self, selector: str | None = None) -> AuditReport:
        """Audit the registry (or one ``KIND/ID``) in every target account; changes nothing.

        Without ``targets`` in the registry settings, only this wiring's account is audited.
        An account that cannot be reached contributes its resources with status ``error``.

        Raises
        ------
        RegistryError
            The registry cannot be used.
        ResourceNotFoundError
            The selector names no registry entry.
        """
        chosen = Selector.parse(selector) if selector else None
        registry = self.pipeline.load_registry()
        if not registry.settings.targets:
            return self.pipeline.audit(self.account, chosen)
        own = self.account
        results: list[ResourceResult] = []
        for target in registry.settings.targets:
            for index, region in enumerate(target.regions or (own.region,)):
                ctx = AccountContext(target.account, region, own.partition)
                kinds = None if index == 0 else REGIONAL_KINDS
                try:
                    there = self.for_account(target.account, region)
                    report = there.pipeline.audit(ctx, None, kinds)
                except (ConfigError, CollectorError) as err:
                    results.extend(_unreachable(registry.resolve(ctx), kinds, str(err)))
                    continue
                results.extend(report.resources)
        if chosen is not None:
            results = [r for r in results if (r.ref.kind, r.ref.id) == (chosen.kind, chosen.id)]
            if not results:
                raise ResourceNotFoundError(f"{chosen.kind}/{chosen.id} is not in the registry")
        return AuditReport(
            generated_at=datetime.now(UTC),
            registry_source=registry.location,
            registry_digest=registry.digest,
            resources=tuple(results),
        )

    def sweep(self) -> SweepOutcome:
        """Sweep every target account, and save the report when ``DRIFTWARDEN_REPORTS`` is set."""
        outcome = self.responder.sweep()
        if self.history is not None:
            try:
                self.history.save(outcome.to_json(), outcome.generated_at)
            except DriftError:
                logger.exception("sweep report not saved")
        return outcome

    @cached_property
    def history(self) -> ReportHistory | None:
        """Where sweep reports are kept (``DRIFTWARDEN_REPORTS``), if anywhere."""
        if not self.settings.reports:
            return None
        bucket, prefix = parse_s3_url(self.settings.reports)
        return ReportHistory(self.client("s3"), bucket, prefix)

    @cached_property
    def executors(self) -> dict[Kind, Executor]:
        by_service: dict[str, Executor] = {
            "iam": IamExecutor(self.client("iam")),
            "quicksight": QuickSightExecutor(self.client("quicksight")),
            "cleanrooms": CleanRoomsExecutor(self.client("cleanrooms")),
        }
        return {kind: by_service[service] for kind, service in SERVICE_OF_KIND.items()}

    @cached_property
    def journal(self) -> Journal | None:
        if self.parent is not None:
            return self.parent.journal
        location = self.settings.journal or self.default_journal
        if not location:
            return None
        return open_journal(location, lambda: self.client("s3"))

    @cached_property
    def notifiers(self) -> list[Notifier]:
        from chalicelib.notify.sns import SnsNotifier

        if self.parent is not None:
            return self.parent.notifiers
        notifiers: list[Notifier] = []
        if self.settings.sns_topic_arn:
            notifiers.append(SnsNotifier(self.client("sns"), self.settings.sns_topic_arn))
        if self.settings.slack_webhook_url or self.settings.slack_secret:
            from chalicelib.notify.slack import SlackNotifier, load_slack_secret

            if self.settings.slack_webhook_url:
                notifiers.append(SlackNotifier(self.settings.slack_webhook_url))
            else:
                name = self.settings.slack_secret or ""
                notifiers.append(
                    SlackNotifier(
                        lambda: load_slack_secret(
                            name, self.client("ssm"), self.client("secretsmanager")
                        )
                    )
                )
        return notifiers

    @cached_property
    def dedup(self) -> DedupStore:
        if self.parent is not None:
            return self.parent.dedup
        if self.settings.dedup_table:
            return DynamoDedupStore(self.client("dynamodb"), self.settings.dedup_table)
        return MemoryDedupStore()

    def self_arns(self) -> tuple[str, ...]:
        """ARNs whose changes are driftwarden's own: the caller identity (and its role).

        Raises
        ------
        ConfigError
            The caller identity cannot be determined.
        """
        arns = list(self.settings.self_arns)
        # Fails closed: without a known identity nothing is decided (ConfigError propagates),
        # so driftwarden can never mistake its own role for a managed one.
        caller = self.caller_arn
        arns.append(caller)
        role = _role_arn_of_session(caller)
        if role:
            arns.append(role)
        return tuple(arns)

    def protected_roles(self) -> frozenset[str]:
        """Role names driftwarden never manages: its own and the cross-account role."""
        names = {arn.rsplit("/", 1)[-1] for arn in self.self_arns() if ":role/" in arn}
        if self.settings.assume_role and ":role/" in self.settings.assume_role:
            names.add(self.settings.assume_role.rsplit("/", 1)[-1])
        return frozenset(names)

    @cached_property
    def responder(self) -> Responder:
        return Responder(
            pipeline=self.pipeline,
            executors=self.executors,
            journal=self.journal,
            notifiers=self.notifiers,
            dedup=self.dedup,
            settings=self.settings,
            account=lambda: self.account,
            self_arns=self.self_arns,
            protected_roles=self.protected_roles,
            metrics=self.metrics,
            for_account=self._responder_for if self.parent is None else None,
        )

    def _responder_for(self, account: str, region: str) -> Responder:
        return self.for_account(account, region).responder


def _unreachable(
    desired: Sequence[DesiredResource], kinds: frozenset[Kind] | None, error: str
) -> list[ResourceResult]:
    return [
        ResourceResult(d.ref, d.mode, Status.ERROR, error=f"account unreachable: {error}")
        for d in desired
        if kinds is None or d.ref.kind in kinds
    ]


def _role_arn_of_session(arn: str) -> str | None:
    """``arn:aws:sts::1:assumed-role/NAME/session`` -> ``arn:aws:iam::1:role/NAME``."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
        return None
    name = parts[5].split("/")[1]
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{name}"
