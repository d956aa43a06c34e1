"""safety.decide: one test per rule, then precedence between rules (pure)."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.models import (
    Change,
    Decision,
    Kind,
    Mode,
    Op,
    ResourceRef,
    ResourceResult,
    Status,
)
from chalicelib.remediation.safety import Guard, Verdict, decide

REF = ResourceRef(Kind.IAM_ROLE, "analytics-reader", "123456789012", "us-east-1")
CHANGE = Change("inline_policies.backdoor", Op.ADD, None, {"Statement": []})


def result(status: Status, mode: Mode = Mode.ENFORCE) -> ResourceResult:
    changes = (CHANGE,) if status is Status.DRIFTED else ()
    return ResourceResult(REF, mode, status, changes)


DRIFTED = result(Status.DRIFTED)


class TestRules:
    def test_in_sync_is_in_sync(self) -> None:
        """Nothing to do for a resource in sync, whatever the mode."""
        assert decide(result(Status.IN_SYNC), Mode.ENFORCE, Guard()) == Verdict(
            Decision.IN_SYNC, False
        )

    def test_ignore_mode_is_ignored(self) -> None:
        """Mode ignore: drift is neither reverted nor alerted."""
        assert decide(DRIFTED, Mode.IGNORE, Guard()) == Verdict(
            Decision.IGNORED, False, "mode ignore"
        )

    def test_unreadable_live_state_alerts(self) -> None:
        """A resource whose live state could not be read is alerted, never reverted."""
        verdict = decide(result(Status.ERROR), Mode.ENFORCE, Guard())
        assert verdict == Verdict(Decision.ALERTED, False, "could not read live state")

    def test_alert_mode_alerts(self) -> None:
        """Mode alert: drift is reported only."""
        verdict = decide(DRIFTED, Mode.ALERT, Guard())
        assert verdict.decision is Decision.ALERTED and not verdict.revert

    def test_enforce_reverts(self) -> None:
        """Mode enforce with every guard passed: revert."""
        assert decide(DRIFTED, Mode.ENFORCE, Guard()) == Verdict(Decision.REVERTED, True, None)

    def test_dry_run_still_says_revert(self) -> None:
        """In dry run the verdict is still revert (the executor only plans)."""
        verdict = decide(DRIFTED, Mode.ENFORCE, Guard(dry_run=True))
        assert verdict.revert and verdict.decision is Decision.REVERTED

    def test_paused_alerts(self) -> None:
        """The kill switch stops every write."""
        assert decide(DRIFTED, Mode.ENFORCE, Guard(paused=True)) == Verdict(
            Decision.ALERTED, False, "paused"
        )

    def test_own_role_is_never_managed(self) -> None:
        """driftwarden never reverts its own role or the cross-account role."""
        verdict = decide(DRIFTED, Mode.ENFORCE, Guard(self_managed=True))
        assert verdict == Verdict(Decision.ALERTED, False, "driftwarden never manages its own role")

    def test_trusted_actor_is_alerted_not_reverted(self) -> None:
        """A change by a trusted actor is reported but not reverted."""
        verdict = decide(DRIFTED, Mode.ENFORCE, Guard(trusted_actor=True))
        assert verdict == Verdict(Decision.ALERTED, False, "change by a trusted actor")

    @pytest.mark.parametrize("made", [20, 21])
    def test_revert_limit_switches_to_alert_only(self, made: int) -> None:
        """At or above the hourly limit, driftwarden alerts instead and says so."""
        verdict = decide(DRIFTED, Mode.ENFORCE, Guard(reverts_in_window=made, max_reverts=20))
        assert verdict == Verdict(
            Decision.ALERTED, False, "revert limit reached (20 per hour): alert-only"
        )

    def test_below_the_limit_reverts(self) -> None:
        """One below the limit still reverts."""
        verdict = decide(DRIFTED, Mode.ENFORCE, Guard(reverts_in_window=19, max_reverts=20))
        assert verdict.revert

    def test_flapping_resource_is_left_alone(self) -> None:
        """A resource reverted flap_threshold times recently is escalated, not reverted."""
        verdict = decide(DRIFTED, Mode.ENFORCE, Guard(resource_reverts_recent=3))
        assert verdict == Verdict(
            Decision.ALERTED,
            False,
            "flapping: reverted 3 times in 30 minutes; left alone (fight with another actor?)",
        )

    def test_below_flap_threshold_reverts(self) -> None:
        """Two recent reverts with the default threshold of three: still revert."""
        assert decide(DRIFTED, Mode.ENFORCE, Guard(resource_reverts_recent=2)).revert

    def test_missing_resource_without_recreate_alerts(self) -> None:
        """A deleted resource is reported unless the entry asks for recreation."""
        verdict = decide(result(Status.MISSING), Mode.ENFORCE, Guard())
        assert verdict == Verdict(Decision.ALERTED, False, "resource missing")

    def test_missing_resource_with_recreate_reverts(self) -> None:
        """With recreate, a deleted resource is reverted (recreated)."""
        verdict = decide(result(Status.MISSING), Mode.ENFORCE, Guard(recreate=True))
        assert verdict.revert and verdict.decision is Decision.REVERTED


EVERYTHING = Guard(
    paused=True,
    self_managed=True,
    trusted_actor=True,
    reverts_in_window=99,
    max_reverts=1,
    resource_reverts_recent=99,
)


class TestPrecedence:
    def test_in_sync_wins_over_every_mode_and_guard(self) -> None:
        """In sync is reported as such even in ignore mode with every guard tripped."""
        assert decide(result(Status.IN_SYNC), Mode.IGNORE, EVERYTHING).decision is Decision.IN_SYNC

    def test_ignore_wins_over_read_errors(self) -> None:
        """Mode ignore silences even an unreadable resource."""
        assert decide(result(Status.ERROR), Mode.IGNORE, Guard()).decision is Decision.IGNORED

    def test_read_error_wins_over_alert_mode(self) -> None:
        """An unreadable resource says so, also in alert mode."""
        verdict = decide(result(Status.ERROR), Mode.ALERT, Guard())
        assert verdict.reason == "could not read live state"

    def test_alert_mode_wins_over_guards(self) -> None:
        """In alert mode the guards are irrelevant: the reason is the mode."""
        assert decide(DRIFTED, Mode.ALERT, EVERYTHING).reason == "mode alert"

    @pytest.mark.parametrize(
        ("tripped", "reason"),
        [
            ({}, "paused"),
            ({"paused": False}, "driftwarden never manages its own role"),
            ({"paused": False, "self_managed": False}, "change by a trusted actor"),
            (
                {"paused": False, "self_managed": False, "trusted_actor": False},
                "revert limit reached (1 per hour): alert-only",
            ),
            (
                {
                    "paused": False,
                    "self_managed": False,
                    "trusted_actor": False,
                    "max_reverts": 100,
                },
                "flapping: reverted 99 times in 30 minutes; left alone (fight with another actor?)",
            ),
        ],
    )
    def test_enforce_guards_apply_in_order(self, tripped: dict[str, object], reason: str) -> None:
        """GIVEN several guards tripped WHEN deciding THEN the first in the order paused, own
        role, trusted actor, revert limit, flapping gives the reason."""
        guard = dataclasses.replace(EVERYTHING, **tripped)  # type: ignore[arg-type]
        assert decide(DRIFTED, Mode.ENFORCE, guard) == Verdict(Decision.ALERTED, False, reason)

    def test_trusted_actor_wins_over_missing(self) -> None:
        """A deletion by a trusted actor is reported as the trusted actor's change."""
        verdict = decide(result(Status.MISSING), Mode.ENFORCE, Guard(trusted_actor=True))
        assert verdict.reason == "change by a trusted actor"

    def test_missing_wins_over_limits(self) -> None:
        """Without recreate a missing resource is 'resource missing', not a limit message."""
        guard = Guard(reverts_in_window=5, max_reverts=1)
        assert decide(result(Status.MISSING), Mode.ENFORCE, guard).reason == "resource missing"
