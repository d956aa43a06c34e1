"""Composition root: the only place that builds boto3 clients and assembles the pipeline.

Clients are built lazily and cached per warm container; nothing is built at import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.aws import client_config, make_session
from chalicelib.collectors.cleanrooms import CleanRoomsCollector
from chalicelib.collectors.iam import IamCollector
from chalicelib.collectors.quicksight import QuickSightCollector
from chalicelib.errors import ConfigError
from chalicelib.kinds import SERVICE_OF_KIND
from chalicelib.models import AccountContext, Kind
from chalicelib.notify.dedup import DynamoDedupStore, MemoryDedupStore
from chalicelib.pipeline import Pipeline, Selector
from chalicelib.registry.store import FileRegistryStore, S3RegistryStore
from chalicelib.remediation.executors.cleanrooms import CleanRoomsExecutor
from chalicelib.remediation.executors.iam import IamExecutor
from chalicelib.remediation.executors.quicksight import QuickSightExecutor
from chalicelib.remediation.journal import open_journal
from chalicelib.respond import Responder

if TYPE_CHECKING:
    from boto3.session import Session

    from chalicelib.audit.report import AuditReport
    from chalicelib.collectors.base import Collector
    from chalicelib.config import Settings
    from chalicelib.notify.base import Notifier
    from chalicelib.notify.dedup import DedupStore
    from chalicelib.registry.store import RegistryStore
    from chalicelib.remediation.executors.base import Executor
    from chalicelib.remediation.journal import Journal
    from chalicelib.respond import MetricsSink


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
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A cached boto3 client for ``service`` (honours AWS_ENDPOINT_URL like boto3 does)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, config=client_config())  # type: ignore[call-overload]
        return self._clients[service]

    @cached_property
    def account(self) -> AccountContext:
        """The account, region and partition of the current credentials (from STS).

        Raises
        ------
        ConfigError
            The caller identity cannot be determined.
        """
        try:
            identity = self.client("sts").get_caller_identity()
        except Exception as err:  # botocore errors of any kind: no credentials, no endpoint
            raise ConfigError(f"cannot determine the AWS account: {err}") from err
        partition = str(identity["Arn"]).split(":")[1]
        region = self.session.region_name or "us-east-1"
        return AccountContext(account=str(identity["Account"]), region=region, partition=partition)

    @cached_property
    def caller_arn(self) -> str:
        return str(self.client("sts").get_caller_identity()["Arn"])

    def store_for(self, location: str) -> RegistryStore:
        """A registry store for a directory or an ``s3://bucket/prefix`` location."""
        if location.startswith("s3://"):
            bucket, prefix = parse_s3_url(location)
            return S3RegistryStore(self.client("s3"), bucket, prefix)
        return FileRegistryStore(Path(location))

    @cached_property
    def store(self) -> RegistryStore:
        return self.store_for(self.settings.registry)

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
        """Audit the registry (or one ``KIND/ID``) against this account; changes nothing."""
        chosen = Selector.parse(selector) if selector else None
        return self.pipeline.audit(self.account, chosen)

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
        location = self.settings.journal or self.default_journal
        if not location:
            return None
        return open_journal(location, lambda: self.client("s3"))

    @cached_property
    def notifiers(self) -> list[Notifier]:
        from chalicelib.notify.sns import SnsNotifier

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
        if self.settings.dedup_table:
            return DynamoDedupStore(self.client("dynamodb"), self.settings.dedup_table)
        return MemoryDedupStore()

    def self_arns(self) -> tuple[str, ...]:
        """ARNs whose changes are driftwarden's own: the caller identity (and its role)."""
        arns = list(self.settings.self_arns)
        try:
            caller = self.caller_arn
        except Exception:  # no identity: only the configured ARNs count
            return tuple(arns)
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
        )


def _role_arn_of_session(arn: str) -> str | None:
    """``arn:aws:sts::1:assumed-role/NAME/session`` -> ``arn:aws:iam::1:role/NAME``."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "sts" or not parts[5].startswith("assumed-role/"):
        return None
    name = parts[5].split("/")[1]
    return f"arn:{parts[1]}:iam::{parts[4]}:role/{name}"
