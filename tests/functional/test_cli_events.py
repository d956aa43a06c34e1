"""``driftwarden handle-event``, ``sweep`` and ``undo`` through ``cli.main`` against moto's server:
the public ``--json`` shape, the exit codes of PRODUCT.md, dry run, and undo restoring the
state the journal saved before a revert, exactly."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.config import Settings
from chalicelib.models import Kind, ResourceRef
from chalicelib.wiring import Wiring
from tests.conftest import ACCOUNT, REGION, ROOT, run_cli
from tests.events import api_call
from tests.fakes import policy_doc, reset_emulator

ATHENA_ROLE = "dw-quicksight-athena"
REDSHIFT_ROLE = "dw-quicksight-redshift"
RESULTS_POLICY = f"arn:aws:iam::{ACCOUNT}:policy/dw-athena-results-bucket"
WIDE = policy_doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
INVALID = ROOT / "tests" / "data" / "registries" / "invalid"
OUTCOME_KEYS = {"event_id", "decision", "resources", "actions", "notifications"}
ACTION_KEYS = {"action_id", "resource", "calls", "status"}


@pytest.fixture(autouse=True)
def _leave_emulator_clean(moto_endpoint: str) -> Iterator[None]:
    """Wipe moto after each test (its state is process-wide; see ``reset_emulator``)."""
    yield
    reset_emulator(moto_endpoint)


@pytest.fixture
def journal_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``DRIFTWARDEN_JOURNAL`` in a temporary directory (never the working tree's default)."""
    path = tmp_path / "journal"
    monkeypatch.setenv("DRIFTWARDEN_JOURNAL", str(path))
    return path


@pytest.fixture
def cli_env(seeded: Path, journal_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seeded account as the CLI's registry (through DRIFTWARDEN_REGISTRY)."""
    monkeypatch.setenv("DRIFTWARDEN_REGISTRY", str(seeded))
    return seeded


def drift(session: boto3.Session, role: str = ATHENA_ROLE) -> None:
    session.client("iam").put_role_policy(
        RoleName=role, PolicyName="temp-debug", PolicyDocument=WIDE
    )


def event(role: str = ATHENA_ROLE, **kwargs: Any) -> dict[str, Any]:
    return api_call(
        "aws.iam",
        "PutRolePolicy",
        {"roleName": role, "policyName": "temp-debug", "policyDocument": WIDE},
        **kwargs,
    )


def write_event(tmp_path: Path, raw: Any, name: str = "event.json") -> str:
    path = tmp_path / name
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw))
    return str(path)


def inline_names(session: boto3.Session, role: str = ATHENA_ROLE) -> list[str]:
    return list(session.client("iam").list_role_policies(RoleName=role)["PolicyNames"])


