"""Pure rendering of alerts: fingerprint, SNS message, Slack Block Kit message."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.models import (
    ActionRecord,
    Change,
    ChangeNotice,
    Decision,
    Finding,
    Kind,
    Mode,
    Op,
    ResourceRef,
    ResourceResult,
    Severity,
    Status,
)
from chalicelib.notify.base import Alert
from chalicelib.notify.render import (
    DIFF_LINE_LIMIT,
    MAX_BLOCKS,
    REDACTED,
    SECTION_TEXT_LIMIT,
    SNS_BODY_LIMIT,
    SUBJECT_LIMIT,
    default_severity,
    diff_lines,
    fingerprint,
    redact,
    slack_blocks,
    sns_message,
    subject,
)

ACCOUNT = "123456789012"
ACTOR = "arn:aws:sts::123456789012:assumed-role/Admin/alice"
SOURCE_IP = "203.0.113.7"
PASSWORD = "hunter2-very-secret"
REF = ResourceRef(Kind.IAM_ROLE, "dw-quicksight-athena", ACCOUNT, "us-east-1")

CHANGES = (
    Change(
        "trust.Statement[0].Condition",
        Op.REMOVE,
        {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        None,
    ),
    Change("max_session_duration", Op.CHANGE, 3600, 43200),
    Change("managed_policies", Op.ADD, None, ["arn:aws:iam::aws:policy/AdministratorAccess"]),
)
FINDINGS = (Finding("qs_role_untrusted", Severity.HIGH, "trust policy lacks quicksight"),)


def make_notice(**overrides: Any) -> ChangeNotice:
    fields: dict[str, Any] = {
        "event_id": "6d1c6f2e-0000-4000-8000-000000000001",
        "event_name": "UpdateAssumeRolePolicy",
        "event_source": "iam.amazonaws.com",
        "account": ACCOUNT,
        "region": "us-east-1",
        "event_time": "2024-05-01T10:00:00Z",
        "actor_arn": ACTOR,
        "source_ip": SOURCE_IP,
    }
    fields.update(overrides)
    return ChangeNotice(**fields)


def make_alert(
    changes: tuple[Change, ...] = CHANGES,
    findings: tuple[Finding, ...] = FINDINGS,
    **overrides: Any,
) -> Alert:
    result = ResourceResult(REF, Mode.ENFORCE, Status.DRIFTED, changes, findings)
    fields: dict[str, Any] = {
        "result": result,
        "decision": Decision.REVERTED,
        "summary": "reverted with 2 calls",
        "notice": make_notice(),
        "action": ActionRecord(
            "act-20240501-0001",
            REF,
            ("iam:UpdateAssumeRolePolicy", "iam:DetachRolePolicy"),
            "applied",
        ),
        "undo_command": "driftwarden undo act-20240501-0001",
        "severity": Severity.HIGH,
    }
    fields.update(overrides)
    return Alert(**fields)


def all_slack_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    texts += [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    return texts


class TestSubject:
    def test_subject_names_what_was_done_and_the_resource(self) -> None:
        """GIVEN a reverted drift WHEN the SNS message is rendered THEN the subject says so."""
        assert sns_message(make_alert()).subject == (
            "[driftwarden] reverted drift on iam_role/dw-quicksight-athena"
        )

    @pytest.mark.parametrize(
        ("decision", "status", "changes", "expected"),
        [
            (Decision.ALERTED, Status.DRIFTED, CHANGES, "drift on iam_role/"),
            (Decision.ALERTED, Status.MISSING, (), "iam_role/dw-quicksight-athena is missing"),
            (Decision.ALERTED, Status.DRIFTED, (), "findings on iam_role/"),
            (Decision.FAILED, Status.DRIFTED, CHANGES, "revert failed on iam_role/"),
            (Decision.FAILED, Status.ERROR, (), "could not check iam_role/"),
            (Decision.IN_SYNC, Status.IN_SYNC, (), "is in sync"),
        ],
    )
    def test_subject_headline_follows_decision_and_status(
        self, decision: Decision, status: Status, changes: tuple[Change, ...], expected: str
    ) -> None:
        """Each decision/status pair reads as a distinct, accurate headline."""
        result = ResourceResult(REF, Mode.ALERT, status, changes, FINDINGS)
        alert = make_alert(result=result, decision=decision)
        assert expected in subject(alert)

    def test_subject_is_short_single_line_ascii_for_hostile_ids(self) -> None:
        """GIVEN a resource id with newlines, non-ASCII and 300 characters
        THEN the subject stays within SNS limits."""
        ref = ResourceRef(
            Kind.QUICKSIGHT_DATA_SOURCE, "ds\nnäme-" + "x" * 300, ACCOUNT, "eu-west-1"
        )
        result = ResourceResult(ref, Mode.ALERT, Status.DRIFTED, CHANGES)
        text = subject(make_alert(result=result, decision=Decision.ALERTED))
        assert len(text) <= SUBJECT_LIMIT
        assert "\n" not in text and "\r" not in text
        assert text.isascii()
        assert text.endswith("...")


class TestSnsBody:
    def test_body_is_the_audit_entry_plus_event_actor_and_action(self) -> None:
        """GIVEN an event-driven revert WHEN rendered THEN the JSON body carries the
        report entry, the event, the actor, the decision, the action and the undo command."""
        alert = make_alert()
        body = json.loads(sns_message(alert).body)
        assert {k: body[k] for k in ("kind", "id", "account", "region", "mode", "status")} == {
            "kind": "iam_role",
            "id": "dw-quicksight-athena",
            "account": ACCOUNT,
            "region": "us-east-1",
            "mode": "enforce",
            "status": "drifted",
        }
        assert body["changes"] == [c.to_json() for c in CHANGES]
        assert body["findings"] == [f.to_json() for f in FINDINGS]
        assert body["event"] == {
            "id": "6d1c6f2e-0000-4000-8000-000000000001",
            "name": "UpdateAssumeRolePolicy",
            "source": "iam.amazonaws.com",
            "time": "2024-05-01T10:00:00Z",
            "source_ip": SOURCE_IP,
        }
        assert body["actor"] == ACTOR
        assert body["decision"] == "reverted"
        assert body["severity"] == "high"
        assert body["summary"] == "reverted with 2 calls"
        assert body["action"] == {
            "action_id": "act-20240501-0001",
            "resource": "iam_role/dw-quicksight-athena",
            "calls": ["iam:UpdateAssumeRolePolicy", "iam:DetachRolePolicy"],
            "status": "applied",
        }
        assert body["undo"] == "driftwarden undo act-20240501-0001"
        assert body["reason"] is None
        assert body["fingerprint"] == fingerprint(alert)

    def test_sweep_alert_has_null_event_and_actor_and_a_reason(self) -> None:
        """GIVEN drift found by a sweep in alert mode THEN event and actor are null and the
        reason for not reverting is given."""
        alert = make_alert(
            notice=None,
            action=None,
            undo_command=None,
            decision=Decision.ALERTED,
            reason="mode is alert",
        )
        body = json.loads(sns_message(alert).body)
        assert body["event"] is None
        assert body["actor"] is None
        assert body["action"] is None
        assert body["undo"] is None
        assert body["reason"] == "mode is alert"

    def test_message_attributes_are_strings_for_severity_kind_and_decision(self) -> None:
        """Attributes let subscribers filter on severity, resource kind and decision."""
        attributes = sns_message(make_alert()).attributes
        assert attributes["severity"] == {"DataType": "String", "StringValue": "high"}
        assert attributes["kind"] == {"DataType": "String", "StringValue": "iam_role"}
        assert attributes["decision"] == {"DataType": "String", "StringValue": "reverted"}
        assert all(v["DataType"] == "String" and v["StringValue"] for v in attributes.values())

    def test_huge_diff_body_stays_within_the_sns_size_limit(self) -> None:
        """GIVEN changes whose values total megabytes THEN the body still fits in one SNS
        message, stays valid JSON and says it was truncated."""
        big = {"Statement": [{"Sid": f"s{i}", "Action": "s3:GetObject" * 20} for i in range(500)]}
        changes = tuple(Change(f"inline_policies.p{i}", Op.ADD, None, big) for i in range(20))

        body_text = sns_message(make_alert(changes=changes)).body

        assert len(body_text.encode("utf-8")) <= SNS_BODY_LIMIT
        body = json.loads(body_text)
        assert body["changes_truncated"] is True
        assert [c["path"] for c in body["changes"]] == [c.path for c in changes]


class TestFingerprint:
    def test_same_drift_has_same_fingerprint_whatever_event_actor_time_or_wording(self) -> None:
        """Redelivered or repeated events of the same drift collapse to one key."""
        first = make_alert()
        second = make_alert(
            notice=make_notice(
                event_id="another", actor_arn="arn:aws:iam::1:user/bob", event_time="later"
            ),
            summary="reverted with 3 calls",
            decision=Decision.ALERTED,
            action=None,
        )
        sweep = make_alert(notice=None)
        assert fingerprint(first) == fingerprint(second) == fingerprint(sweep)

    def test_fingerprint_ignores_order_of_changes_and_findings(self) -> None:
        """Changes and findings are compared as sets."""
        findings = (*FINDINGS, Finding("other", Severity.LOW, "x"))
        a = make_alert(changes=CHANGES, findings=findings)
        b = make_alert(changes=tuple(reversed(CHANGES)), findings=tuple(reversed(findings)))
        assert fingerprint(a) == fingerprint(b)

    @pytest.mark.parametrize(
        "other",
        [
            make_alert(changes=CHANGES[:2]),
            make_alert(changes=(*CHANGES[:2], dataclasses.replace(CHANGES[2], live=["x"]))),
            make_alert(findings=()),
            make_alert(
                result=ResourceResult(
                    dataclasses.replace(REF, id="other-role"),
                    Mode.ENFORCE,
                    Status.DRIFTED,
                    CHANGES,
                    FINDINGS,
                )
            ),
        ],
        ids=["fewer-changes", "other-live-value", "no-findings", "other-resource"],
    )
    def test_different_drift_has_different_fingerprint(self, other: Alert) -> None:
        """A different resource, change set or finding set is a new drift."""
        assert fingerprint(other) != fingerprint(make_alert())


class TestSlackBlocks:
    def test_blocks_say_who_from_where_what_changed_and_how_to_undo(self) -> None:
        """The on-call sees the actor, source IP, event, diff, action and undo command."""
        text, blocks = slack_blocks(make_alert())
        everything = all_slack_text(blocks)
        assert blocks[0]["type"] == "header"
        assert "reverted drift on iam_role/dw-quicksight-athena" in blocks[0]["text"]["text"]
        assert ACTOR in everything
        assert SOURCE_IP in everything
        assert "iam:UpdateAssumeRolePolicy" in everything
        assert "2024-05-01T10:00:00Z" in everything
        assert "driftwarden undo act-20240501-0001" in everything
        assert "act-20240501-0001 (applied)" in everything
        assert "qs_role_untrusted" in everything
        assert text.startswith("[driftwarden] reverted drift on iam_role/dw-quicksight-athena")
        assert ACTOR in text

    def test_diff_block_uses_tilde_plus_minus_lines_in_a_code_block(self) -> None:
        """Each change is one compact line: ~ changed, + added live, - removed desired."""
        _, blocks = slack_blocks(make_alert())
        diff = next(t for t in section_texts(blocks) if t.startswith("*What changed*"))
        assert "```" in diff
        assert '- trust.Statement[0].Condition: {"StringEquals":{"aws:SourceAccount":' in diff
        assert "~ max_session_duration: 3600 -&gt; 43200" in diff
        assert '+ managed_policies: ["arn:aws:iam::aws:policy/AdministratorAccess"]' in diff

    def test_long_diff_is_cut_with_a_count_of_the_rest(self) -> None:
        """GIVEN 40 changes THEN 15 lines are shown, the last saying how many more."""
        changes = tuple(Change(f"tags.k{i:02d}", Op.ADD, None, f"v{i}") for i in range(40))
        lines = diff_lines(changes)
        assert len(lines) == DIFF_LINE_LIMIT
        assert lines[-1] == f"… {40 - DIFF_LINE_LIMIT + 1} more"
        _, blocks = slack_blocks(make_alert(changes=changes))
        assert "… 26 more" in all_slack_text(blocks)
        assert "tags.k39" not in all_slack_text(blocks)

    def test_long_multiline_value_is_compacted_to_one_cut_line(self) -> None:
        """A large policy document becomes one line of bounded length."""
        doc = {"Statement": [{"Effect": "Allow", "Action": f"s3:Get{i}\n"} for i in range(200)]}
        (line,) = diff_lines((Change("inline_policies.big", Op.ADD, None, doc),))
        assert "\n" not in line
        assert len(line) < 200
        assert line.endswith("…")

    def test_sweep_alert_says_found_by_a_sweep(self) -> None:
        """GIVEN no CloudTrail event THEN the message says the sweep found it."""
        text, blocks = slack_blocks(make_alert(notice=None))
        assert "found by a sweep" in all_slack_text(blocks)
        assert "scheduled sweep" in all_slack_text(blocks)
        assert " by " not in text.split(":")[0]

    def test_reason_for_not_reverting_is_shown(self) -> None:
        """An alert-only decision explains why nothing was reverted."""
        alert = make_alert(decision=Decision.ALERTED, action=None, reason="actor is trusted")
        _, blocks = slack_blocks(alert)
        assert "not reverted: actor is trusted" in all_slack_text(blocks)

    def test_mrkdwn_control_characters_are_escaped(self) -> None:
        """< > & from live values cannot inject Slack links or mentions."""
        changes = (Change("description", Op.CHANGE, "a", "<!channel> & <http://evil|x>"),)
        _, blocks = slack_blocks(make_alert(changes=changes))
        diff = next(t for t in section_texts(blocks) if t.startswith("*What changed*"))
        assert "<!channel>" not in diff
        assert "&lt;!channel&gt; &amp; &lt;http://evil|x&gt;" in diff

    @settings(max_examples=200, deadline=None)
    @given(
        changes=st.lists(
            st.builds(
                Change,
                path=st.text(min_size=1, max_size=300),
                op=st.sampled_from(list(Op)),
                desired=st.one_of(st.none(), st.text(max_size=2000), st.integers()),
                live=st.one_of(st.none(), st.text(max_size=2000), st.lists(st.text(max_size=50))),
            ),
            max_size=60,
        ),
        findings=st.lists(
            st.builds(
                Finding,
                code=st.text(min_size=1, max_size=40),
                severity=st.sampled_from(list(Severity)),
                message=st.text(max_size=1000),
            ),
            max_size=40,
        ),
        summary=st.text(max_size=4000),
        resource_id=st.text(min_size=1, max_size=500),
    )
    def test_any_alert_respects_slack_limits(
        self,
        changes: list[Change],
        findings: list[Finding],
        summary: str,
        resource_id: str,
    ) -> None:
        """Whatever the input, sections stay within 3000 characters, fields within 2000,
        the header within 150 and the message within 50 blocks."""
        result = ResourceResult(
            dataclasses.replace(REF, id=resource_id),
            Mode.ALERT,
            Status.DRIFTED,
            tuple(changes),
            tuple(findings),
        )
        alert = make_alert(result=result, summary=summary, undo_command="driftwarden undo x")
        text, blocks = slack_blocks(alert)
        assert len(blocks) <= MAX_BLOCKS
        assert len(blocks[0]["text"]["text"]) <= 150
        for block in blocks:
            if block["type"] == "section" and "text" in block:
                assert len(block["text"]["text"]) <= SECTION_TEXT_LIMIT
            for field in block.get("fields", []):
                assert len(field["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        assert len(text) <= 500
        assert len(subject(alert)) <= SUBJECT_LIMIT


class TestSecrets:
    def quicksight_alert(self) -> Alert:
        ref = ResourceRef(Kind.QUICKSIGHT_DATA_SOURCE, "sales-athena", ACCOUNT, "us-east-1")
        changes = (
            Change(
                "Credentials.CredentialPair.Password",
                Op.CHANGE,
                "old-" + PASSWORD,
                PASSWORD,
            ),
            Change(
                "parameters",
                Op.CHANGE,
                {"RoleArn": "arn:aws:iam::123456789012:role/a"},
                {
                    "RoleArn": "arn:aws:iam::123456789012:role/b",
                    "Credentials": {"CredentialPair": {"Username": "u", "Password": PASSWORD}},
                },
            ),
        )
        result = ResourceResult(ref, Mode.ENFORCE, Status.DRIFTED, changes)
        return make_alert(result=result)

    def test_quicksight_credentials_never_reach_sns(self) -> None:
        """GIVEN a change that carries credential values THEN the SNS body redacts them."""
        message = sns_message(self.quicksight_alert())
        assert PASSWORD not in message.body + message.subject + json.dumps(message.attributes)
        body = json.loads(message.body)
        assert body["changes"][0]["live"] == REDACTED
        assert body["changes"][1]["live"]["Credentials"] == REDACTED
        assert body["changes"][1]["live"]["RoleArn"].endswith("role/b")

    def test_quicksight_credentials_never_reach_slack(self) -> None:
        """GIVEN a change that carries credential values THEN the Slack blocks redact them."""
        text, blocks = slack_blocks(self.quicksight_alert())
        assert PASSWORD not in text + all_slack_text(blocks)
        assert f"Credentials.CredentialPair.Password: {REDACTED} -> {REDACTED}".replace(
            ">", "&gt;"
        ) in all_slack_text(blocks)

    def test_redact_replaces_credential_like_keys_at_any_depth(self) -> None:
        """Token, webhook URL, password and secret-ARN keys are replaced; others kept."""
        value = {"a": [{"token": "xoxb-1", "webhook_url": "https://h"}], "SecretArn": "arn", "b": 1}
        assert redact(value) == {
            "a": [{"token": REDACTED, "webhook_url": REDACTED}],
            "SecretArn": REDACTED,
            "b": 1,
        }


class TestDefaultSeverity:
    @pytest.mark.parametrize(
        ("status", "changes", "findings", "decision", "expected"),
        [
            (Status.IN_SYNC, (), (), Decision.IN_SYNC, Severity.INFO),
            (Status.DRIFTED, CHANGES, (), Decision.ALERTED, Severity.MEDIUM),
            (Status.MISSING, (), (), Decision.ALERTED, Severity.MEDIUM),
            (Status.DRIFTED, CHANGES, (), Decision.FAILED, Severity.HIGH),
            (
                Status.DRIFTED,
                CHANGES,
                (Finding("x", Severity.CRITICAL, "m"),),
                Decision.REVERTED,
                Severity.CRITICAL,
            ),
        ],
    )
    def test_default_severity_is_the_highest_of_findings_and_floor(
        self,
        status: Status,
        changes: tuple[Change, ...],
        findings: tuple[Finding, ...],
        decision: Decision,
        expected: Severity,
    ) -> None:
        """Drift is at least medium, a failed revert at least high, findings can raise it."""
        result = ResourceResult(REF, Mode.ENFORCE, status, changes, findings)
        assert default_severity(result, decision) is expected


class TestScopeAlert:
    """An alert about the registry rather than one resource (a sweep that cannot start)."""

    def _alert(self) -> Alert:
        return Alert(
            result=None,
            decision=Decision.FAILED,
            summary="sweep skipped: the registry is unusable",
            severity=Severity.HIGH,
            reason="registry unusable, nothing written: bad YAML",
            scope="registry s3://bucket/registry",
        )

    def test_sns_message_names_the_registry_and_the_reason(self) -> None:
        message = sns_message(self._alert())
        body = json.loads(message.body)
        assert "registry s3://bucket/registry" in message.subject
        assert body["scope"] == "registry s3://bucket/registry"
        assert body["error"] == "registry unusable, nothing written: bad YAML"
        assert message.attributes["kind"]["StringValue"] == "registry"

    def test_slack_blocks_say_what_was_done(self) -> None:
        text, blocks = slack_blocks(self._alert())
        assert "registry s3://bucket/registry" in text
        rendered = json.dumps(blocks)
        assert "nothing written" in rendered

    def test_fingerprint_is_stable(self) -> None:
        assert fingerprint(self._alert()) == fingerprint(self._alert())
