"""The Slack channel against the loopback SlackStandIn, and secret loading on moto's server."""

from __future__ import annotations

import functools
import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.errors import NotificationError
from chalicelib.local.slack_server import SlackStandIn, render_text
from chalicelib.models import (
    ActionRecord,
    Change,
    ChangeNotice,
    Decision,
    Kind,
    Mode,
    Op,
    ResourceRef,
    ResourceResult,
    Severity,
    Status,
)
from chalicelib.notify.base import Alert
from chalicelib.notify.render import slack_blocks
from chalicelib.notify.slack import (
    SlackNotifier,
    SlackTarget,
    load_slack_secret,
    parse_slack_secret,
    secret_source,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    import boto3

ACCOUNT = "123456789012"
ACTOR = "arn:aws:sts::123456789012:assumed-role/Admin/alice"
SOURCE_IP = "203.0.113.7"
TOKEN = "xoxb-1111-2222-secretsecret"
REF = ResourceRef(Kind.IAM_ROLE, "dw-quicksight-athena", ACCOUNT, "us-east-1")


def make_alert() -> Alert:
    result = ResourceResult(
        REF,
        Mode.ENFORCE,
        Status.DRIFTED,
        (
            Change(
                "managed_policies", Op.ADD, None, ["arn:aws:iam::aws:policy/AdministratorAccess"]
            ),
        ),
    )
    notice = ChangeNotice(
        event_id="e-1",
        event_name="AttachRolePolicy",
        event_source="iam.amazonaws.com",
        account=ACCOUNT,
        region="us-east-1",
        event_time="2024-05-01T10:00:00Z",
        actor_arn=ACTOR,
        source_ip=SOURCE_IP,
    )
    return Alert(
        result=result,
        decision=Decision.REVERTED,
        summary="reverted with 1 call",
        notice=notice,
        action=ActionRecord("act-7", REF, ("iam:DetachRolePolicy",), "applied"),
        undo_command="driftwarden undo act-7",
        severity=Severity.HIGH,
    )


def bot_secret(channel: str = "#alerts") -> str:
    return json.dumps({"token": TOKEN, "channel": channel})


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as server:
        yield server


class TestWebhook:
    def test_webhook_posts_fallback_text_and_blocks(self, slack: SlackStandIn) -> None:
        """GIVEN a webhook URL WHEN an alert is sent THEN Slack receives the rendered blocks."""
        alert = make_alert()

        record = SlackNotifier(slack.url).send(alert)

        assert (record.channel, record.status) == ("slack", "sent")
        text, blocks = slack_blocks(alert)
        assert slack.messages == [{"text": text, "blocks": blocks}]

    def test_webhook_url_inside_json_secret_is_used(self, slack: SlackStandIn) -> None:
        """GIVEN a secret {"webhook_url": ...} THEN the webhook receives the message."""
        record = SlackNotifier(json.dumps({"webhook_url": slack.url})).send(make_alert())
        assert record.status == "sent"
        assert len(slack.messages) == 1

    def test_server_error_is_a_failed_record_without_the_url(self, slack: SlackStandIn) -> None:
        """GIVEN Slack answers 500 THEN send returns failed, raises nothing, leaks no URL."""
        slack.fail_next(500)

        record = SlackNotifier(slack.url).send(make_alert())

        assert record.status == "failed"
        assert record.detail is not None
        assert "500" in record.detail
        assert slack.url not in record.detail
        assert slack.messages == []

    def test_timeout_is_a_failed_record(self, slack: SlackStandIn) -> None:
        """GIVEN Slack does not answer within the timeout THEN send returns failed promptly."""
        slack.set_delay(5)
        started = time.monotonic()

        record = SlackNotifier(slack.url, timeout=1).send(make_alert())

        assert record.status == "failed"
        assert record.detail is not None and "timed out" in record.detail
        assert slack.url not in record.detail
        assert time.monotonic() - started < 4

    def test_unreachable_server_is_a_failed_record(self) -> None:
        """GIVEN nothing listens at the webhook URL THEN send returns failed."""
        with SlackStandIn() as gone:
            url = gone.url
        record = SlackNotifier(url, timeout=1).send(make_alert())
        assert record.status == "failed"
        assert record.detail is not None and url not in record.detail

    def test_rate_limit_is_retried_after_retry_after_and_delivered(
        self, slack: SlackStandIn
    ) -> None:
        """GIVEN Slack answers 429 with Retry-After 1 once THEN the post is retried and
        delivered."""
        slack.fail_next(429, retry_after=1)
        started = time.monotonic()

        record = SlackNotifier(slack.url).send(make_alert())

        assert record.status == "sent"
        assert [r.status for r in slack.requests] == [429, 200]
        assert len(slack.messages) == 1
        assert time.monotonic() - started >= 1

    def test_rate_limit_with_too_long_retry_after_fails_without_waiting(
        self, slack: SlackStandIn
    ) -> None:
        """GIVEN Retry-After above the notifier's max_wait THEN it fails at once instead of
        sleeping a Lambda for minutes."""
        slack.fail_next(429, retry_after=120)
        started = time.monotonic()

        record = SlackNotifier(slack.url, max_wait=10).send(make_alert())

        assert record.status == "failed"
        assert record.detail is not None and "429" in record.detail
        assert time.monotonic() - started < 5

    def test_plain_http_to_a_remote_host_is_refused_without_quoting_it(self) -> None:
        """GIVEN an http:// webhook on a non-loopback host THEN nothing is sent and the
        detail does not quote the URL."""
        url = "http://hooks.example.com/services/T/B/secretpart"
        record = SlackNotifier(url).send(make_alert())
        assert record.status == "failed"
        assert record.detail is not None
        assert "secretpart" not in record.detail


class TestBotToken:
    def test_bot_token_posts_chat_message_to_the_channel(self, slack: SlackStandIn) -> None:
        """GIVEN a {"token", "channel"} secret THEN chat.postMessage carries the blocks, the
        channel and the bearer token."""
        alert = make_alert()

        record = SlackNotifier(bot_secret(), api_base_url=slack.api_url).send(alert)

        assert record.status == "sent"
        (request,) = slack.requests
        assert request.path == "/api/chat.postMessage"
        assert request.authorization == f"Bearer {TOKEN}"
        text, blocks = slack_blocks(alert)
        assert request.payload["channel"] == "#alerts"
        assert request.payload["text"] == text
        assert request.payload["blocks"] == blocks

    def test_api_error_is_a_failed_record_without_the_token(self, slack: SlackStandIn) -> None:
        """GIVEN the API answers 500 THEN send returns failed and never shows the token."""
        slack.fail_next(500)

        record = SlackNotifier(bot_secret(), api_base_url=slack.api_url).send(make_alert())

        assert record.status == "failed"
        assert record.detail is not None and TOKEN not in record.detail

    def test_api_rate_limit_is_retried_and_delivered(self, slack: SlackStandIn) -> None:
        """GIVEN chat.postMessage answers 429 with Retry-After 1 once THEN it is retried."""
        slack.fail_next(429, retry_after=1)

        record = SlackNotifier(bot_secret(), api_base_url=slack.api_url).send(make_alert())

        assert record.status == "sent"
        assert [r.status for r in slack.requests] == [429, 200]


class TestSecretValues:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (
                "https://hooks.slack.com/services/T/B/X",
                SlackTarget(webhook_url="https://hooks.slack.com/services/T/B/X"),
            ),
            (
                ' {"webhook_url": "https://hooks.slack.com/services/T/B/X"} ',
                SlackTarget(webhook_url="https://hooks.slack.com/services/T/B/X"),
            ),
            (bot_secret("#sec"), SlackTarget(token=TOKEN, channel="#sec")),
            ("http://127.0.0.1:9/hook", SlackTarget(webhook_url="http://127.0.0.1:9/hook")),
        ],
    )
    def test_secret_value_forms_are_understood(self, value: str, expected: SlackTarget) -> None:
        """A URL, {"webhook_url"} and {"token", "channel"} all name a destination."""
        assert parse_slack_secret(value) == expected

    @pytest.mark.parametrize(
        "value",
        [
            "xoxb-not-json-" + TOKEN,
            '{"token": "' + TOKEN + '"}',
            '{"channel": "#a"}',
            '{"token": "' + TOKEN + '", "channel": "#a"',
            "ftp://hooks.slack.com/" + TOKEN,
            "http://10.0.0.1/" + TOKEN,
        ],
    )
    def test_unusable_secret_value_is_refused_without_quoting_it(self, value: str) -> None:
        """An unusable value raises NotificationError whose message does not contain it."""
        with pytest.raises(NotificationError) as caught:
            parse_slack_secret(value)
        assert TOKEN not in str(caught.value)

    def test_repr_hides_webhook_url_and_token(self) -> None:
        """Neither a target nor a notifier shows its secret when printed or logged."""
        secret_url = "https://hooks.slack.com/services/T/B/" + TOKEN
        shown = repr(parse_slack_secret(secret_url)) + repr(parse_slack_secret(bot_secret()))
        shown += repr(SlackNotifier(secret_url))
        assert TOKEN not in shown

    def test_secret_loader_failure_is_a_failed_record(self) -> None:
        """GIVEN a loader that cannot read the secret THEN send returns failed."""

        def broken() -> str:
            raise NotificationError("cannot read the Slack secret '/x': denied")

        record = SlackNotifier(broken).send(make_alert())
        assert (record.status, record.detail) == (
            "failed",
            "NotificationError: cannot read the Slack secret '/x': denied",
        )

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("/driftwarden/slack", ("ssm", "/driftwarden/slack")),
            ("ssm:driftwarden-slack", ("ssm", "driftwarden-slack")),
            (
                "arn:aws:ssm:us-east-1:123456789012:parameter/dw/slack",
                ("ssm", "arn:aws:ssm:us-east-1:123456789012:parameter/dw/slack"),
            ),
            ("secretsmanager:dw/slack", ("secretsmanager", "dw/slack")),
            (
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:dw-AbCdEf",
                (
                    "secretsmanager",
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:dw-AbCdEf",
                ),
            ),
            ("dw/slack", ("secretsmanager", "dw/slack")),
        ],
    )
    def test_secret_name_selects_the_store(self, name: str, expected: tuple[str, str]) -> None:
        """/ or ssm: or an SSM ARN reads Parameter Store; anything else Secrets Manager."""
        assert secret_source(name) == expected