class TestHandleEventJson:
    def test_revert_has_the_public_shape_and_exit_0(
        self, cli_env: Path, session: boto3.Session, tmp_path: Path
    ) -> None:
        """GIVEN enforce drift and its event in a file WHEN ``handle-event FILE --json`` runs
        THEN it prints the PRODUCT.md shape, decision reverted, and exits 0."""
        drift(session)

        run = run_cli("handle-event", write_event(tmp_path, event()), "--json")

        assert run.code == 0, run.err
        payload = run.json()
        assert set(payload) >= OUTCOME_KEYS
        assert payload["decision"] == "reverted"
        assert payload["event_id"] == event()["detail"]["eventID"]
        (resource,) = payload["resources"]
        assert {"kind", "id", "account", "region", "mode", "status", "changes", "findings"} <= (
            set(resource)
        )
        (action,) = payload["actions"]
        assert set(action) == ACTION_KEYS
        assert action["calls"] == ["iam:DeleteRolePolicy"]
        assert action["status"] == "applied"
        assert action["resource"] == f"iam_role/{ATHENA_ROLE}"
        assert payload["notifications"] == []
        assert inline_names(session) == ["athena-query"]

    def test_stdin_is_read_with_a_dash(
        self,
        cli_env: Path,
        session: boto3.Session,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """GIVEN the event on standard input WHEN ``handle-event - --json`` runs THEN it is
        processed like a file."""
        drift(session)
        monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(event())))

        run = run_cli("handle-event", "-", "--json")

        assert run.code == 0, run.err
        assert run.json()["decision"] == "reverted"

    def test_alerted_exits_3(self, cli_env: Path, session: boto3.Session, tmp_path: Path) -> None:
        """GIVEN drift on an alert-mode role WHEN its event is handled THEN exit 3, no action."""
        drift(session, REDSHIFT_ROLE)

        run = run_cli("handle-event", write_event(tmp_path, event(REDSHIFT_ROLE)), "--json")

        assert run.code == 3, run.err
        assert run.json()["decision"] == "alerted"
        assert run.json()["actions"] == []

    def test_in_sync_exits_0(self, cli_env: Path, tmp_path: Path) -> None:
        """GIVEN no drift WHEN an event for a managed role is handled THEN in_sync, exit 0."""
        run = run_cli("handle-event", write_event(tmp_path, event()), "--json")

        assert run.code == 0, run.err
        assert run.json()["decision"] == "in_sync"

    @pytest.mark.parametrize(
        ("raw", "reason"),
        [
            (event("someone-elses-role"), "not managed"),
            (event(error_code="AccessDenied"), "errorCode"),
            ('{"version": "0", "detail": {"eventName": "PutRol', "malformed"),
        ],
        ids=["unmanaged", "failed-call", "truncated-json"],
    )
    def test_ignored_exits_0_with_a_reason(
        self, raw: Any, reason: str, cli_env: Path, tmp_path: Path
    ) -> None:
        """GIVEN an event that must not be acted on WHEN it is handled THEN ignored with a
        reason, exit 0."""
        run = run_cli("handle-event", write_event(tmp_path, raw), "--json")

        assert run.code == 0, run.err
        payload = run.json()
        assert payload["decision"] == "ignored"
        assert reason in payload["reason"]

    def test_unusable_registry_fails_with_exit_1(
        self, seeded: Path, journal_dir: Path, session: boto3.Session, tmp_path: Path
    ) -> None:
        """GIVEN an invalid registry WHEN an event is handled THEN decision failed, exit 1,
        and nothing is reverted."""
        drift(session)

        run = run_cli(
            "handle-event", write_event(tmp_path, event()), "--registry", str(INVALID), "--json"
        )

        assert run.code == 1, run.out
        assert run.json()["decision"] == "failed"
        assert "temp-debug" in inline_names(session)

    def test_dry_run_flag_plans_and_writes_nothing(
        self, cli_env: Path, journal_dir: Path, session: boto3.Session, tmp_path: Path
    ) -> None:
        """GIVEN enforce drift WHEN ``handle-event --dry-run`` runs THEN the revert is planned
        (status planned), the drift stays, no journal record is written, and exit is 3."""
        drift(session)

        run = run_cli("handle-event", write_event(tmp_path, event()), "--dry-run", "--json")

        assert run.code == 3, run.err
        (action,) = run.json()["actions"]
        assert action["status"] == "planned"
        assert action["calls"] == ["iam:DeleteRolePolicy"]
        assert "temp-debug" in inline_names(session)
        assert not journal_dir.exists() or not any(journal_dir.rglob("*.json"))

    def test_unreadable_file_is_an_error(self, cli_env: Path, tmp_path: Path) -> None:
        """GIVEN a path that does not exist WHEN handle-event runs THEN exit 1 with a message."""
        run = run_cli("handle-event", str(tmp_path / "missing.json"))

        assert run.code == 1
        assert "missing.json" in run.err

    def test_readable_output_names_the_decision(
        self, cli_env: Path, session: boto3.Session, tmp_path: Path
    ) -> None:
        """GIVEN enforce drift WHEN handle-event runs without --json THEN the terminal output
        names the event and the resource."""
        drift(session)

        run = run_cli("handle-event", write_event(tmp_path, event()))

        assert run.code == 0, run.err
        assert event()["detail"]["eventID"] in run.out
        assert ATHENA_ROLE in run.out


