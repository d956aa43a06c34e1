"""The Slack channel (incoming webhook or bot token, via slack_sdk) and its secret loading.

The Slack secret (``DRIFTWARDEN_SLACK_SECRET``) names an SSM parameter or a Secrets Manager
secret whose value is one of:

- a webhook URL: ``https://hooks.slack.com/services/...``;
- JSON ``{"webhook_url": "https://..."}``;
- JSON ``{"token": "xoxb-...", "channel": "#alerts"}`` (bot token, ``chat.postMessage``).

Secret values never appear in messages, logs, records or reprs. URLs must use ``https``;
``http`` is accepted only for loopback hosts (the local stand-in and tests).
"""

from __future__ import annotations

import http.client
import json
import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from chalicelib.errors import NotificationError
from chalicelib.models import NotificationRecord
from chalicelib.notify.base import SENT, Alert, failed
from chalicelib.notify.render import slack_blocks

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient
    from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState

logger = Logger(service="driftwarden")

#: How long a loaded Slack secret is reused before it is read again (seconds).
DEFAULT_SECRET_MAX_AGE = 300
DEFAULT_API_BASE_URL = "https://slack.com/api/"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# slack_sdk logs request details (URL, headers) at DEBUG: keep its logger above that so a
# webhook URL or token can never reach the logs, whatever the root level is.
_SDK_LOGGER = logging.getLogger("chalicelib.notify.slack.sdk")
_SDK_LOGGER.setLevel(logging.WARNING)

_SSM_PROVIDERS: weakref.WeakKeyDictionary[object, parameters.SSMProvider] = (
    weakref.WeakKeyDictionary()
)
_SECRETS_PROVIDERS: weakref.WeakKeyDictionary[object, parameters.SecretsProvider] = (
    weakref.WeakKeyDictionary()
)


# --------------------------------------------------------------------------------------------
# Secret: where it lives, how it loads, what it holds


@dataclass(frozen=True, slots=True, repr=False)
class SlackTarget:
    """Where a message goes: a webhook URL, or a bot token plus channel. Its repr hides both."""

    webhook_url: str | None = None
    token: str | None = None
    channel: str | None = None

    def __repr__(self) -> str:
        if self.webhook_url:
            return "SlackTarget(webhook=***)"
        return f"SlackTarget(token=***, channel={self.channel!r})"

    @property
    def secrets(self) -> tuple[str | None, str | None]:
        """The values that must be masked in any error detail."""
        return self.webhook_url, self.token


def secret_source(name: str) -> tuple[Literal["ssm", "secretsmanager"], str]:
    """Which store holds the secret called ``name``, and its name there.

    ``/path`` or ``ssm:name`` or an ``arn:...:ssm:...`` ARN is an SSM parameter;
    ``secretsmanager:name`` or an ``arn:...:secretsmanager:...`` ARN is a Secrets Manager
    secret; any other bare name is taken as a Secrets Manager secret name.

    Raises
    ------
    NotificationError
        The name is empty.
    """
    name = name.strip()
    if name.startswith("ssm:"):
        source: Literal["ssm", "secretsmanager"] = "ssm"
        name = name[len("ssm:") :]
    elif name.startswith("secretsmanager:"):
        source = "secretsmanager"
        name = name[len("secretsmanager:") :]
    elif name.startswith("/") or (name.startswith("arn:") and name.split(":")[2:3] == ["ssm"]):
        source = "ssm"
    else:
        source = "secretsmanager"
    if not name:
        raise NotificationError("the Slack secret name is empty")
    return source, name


