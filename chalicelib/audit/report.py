"""The audit report: built from per-resource results, rendered as the public JSON shape.

Pure: no I/O. The JSON shape is a public interface (PRODUCT.md section 6).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.models import ResourceResult, Status

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 3


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Every compared resource, with where the registry came from."""

    generated_at: datetime
    registry_source: str
    registry_digest: str
    resources: tuple[ResourceResult, ...]

    def summary(self) -> dict[str, int]:
        counts = Counter(r.status for r in self.resources)
        return {status.value: counts.get(status, 0) for status in Status}

    @property
    def has_findings(self) -> bool:
        return any(r.findings for r in self.resources)

    def exit_code(self) -> int:
        """1 when any resource could not be compared, else 3 on drift or findings, else 0."""
        statuses = {r.status for r in self.resources}
        if Status.ERROR in statuses:
            return EXIT_ERROR
        if statuses - {Status.IN_SYNC} or self.has_findings:
            return EXIT_DRIFT
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": _iso(self.generated_at),
            "registry": {"source": self.registry_source, "digest": self.registry_digest},
            "summary": self.summary(),
            "resources": [r.to_json() for r in self.resources],
        }


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
