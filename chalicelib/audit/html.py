"""The audit report as one self-contained HTML page: inline CSS, no script, no external assets.

Pure: no I/O. Every value from the report is escaped. ``render_html_json`` works on the public
JSON shape (so a cached report read back from the history renders the same way); ``render_html``
takes an ``AuditReport``.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from chalicelib.audit.report import AuditReport

STATUSES: tuple[str, ...] = ("in_sync", "drifted", "missing", "error")
STATUS_LABEL: Mapping[str, str] = {
    "in_sync": "in sync",
    "drifted": "drifted",
    "missing": "missing",
    "error": "error",
}
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
OP_MARK: Mapping[str, str] = {"change": "~", "add": "+", "remove": "-"}
ARROW = "\u2192"

_CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1d232a; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 0 0 .5rem; word-break: break-all; }
.meta { color: #56606b; margin: 0 0 1.5rem; }
.meta code { color: #1d232a; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; margin: 0 0 1rem; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem 1rem; min-width: 8rem; }
.card .n { display: block; font-size: 1.8rem; font-weight: 600; }
.card.in_sync .n { color: #1a7f37; } .card.drifted .n { color: #9a6700; }
.card.missing .n { color: #cf222e; } .card.error .n { color: #8250df; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #d0d7de;
  vertical-align: top; }
th { background: #f6f8fa; }
td.id { word-break: break-all; }
.badge { display: inline-block; border-radius: 1em; padding: 0 .6em; font-size: .85em;
  font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.badge.in_sync { color: #1a7f37; } .badge.drifted { color: #9a6700; }
.badge.missing { color: #cf222e; } .badge.error { color: #8250df; }
.badge.critical, .badge.high { color: #cf222e; } .badge.medium { color: #9a6700; }
.badge.low { color: #0969da; } .badge.info { color: #56606b; }
section.resource { border: 1px solid #d0d7de; border-radius: 6px; padding: 1rem;
  margin: 1rem 0; }
section.resource .where { color: #56606b; margin: 0 0 .75rem; }
.diff { font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: #f6f8fa; border-radius: 6px; padding: .6rem .8rem; margin: 0 0 .75rem;
  white-space: pre-wrap; word-break: break-all; }
.diff .line { display: block; }
.diff .change { color: #9a6700; } .diff .add { color: #1a7f37; } .diff .remove { color: #cf222e; }
.legend { color: #56606b; font-size: .85em; margin: 0 0 .3rem; }
.error-text { color: #8250df; white-space: pre-wrap; }
ul.findings { margin: 0; padding-left: 1.2rem; }
ul.findings li { margin: .2rem 0; }
footer { color: #56606b; margin: 2rem 0 0; font-size: .85em; }
"""


def _e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return escape("" if value is None else str(value), quote=True)


