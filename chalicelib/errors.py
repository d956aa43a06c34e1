"""The exception tree of driftwarden; a leaf module that imports nothing from the package."""

from __future__ import annotations


class DriftError(Exception):
    """Base of every error driftwarden raises on purpose."""


class ConfigError(DriftError):
    """A setting is missing or has a value that cannot be used."""


class RegistryError(DriftError):
    """The desired-state registry cannot be used."""


class RegistryNotFoundError(RegistryError):
    """The registry (directory, snapshot or pointer) does not exist or cannot be read."""


class RegistryValidationError(RegistryError):
    """The registry failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: tuple[object, ...]) -> None:
        self.problems = problems
        super().__init__(f"registry is invalid: {len(problems)} problem(s)")


class UnroutableEventError(DriftError):
    """An event does not have the shape or fields needed to locate a resource."""


class CollectorError(DriftError):
    """Reading live state failed."""


class ResourceNotFoundError(CollectorError):
    """A resource named by the registry, an event or a request does not exist."""


class AccessDeniedError(CollectorError):
    """AWS refused a read for lack of permission."""


class RemediationError(DriftError):
    """A revert could not be planned or applied."""


class RemediationRefusedError(RemediationError):
    """A safety rule refused a write."""


class RemediationLimitError(RemediationError):
    """The revert limit for the current window was reached."""


class JournalError(RemediationError):
    """The action journal could not be written or read."""


class NotificationError(DriftError):
    """A notification channel failed."""
