"""Pure rendering of an ``Alert``: fingerprint, SNS message and Slack Block Kit message.

Deterministic and stdlib-only: no I/O, no logging, no environment. Nothing rendered here can
carry a channel secret (the renderer never sees one), and values under credential-like keys
(QuickSight ``Credentials``, passwords, tokens) are replaced by ``REDACTED``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.models import Change, Decision, Op, Severity, Status

if TYPE_CHECKING:
    from chalicelib.models import ResourceResult
    from chalicelib.notify.base import Alert

#: SNS subjects must be shorter than 100 characters, ASCII, without line breaks.
SUBJECT_LIMIT = 99
#: SNS messages may be 256 KiB; leave room for the envelope and attributes.
SNS_BODY_LIMIT = 240_000
#: Most diff lines shown in a Slack message (the last one says how many more there are).
DIFF_LINE_LIMIT = 15
#: Longest compacted value in a diff line.
VALUE_LIMIT = 60
#: Slack limits (https://docs.slack.dev/reference/block-kit/blocks).
SECTION_TEXT_LIMIT = 3000
FIELD_TEXT_LIMIT = 2000
HEADER_TEXT_LIMIT = 150
MAX_BLOCKS = 50
MAX_FINDINGS_SHOWN = 10
#: What replaces a value found under a credential-like key.
REDACTED = "[redacted]"

_SENSITIVE = frozenset(
    {
        "credentials",
        "credentialpair",
        "password",
        "secretarn",
        "secretstring",
        "token",
        "webhookurl",
        "alternatedatasourceparameters",
    }
)
_SEGMENT = re.compile(r"[A-Za-z0-9_\-]+")

_EMOJI = {
    Decision.REVERTED: ":arrows_counterclockwise:",
    Decision.ALERTED: ":warning:",
    Decision.FAILED: ":x:",
    Decision.IN_SYNC: ":white_check_mark:",
    Decision.IGNORED: ":information_source:",
}
_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


@dataclass(frozen=True, slots=True)
class SnsMessage:
    """What ``sns:Publish`` takes: ``Subject``, ``Message`` and ``MessageAttributes``."""

    subject: str
    body: str
    attributes: Mapping[str, Mapping[str, str]]


# --------------------------------------------------------------------------------------------
# Fingerprint and severity


def fingerprint(alert: Alert) -> str:
    """A stable hash of the drift: resource ref, sorted changes and finding codes.

    The same drift has the same fingerprint whatever the event id, actor, time, decision or
    wording of the summary, so redelivered events and repeated sweeps collapse to one key.

    Example
    -------
    >>> fingerprint(alert) == fingerprint(dataclasses.replace(alert, notice=None))  # doctest: +SKIP
    True
    """
    result = alert.result
    if result is None:
        scoped = {"scope": alert.scope, "decision": str(alert.decision), "reason": alert.reason}
        return hashlib.sha256(_canonical(scoped).encode("utf-8")).hexdigest()[:32]
    ref = result.ref
    changes = sorted(
        [c.path, str(c.op), _canonical(c.desired), _canonical(c.live)] for c in result.changes
    )
    codes = sorted({f.code for f in result.findings})
    material = {
        "ref": [str(ref.kind), ref.id, ref.account, ref.region],
        "status": str(result.status),
        "changes": changes,
        "findings": codes,
    }
    digest = hashlib.sha256(_canonical(material).encode("utf-8")).hexdigest()
    return digest[:32]


def default_severity(result: ResourceResult, decision: Decision) -> Severity:
    """A sensible severity for an alert when the caller has no better one.

    The highest finding severity, at least ``medium`` for drift or a missing resource, at
    least ``high`` when a revert failed, and ``info`` when there is nothing to report.
    """
    floor = Severity.INFO
    if result.changes or result.status in (Status.DRIFTED, Status.MISSING, Status.ERROR):
        floor = Severity.MEDIUM
    if decision is Decision.FAILED:
        floor = Severity.HIGH
    levels = [floor, *(f.severity for f in result.findings)]
    return max(levels, key=_SEVERITY_RANK.__getitem__)


# --------------------------------------------------------------------------------------------
# SNS


def subject(alert: Alert) -> str:
    """One short ASCII line, e.g. ``[driftwarden] reverted drift on iam_role/dw-athena``."""
    text = f"[driftwarden] {_headline(alert)}"
    text = " ".join(text.split()).encode("ascii", "replace").decode("ascii")
    if len(text) > SUBJECT_LIMIT:
        text = text[: SUBJECT_LIMIT - 3] + "..."
    return text


def sns_message(alert: Alert) -> SnsMessage:
    """The SNS message for ``alert``: subject, JSON body and message attributes.

    The body is the audit-report entry of the resource (``kind``, ``id``, ``account``,
    ``region``, ``mode``, ``status``, ``changes``, ``findings``) plus ``event`` (``id``,
    ``name``, ``source``, ``time``, ``source_ip``; ``null`` for a sweep), ``actor``,
    ``decision``, ``severity``, ``summary``, ``action``, ``undo``, ``reason`` and
    ``fingerprint``. Message attributes ``severity``, ``kind``, ``decision`` and ``account``
    are Strings, ready for subscription filter policies.
    """
    notice = alert.notice
    if alert.result is None:
        body: dict[str, Any] = {"scope": alert.scope, "status": "error", "error": alert.reason}
    else:
        body = result_json(alert.result)
    body.update(
        {
            "event": None
            if notice is None
            else {
                "id": notice.event_id,
                "name": notice.event_name,
                "source": notice.event_source,
                "time": notice.event_time,
                "source_ip": notice.source_ip,
            },
            "actor": None if notice is None else notice.actor_arn,
            "decision": str(alert.decision),
            "severity": str(alert.severity),
            "summary": alert.summary,
            "action": None if alert.action is None else alert.action.to_json(),
            "undo": alert.undo_command,
            "reason": alert.reason,
            "fingerprint": fingerprint(alert),
        }
    )
    ref = None if alert.result is None else alert.result.ref
    attributes = {
        "severity": _string_attr(str(alert.severity)),
        "kind": _string_attr("registry" if ref is None else str(ref.kind)),
        "decision": _string_attr(str(alert.decision)),
    }
    if ref is not None:
        attributes["account"] = _string_attr(ref.account)
    return SnsMessage(subject=subject(alert), body=_fit_body(body), attributes=attributes)


def _fit_body(body: dict[str, Any]) -> str:
    """JSON text within SNS's size limit: long change values are cut, then dropped."""
    text = json.dumps(body, sort_keys=True, default=str)
    if len(text.encode("utf-8")) <= SNS_BODY_LIMIT:
        return text
    changes = body["changes"]
    body["changes_truncated"] = True
    body["changes"] = [
        {**c, "desired": _compact(c["desired"], 500), "live": _compact(c["live"], 500)}
        for c in changes
    ]
    text = json.dumps(body, sort_keys=True, default=str)
    if len(text.encode("utf-8")) <= SNS_BODY_LIMIT:
        return text
    body["changes"] = [{"path": _cut(c["path"], 200), "op": c["op"]} for c in changes[:200]]
    body["changes_total"] = len(changes)
    body["findings"] = body["findings"][:50]
    return json.dumps(body, sort_keys=True, default=str)