def value_text(value: Any) -> str:
    """One-line text for a diff value: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


def change_line(change: Mapping[str, Any]) -> str:
    """The plain-text diff line of one change.

    ``~ path: desired → live`` for a change, ``+ path: live`` for a value present only live,
    ``- path: desired`` for a desired value missing live.

    Example
    -------
    >>> change_line({"path": "max_session_duration", "op": "change", "desired": 3600, "live": 7200})
    '~ max_session_duration: 3600 → 7200'
    """
    op = str(change.get("op", "change"))
    path = str(change.get("path", ""))
    mark = OP_MARK.get(op, "~")
    if op == "add":
        return f"{mark} {path}: {value_text(change.get('live'))}"
    if op == "remove":
        return f"{mark} {path}: {value_text(change.get('desired'))}"
    desired, live = value_text(change.get("desired")), value_text(change.get("live"))
    return f"{mark} {path}: {desired} {ARROW} {live}"


def _anchor(index: int) -> str:
    return f"r{index}"


def _needs_section(resource: Mapping[str, Any]) -> bool:
    return resource.get("status") != "in_sync" or bool(resource.get("findings"))


def _severity_counts(resources: Iterable[Mapping[str, Any]]) -> Counter[str]:
    return Counter(
        str(f.get("severity", "info")) for r in resources for f in (r.get("findings") or ())
    )


def _summary(summary: Mapping[str, Any], resources: list[Mapping[str, Any]]) -> str:
    cards = [
        f'<div class="card {s}"><span class="n">{_e(summary.get(s, 0))}</span>'
        f"{_e(STATUS_LABEL[s])}</div>"
        for s in STATUSES
    ]
    by_severity = _severity_counts(resources)
    total = sum(by_severity.values())
    detail = ", ".join(f"{by_severity[s]} {s}" for s in SEVERITIES if by_severity[s])
    cards.append(
        f'<div class="card findings"><span class="n">{total}</span>findings'
        + (f"<br><small>{_e(detail)}</small>" if detail else "")
        + "</div>"
    )
    return (
        '<section id="summary"><h2>Summary</h2><div class="cards">'
        + "".join(cards)
        + ("</div></section>")
    )


def _table(resources: list[Mapping[str, Any]]) -> str:
    if not resources:
        return "<h2>Resources</h2><p>The registry names no resources.</p>"
    head = "".join(
        f"<th>{h}</th>"
        for h in ("kind", "id", "account", "region", "mode", "status", "changes", "findings")
    )
    rows = []
    for index, r in enumerate(resources):
        status = str(r.get("status", ""))
        ident = _e(r.get("id"))
        if _needs_section(r):
            ident = f'<a href="#{_anchor(index)}">{ident}</a>'
        changes = len(r.get("changes") or ())
        findings = len(r.get("findings") or ())
        rows.append(
            "<tr>"
            f'<td>{_e(r.get("kind"))}</td><td class="id">{ident}</td>'
            f"<td>{_e(r.get('account'))}</td><td>{_e(r.get('region'))}</td>"
            f"<td>{_e(r.get('mode'))}</td>"
            f'<td><span class="badge {_e(status)}">{_e(STATUS_LABEL.get(status, status))}'
            "</span></td>"
            f"<td>{changes or ''}</td><td>{findings or ''}</td>"
            "</tr>"
        )
    return (
        '<h2>Resources</h2><table id="resources"><thead><tr>'
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _section(index: int, r: Mapping[str, Any]) -> str:
    status = str(r.get("status", ""))
    parts = [
        f'<section class="resource {_e(status)}" id="{_anchor(index)}">',
        f"<h3>{_e(r.get('kind'))} / {_e(r.get('id'))} "
        f'<span class="badge {_e(status)}">{_e(STATUS_LABEL.get(status, status))}</span></h3>',
        f'<p class="where">account {_e(r.get("account"))} · region {_e(r.get("region"))}'
        f" · mode {_e(r.get('mode'))}</p>",
    ]
    if r.get("error"):
        parts.append(f'<p class="error-text">{_e(r.get("error"))}</p>')
    changes = list(r.get("changes") or ())
    if changes:
        lines = "".join(
            f'<span class="line {_e(c.get("op", "change"))}">{_e(change_line(c))}</span>'
            for c in changes
        )
        parts.append(
            f'<h4>Changes</h4><p class="legend">~ changed (desired {ARROW} live) · '
            "+ only live · - only desired</p>"
            f'<pre class="diff">{lines}</pre>'
        )
    elif status == "missing":
        parts.append("<p>The resource does not exist.</p>")
    findings = list(r.get("findings") or ())
    if findings:
        items = "".join(
            f'<li><span class="badge {_e(f.get("severity"))}">{_e(f.get("severity"))}</span> '
            f"<code>{_e(f.get('code'))}</code> {_e(f.get('message'))}</li>"
            for f in findings
        )
        parts.append(f'<h4>Findings</h4><ul class="findings">{items}</ul>')
    parts.append("</section>")
    return "".join(parts)


def _title(summary: Mapping[str, Any]) -> str:
    problems = [f"{summary.get(s, 0)} {STATUS_LABEL[s]}" for s in STATUSES[1:] if summary.get(s)]
    return "driftwarden audit: " + (", ".join(problems) if problems else "all in sync")


def render_html_json(report_json: Mapping[str, Any]) -> str:
    """Render an audit report given in its public JSON shape (PRODUCT.md section 6).

    Parameters
    ----------
    report_json
        ``AuditReport.to_json()``, or the same shape read back from the report history.

    Returns
    -------
    str
        A complete HTML document.
    """
    resources: list[Mapping[str, Any]] = list(report_json.get("resources") or ())
    summary: Mapping[str, Any] = report_json.get("summary") or {
        s: sum(1 for r in resources if r.get("status") == s) for s in STATUSES
    }
    registry: Mapping[str, Any] = report_json.get("registry") or {}
    sections = [_section(i, r) for i, r in enumerate(resources) if _needs_section(r)]
    if sections:
        details = "<h2>Drift and findings</h2>" + "".join(sections)
    elif resources:
        details = f"<p>All {len(resources)} resources are in sync, with no findings.</p>"
    else:
        details = ""
    title = _title(summary)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        "<header><h1>driftwarden audit report</h1>"
        '<p class="meta">Generated at <time>'
        f"{_e(report_json.get('generated_at'))}</time> · registry "
        f"<code>{_e(registry.get('source'))}</code> · digest "
        f'<code class="digest">{_e(registry.get("digest"))}</code></p></header>'
        f"<main>{_summary(summary, resources)}{_table(resources)}{details}</main>"
        "<footer>Desired state is the registry; live state was read from AWS when the report "
        "was generated.</footer>"
        "</body></html>\n"
    )


def render_html(report: AuditReport) -> str:
    """Render an ``AuditReport`` as a self-contained HTML page.

    Parameters
    ----------
    report
        The audit report.

    Returns
    -------
    str
        A complete HTML document: summary counts, a table of resources, one section per
        drifted, missing or failed resource (and per resource with findings) with its changes as
        ``~ path: desired → live`` lines and its findings with severities.

    Example
    -------
    >>> page = render_html(report)  # doctest: +SKIP
    >>> page.startswith("<!DOCTYPE html>")  # doctest: +SKIP
    True
    """
    return render_html_json(report.to_json())
