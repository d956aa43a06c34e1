"""How driftwarden builds boto3 clients: one botocore config (timeouts, standard retries).

The only module besides ``wiring`` that touches ``boto3.Session``; it builds nothing at import.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from boto3.session import Session


def client_config(max_attempts: int | None = None) -> Config:
    """The botocore configuration every driftwarden client uses.

    Standard retry mode backs off on throttling. ``DRIFTWARDEN_MAX_ATTEMPTS`` lowers the number of
    attempts (the test suite sets it so that emulator errors fail fast).
    """
    attempts = max_attempts or int(os.environ.get("DRIFTWARDEN_MAX_ATTEMPTS", "5"))
    return Config(
        retries={"mode": "standard", "max_attempts": attempts},
        connect_timeout=5,
        read_timeout=30,
        user_agent_extra="driftwarden",
    )


def make_session(region: str | None = None, profile: str | None = None) -> Session:
    """A boto3 session the way boto3 itself would build it (profiles, ``AWS_REGION``...)."""
    kwargs: dict[str, Any] = {}
    if region:
        kwargs["region_name"] = region
    if profile:
        kwargs["profile_name"] = profile
    session = boto3.Session(**kwargs)
    if not session.region_name:
        session = boto3.Session(region_name="us-east-1", profile_name=profile)
    return session
