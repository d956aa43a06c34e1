"""The pure safety decision: whether one compared resource is reverted, alerted or ignored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from chalicelib.models import Decision, Mode, ResourceResult, Status

#: The window of the revert limit (``DRIFTWARDEN_MAX_REVERTS`` per hour).
REVERT_WINDOW = timedelta(hours=1)
#: The window of flap detection.
FLAP_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Guard:
    """Everything besides the comparison that decides whether a revert may happen.

    Attributes
    ----------
    paused
        The global kill switch (``DRIFTWARDEN_PAUSED`` or the registry's ``paused``).
    dry_run
        Plan and report without writing (the verdict still says ``revert``).
    trusted_actor
        The change was made by a configured trusted actor.
    self_managed
        The resource is driftwarden's own role or the cross-account role it assumes.
    reverts_in_window
        Reverts made in the last ``REVERT_WINDOW`` (all resources).
    max_reverts
        The limit on ``reverts_in_window``; at or above it driftwarden only alerts.
    resource_reverts_recent
        Reverts of this resource within ``flap_window_minutes``.
    flap_threshold
        At or above this many recent reverts the resource is left alone.
    flap_window_minutes
        The flap window, for the message.
    recreate
        The registry entry asks for a deleted resource to be recreated.
    """

    paused: bool = False
    dry_run: bool = False
    trusted_actor: bool = False
    self_managed: bool = False
    reverts_in_window: int = 0
    max_reverts: int = 20
    resource_reverts_recent: int = 0
    flap_threshold: int = 3
    flap_window_minutes: int = int(FLAP_WINDOW.total_seconds() // 60)
    recreate: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision for one resource; ``revert`` says whether to plan and apply a revert.

    With ``revert=True`` the decision is ``reverted``; the pipeline turns it into ``failed``
    when the revert fails.
    """

    decision: Decision
    revert: bool
    reason: str | None = None


def _alert(reason: str) -> Verdict:
    return Verdict(Decision.ALERTED, revert=False, reason=reason)


def decide(result: ResourceResult, mode: Mode, guard: Guard) -> Verdict:
    """Decide what to do about one compared resource.

    Precedence: in sync; mode ``ignore``; a live state that could not be read; mode
    ``alert``; then, for ``enforce``: paused, driftwarden's own resources, a trusted actor, a
    missing resource without ``recreate``, the revert limit, flapping; otherwise revert.

    Parameters
    ----------
    result
        The comparison of the resource.
    mode
        The resource's effective mode.
    guard
        The global and per-resource safety facts.

    Returns
    -------
    Verdict
        ``revert=True`` only in mode ``enforce`` with every guard passed (also in dry run,
        where the executor only plans).

    Example
    -------
    >>> decide(result, Mode.ENFORCE, Guard(paused=True)).reason  # doctest: +SKIP
    'paused'
    """
    if result.status is Status.IN_SYNC:
        return Verdict(Decision.IN_SYNC, revert=False)
    if mode is Mode.IGNORE:
        return Verdict(Decision.IGNORED, revert=False, reason="mode ignore")
    if result.status is Status.ERROR:
        return _alert("could not read live state")
    if mode is Mode.ALERT:
        return _alert("mode alert")
    if guard.paused:
        return _alert("paused")
    if guard.self_managed:
        return _alert("driftwarden never manages its own role")
    if guard.trusted_actor:
        return _alert("change by a trusted actor")
    if result.status is Status.MISSING and not guard.recreate:
        return _alert("resource missing")
    if guard.reverts_in_window >= guard.max_reverts:
        return _alert(f"revert limit reached ({guard.max_reverts} per hour): alert-only")
    if guard.resource_reverts_recent >= guard.flap_threshold:
        return _alert(
            f"flapping: reverted {guard.resource_reverts_recent} times in "
            f"{guard.flap_window_minutes} minutes; left alone (fight with another actor?)"
        )
    return Verdict(Decision.REVERTED, revert=True, reason="dry run" if guard.dry_run else None)
