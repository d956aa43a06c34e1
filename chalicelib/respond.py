"""Responding to drift: one event or a whole sweep -> decide per mode and safety -> revert
(journalled, re-read before and after) or alert -> notify (de-duplicated).

All collaborators come through the constructor; no clients, no environment reads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger

from chalicelib.diff.engine import compare
from chalicelib.errors import (
    ConfigError,
    DriftError,
    JournalError,
    RegistryError,
    RemediationError,
    RemediationRefusedError,
    UnroutableEventError,
)
from chalicelib.events.cloudtrail import parse_event
from chalicelib.events.routes import actor_matches, is_own_event, route
from chalicelib.models import (
    AccountContext,
    ActionRecord,
    ChangeNotice,
    Decision,
    DesiredResource,
    Kind,
    LiveResource,
    Mode,
    NotificationRecord,
    ResourceRef,
    ResourceResult,
    Severity,
    Status,
)
from chalicelib.notify.base import Alert, dispatch
from chalicelib.notify.render import fingerprint
from chalicelib.registry.model import Target
from chalicelib.remediation.journal import JournalEntry, count_reverts, new_action_id
from chalicelib.remediation.planner import plan_revert, undo_plan
from chalicelib.remediation.safety import REVERT_WINDOW, Guard, decide

if TYPE_CHECKING:
    from chalicelib.config import Settings
    from chalicelib.notify.base import Notifier
    from chalicelib.notify.dedup import DedupStore
    from chalicelib.pipeline import Pipeline
    from chalicelib.registry.model import Registry
    from chalicelib.remediation.executors.base import Executor
    from chalicelib.remediation.journal import Journal

logger = Logger(service="driftwarden")

FLAP_THRESHOLD = 3
DEDUP_WINDOW_SECONDS = 3600
#: Kinds whose resources live in a region (IAM is global).
REGIONAL_KINDS = frozenset(
    {
        Kind.QUICKSIGHT_DATA_SOURCE,
        Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
        Kind.CLEANROOMS_MEMBERSHIP,
    }
)

# Worst first: the decision of an event or sweep is the worst of its resources' decisions.
_DECISION_RANK = {
    Decision.FAILED: 4,
    Decision.ALERTED: 3,
    Decision.REVERTED: 2,
    Decision.IN_SYNC: 1,
    Decision.IGNORED: 0,
}


class MetricsSink(Protocol):
    """Where counters go (powertools ``Metrics`` in the Lambda, nothing in the CLI)."""

    def add_metric(self, name: str, unit: Any, value: float) -> None: ...


class NullMetrics:
    """Discards metrics."""

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        return None


@dataclass(frozen=True, slots=True)
class ResourceResponse:
    """What happened to one resource: its comparison, the decision, the action, notifications."""

    result: ResourceResult
    decision: Decision
    reason: str | None = None
    action: ActionRecord | None = None
    notifications: tuple[NotificationRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class EventOutcome:
    """The result of one event (the public ``handle-event --json`` shape)."""

    event_id: str
    decision: Decision
    reason: str | None = None
    responses: tuple[ResourceResponse, ...] = ()
    notifications: tuple[NotificationRecord, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "decision": str(self.decision),
            "reason": self.reason,
            "resources": [r.result.to_json() for r in self.responses],
            "actions": [r.action.to_json() for r in self.responses if r.action is not None],
            "notifications": [n.to_json() for n in self.all_notifications],
        }

    @property
    def all_notifications(self) -> tuple[NotificationRecord, ...]:
        return _all_notifications(self.notifications, self.responses)

    def exit_code(self) -> int:
        """1 failed, 3 drift left in place (alerted), else 0."""
        return exit_code_for(self.decision)


@dataclass(frozen=True, slots=True)
class SweepOutcome:
    """The result of a sweep: the audit report fields plus what was done."""

    generated_at: datetime
    registry_source: str
    registry_digest: str
    decision: Decision
    responses: tuple[ResourceResponse, ...] = ()
    reason: str | None = None
    notifications: tuple[NotificationRecord, ...] = field(default_factory=tuple)
    failures: tuple[Mapping[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        counts = {status.value: 0 for status in Status}
        for response in self.responses:
            counts[response.result.status.value] += 1
        return {
            "generated_at": self.generated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "registry": {"source": self.registry_source, "digest": self.registry_digest},
            "decision": str(self.decision),
            "reason": self.reason,
            "summary": counts,
            "resources": [
                {**r.result.to_json(), "decision": str(r.decision), "reason": r.reason}
                for r in self.responses
            ],
            "actions": [r.action.to_json() for r in self.responses if r.action is not None],
            "notifications": [n.to_json() for n in self.all_notifications],
            "failures": [dict(f) for f in self.failures],
        }

    @property
    def all_notifications(self) -> tuple[NotificationRecord, ...]:
        return _all_notifications(self.notifications, self.responses)

    def exit_code(self) -> int:
        return exit_code_for(self.decision)


def _all_notifications(
    own: tuple[NotificationRecord, ...], responses: tuple[ResourceResponse, ...]
) -> tuple[NotificationRecord, ...]:
    """Notifications about the whole event or sweep, then those of each resource."""
    return own + tuple(n for r in responses for n in r.notifications)


def exit_code_for(decision: Decision) -> int:
    if decision is Decision.FAILED:
        return 1
    if decision is Decision.ALERTED:
        return 3
    return 0


def worst(decisions: Iterable[Decision], default: Decision) -> Decision:
    ranked = sorted(decisions, key=_DECISION_RANK.__getitem__, reverse=True)
    return ranked[0] if ranked else default


def _severity(result: ResourceResult) -> Severity:
    order = list(Severity)
    levels = [f.severity for f in result.findings]
    if result.status in (Status.MISSING, Status.ERROR):
        levels.append(Severity.HIGH)
    elif result.changes:
        levels.append(Severity.MEDIUM)
    return max(levels, key=order.index) if levels else Severity.LOW


def _raw_event_id(raw: Any) -> str:
    if isinstance(raw, Mapping):
        detail = raw.get("detail")
        if isinstance(detail, Mapping) and isinstance(detail.get("eventID"), str):
            return str(detail["eventID"])
        for key in ("eventID", "id"):
            if isinstance(raw.get(key), str):
                return str(raw[key])
    return "unknown"


class Responder:
    """Decides and acts on drift for events and sweeps, with every safety rule applied."""

    def __init__(
        self,
        pipeline: Pipeline,
        executors: Mapping[Kind, Executor],
        journal: Journal | None,
        notifiers: Sequence[Notifier],
        dedup: DedupStore,
        settings: Settings,
        account: Callable[[], AccountContext],
        self_arns: Callable[[], Sequence[str]],
        protected_roles: Callable[[], frozenset[str]] = frozenset,
        metrics: MetricsSink | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rand: Callable[[int], bytes] = os.urandom,
        for_account: Callable[[str, str], Responder] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.executors = executors
        self.journal = journal
        self.notifiers = notifiers
        self.dedup = dedup
        self.settings = settings
        self.account = account
        self.self_arns = self_arns
        self.protected_roles = protected_roles
        self.metrics = metrics or NullMetrics()
        self.clock = clock
        self.rand = rand
        self.for_account = for_account

    # -- events ---------------------------------------------------------------------------

    def handle_event(self, raw: Any) -> EventOutcome:
        """Process one EventBridge event exactly as the Lambda handlers do.

        Never raises for bad input: a malformed or irrelevant event is ``ignored`` with a reason.
        """
        try:
            notice = parse_event(raw)
        except UnroutableEventError as err:
            return self._ignored(_raw_event_id(raw), f"malformed event: {err}")
        logger.append_keys(
            event_id=notice.event_id, event_name=notice.event_name, actor_arn=notice.actor_arn
        )
        routed = route(notice)
        if routed.reason:
            return self._ignored(notice.event_id, routed.reason)
        if is_own_event(notice, self.self_arns()):
            logger.info("own change ignored", extra={"decision": "ignored"})
            return self._ignored(notice.event_id, "caused by driftwarden itself")
        ctx = self.account()
        regional = any(r.kind in REGIONAL_KINDS for r in routed.refs)
        where = (notice.account, notice.region if regional else ctx.region)
        if where != (ctx.account, ctx.region):
            return self._elsewhere(raw, notice, where)
        try:
            registry = self.pipeline.load_registry()
        except RegistryError as err:
            return self._registry_failure(notice, routed.refs, err)
        desired_all = self.pipeline.desired(registry, ctx)
        wanted = {(r.kind, r.id) for r in routed.refs}
        targets = [d for d in desired_all if (d.ref.kind, d.ref.id) in wanted]
        for arn in routed.policy_arns:
            targets.extend(
                d
                for d in desired_all
                if d.ref.kind is Kind.IAM_ROLE
                and arn in (d.spec.get("managed_policies") or ())
                and d not in targets
            )
        if not targets:
            names = ", ".join(sorted(f"{k}/{i}" for k, i in wanted)) or ", ".join(
                routed.policy_arns
            )
            return self._ignored(notice.event_id, f"not managed by the registry: {names}")
        results = self.pipeline.compare_all(targets, bulk=False)
        responses = tuple(
            self.respond(d, r, registry, notice) for d, r in zip(targets, results, strict=True)
        )
        decision = worst((r.decision for r in responses), Decision.IN_SYNC)
        return EventOutcome(notice.event_id, decision, None, responses)

    def _elsewhere(self, raw: Any, notice: ChangeNotice, where: tuple[str, str]) -> EventOutcome:
        """Hand an event for another account or region to the responder acting there."""
        account, region = where
        reachable = account == self.account().account or bool(self.settings.assume_role)
        if self.for_account is None or not reachable:
            return self._ignored(
                notice.event_id,
                f"event for account {account} in {region}; this deployment acts only in "
                f"{self.account().account} (set DRIFTWARDEN_ASSUME_ROLE for other accounts)",
            )
        try:
            other = self.for_account(account, region)
        except DriftError as err:
            self.metrics.add_metric("EventsIgnored", "Count", 1)
            logger.error("account unreachable", extra={"account_id": account, "error": str(err)})
            return EventOutcome(
                notice.event_id, Decision.FAILED, f"cannot act in account {account}: {err}"
            )
        return other.handle_event(raw)

    def _ignored(self, event_id: str, reason: str) -> EventOutcome:
        self.metrics.add_metric("EventsIgnored", "Count", 1)
        logger.info("event ignored", extra={"decision": "ignored", "reason": reason})
        return EventOutcome(event_id, Decision.IGNORED, reason)

    def _registry_failure(
        self, notice: ChangeNotice, refs: Sequence[ResourceRef], err: RegistryError
    ) -> EventOutcome:
        reason = f"registry unusable, nothing written: {err}"
        logger.error("registry unusable", extra={"error": str(err)})
        notes: list[NotificationRecord] = []
        responses: list[ResourceResponse] = []
        for ref in refs:
            result = ResourceResult(ref, Mode.ALERT, Status.ERROR, error=reason)
            alert = Alert(
                result=result,
                decision=Decision.FAILED,
                summary="not checked: the registry is unusable",
                notice=notice,
                severity=Severity.HIGH,
                reason=reason,
            )
            sent = self.notify(alert)
            notes.extend(sent)
            responses.append(ResourceResponse(result, Decision.FAILED, reason, None, sent))
        return EventOutcome(notice.event_id, Decision.FAILED, reason, tuple(responses))

    # -- sweeps -----------------------------------------------------------------------------

    def sweep_account(
        self, ctx: AccountContext | None = None, kinds: frozenset[Kind] | None = None
    ) -> SweepOutcome:
        """Compare every registry entry (of ``kinds``) of one account and region in bulk, then
        respond to each per its mode.

        Raises
        ------
        RegistryError
            The registry cannot be used (nothing is written).
        """
        ctx = ctx or self.account()
        registry = self.pipeline.load_registry()
        desired = self.pipeline.desired(registry, ctx)
        if kinds is not None:
            desired = tuple(d for d in desired if d.ref.kind in kinds)
        results = self.pipeline.compare_all(desired, bulk=True)
        responses = tuple(
            self.respond(d, r, registry, None) for d, r in zip(desired, results, strict=True)
        )
        return SweepOutcome(
            generated_at=self.clock(),
            registry_source=registry.location,
            registry_digest=registry.digest,
            decision=worst((r.decision for r in responses), Decision.IN_SYNC),
            responses=responses,
        )

    def sweep(self) -> SweepOutcome:
        """Sweep every account and region of the registry's ``targets`` (default: this one).

        The first region of each account also covers its IAM entries (IAM is global). An
        account that cannot be reached is reported in ``failures`` and the others go on.

        An unusable registry writes nothing: the outcome is ``failed`` and an alert is sent.
        """
        own = self.account()
        try:
            registry = self.pipeline.load_registry()
        except RegistryError as err:
            return self._unusable_registry(err)
        targets = registry.settings.targets or (Target(own.account, (own.region,)),)
        outcomes: list[SweepOutcome] = []
        failures: list[dict[str, str]] = []
        for target in targets:
            for index, region in enumerate(target.regions or (own.region,)):
                kinds = None if index == 0 else REGIONAL_KINDS
                try:
                    responder = self._responder_in(target.account, region)
                    ctx = AccountContext(target.account, region, own.partition)
                    outcomes.append(responder.sweep_account(ctx, kinds))
                except RegistryError:
                    raise
                except DriftError as err:
                    logger.error(
                        "account sweep failed",
                        extra={"account_id": target.account, "region": region, "error": str(err)},
                    )
                    failures.append(
                        {"account": target.account, "region": region, "error": str(err)}
                    )
        responses = tuple(r for o in outcomes for r in o.responses)
        decisions = [r.decision for r in responses] + [Decision.FAILED] * bool(failures)
        return SweepOutcome(
            generated_at=self.clock(),
            registry_source=registry.location,
            registry_digest=registry.digest,
            decision=worst(decisions, Decision.IN_SYNC),
            responses=responses,
            reason=f"{len(failures)} account(s) or region(s) failed" if failures else None,
            failures=tuple(failures),
        )

    def _unusable_registry(self, err: RegistryError) -> SweepOutcome:
        """Nothing is written when the registry cannot be used; on-call is told why."""
        location = self.pipeline.store.location
        reason = f"registry unusable, nothing written: {err}"
        logger.error("registry unusable", extra={"registry": location, "error": str(err)})
        alert = Alert(
            result=None,
            decision=Decision.FAILED,
            summary="sweep skipped: the registry is unusable",
            severity=Severity.HIGH,
            reason=reason,
            scope=f"registry {location}",
        )
        return SweepOutcome(
            generated_at=self.clock(),
            registry_source=location,
            registry_digest="",
            decision=Decision.FAILED,
            reason=reason,
            notifications=self.notify(alert),
        )

    def _responder_in(self, account: str, region: str) -> Responder:
        own = self.account()
        if (account, region) == (own.account, own.region) or self.for_account is None:
            if (account, region) != (own.account, own.region):
                raise ConfigError(
                    f"account {account} in {region} needs DRIFTWARDEN_ASSUME_ROLE to be reached"
                )
            return self
        return self.for_account(account, region)

    # -- one resource ----------------------------------------------------------------------------

    def respond(
        self,
        desired: DesiredResource,
        result: ResourceResult,
        registry: Registry,
        notice: ChangeNotice | None,
    ) -> ResourceResponse:
        """Decide, revert when allowed, and notify, for one compared resource."""
        if result.status is not Status.IN_SYNC or result.findings:
            self.metrics.add_metric("DriftDetected", "Count", 1)
            logger.info(
                "drift detected",
                extra={
                    "resource_kind": str(result.ref.kind),
                    "resource_id": result.ref.id,
                    "status": str(result.status),
                    "drift_count": len(result.changes),
                },
            )
        guard = self._guard(desired, registry, notice, counts=False)
        verdict = decide(result, desired.mode, guard)
        if verdict.revert:
            guard = self._guard(desired, registry, notice, counts=True)
            verdict = decide(result, desired.mode, guard)
        if verdict.decision in (Decision.IN_SYNC, Decision.IGNORED):
            return ResourceResponse(result, verdict.decision, verdict.reason)
        if not verdict.revert:
            return self._alert(result, verdict.decision, verdict.reason, notice)
        return self._revert(desired, result, registry, notice)

    def _guard(
        self,
        desired: DesiredResource,
        registry: Registry,
        notice: ChangeNotice | None,
        counts: bool,
    ) -> Guard:
        reverts = resource_reverts = 0
        if counts and self.journal is not None:
            now = self.clock()
            try:
                recent = self.journal.recent(now - REVERT_WINDOW)
            except JournalError:
                logger.exception("journal not readable for the revert limit")
                recent = []
            reverts, resource_reverts = count_reverts(recent, desired.ref, now)
        self_managed = (
            desired.ref.kind is Kind.IAM_ROLE and desired.ref.id in self.protected_roles()
        )
        return Guard(
            paused=self.settings.paused or registry.settings.paused,
            dry_run=self.settings.dry_run,
            trusted_actor=notice is not None
            and actor_matches(notice, self.settings.trusted_actors),
            self_managed=self_managed,
            reverts_in_window=reverts,
            max_reverts=self.settings.max_reverts,
            resource_reverts_recent=resource_reverts,
            flap_threshold=FLAP_THRESHOLD,
            recreate=registry.recreate(desired.ref),
        )

    def _alert(
        self,
        result: ResourceResult,
        decision: Decision,
        reason: str | None,
        notice: ChangeNotice | None,
        action: ActionRecord | None = None,
        summary: str | None = None,
    ) -> ResourceResponse:
        alert = Alert(
            result=result,
            decision=decision,
            summary=summary or (f"alerted only: {reason}" if reason else "alerted"),
            notice=notice,
            action=action,
            undo_command=(
                f"driftwarden undo {action.action_id}"
                if action is not None and action.status == "applied"
                else None
            ),
            severity=_severity(result),
            reason=reason,
        )
        return ResourceResponse(result, decision, reason, action, self.notify(alert))

    def _revert(
        self,
        desired: DesiredResource,
        result: ResourceResult,
        registry: Registry,
        notice: ChangeNotice | None,
    ) -> ResourceResponse:
        ref = desired.ref
        executor = self.executors[ref.kind]
        collector = self.pipeline.collectors[ref.kind]
        if self.journal is None and not self.settings.dry_run:
            return self._alert(
                result,
                Decision.ALERTED,
                "no journal configured (DRIFTWARDEN_JOURNAL): reverts need one",
                notice,
            )
        try:
            before = collector.read(ref, desired)  # re-read immediately before writing
            steps = plan_revert(desired, before, recreate=registry.recreate(ref))
        except RemediationRefusedError as err:
            return self._alert(result, Decision.ALERTED, f"cannot revert: {err}", notice)
        except DriftError as err:
            return self._alert(result, Decision.FAILED, f"cannot read before revert: {err}", notice)
        if not steps:
            fresh = compare(desired, before)
            if fresh.status is Status.IN_SYNC:
                return ResourceResponse(fresh, Decision.IN_SYNC, "already back in sync")
            return self._alert(result, Decision.ALERTED, "no API call can restore it", notice)
        now = self.clock()
        action_id = new_action_id(now, self.rand)
        calls = tuple(step.call for step in steps)
        entry = JournalEntry.intent(
            action_id,
            now,
            before,
            steps,
            event=notice,
            actor=notice.actor_arn if notice else None,
            dry_run=self.settings.dry_run,
        )
        if self.settings.dry_run:
            action = ActionRecord(action_id, ref, calls, "planned")
            return self._alert(
                result, Decision.ALERTED, "dry run: revert planned, nothing written", notice, action
            )
        assert self.journal is not None  # checked above
        try:
            self.journal.begin(entry)
        except JournalError as err:
            return self._alert(
                result, Decision.ALERTED, f"journal unwritable, nothing reverted: {err}", notice
            )
        try:
            made = executor.apply(steps, dry_run=False)
        except RemediationError as err:
            made = tuple(getattr(err, "calls", ()))
            self._finish(action_id, None, "failed", made, str(err))
            self.metrics.add_metric("RevertFailed", "Count", 1)
            logger.error("revert failed", extra={"resource_id": ref.id, "error": str(err)})
            action = ActionRecord(action_id, ref, made or calls, "failed")
            return self._alert(result, Decision.FAILED, f"revert failed: {err}", notice, action)
        after = self._read_after(collector, desired)
        final = compare(desired, after)
        if final.status is Status.IN_SYNC:
            self._finish(action_id, after, "applied", made, None)
            self.metrics.add_metric("DriftReverted", "Count", 1)
            logger.info("revert applied", extra={"resource_id": ref.id, "calls": list(made)})
            action = ActionRecord(action_id, ref, made, "applied")
            return self._alert(
                result,
                Decision.REVERTED,
                None,
                notice,
                action,
                summary=f"reverted with {len(made)} call(s): {', '.join(made)}",
            )
        self._finish(action_id, after, "failed", made, "still drifted after the revert")
        self.metrics.add_metric("RevertFailed", "Count", 1)
        action = ActionRecord(action_id, ref, made, "failed")
        return self._alert(final, Decision.FAILED, "still drifted after the revert", notice, action)

    def _read_after(self, collector: Any, desired: DesiredResource) -> LiveResource:
        try:
            live: LiveResource = collector.read(desired.ref, desired)
        except DriftError as err:
            return LiveResource(desired.ref, exists=False, error=str(err))
        return live

    def _finish(
        self,
        action_id: str,
        after: LiveResource | None,
        status: str,
        calls: Sequence[str],
        error: str | None,
    ) -> None:
        assert self.journal is not None
        state = None if after is None else {"exists": after.exists, "state": dict(after.state)}
        try:
            self.journal.finish(action_id, state, status, tuple(calls), error)
        except JournalError:
            logger.exception("journal outcome not written", extra={"action_id": action_id})

    # -- notifications ----------------------------------------------------------------------------

    def notify(self, alert: Alert) -> tuple[NotificationRecord, ...]:
        """Send ``alert`` on every channel unless the same drift, with the same decision and
        reason, was notified within the window (an escalation is therefore always sent)."""
        key = f"{fingerprint(alert)}:{alert.decision}:{alert.reason or ''}"
        records = dispatch(
            alert,
            self.notifiers,
            now=self.clock(),
            dedup=self.dedup,
            window_seconds=DEDUP_WINDOW_SECONDS,
            key=key,
        )
        for record in records:
            if record.status == "failed":
                self.metrics.add_metric("NotificationFailed", "Count", 1)
                logger.warning(
                    "notification failed",
                    extra={"channel": record.channel, "detail": record.detail},
                )
        return records

    # -- undo ------------------------------------------------------------------------------------

    def undo(self, action_id: str) -> ActionRecord:
        """Restore the state saved before ``action_id``.

        Raises
        ------
        JournalError
            No journal, no such action, or the action was already undone (checked before
            any write, so a repeated undo changes nothing).
        RemediationError
            The restore could not be planned or applied.
        """
        if self.journal is None:
            raise JournalError("no journal configured (DRIFTWARDEN_JOURNAL)")
        original = self.journal.get(action_id)
        if original.undone_by is not None:
            raise JournalError(f"action {action_id} was already undone by {original.undone_by}")
        ref = original.resource
        collector = self.pipeline.collectors[ref.kind]
        current = collector.read(ref, None)
        steps = undo_plan(original, current)
        now = self.clock()
        undo_id = new_action_id(now, self.rand)
        calls = tuple(step.call for step in steps)
        entry = JournalEntry.intent(undo_id, now, current, steps, undoes=action_id)
        if self.settings.dry_run:
            return ActionRecord(undo_id, ref, calls, "planned")
        self.journal.begin(entry)
        try:
            made = self.executors[ref.kind].apply(steps, dry_run=False)
        except RemediationError as err:
            self._finish(undo_id, None, "failed", tuple(getattr(err, "calls", ())), str(err))
            raise
        after = self._read_after(collector, DesiredResource(ref, Mode.ENFORCE, {}, "journal"))
        self._finish(undo_id, after, "applied", made, None)
        self.journal.mark_undone(action_id, undo_id)
        return ActionRecord(undo_id, ref, made, "applied")


__all__ = ["EventOutcome", "ResourceResponse", "Responder", "SweepOutcome", "replace"]
