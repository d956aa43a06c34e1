"""The action journal on S3 (moto's server) and on disk, and undo end to end on moto IAM."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.collectors.iam import IamCollector
from chalicelib.diff.engine import compare
from chalicelib.errors import JournalError
from chalicelib.models import DesiredResource, Kind, LiveResource, Mode, ResourceRef, Status
from chalicelib.remediation.executors import IamExecutor
from chalicelib.remediation.journal import (
    ActionNotFoundError,
    ActionStatus,
    DirectoryJournal,
    JournalEntry,
    S3Journal,
    count_reverts,
    new_action_id,
    open_journal,
)
from chalicelib.remediation.planner import PlanStep, plan_revert, undo_plan
from tests.conftest import ACCOUNT, REGION

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import boto3

    from chalicelib.remediation.journal import Journal

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
BUCKET = "driftwarden-journal"
ROLE = "analytics-reader"
REF = ResourceRef(Kind.IAM_ROLE, ROLE, ACCOUNT, REGION)
STEP = PlanStep(
    "iam:DeleteRolePolicy", {"RoleName": ROLE, "PolicyName": "backdoor"}, "delete backdoor"
)
STATE: dict[str, Any] = {"inline_policies": {"backdoor": {"Statement": []}}, "tags": {"a": "1"}}


def fixed_bytes(value: int) -> Callable[[int], bytes]:
    return lambda n: value.to_bytes(n, "big")


def entry(at: datetime = T0, n: int = 1, ref: ResourceRef = REF) -> JournalEntry:
    live = LiveResource(ref, exists=True, state=STATE)
    return JournalEntry.intent(
        new_action_id(at, fixed_bytes(n)),
        at,
        live,
        [STEP],
        event={"event_id": "e-1", "event_name": "PutRolePolicy"},
        actor="arn:aws:iam::123456789012:user/mallory",
    )


@pytest.fixture
def s3(session: boto3.Session) -> Any:
    return session.client("s3")


@pytest.fixture(params=["s3", "directory"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Journal:
    """The same tests run against S3Journal (moto) and DirectoryJournal (tmp dir)."""
    if request.param == "s3":
        client = request.getfixturevalue("s3")
        client.create_bucket(Bucket=BUCKET)
        return S3Journal(client, BUCKET, "dw/prod", clock=lambda: T0 + timedelta(seconds=5))
    return DirectoryJournal(tmp_path / "journal", clock=lambda: T0 + timedelta(seconds=5))


class TestRoundTrip:
    def test_begin_then_get_returns_the_pending_intent(self, journal: Journal) -> None:
        """What begin writes, get returns unchanged (pending, no outcome yet)."""
        first = entry()
        journal.begin(first)
        got = journal.get(first.action_id)
        assert got == first
        assert got.status is ActionStatus.PENDING
        assert got.steps == (STEP,)

    def test_finish_merges_the_outcome(self, journal: Journal) -> None:
        """finish records after-state, status, calls and time; get merges them in."""
        first = entry()
        journal.begin(first)
        journal.finish(
            first.action_id, {"tags": {}}, ActionStatus.APPLIED, ["iam:DeleteRolePolicy"]
        )
        got = journal.get(first.action_id)
        assert got.status is ActionStatus.APPLIED
        assert got.calls == ("iam:DeleteRolePolicy",)
        assert got.after == {"tags": {}}
        assert got.finished_at == T0 + timedelta(seconds=5)
        assert got.before == {"exists": True, "state": STATE}

    def test_failure_is_recorded_with_its_error(self, journal: Journal) -> None:
        """A failed action keeps the calls made and the error text."""
        first = entry()
        journal.begin(first)
        journal.finish(first.action_id, None, "failed", ["iam:DeleteRolePolicy"], "boom")
        got = journal.get(first.action_id)
        assert (got.status, got.error, got.after) == (ActionStatus.FAILED, "boom", None)

    def test_mark_undone_marks_the_original(self, journal: Journal) -> None:
        """After an undo the original reads as undone, naming the undo action."""
        first = entry()
        journal.begin(first)
        journal.finish(first.action_id, None, ActionStatus.APPLIED, [])
        undo_id = new_action_id(T0 + timedelta(minutes=1), fixed_bytes(9))
        journal.mark_undone(first.action_id, undo_id)
        got = journal.get(first.action_id)
        assert got.status is ActionStatus.UNDONE and got.undone_by == undo_id


class TestNeverOverwrites:
    def test_begin_of_an_existing_action_fails_and_keeps_the_original(
        self, journal: Journal
    ) -> None:
        """A second begin with the same action id is refused; the first record stays."""
        first = entry()
        journal.begin(first)
        clash = JournalEntry.intent(
            first.action_id, T0, LiveResource(REF, exists=False), [], actor="someone-else"
        )
        with pytest.raises(JournalError, match="already exists"):
            journal.begin(clash)
        assert journal.get(first.action_id) == first

    def test_second_finish_is_refused(self, journal: Journal) -> None:
        """An outcome is written once."""
        first = entry()
        journal.begin(first)
        journal.finish(first.action_id, None, ActionStatus.APPLIED, [])
        with pytest.raises(JournalError, match="already exists"):
            journal.finish(first.action_id, None, ActionStatus.FAILED, [], "late")
        assert journal.get(first.action_id).status is ActionStatus.APPLIED

    def test_finish_of_an_unknown_action_is_refused(self, journal: Journal) -> None:
        """No outcome without an intent."""
        with pytest.raises(ActionNotFoundError):
            journal.finish(entry().action_id, None, ActionStatus.APPLIED, [])


class TestLookup:
    def test_unknown_action_is_not_found(self, journal: Journal) -> None:
        """get of an id that was never begun raises ActionNotFoundError."""
        with pytest.raises(ActionNotFoundError):
            journal.get(entry().action_id)

    @pytest.mark.parametrize("bad", ["../../etc/passwd", "act-x", "act-20260501T120000Z-XYZ"])
    def test_malformed_action_id_is_not_found(self, journal: Journal, bad: str) -> None:
        """Ids are checked before any path or key is built from them."""
        with pytest.raises(ActionNotFoundError, match="not an action id"):
            journal.get(bad)

    def test_recent_lists_actions_since_oldest_first(self, journal: Journal) -> None:
        """GIVEN actions at T0-2h, T0-30min and T0 WHEN asking for the last hour THEN the
        two recent ones come back, oldest first, with their outcomes."""
        old, mid, new = (
            entry(T0 - timedelta(hours=2), 1),
            entry(T0 - timedelta(minutes=30), 2),
            entry(T0, 3),
        )
        for item in (new, old, mid):
            journal.begin(item)
        journal.finish(mid.action_id, None, ActionStatus.APPLIED, ["iam:DeleteRolePolicy"])
        got = journal.recent(T0 - timedelta(hours=1))
        assert [e.action_id for e in got] == [mid.action_id, new.action_id]
        assert got[0].status is ActionStatus.APPLIED

    def test_recent_includes_an_action_at_exactly_since(self, journal: Journal) -> None:
        """The window is inclusive at the second the listing starts."""
        at = entry(T0)
        journal.begin(at)
        assert [e.action_id for e in journal.recent(T0)] == [at.action_id]

    def test_recent_of_an_empty_journal_is_empty(self, journal: Journal) -> None:
        """Nothing written yet: no entries (and no error)."""
        assert journal.recent(T0) == []


class TestUnwritable:
    def test_missing_bucket_is_a_journal_error(self, s3: Any) -> None:
        """A journal whose bucket does not exist cannot be begun: JournalError, so no revert."""
        journal = S3Journal(s3, "no-such-bucket", "dw")
        with pytest.raises(JournalError, match="NoSuchBucket"):
            journal.begin(entry())

    def test_directory_that_cannot_be_created_is_a_journal_error(self, tmp_path: Path) -> None:
        """A journal path that is a file cannot hold records: JournalError."""
        blocker = tmp_path / "journal"
        blocker.write_text("not a directory")
        with pytest.raises(JournalError, match="cannot write"):
            DirectoryJournal(blocker).begin(entry())


def test_s3_layout_is_intent_and_outcome_under_the_prefix(s3: Any) -> None:
    """Records are ``<prefix>/actions/<id>/intent.json`` and ``outcome.json`` (JSON)."""
    s3.create_bucket(Bucket=BUCKET)
    journal = S3Journal(s3, BUCKET, "dw/prod/")
    first = entry()
    journal.begin(first)
    journal.finish(first.action_id, None, ActionStatus.APPLIED, [])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    base = f"dw/prod/actions/{first.action_id}"
    assert keys == [f"{base}/intent.json", f"{base}/outcome.json"]
    body = json.loads(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())
    assert body["status"] == "pending" and body["resource"]["id"] == ROLE


def test_directory_layout_matches_s3(tmp_path: Path) -> None:
    """On disk the same relative layout is used, with no temporary files left behind."""
    journal = DirectoryJournal(tmp_path)
    first = entry()
    journal.begin(first)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == [f"actions/{first.action_id}/intent.json"]


class TestHelpers:
    def test_action_ids_are_sortable_by_time(self) -> None:
        """Ids start with the UTC time, so sorting ids sorts by creation."""
        early = new_action_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), fixed_bytes(0xFFFFFFFF))
        late = new_action_id(datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC), fixed_bytes(0))
        assert early == "act-20260102T030405Z-ffffffff"
        assert sorted([late, early]) == [early, late]

    def test_open_journal_parses_s3_and_directory_locations(self, tmp_path: Path) -> None:
        """``s3://bucket/prefix`` gives an S3Journal (client built lazily), else a directory."""
        made: list[str] = []

        def factory() -> Any:
            made.append("s3")
            return object()

        s3_journal = open_journal("s3://bucket/a/b/", factory)
        assert isinstance(s3_journal, S3Journal)
        assert (s3_journal.bucket, s3_journal.prefix) == ("bucket", "a/b")
        directory = open_journal(str(tmp_path), factory)
        assert isinstance(directory, DirectoryJournal) and made == ["s3"]
        with pytest.raises(JournalError, match="no bucket"):
            open_journal("s3://", factory)

    def test_count_reverts_counts_the_window_and_this_resource(self) -> None:
        """Attempted reverts in the hour count toward the limit; those of this resource in
        30 minutes toward flapping; dry runs and undos count for neither."""
        other = ResourceRef(Kind.IAM_ROLE, "other", ACCOUNT, REGION)
        entries = [
            entry(T0 - timedelta(minutes=50), 1),
            entry(T0 - timedelta(minutes=10), 2),
            entry(T0 - timedelta(minutes=5), 3, other),
            JournalEntry.intent(
                new_action_id(T0, fixed_bytes(4)),
                T0,
                LiveResource(REF, True),
                [],
                dry_run=True,
            ),
            JournalEntry.intent(
                new_action_id(T0, fixed_bytes(5)),
                T0,
                LiveResource(REF, True),
                [],
                undoes="act-20260501T110000Z-00000001",
            ),
        ]
        assert count_reverts(entries, REF, T0) == (3, 1)