class CallCounter:
    """Counts AWS API calls through a botocore before-call hook."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)


class TestSecretLoading:
    def test_ssm_secure_string_is_decrypted(self, session: boto3.Session) -> None:
        """GIVEN the webhook URL in an SSM SecureString THEN the plain value is returned."""
        ssm = session.client("ssm")
        url = "https://hooks.slack.com/services/T/B/ssm"
        ssm.put_parameter(Name="/driftwarden/slack", Value=url, Type="SecureString")

        assert load_slack_secret("/driftwarden/slack", ssm, None) == url

    @pytest.mark.parametrize("prefix", ["", "secretsmanager:"])
    def test_secrets_manager_secret_is_read_by_name(
        self, session: boto3.Session, prefix: str
    ) -> None:
        """GIVEN a bot-token JSON in Secrets Manager THEN it is returned by name."""
        secrets = session.client("secretsmanager")
        secrets.create_secret(Name="driftwarden/slack", SecretString=bot_secret())

        value = load_slack_secret(prefix + "driftwarden/slack", None, secrets)

        assert parse_slack_secret(value) == SlackTarget(token=TOKEN, channel="#alerts")

    def test_secrets_manager_secret_is_read_by_arn(self, session: boto3.Session) -> None:
        """GIVEN a secret's ARN THEN the secret is read from Secrets Manager."""
        secrets = session.client("secretsmanager")
        arn = secrets.create_secret(Name="dw-slack", SecretString="https://h.example/x")["ARN"]
        assert load_slack_secret(arn, None, secrets) == "https://h.example/x"

    def test_second_load_is_served_from_cache(self, session: boto3.Session) -> None:
        """GIVEN a loaded secret WHEN it is loaded again within max_age THEN no AWS call is
        made (counted with a botocore before-call hook)."""
        ssm = session.client("ssm")
        ssm.put_parameter(Name="/dw/slack", Value="https://h.example/1", Type="SecureString")
        counter = CallCounter()
        ssm.meta.events.register("before-call.ssm.*", counter)

        first = load_slack_secret("/dw/slack", ssm, None, max_age=300)
        second = load_slack_secret("/dw/slack", ssm, None, max_age=300)

        assert first == second == "https://h.example/1"
        assert counter.calls == ["GetParameter"]

    def test_missing_parameter_raises_notification_error(self, session: boto3.Session) -> None:
        """GIVEN no such parameter THEN a NotificationError names the secret, not a value."""
        with pytest.raises(NotificationError, match="/dw/absent"):
            load_slack_secret("/dw/absent", session.client("ssm"), None)

    def test_missing_client_for_the_store_raises_notification_error(self) -> None:
        """GIVEN an SSM name but no SSM client THEN NotificationError is raised."""
        with pytest.raises(NotificationError, match="no SSM client"):
            load_slack_secret("/dw/slack", None, None)

    def test_notifier_loads_secret_from_ssm_and_posts(
        self, session: boto3.Session, slack: SlackStandIn
    ) -> None:
        """GIVEN the stand-in's webhook URL stored in SSM WHEN a notifier built on
        load_slack_secret sends THEN the message arrives."""
        ssm = session.client("ssm")
        ssm.put_parameter(Name="/dw/slack-hook", Value=slack.url, Type="SecureString")
        notifier = SlackNotifier(functools.partial(load_slack_secret, "/dw/slack-hook", ssm, None))

        record = notifier.send(make_alert())

        assert record.status == "sent"
        assert len(slack.messages) == 1


class TestStandIn:
    def test_render_text_shows_a_readable_message(self, slack: SlackStandIn) -> None:
        """The demo prints who, from where, what changed and how to undo, without markup."""
        SlackNotifier(slack.url).send(make_alert())

        text = render_text(slack.messages[0])

        assert "reverted drift on iam_role/dw-quicksight-athena" in text
        assert f"Actor: {ACTOR}" in text
        assert f"Source IP: {SOURCE_IP}" in text
        assert '    + managed_policies: ["arn:aws:iam::aws:policy/AdministratorAccess"]' in text
        assert "driftwarden undo act-7" in text
        assert "```" not in text and "&gt;" not in text
        assert slack.render_text(slack.messages[0]) == text

    def test_failed_posts_are_recorded_as_requests_not_messages(self, slack: SlackStandIn) -> None:
        """A refused post shows in requests with its status, never in messages."""
        slack.fail_next(500, times=2)
        notifier = SlackNotifier(slack.url)
        notifier.send(make_alert())
        notifier.send(make_alert())
        notifier.send(make_alert())
        assert [r.status for r in slack.requests] == [500, 500, 200]
        assert len(slack.messages) == 1