class TestSweep:
    def test_alert_drift_left_in_place_exits_3(self, cli_env: Path, session: boto3.Session) -> None:
        """GIVEN drift on an enforce role and on an alert role WHEN ``sweep`` runs THEN the
        enforce role is reverted, the alert role is left, and the exit code is 3."""
        drift(session, ATHENA_ROLE)
        drift(session, REDSHIFT_ROLE)

        run = run_cli("sweep", "--json")

        assert run.code == 3, run.err
        decisions = {r["id"]: r["decision"] for r in run.json()["resources"]}
        assert decisions[ATHENA_ROLE] == "reverted"
        assert decisions[REDSHIFT_ROLE] == "alerted"
        assert inline_names(session, ATHENA_ROLE) == ["athena-query"]
        assert "temp-debug" in inline_names(session, REDSHIFT_ROLE)

    def test_only_enforce_drift_is_reverted_and_exits_0(
        self, cli_env: Path, session: boto3.Session
    ) -> None:
        """GIVEN drift only on enforce entries WHEN sweep runs THEN all is reverted, exit 0."""
        drift(session, ATHENA_ROLE)

        run = run_cli("sweep", "--json")

        assert run.code == 0, run.err
        assert run.json()["decision"] == "reverted"

    def test_dry_run_sweep_writes_nothing_and_exits_3(
        self, cli_env: Path, session: boto3.Session
    ) -> None:
        """GIVEN enforce drift WHEN ``sweep --dry-run`` runs THEN the revert is only planned,
        the drift stays, and the exit code is 3."""
        drift(session, ATHENA_ROLE)

        run = run_cli("sweep", "--dry-run", "--json")

        assert run.code == 3, run.err
        assert [a["status"] for a in run.json()["actions"]] == ["planned"]
        assert "temp-debug" in inline_names(session, ATHENA_ROLE)

    def test_unusable_registry_exits_1(self, aws: str, journal_dir: Path) -> None:
        """GIVEN an invalid registry WHEN sweep runs THEN exit 1 with the problems listed."""
        run = run_cli("sweep", "--registry", str(INVALID))

        assert run.code == 1
        assert "error" in run.err


# ---------------------------------------------------------------------------------------------
# undo


def _extra_inline(session: boto3.Session) -> None:
    drift(session)


def _detach(session: boto3.Session) -> None:
    session.client("iam").detach_role_policy(RoleName=ATHENA_ROLE, PolicyArn=RESULTS_POLICY)


def _widen_trust(session: boto3.Session) -> None:
    session.client("iam").update_assume_role_policy(
        RoleName=ATHENA_ROLE,
        PolicyDocument=policy_doc(
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
        ),
    )


def _retag(session: boto3.Session) -> None:
    session.client("iam").tag_role(
        RoleName=ATHENA_ROLE,
        Tags=[{"Key": "team", "Value": "marketing"}, {"Key": "ticket", "Value": "OPS-1"}],
    )


def _new_policy_version(session: boto3.Session) -> None:
    session.client("iam").create_policy_version(
        PolicyArn=RESULTS_POLICY, PolicyDocument=WIDE, SetAsDefault=True
    )


def _repoint_data_source(session: boto3.Session) -> None:
    session.client("quicksight").update_data_source(
        AwsAccountId=ACCOUNT,
        DataSourceId="dw-sales-athena",
        Name="Sales (Athena) renamed",
        DataSourceParameters={
            "AthenaParameters": {
                "WorkGroup": "primary",
                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/service-role/dw-quicksight-s3",
            }
        },
    )


