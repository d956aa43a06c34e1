"""The desired-state registry: format (model), files (loader), checks (validate), S3 (store),
and live-state capture (capture). Importing the package loads only the pure model; import
``loader``, ``validate``, ``store`` and ``capture`` explicitly.
"""

from __future__ import annotations

from chalicelib.registry.model import (
    FORMAT_VERSION,
    PLACEHOLDERS,
    EntryOptions,
    Problem,
    Registry,
    RegistryEntry,
    RegistrySettings,
)

__all__ = [
    "FORMAT_VERSION",
    "PLACEHOLDERS",
    "EntryOptions",
    "Problem",
    "Registry",
    "RegistryEntry",
    "RegistrySettings",
]