def result_json(result: ResourceResult) -> dict[str, Any]:
    """``result.to_json()`` with values under credential-like keys redacted."""
    out = result.to_json()
    out["changes"] = [redact_change(c).to_json() for c in result.changes]
    return out


def redact_change(change: Change) -> Change:
    """``change`` with its values redacted when its path or any nested key is credential-like."""
    if _sensitive_path(change.path):
        return Change(
            change.path,
            change.op,
            None if change.desired is None else REDACTED,
            None if change.live is None else REDACTED,
        )
    return Change(change.path, change.op, redact(change.desired), redact(change.live))


def redact(value: Any) -> Any:
    """A copy of ``value`` with every credential-like mapping key's value replaced."""
    if isinstance(value, Mapping):
        return {k: (REDACTED if _sensitive_key(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# Slack


def slack_blocks(alert: Alert) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and Block Kit blocks for ``alert``.

    Blocks: a header, a one-line summary, fields (resource, account/region, actor, source IP,
    time, event), a compact diff in a code block, findings, what was done, how to undo, and a
    context line with the fingerprint. Every text respects Slack's limits (section text
    3000 characters, field 2000, header 150, at most 50 blocks).
    """
    result = alert.result
    if result is None:
        return _scope_blocks(alert)
    ref = result.ref
    notice = alert.notice
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _cut(f"{_EMOJI[alert.decision]} {_headline(alert)}", HEADER_TEXT_LIMIT),
                "emoji": True,
            },
        },
        _section(
            f"*{_esc(alert.summary)}*  ·  severity *{alert.severity}*  ·  mode `{result.mode}`"
            f"  ·  status `{result.status}`"
        ),
    ]
    if notice is None:
        actor, source_ip, when, event = "unknown (found by a sweep)", "-", "-", "scheduled sweep"
    else:
        actor = notice.actor_arn or "unknown"
        source_ip = notice.source_ip or "-"
        when = notice.event_time
        event = f"{notice.call} ({notice.event_id})"
    fields = [
        ("Resource", f"`{ref}`"),
        ("Account / region", f"{ref.account} / {ref.region}"),
        ("Actor", f"`{actor}`" if notice is not None and notice.actor_arn else actor),
        ("Source IP", source_ip),
        ("Time", when),
        ("Event", event),
    ]
    blocks.append(
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _cut(f"*{label}*\n{_esc(value)}", FIELD_TEXT_LIMIT)}
                for label, value in fields
            ],
        }
    )
    if result.changes:
        lines = diff_lines(result.changes)
        blocks.append(_section("*What changed*\n```" + _esc("\n".join(lines)) + "```"))
    elif result.status is Status.MISSING:
        blocks.append(_section("*What changed*\nThe resource does not exist."))
    if result.error:
        blocks.append(_section(f"*Error*\n{_esc(_compact(result.error, 500))}"))
    if result.findings:
        shown = result.findings[:MAX_FINDINGS_SHOWN]
        items = [f"• `{f.code}` ({f.severity}): {_esc(f.message)}" for f in shown]
        if len(result.findings) > len(shown):
            items.append(f"… {len(result.findings) - len(shown)} more")
        blocks.append(_section("*Findings*\n" + "\n".join(items)))
    blocks.append(_section("*What driftwarden did*\n" + _esc(_done(alert))))
    if alert.undo_command:
        blocks.append(_section(f"*How to undo*\n`{_esc(alert.undo_command)}`"))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"driftwarden · fingerprint {fingerprint(alert)}"}
            ],
        }
    )
    actor_text = f" by {notice.actor_arn}" if notice is not None and notice.actor_arn else ""
    text = _cut(f"[driftwarden] {_headline(alert)}{actor_text}: {alert.summary}", 500)
    return text, blocks[:MAX_BLOCKS]


def _scope_blocks(alert: Alert) -> tuple[str, list[dict[str, Any]]]:
    """Blocks for an alert about something other than one resource (e.g. the registry)."""
    headline = _headline(alert)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _cut(f"{_EMOJI[alert.decision]} {headline}", HEADER_TEXT_LIMIT),
                "emoji": True,
            },
        },
        _section(f"*{_esc(alert.summary)}*  ·  severity *{alert.severity}*"),
        _section("*What driftwarden did*\n" + _esc(_done(alert))),
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"driftwarden · fingerprint {fingerprint(alert)}"}
            ],
        },
    ]
    return _cut(f"[driftwarden] {headline}: {alert.summary}", 500), blocks


def diff_lines(changes: Sequence[Change], limit: int = DIFF_LINE_LIMIT) -> list[str]:
    """Compact one-line-per-change diff: ``~ path: desired -> live``, ``+ path: live``,
    ``- path: desired``; at most ``limit`` lines, the last saying ``… N more`` when cut."""
    rendered = [_diff_line(redact_change(c)) for c in changes]
    if len(rendered) <= limit:
        return rendered
    keep = max(limit - 1, 0)
    return [*rendered[:keep], f"… {len(rendered) - keep} more"]


def _diff_line(change: Change) -> str:
    path = _cut(change.path, 60)
    if change.op is Op.ADD:
        line = f"+ {path}: {_compact(change.live)}"
    elif change.op is Op.REMOVE:
        line = f"- {path}: {_compact(change.desired)}"
    else:
        line = f"~ {path}: {_compact(change.desired)} -> {_compact(change.live)}"
    return line.replace("```", "'''")


# --------------------------------------------------------------------------------------------
# helpers


def _headline(alert: Alert) -> str:
    result = alert.result
    if result is None:
        return f"{alert.scope or 'driftwarden'}: {alert.summary}"
    ref = result.ref
    if alert.decision is Decision.REVERTED:
        return f"reverted drift on {ref}"
    if alert.decision is Decision.FAILED:
        if result.status is Status.ERROR:
            return f"could not check {ref}"
        return f"revert failed on {ref}"
    if alert.decision is Decision.IN_SYNC:
        return f"{ref} is in sync"
    if alert.decision is Decision.IGNORED:
        return f"ignored change on {ref}"
    if result.status is Status.MISSING:
        return f"{ref} is missing"
    if result.status is Status.ERROR:
        return f"could not check {ref}"
    if not result.changes and result.findings:
        return f"findings on {ref}"
    return f"drift on {ref}"


def _done(alert: Alert) -> str:
    parts = [alert.summary]
    action = alert.action
    if action is not None:
        calls = ", ".join(action.calls) or "no calls"
        parts.append(f"action {action.action_id} ({action.status}): {calls}")
    if alert.reason:
        parts.append(f"not reverted: {alert.reason}")
    return _cut("\n".join(parts), SECTION_TEXT_LIMIT - 100)


def _section(text: str) -> dict[str, Any]:
    if len(text) > SECTION_TEXT_LIMIT:
        closing = "```" if text.count("```") % 2 == 0 and text.endswith("```") else ""
        text = text[: SECTION_TEXT_LIMIT - 1 - len(closing)] + "…" + closing
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _compact(value: Any, limit: int = VALUE_LIMIT) -> str:
    text = value if isinstance(value, str) else _canonical(value)
    return _cut(" ".join(text.split()), limit)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _esc(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _string_attr(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value or "-"}


def _sensitive_key(key: str) -> bool:
    return key.replace("_", "").replace("-", "").lower() in _SENSITIVE


def _sensitive_path(path: str) -> bool:
    return any(_sensitive_key(segment) for segment in _SEGMENT.findall(path))


__all__ = [
    "REDACTED",
    "SnsMessage",
    "default_severity",
    "diff_lines",
    "fingerprint",
    "redact",
    "redact_change",
    "result_json",
    "slack_blocks",
    "sns_message",
    "subject",
]
