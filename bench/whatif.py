"""Proposed performance fixes, applied in a benchmark process only, to measure what they buy.

None of this changes chalicelib on disk: each fix replaces one function or class in the running
process, and the benchmark labels every number measured with them "what-if". The fixes
themselves belong in chalicelib (see bench/README.md, "Findings").

1. ``chalicelib.diff.iam_policy.wildcard_match`` builds and compiles a new regex, escaping the
   pattern one character at a time, on every call; registry validation calls it about a
   hundred times per policy document (every guardrail asks every action of every statement).
   Fix: exact comparison when the pattern has no wildcard, else a compiled regex cached by
   pattern.
2. ``chalicelib.registry.loader._RegistryYamlLoader`` subclasses the pure-Python
   ``yaml.SafeLoader``. Fix: subclass ``yaml.CSafeLoader`` (libyaml) when available, with the
   same resolvers and duplicate-key constructor.
3. botocore parses every timestamp of a response with dateutil (about 140 µs each; a GAAD
   page of 1,000 roles carries 7,000). Fix: ``set_parser_defaults(timestamp_parser=...)`` on
   the session's response parser factory with a ``datetime.fromisoformat`` fast path, in
   ``chalicelib.aws.make_session`` / ``Wiring``.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

FIXES = ("wildcard-regex-cache", "libyaml-loader", "fast-timestamps")


@functools.lru_cache(maxsize=8192)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Same answers as chalicelib's ``wildcard_match``, without rebuilding the regex."""
    if "*" not in pattern and "?" not in pattern:
        if ignore_case:
            return _wildcard_regex(pattern, True).fullmatch(value) is not None
        return pattern == value
    return _wildcard_regex(pattern, ignore_case).fullmatch(value) is not None


def fast_timestamp(value: str) -> Any:
    """ISO 8601 timestamps through ``datetime.fromisoformat``; anything else through botocore."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        from botocore.utils import parse_timestamp

        return parse_timestamp(value)


def apply_code_fixes() -> None:
    """Fixes 1 and 2, in this process."""
    import yaml

    from chalicelib.diff import iam_policy
    from chalicelib.registry import loader

    iam_policy.wildcard_match = wildcard_match
    base = getattr(yaml, "CSafeLoader", None)
    if base is None:
        return
    original = loader._RegistryYamlLoader

    class _FastLoader(base):  # type: ignore[misc, valid-type]
        pass

    _FastLoader.yaml_implicit_resolvers = original.yaml_implicit_resolvers
    _FastLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
        loader._construct_mapping,
    )
    loader._RegistryYamlLoader = _FastLoader  # type: ignore[misc]


def apply_session_fix(session: boto3.Session) -> None:
    """Fix 3, on one session (before any client is made from it)."""
    factory = session._session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=fast_timestamp)
