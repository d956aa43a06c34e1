"""The SNS channel: publishes the rendered alert to a topic through an injected client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.models import NotificationRecord
from chalicelib.notify.base import SENT, Alert, failed
from chalicelib.notify.render import sns_message

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

logger = Logger(service="driftwarden")


class SnsNotifier:
    """Publishes each alert to one SNS topic (``Subject``, JSON ``Message``, attributes).

    Parameters
    ----------
    sns
        An SNS client (built by ``wiring``; any endpoint, e.g. the local emulator).
    topic_arn
        The topic to publish to.
    name
        The channel name used in ``NotificationRecord`` (default ``"sns"``).

    Example
    -------
    >>> notifier = SnsNotifier(session.client("sns"), topic_arn)  # doctest: +SKIP
    >>> notifier.send(alert).status  # doctest: +SKIP
    'sent'
    """

    def __init__(self, sns: SNSClient, topic_arn: str, *, name: str = "sns") -> None:
        self.name = name
        self._sns = sns
        self._topic_arn = topic_arn

    def send(self, alert: Alert) -> NotificationRecord:
        """Publish ``alert``; a failure becomes a ``failed`` record, never an exception."""
        message = sns_message(alert)
        attributes: Any = {k: dict(v) for k, v in message.attributes.items()}
        try:
            response = self._sns.publish(
                TopicArn=self._topic_arn,
                Subject=message.subject,
                Message=message.body,
                MessageAttributes=attributes,
            )
        except (ClientError, BotoCoreError) as err:
            logger.warning("notification failed", extra={"channel": self.name, "error": str(err)})
            return failed(self.name, err)
        message_id = str(response.get("MessageId", ""))
        logger.info("notification sent", extra={"channel": self.name, "message_id": message_id})
        return NotificationRecord(self.name, SENT, f"message {message_id}" if message_id else None)


__all__ = ["SnsNotifier"]
