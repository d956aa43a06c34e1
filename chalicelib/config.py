"""Settings: the DRIFTWARDEN_* environment variables, parsed once into a frozen dataclass.

Stdlib-only. The Lambda functions and the CLI read the same names (PRODUCT.md, "Settings");
the CLI's flags override them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ConfigError
from chalicelib.models import Mode

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_REGISTRY = "policies/"
DEFAULT_CLI_JOURNAL = ".driftwarden/journal/"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not {env[name]!r}")


def _csv(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting driftwarden reads; see PRODUCT.md section 6b for the variable names."""

    registry: str = DEFAULT_REGISTRY
    journal: str | None = None
    mode: Mode | None = None
    paused: bool = False
    dry_run: bool = False
    sns_topic_arn: str | None = None
    slack_secret: str | None = None
    slack_webhook_url: str | None = None
    dedup_table: str | None = None
    trusted_actors: tuple[str, ...] = ()
    self_arns: tuple[str, ...] = ()
    max_reverts: int = 20
    assume_role: str | None = None
    reports: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Parse the ``DRIFTWARDEN_*`` variables.

        Raises
        ------
        ConfigError
            A variable has a value that cannot be used (an unknown mode, a non-numeric limit).
        """
        env = os.environ if env is None else env
        mode_raw = env.get("DRIFTWARDEN_MODE", "").strip().lower()
        try:
            mode = Mode(mode_raw) if mode_raw else None
        except ValueError:
            valid = ", ".join(m.value for m in Mode)
            raise ConfigError(
                f"DRIFTWARDEN_MODE must be one of {valid}, not {mode_raw!r}"
            ) from None
        limit_raw = env.get("DRIFTWARDEN_MAX_REVERTS", "").strip() or "20"
        try:
            max_reverts = int(limit_raw)
        except ValueError:
            raise ConfigError(
                f"DRIFTWARDEN_MAX_REVERTS must be a whole number, not {limit_raw!r}"
            ) from None
        if max_reverts < 0:
            raise ConfigError("DRIFTWARDEN_MAX_REVERTS must not be negative")
        return cls(
            registry=_optional(env, "DRIFTWARDEN_REGISTRY") or DEFAULT_REGISTRY,
            journal=_optional(env, "DRIFTWARDEN_JOURNAL"),
            mode=mode,
            paused=_flag(env, "DRIFTWARDEN_PAUSED"),
            dry_run=_flag(env, "DRIFTWARDEN_DRY_RUN"),
            sns_topic_arn=_optional(env, "DRIFTWARDEN_SNS_TOPIC_ARN"),
            slack_secret=_optional(env, "DRIFTWARDEN_SLACK_SECRET"),
            slack_webhook_url=_optional(env, "DRIFTWARDEN_SLACK_WEBHOOK_URL"),
            dedup_table=_optional(env, "DRIFTWARDEN_DEDUP_TABLE"),
            trusted_actors=_csv(env, "DRIFTWARDEN_TRUSTED_ACTORS"),
            self_arns=_csv(env, "DRIFTWARDEN_SELF_ARNS"),
            max_reverts=max_reverts,
            assume_role=_optional(env, "DRIFTWARDEN_ASSUME_ROLE"),
            reports=_optional(env, "DRIFTWARDEN_REPORTS"),
        )

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-None ``overrides`` applied (CLI flags win over the environment)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})
