"""Terminal rendering of audit results with rich: a summary table and compact coloured diffs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from chalicelib.models import Decision, Op, ResourceResult, Severity, Status

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import RenderableType

    from chalicelib.audit.report import AuditReport
    from chalicelib.respond import ResourceResponse

STATUS_STYLE = {
    Status.IN_SYNC: "green",
    Status.DRIFTED: "bold yellow",
    Status.MISSING: "bold red",
    Status.ERROR: "bold magenta",
}
SEVERITY_STYLE = {
    Severity.INFO: "dim",
    Severity.LOW: "cyan",
    Severity.MEDIUM: "yellow",
    Severity.HIGH: "red",
    Severity.CRITICAL: "bold red",
}
_MAX_VALUE = 160


def short(value: Any) -> str:
    """A compact one-line JSON rendering of a diff value, cut at a readable length."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def report_table(report: AuditReport) -> Table:
    """One row per resource: kind, id, mode, status, counts of changes and findings."""
    table = Table(title=f"registry {report.registry_source} ({report.registry_digest[:19]})")
    for column in ("kind", "id", "mode", "status", "changes", "findings"):
        table.add_column(column, overflow="fold")
    for result in report.resources:
        table.add_row(
            str(result.ref.kind),
            result.ref.id,
            str(result.mode),
            Text(str(result.status), style=STATUS_STYLE[result.status]),
            str(len(result.changes)) if result.changes else "",
            str(len(result.findings)) if result.findings else "",
        )
    return table


def resource_details(result: ResourceResult) -> RenderableType:
    """The diff and findings of one resource as `~ path: desired -> live` lines."""
    lines: list[Text] = [
        Text.assemble(
            (f"{result.ref.kind}/{result.ref.id}", "bold"),
            "  ",
            (str(result.status), STATUS_STYLE[result.status]),
        )
    ]
    if result.error:
        lines.append(Text(f"  ! {result.error}", style="magenta"))
    for change in result.changes:
        if change.op is Op.ADD:
            lines.append(Text(f"  + {change.path}: {short(change.live)}", style="red"))
        elif change.op is Op.REMOVE:
            lines.append(Text(f"  - {change.path}: {short(change.desired)}", style="yellow"))
        else:
            lines.append(
                Text.assemble(
                    (f"  ~ {change.path}: ", "cyan"),
                    (short(change.desired), "green"),
                    " -> ",
                    (short(change.live), "red"),
                )
            )
    for finding in result.findings:
        lines.append(
            Text.assemble(
                ("  ! ", SEVERITY_STYLE[finding.severity]),
                (f"{finding.code} ({finding.severity}) ", SEVERITY_STYLE[finding.severity]),
                finding.message,
            )
        )
    return Group(*lines)


def report_renderables(report: AuditReport) -> list[RenderableType]:
    """The table, then details for every resource that is not cleanly in sync, then a summary."""
    out: list[RenderableType] = [report_table(report)]
    for result in report.resources:
        if result.status is not Status.IN_SYNC or result.findings:
            out.append(resource_details(result))
    counts = report.summary()
    out.append(
        Text.assemble(
            ("summary: ", "bold"),
            ", ".join(f"{count} {status}" for status, count in counts.items()),
        )
    )
    return out


DECISION_STYLE = {
    Decision.IGNORED: "dim",
    Decision.IN_SYNC: "green",
    Decision.ALERTED: "bold yellow",
    Decision.REVERTED: "bold cyan",
    Decision.FAILED: "bold red",
}


def response_renderables(
    responses: Sequence[ResourceResponse], decision: Decision, reason: str | None
) -> list[RenderableType]:
    """What an event or a sweep did: one line per resource with its decision, the diff of each
    drifted resource, the actions taken and the notifications sent."""
    out: list[RenderableType] = []
    for response in responses:
        result = response.result
        out.append(resource_details(result))
        line = Text.assemble(
            ("  => ", "bold"),
            (str(response.decision), DECISION_STYLE[response.decision]),
            f" ({response.reason})" if response.reason else "",
        )
        out.append(line)
        if response.action is not None:
            action = response.action
            out.append(
                Text(
                    f"     action {action.action_id} [{action.status}]: {', '.join(action.calls)}",
                    style="cyan",
                )
            )
            if action.status == "applied":
                out.append(Text(f"     undo: driftwarden undo {action.action_id}", style="dim"))
        for note in response.notifications:
            out.append(Text(f"     notified {note.channel}: {note.status}", style="dim"))
    out.append(
        Text.assemble(
            ("decision: ", "bold"),
            (str(decision), DECISION_STYLE[decision]),
            f" ({reason})" if reason else "",
        )
    )
    return out
