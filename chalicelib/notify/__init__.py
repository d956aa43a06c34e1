"""Notifications: the ``Alert`` contract, pure rendering, and the SNS and Slack channels.

Only the stdlib-only parts are re-exported here, so importing the package stays cheap; import
the channels from their modules: ``notify.sns.SnsNotifier``, ``notify.slack.SlackNotifier``,
``notify.dedup.DynamoDedupStore`` / ``MemoryDedupStore``.
"""

from __future__ import annotations

from chalicelib.notify.base import (
    DEFAULT_DEDUP_WINDOW_SECONDS,
    FAILED,
    SENT,
    SUPPRESSED,
    Alert,
    Notifier,
    dispatch,
)
from chalicelib.notify.render import (
    SnsMessage,
    default_severity,
    fingerprint,
    slack_blocks,
    sns_message,
)

__all__ = [
    "DEFAULT_DEDUP_WINDOW_SECONDS",
    "FAILED",
    "SENT",
    "SUPPRESSED",
    "Alert",
    "Notifier",
    "SnsMessage",
    "default_severity",
    "dispatch",
    "fingerprint",
    "slack_blocks",
    "sns_message",
]