# ------------------------------------------------------------------------- undo on moto

TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "quicksight.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
READ: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "athena:GetQueryResults", "Resource": "*"}],
}
WRITE: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}],
}


def test_undo_restores_the_drifted_state_exactly(session: boto3.Session, tmp_path: Path) -> None:
    """GIVEN a drifted role reverted with a journal WHEN the action is undone THEN the role
    is exactly as before the revert (the drift is back) and the original reads as undone."""
    iam = session.client("iam")
    iam.create_role(
        RoleName=ROLE,
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Tags=[{"Key": "team", "Value": "analytics"}],
    )
    iam.put_role_policy(RoleName=ROLE, PolicyName="read", PolicyDocument=json.dumps(READ))
    spec = {"trust_policy": TRUST, "inline_policies": {"read": READ}, "tags": {"team": "analytics"}}
    want = DesiredResource(REF, Mode.ENFORCE, spec, "policies/role.yaml")
    # the drift: a backdoor policy and a changed tag
    iam.put_role_policy(RoleName=ROLE, PolicyName="backdoor", PolicyDocument=json.dumps(WRITE))
    iam.tag_role(RoleName=ROLE, Tags=[{"Key": "team", "Value": "intruder"}])
    collector, executor = IamCollector(iam), IamExecutor(iam)
    journal = DirectoryJournal(tmp_path / "journal")

    # the revert, journaled before the write
    drifted = collector.read(REF)
    steps = plan_revert(want, drifted)
    revert = JournalEntry.intent(new_action_id(T0, fixed_bytes(1)), T0, drifted, steps)
    journal.begin(revert)
    calls = executor.apply(steps)
    journal.finish(revert.action_id, collector.read(REF).state, ActionStatus.APPLIED, calls)
    assert compare(want, collector.read(REF)).status is Status.IN_SYNC

    # the undo
    original = journal.get(revert.action_id)
    current = collector.read(REF)
    undo_steps = undo_plan(original, current)
    later = T0 + timedelta(minutes=2)
    undo = JournalEntry.intent(
        new_action_id(later, fixed_bytes(2)), later, current, undo_steps, undoes=revert.action_id
    )
    journal.begin(undo)
    undo_calls = executor.apply(undo_steps)
    journal.finish(undo.action_id, collector.read(REF).state, ActionStatus.APPLIED, undo_calls)
    journal.mark_undone(revert.action_id, undo.action_id)

    restored = collector.read(REF)
    assert restored.state == drifted.state
    saved = DesiredResource(REF, Mode.ENFORCE, original.before["state"], "journal")
    assert compare(saved, restored).status is Status.IN_SYNC
    assert journal.get(revert.action_id).status is ActionStatus.UNDONE
    assert sorted(undo_calls) == ["iam:PutRolePolicy", "iam:TagRole"]
