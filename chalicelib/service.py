"""The Lambda functions' wiring: settings from the environment, cached per warm container."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.config import Settings
from chalicelib.wiring import Wiring

if TYPE_CHECKING:
    from chalicelib.respond import MetricsSink

_WIRING: dict[str, Wiring] = {}


def lambda_wiring(metrics: MetricsSink | None = None) -> Wiring:
    """The wiring for this container (built on first use, reused while warm).

    The Lambda has no default journal: without ``DRIFTWARDEN_JOURNAL`` it never reverts.
    """
    if "current" not in _WIRING:
        _WIRING["current"] = Wiring(Settings.from_env(), metrics=metrics)
    return _WIRING["current"]


def reset() -> None:
    """Forget the cached wiring (tests, or after the environment changed)."""
    _WIRING.clear()