def load_slack_secret(
    name: str,
    ssm_client: SSMClient | None,
    secrets_client: SecretsManagerClient | None,
    *,
    max_age: int = DEFAULT_SECRET_MAX_AGE,
) -> str:
    """Read the Slack secret from SSM (decrypting a SecureString) or Secrets Manager.

    Values are cached per client for ``max_age`` seconds (powertools parameters providers),
    so a warm Lambda container reads the store at most once per ``max_age``.

    Parameters
    ----------
    name
        The secret's name as in ``DRIFTWARDEN_SLACK_SECRET`` (see ``secret_source``).
    ssm_client, secrets_client
        Clients for the two stores; only the one the name needs is used.
    max_age
        Cache lifetime in seconds.

    Raises
    ------
    NotificationError
        The name is empty, the needed client is missing, or the store cannot be read.

    Example
    -------
    >>> load = functools.partial(load_slack_secret, name, ssm, secretsmanager)  # doctest: +SKIP
    >>> SlackNotifier(load)  # doctest: +SKIP
    """
    source, key = secret_source(name)
    try:
        if source == "ssm":
            if ssm_client is None:
                raise NotificationError("no SSM client to read the Slack secret")
            ssm_provider = _SSM_PROVIDERS.get(ssm_client)
            if ssm_provider is None:
                ssm_provider = parameters.SSMProvider(boto3_client=ssm_client)
                _SSM_PROVIDERS[ssm_client] = ssm_provider
            value = ssm_provider.get(key, max_age=max_age, decrypt=True)
        else:
            if secrets_client is None:
                raise NotificationError("no Secrets Manager client to read the Slack secret")
            sm_provider = _SECRETS_PROVIDERS.get(secrets_client)
            if sm_provider is None:
                sm_provider = parameters.SecretsProvider(boto3_client=secrets_client)
                _SECRETS_PROVIDERS[secrets_client] = sm_provider
            value = sm_provider.get(key, max_age=max_age)
    except parameters.GetParameterError as err:
        raise NotificationError(f"cannot read the Slack secret {name!r}: {err}") from err
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str) or not value.strip():
        raise NotificationError(f"the Slack secret {name!r} is empty")
    return value.strip()


def clear_secret_cache() -> None:
    """Forget every cached Slack secret (e.g. after rotating it)."""
    for provider in [*_SSM_PROVIDERS.values(), *_SECRETS_PROVIDERS.values()]:
        provider.clear_cache()  # type: ignore[no-untyped-call]


def parse_slack_secret(value: str) -> SlackTarget:
    """Turn a secret value into a ``SlackTarget``.

    Raises
    ------
    NotificationError
        The value is neither a usable URL nor JSON with ``webhook_url`` or ``token`` and
        ``channel``. The message never quotes the value.
    """
    value = value.strip()
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            raise NotificationError("the Slack secret is not valid JSON") from None
        if not isinstance(data, dict):
            raise NotificationError("the Slack secret JSON must be an object")
        url = data.get("webhook_url")
        token = data.get("token")
        if isinstance(url, str) and url.strip():
            return SlackTarget(webhook_url=check_slack_url(url.strip()))
        if isinstance(token, str) and token.strip():
            channel = data.get("channel")
            if not isinstance(channel, str) or not channel.strip():
                raise NotificationError("the Slack secret has a token but no channel")
            return SlackTarget(token=token.strip(), channel=channel.strip())
        raise NotificationError("the Slack secret JSON has neither 'webhook_url' nor 'token'")
    if value.lower().startswith(("https://", "http://")):
        return SlackTarget(webhook_url=check_slack_url(value))
    raise NotificationError("the Slack secret is neither a webhook URL nor JSON")


def check_slack_url(url: str) -> str:
    """``url`` when it is ``https``, or ``http`` on a loopback host.

    Raises
    ------
    NotificationError
        Any other scheme or host; the message does not quote the URL.
    """
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return url
    raise NotificationError("a Slack URL must use https (http is allowed on loopback only)")


# --------------------------------------------------------------------------------------------
# Retry handlers


class BoundedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's rate-limit retry (sleeps ``Retry-After``), skipped when the wait is too long.

    A Lambda must not sleep a minute for Slack: a ``Retry-After`` above ``max_wait`` seconds
    makes the delivery fail instead.
    """

    def __init__(self, max_retry_count: int = 1, max_wait: int = 10) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        if response is None:  # the parent only retries a 429 response
            return False
        for key, values in response.headers.items():
            if key.lower() == "retry-after" and values:
                try:
                    return int(values[0]) <= self.max_wait
                except ValueError:
                    return False
        return True


def retry_handlers(max_retries: int = 1, max_wait: int = 10) -> list[RetryHandler]:
    """Connection-error and rate-limit retry handlers for both Slack clients."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=1),
        BoundedRateLimitRetryHandler(max_retry_count=max_retries, max_wait=max_wait),
    ]


# --------------------------------------------------------------------------------------------
# The notifier