UNDO_CASES: dict[str, tuple[Callable[[boto3.Session], None], dict[str, Any], ResourceRef]] = {
    "inline policy added": (
        _extra_inline,
        event(),
        ResourceRef(Kind.IAM_ROLE, ATHENA_ROLE, ACCOUNT, REGION),
    ),
    "managed policy detached": (
        _detach,
        api_call(
            "aws.iam", "DetachRolePolicy", {"roleName": ATHENA_ROLE, "policyArn": RESULTS_POLICY}
        ),
        ResourceRef(Kind.IAM_ROLE, ATHENA_ROLE, ACCOUNT, REGION),
    ),
    "trust policy widened": (
        _widen_trust,
        api_call("aws.iam", "UpdateAssumeRolePolicy", {"roleName": ATHENA_ROLE}),
        ResourceRef(Kind.IAM_ROLE, ATHENA_ROLE, ACCOUNT, REGION),
    ),
    "tags changed": (
        _retag,
        api_call("aws.iam", "TagRole", {"roleName": ATHENA_ROLE}),
        ResourceRef(Kind.IAM_ROLE, ATHENA_ROLE, ACCOUNT, REGION),
    ),
    "policy version": (
        _new_policy_version,
        api_call("aws.iam", "CreatePolicyVersion", {"policyArn": RESULTS_POLICY}),
        ResourceRef(Kind.IAM_POLICY, RESULTS_POLICY, ACCOUNT, REGION),
    ),
    "data source re-pointed": (
        _repoint_data_source,
        api_call(
            "aws.quicksight",
            "UpdateDataSource",
            {"awsAccountId": ACCOUNT, "dataSourceId": "dw-sales-athena"},
        ),
        ResourceRef(Kind.QUICKSIGHT_DATA_SOURCE, "dw-sales-athena", ACCOUNT, REGION),
    ),
}


def live_state(session: boto3.Session, ref: ResourceRef) -> Any:
    """The live state of ``ref`` as the journal records it (JSON round trip)."""
    wiring = Wiring(Settings(), session)
    live = wiring.collectors[ref.kind].read(ref, None)
    return json.loads(json.dumps({"exists": live.exists, "state": dict(live.state)}, default=str))


class TestUndo:
    @pytest.mark.parametrize("name", list(UNDO_CASES))
    def test_undo_restores_the_drifted_state_exactly_and_marks_the_action(
        self, name: str, cli_env: Path, journal_dir: Path, session: boto3.Session, tmp_path: Path
    ) -> None:
        """GIVEN a drift reverted by handle-event WHEN ``driftwarden undo ACTION_ID`` runs THEN
        the live state equals the journal's ``before`` exactly, and the original action is
        marked undone by the undo's action."""
        make_drift, raw, ref = UNDO_CASES[name]
        make_drift(session)
        drifted = live_state(session, ref)
        handled = run_cli("handle-event", write_event(tmp_path, raw), "--json")
        assert handled.code == 0, handled.out + handled.err
        action_id = next(
            a["action_id"] for a in handled.json()["actions"] if a["resource"] == str(ref)
        )
        assert live_state(session, ref) != drifted

        run = run_cli("undo", action_id, "--json")

        assert run.code == 0, run.err
        assert run.json()["undone"] == action_id
        undo_id = run.json()["action"]["action_id"]
        journal = Wiring(Settings(journal=str(journal_dir)), session).journal
        assert journal is not None
        original = journal.get(action_id)
        assert json.loads(json.dumps(original.before)) == drifted
        assert live_state(session, ref) == drifted
        assert str(original.status) == "undone"
        assert original.undone_by == undo_id
        assert journal.get(undo_id).undoes == action_id

    def test_unknown_action_id_exits_1(self, cli_env: Path) -> None:
        """GIVEN no such action WHEN undo runs THEN exit 1 naming the id."""
        run = run_cli("undo", "act-20240101T000000Z-00000000")

        assert run.code == 1
        assert "act-20240101T000000Z-00000000" in run.err

    def test_second_undo_of_the_same_action_is_refused(
        self, cli_env: Path, session: boto3.Session, tmp_path: Path
    ) -> None:
        """GIVEN an action already undone WHEN undo runs again THEN exit 1 and the live state
        is not touched a second time."""
        drift(session)
        handled = run_cli("handle-event", write_event(tmp_path, event()), "--json")
        action_id = handled.json()["actions"][0]["action_id"]
        assert run_cli("undo", action_id).code == 0
        session.client("iam").delete_role_policy(RoleName=ATHENA_ROLE, PolicyName="temp-debug")

        run = run_cli("undo", action_id)

        assert run.code == 1
        assert "already undone" in run.err
        assert inline_names(session) == ["athena-query"]
