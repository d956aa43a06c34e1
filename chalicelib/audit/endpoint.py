"""The audit endpoint's behaviour, independent of Chalice: which report, in which format.

``GET /audit`` (whole registry), ``GET /audit/{kind}/{id}`` (one resource), ``?cached=1`` (the last
sweep's saved report), ``?format=html`` or ``Accept: text/html`` (a readable page), else JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.audit.html import render_html_json
from chalicelib.errors import ResourceNotFoundError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

JSON = "application/json"
HTML = "text/html; charset=utf-8"


@dataclass(frozen=True, slots=True)
class AuditRequest:
    """What the caller asked for."""

    selector: str | None = None
    cached: bool = False
    html: bool = False

    @classmethod
    def from_http(
        cls,
        selector: str | None,
        query: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> AuditRequest:
        query = query or {}
        accept = {k.lower(): v for k, v in (headers or {}).items()}.get("accept", "")
        fmt = query.get("format", "").lower()
        html = fmt == "html" or (fmt != "json" and "text/html" in accept.lower())
        cached = query.get("cached", "").lower() in {"1", "true", "yes"}
        return cls(selector=selector, cached=cached, html=html)


@dataclass(frozen=True, slots=True)
class AuditAnswer:
    """The body and content type to return."""

    body: str | dict[str, Any]
    content_type: str


def answer(
    request: AuditRequest,
    live_report: Callable[[str | None], dict[str, Any]],
    cached_report: Callable[[], dict[str, Any] | None],
) -> AuditAnswer:
    """Build the answer from a live audit or the last saved sweep report.

    Raises
    ------
    ResourceNotFoundError
        An unknown kind or id, or ``cached`` asked with no saved report.
    RegistryError
        The registry cannot be used.
    """
    if request.cached:
        report = cached_report()
        if report is None:
            raise ResourceNotFoundError("no saved sweep report yet (or DRIFTWARDEN_REPORTS unset)")
        if request.selector:
            kind, _, ident = request.selector.partition("/")
            chosen = [
                r
                for r in report.get("resources", [])
                if r.get("kind") == kind and r.get("id") == ident
            ]
            if not chosen:
                raise ResourceNotFoundError(f"{request.selector} is not in the saved report")
            report = {**report, "resources": chosen}
    else:
        report = live_report(request.selector)
    if request.html:
        return AuditAnswer(render_html_json(report), HTML)
    return AuditAnswer(report, JSON)
