"""Fuzzing ``Responder.handle_event``: end to end against a seeded moto account, and at volume
against an in-memory account (see ``fuzz.py`` for the strategies and the oracle).

Each run counts crashes, wrong routes and writes made where none were allowed, adds them to
the session's figures, and fails if any is not zero. The number of events comes from
``RELIABILITY_FUZZ_E2E_EVENTS`` (default 300) and ``RELIABILITY_FUZZ_EVENTS`` (default 500);
``reliability/run.py --events N`` raises them for the long run. The seed comes from
``RELIABILITY_FUZZ_SEED``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from hypothesis import given, seed

from chalicelib.models import (
    ActionRecord,
    Decision,
    Kind,
    Mode,
    ResourceRef,
    ResourceResult,
    Status,
)
from chalicelib.respond import EventOutcome, ResourceResponse
from tests.conftest import ACCOUNT, REGION
from tests.events import api_call
from tests.fakes import CallLog, RecordingNotifier, build_wiring
from tests.reliability.figures import CaseFigures
from tests.reliability.fuzz import (
    BY_REF,
    DEFAULT_E2E_EVENTS,
    DEFAULT_FAST_EVENTS,
    DEFAULT_SEED,
    E2E_EVENTS_ENV,
    FAST_EVENTS_ENV,
    SEED_ENV,
    SELF_ARN,
    SELF_ROLE,
    TRUSTED_ARN,
    TRUSTED_ROLE,
    Check,
    DriftAction,
    FakeAccount,
    FuzzStats,
    drift_actions,
    env_int,
    equivalent_inline,
    fast_responder,
    fuzz_events,
    fuzz_settings,
)

ZERO = {"crashes": 0, "wrong_routes": 0, "forbidden_writes": 0}


def drift_in_moto(iam: Any, action: DriftAction, drifted: set[ResourceRef]) -> None:
    """Apply ``action`` to a role in moto through a client driftwarden does not watch."""
    if action.what == "none" or action.target is None:
        return
    role = action.target.id
    try:
        if action.what == "drift":
            iam.put_role_policy(
                RoleName=role, PolicyName="fuzz-extra", PolicyDocument=json.dumps(action.document)
            )
            drifted.add(action.target)
        elif BY_REF[action.target].spec.get("inline_policies"):
            name, document = equivalent_inline(BY_REF[action.target], action.seed)
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
    except ClientError:  # a document IAM refuses is no drift at all
        return


def settle(outcome: Any, drifted: set[ResourceRef]) -> None:
    """Forget drifts the outcome shows are gone (reverted, or found in sync)."""
    if outcome is None:
        return
    for response in outcome.responses:
        ref = response.result.ref
        reverted = response.action is not None and response.action.status == "applied"
        if reverted or response.result.status is Status.IN_SYNC:
            drifted.discard(ref)


def test_fuzzed_events_end_to_end_against_moto_make_no_forbidden_write(
    seeded: Path, session: boto3.Session, journal: str, figures: CaseFigures
) -> None:
    """GIVEN a seeded moto account, a trusted actor and driftwarden's own role configured,
    and before each event maybe a real drift or an equivalent rewrite of a role's policy
    WHEN hundreds of fuzzed events (mutated real samples, events aimed at the registry and at
    near-misses of its names, fuzzed policy documents) go through ``handle_event`` THEN
    nothing escapes, every routed resource is one the route table allows for the event, and
    IAM/QuickSight/Clean Rooms writes happen only for an enforce resource the event names
    that really drifted, changed by someone other than driftwarden or a trusted actor."""
    wiring = build_wiring(
        session, seeded, journal=journal, trusted_actors=(TRUSTED_ARN,), self_arns=(SELF_ARN,)
    )
    wiring.notifiers = [RecordingNotifier()]
    log = CallLog()
    for service in ("iam", "quicksight", "cleanrooms"):
        log.watch(wiring.client(service))
    iam = session.client("iam")
    stats = FuzzStats()
    check = Check(stats)
    drifted: set[ResourceRef] = set()
    examples = env_int(E2E_EVENTS_ENV, DEFAULT_E2E_EVENTS)

    @fuzz_settings(examples)
    @seed(env_int(SEED_ENV, DEFAULT_SEED))
    @given(raw=fuzz_events(), action=drift_actions(kinds=[Kind.IAM_ROLE]))
    def one(raw: Any, action: DriftAction) -> None:
        drift_in_moto(iam, action, drifted)
        start = len(log.writes)
        outcome = check.event(
            wiring.responder.handle_event,
            raw,
            set(drifted),
            lambda: [(None, call) for call in log.writes[start:]],
        )
        settle(outcome, drifted)

    one()
    figures.fuzzed(stats, end_to_end=True)

    assert stats.events >= examples * 0.9
    assert stats.problems() == ZERO, stats.examples
    assert stats.decisions["ignored"] > 0 and stats.decisions["in_sync"] > 0


def test_fuzzed_events_in_memory_make_no_forbidden_write(
    tmp_path: Path, figures: CaseFigures
) -> None:
    """GIVEN the real registry, planner, safety rules, journal and responder over an
    in-memory account (time advancing 7 minutes an event, so the hourly limits do not stop
    reverts) WHEN thousands of fuzzed events arrive, with real drifts and equivalent
    rewrites of every kind in between THEN nothing escapes, nothing is routed where the route
    table does not allow, no write is made where none is allowed, and real drifts the
    events name are reverted."""
    account = FakeAccount()
    now = [datetime(2026, 1, 1, tzinfo=UTC)]

    def clock() -> datetime:
        return now[0]

    responder = fast_responder(account, tmp_path / "journal", clock)
    stats = FuzzStats()
    check = Check(stats)
    examples = env_int(FAST_EVENTS_ENV, DEFAULT_FAST_EVENTS)

    @fuzz_settings(examples)
    @seed(env_int(SEED_ENV, DEFAULT_SEED) + 1)
    @given(raw=fuzz_events(), action=drift_actions())
    def one(raw: Any, action: DriftAction) -> None:
        now[0] += timedelta(minutes=7)
        account.apply(action)
        check.event(responder.handle_event, raw, set(account.drifted), account.take_writes)

    one()
    figures.fuzzed(stats, end_to_end=False)

    assert stats.events >= examples * 0.9
    assert stats.problems() == ZERO, stats.examples
    assert stats.writes > 0, "no fuzzed event ever reverted a real drift"


# ---------------------------------------------------------------------------------------------
# the oracle itself: it must see what it is there to see


def _outcome(ref: ResourceRef, action_calls: tuple[str, ...] | None = None) -> EventOutcome:
    result = ResourceResult(ref, Mode.ENFORCE, Status.DRIFTED)
    action = None if action_calls is None else ActionRecord("act-x", ref, action_calls, "applied")
    response = ResourceResponse(result, Decision.REVERTED, None, action)
    return EventOutcome("e", Decision.REVERTED, None, (response,))


ATHENA_REF = ResourceRef(Kind.IAM_ROLE, "dw-quicksight-athena", ACCOUNT, REGION)
S3_REF = ResourceRef(Kind.IAM_ROLE, "dw-quicksight-s3", ACCOUNT, REGION)


class TestOracle:
    def test_a_write_on_a_resource_that_did_not_drift_is_counted(self) -> None:
        """GIVEN a handler that 'reverts' the role an event names although it had not
        drifted WHEN checked THEN one forbidden write; the same with the drift: none."""
        stats = FuzzStats()
        event = put_event_for("dw-quicksight-athena")

        def handle(raw: Any) -> EventOutcome:
            return _outcome(ATHENA_REF, ("iam:DeleteRolePolicy",))

        Check(stats).event(handle, event, set(), lambda: [(ATHENA_REF, "iam:DeleteRolePolicy")])
        Check(stats).event(
            handle, event, {ATHENA_REF}, lambda: [(ATHENA_REF, "iam:DeleteRolePolicy")]
        )

        assert (stats.forbidden_writes, stats.writes) == (1, 2)

    def test_a_resource_the_event_does_not_name_is_a_wrong_route(self) -> None:
        """GIVEN a handler answering for another role than the event names, or for a failed
        call WHEN checked THEN each is a wrong route, and a write there is forbidden."""
        stats = FuzzStats()

        def handle(raw: Any) -> EventOutcome:
            return _outcome(S3_REF, ("iam:DeleteRolePolicy",))

        Check(stats).event(
            handle,
            put_event_for("dw-quicksight-athena"),
            {S3_REF},
            lambda: [(None, "iam:DeleteRolePolicy")],
        )
        Check(stats).event(
            handle, put_event_for("dw-quicksight-s3", error_code="AccessDenied"), {S3_REF}, list
        )

        assert (stats.wrong_routes, stats.forbidden_writes) == (2, 1)

    def test_an_exception_or_an_unserialisable_outcome_is_a_crash(self) -> None:
        """GIVEN a handler that raises, and one whose outcome cannot be rendered as JSON WHEN
        checked THEN two crashes are counted, with the inputs kept for reproduction."""
        stats = FuzzStats()

        def boom(raw: Any) -> EventOutcome:
            raise KeyError("detail")

        class Unrenderable:
            decision = Decision.IGNORED
            responses = ()

            def to_json(self) -> Any:
                return {"x": object()}

        Check(stats).event(boom, {"detail": 1}, set(), list)
        Check(stats).event(lambda raw: Unrenderable(), {"detail": 2}, set(), list)

        assert stats.crashes == 2
        assert len(stats.examples["crashes"]) == 2

    def test_changes_by_driftwarden_or_a_trusted_actor_may_not_be_written(self) -> None:
        """GIVEN a real drift WHEN the event's actor is driftwarden's role or the trusted
        one THEN a write is forbidden; by anyone else it is allowed."""
        stats = FuzzStats()

        def handle(raw: Any) -> EventOutcome:
            return _outcome(ATHENA_REF, ("iam:DeleteRolePolicy",))

        for actor in (SELF_ROLE, TRUSTED_ROLE, "platform-admin"):
            Check(stats).event(
                handle,
                put_event_for("dw-quicksight-athena", actor_role=actor),
                {ATHENA_REF},
                lambda: [(ATHENA_REF, "iam:DeleteRolePolicy")],
            )

        assert stats.forbidden_writes == 2


def put_event_for(role: str, **kwargs: Any) -> dict[str, Any]:
    return api_call(
        "aws.iam",
        "PutRolePolicy",
        {"roleName": role, "policyName": "x", "policyDocument": "{}"},
        **kwargs,
    )