class SlackNotifier:
    """Posts each alert to Slack as a Block Kit message.

    Parameters
    ----------
    secret
        The secret *value* (webhook URL or JSON, see the module docstring), or a zero-argument
        callable returning it (read at each send, e.g. a ``functools.partial`` of
        ``load_slack_secret``, so that a rotated or unreadable secret is handled per message).
    api_base_url
        Slack Web API base URL for bot tokens (a loopback stand-in in tests).
    timeout
        Seconds to wait for Slack on each attempt.
    max_retries
        How many times a rate-limited (HTTP 429) post is retried.
    max_wait
        Longest ``Retry-After`` (seconds) worth waiting for.
    name
        The channel name used in ``NotificationRecord`` (default ``"slack"``).

    Example
    -------
    >>> SlackNotifier("https://hooks.slack.com/services/T/B/X").send(alert)  # doctest: +SKIP
    NotificationRecord(channel='slack', status='sent', detail=None)
    """

    def __init__(
        self,
        secret: str | Callable[[], str],
        *,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout: int = 5,
        max_retries: int = 1,
        max_wait: int = 10,
        name: str = "slack",
    ) -> None:
        self.name = name
        self._secret = secret
        self._api_base_url = check_slack_url(api_base_url)
        self._timeout = timeout
        self._handlers = retry_handlers(max_retries, max_wait)
        self._client: tuple[SlackTarget, WebhookClient | WebClient] | None = None

    def __repr__(self) -> str:
        return f"SlackNotifier(name={self.name!r})"

    def target(self) -> SlackTarget:
        """The current destination (loads and parses the secret).

        Raises
        ------
        NotificationError
            The secret cannot be loaded or has no usable value.
        """
        value = self._secret() if callable(self._secret) else self._secret
        return parse_slack_secret(value)

    def send(self, alert: Alert) -> NotificationRecord:
        """Post ``alert``; any failure becomes a ``failed`` record, never an exception."""
        try:
            target = self.target()
        except NotificationError as err:
            logger.warning("notification failed", extra={"channel": self.name, "error": str(err)})
            return failed(self.name, err)
        text, blocks = slack_blocks(alert)
        try:
            client = self._client_for(target)
            if isinstance(client, WebhookClient):
                response = client.send(text=text, blocks=blocks)
                if response.status_code != 200:
                    body = (response.body or "").strip()[:80]
                    record = failed(
                        self.name, f"webhook answered HTTP {response.status_code}: {body}"
                    )
                    return self._log(record)
            else:
                client.chat_postMessage(channel=target.channel or "", text=text, blocks=blocks)
        except SlackApiError as err:
            error = err.response.get("error") if err.response is not None else None
            status = getattr(err.response, "status_code", "?")
            detail = f"Slack API answered HTTP {status}: {error or 'error'}"
            return self._log(failed(self.name, detail))
        except (SlackClientError, OSError, http.client.HTTPException, ValueError) as err:
            return self._log(failed(self.name, err, *target.secrets))
        logger.info("notification sent", extra={"channel": self.name})
        return NotificationRecord(self.name, SENT)

    def _log(self, record: NotificationRecord) -> NotificationRecord:
        logger.warning("notification failed", extra={"channel": self.name, "error": record.detail})
        return record

    def _client_for(self, target: SlackTarget) -> WebhookClient | WebClient:
        if self._client is not None and self._client[0] == target:
            return self._client[1]
        client: WebhookClient | WebClient
        if target.webhook_url:
            client = WebhookClient(
                target.webhook_url,
                timeout=self._timeout,
                retry_handlers=self._handlers,
                logger=_SDK_LOGGER,
            )
        else:
            client = WebClient(
                token=target.token,
                base_url=self._api_base_url,
                timeout=self._timeout,
                retry_handlers=self._handlers,
                logger=_SDK_LOGGER,
            )
        self._client = (target, client)
        return client


__all__ = [
    "DEFAULT_SECRET_MAX_AGE",
    "BoundedRateLimitRetryHandler",
    "SlackNotifier",
    "SlackTarget",
    "check_slack_url",
    "clear_secret_cache",
    "load_slack_secret",
    "parse_slack_secret",
    "retry_handlers",
    "secret_source",
]
