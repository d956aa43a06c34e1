"""The diff engine: compares one desired resource with its live state, per kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.diff import normalise as n
from chalicelib.models import (
    Change,
    DesiredResource,
    Kind,
    LiveResource,
    ResourceResult,
    Status,
)

Comparator = Callable[[Any, Any, str], list[Change]]
"""Compares one spec key: ``(desired value, live value, path) -> changes``."""


def _role_path(desired: Any, live: Any, path: str) -> list[Change]:
    return n.scalar_changes(desired or "/", live or "/", path)


KIND_FIELDS: Mapping[Kind, Mapping[str, Comparator]] = {
    Kind.IAM_ROLE: {
        "path": _role_path,
        "description": n.text_changes,
        "max_session_duration": n.scalar_changes,
        "trust_policy": n.document_changes,
        "inline_policies": n.named_document_changes,
        "managed_policies": n.string_set_changes,
        "permissions_boundary": n.text_changes,
        "tags": n.tag_changes,
    },
    Kind.IAM_POLICY: {
        "document": n.document_changes,
        "description": n.text_changes,
    },
    Kind.QUICKSIGHT_DATA_SOURCE: {
        "name": n.scalar_changes,
        "type": n.scalar_changes,
        "parameters": n.deep_changes,
        "vpc_connection_properties": n.deep_changes,
        "ssl_properties": n.deep_changes,
        "permissions": n.permission_changes,
    },
    Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION: {
        "name": n.scalar_changes,
        "role_arn": n.scalar_changes,
    },
    Kind.CLEANROOMS_MEMBERSHIP: {
        "result_role_arn": n.scalar_changes,
        "query_log_status": n.scalar_changes,
    },
}
"""How each spec key of each kind is compared; keys not listed compare as nested JSON."""


def diff_spec(kind: Kind, desired: Mapping[str, Any], live: Mapping[str, Any]) -> list[Change]:
    """The changes from a desired spec to a live state, for the keys the spec declares.

    Keys absent from ``desired`` are not managed and never compared.

    Parameters
    ----------
    kind
        The resource kind; it selects how each key compares (``KIND_FIELDS``).
    desired
        The registry entry's ``spec``.
    live
        The live state in the same shape.

    Returns
    -------
    list of Change
        Sorted by path (then op and values); values are JSON-safe.

    Example
    -------
    >>> diff_spec(Kind.CLEANROOMS_MEMBERSHIP, {"query_log_status": "ENABLED"},
    ...           {"query_log_status": "DISABLED", "result_role_arn": "x"})[0].path
    'query_log_status'
    """
    fields = KIND_FIELDS.get(kind, {})
    changes: list[Change] = []
    for key in desired:
        comparator = fields.get(key, n.deep_changes)
        changes += comparator(desired[key], live.get(key), key)
    return sorted(changes, key=n.change_sort_key)


def compare(desired: DesiredResource, live: LiveResource) -> ResourceResult:
    """Compare one registry entry with its live state.

    Returns status ``error`` (with the message) when the live state could not be read,
    ``missing`` when the resource does not exist, else ``drifted`` or ``in_sync`` with the
    changes. Findings are not computed here (see ``chalicelib.rules.evaluate``).

    Parameters
    ----------
    desired
        The registry entry, placeholders resolved.
    live
        What the collector read.

    Returns
    -------
    ResourceResult
        With ``desired.ref`` and ``desired.mode``.
    """
    if live.error is not None:
        return ResourceResult(
            ref=desired.ref, mode=desired.mode, status=Status.ERROR, error=live.error
        )
    if not live.exists:
        return ResourceResult(ref=desired.ref, mode=desired.mode, status=Status.MISSING)
    changes = tuple(diff_spec(desired.ref.kind, desired.spec, live.state))
    status = Status.DRIFTED if changes else Status.IN_SYNC
    return ResourceResult(ref=desired.ref, mode=desired.mode, status=status, changes=changes)
