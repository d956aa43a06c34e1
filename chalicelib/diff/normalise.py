"""Per-kind normalisers and comparators for the values that are not IAM policy documents."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chalicelib.diff.iam_policy import diff_documents, jsonable, parse_document
from chalicelib.models import Change, Op

SET_KEYS = frozenset({"DatabaseGroups"})
"""Keys inside QuickSight ``DataSourceParameters`` whose list values are unordered sets."""


def join(path: str, leaf: object) -> str:
    """``path.leaf``, or ``leaf`` at the top."""
    return f"{path}.{leaf}" if path else str(leaf)


def change_sort_key(change: Change) -> tuple[str, str, str, str]:
    """A total, stable order for changes: path, op, then the values."""
    return (
        change.path,
        str(change.op),
        json.dumps(change.desired, sort_keys=True, default=str),
        json.dumps(change.live, sort_keys=True, default=str),
    )


def scalar_changes(desired: Any, live: Any, path: str) -> list[Change]:
    """Compare two scalars: ``None`` on one side makes an ``add`` or ``remove``.

    Example
    -------
    >>> scalar_changes(None, "arn:aws:iam::1:policy/b", "permissions_boundary")[0].op
    <Op.ADD: 'add'>
    """
    if desired == live:
        return []
    if desired is None:
        return [Change(path, Op.ADD, None, jsonable(live))]
    if live is None:
        return [Change(path, Op.REMOVE, jsonable(desired), None)]
    return [Change(path, Op.CHANGE, jsonable(desired), jsonable(live))]


def text_changes(desired: Any, live: Any, path: str) -> list[Change]:
    """Compare two optional strings where a missing value and ``""`` are the same."""
    return scalar_changes(desired or None, live or None, path)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _none_if_empty(value: Any) -> Any:
    return None if isinstance(value, Mapping) and not value else value


def _item_key(value: Any) -> str:
    return json.dumps(jsonable(value), sort_keys=True)


def set_changes(desired: Iterable[Any], live: Iterable[Any], path: str) -> list[Change]:
    """Compare two unordered collections: one ``add``/``remove`` change listing the items."""
    dmap = {_item_key(v): v for v in desired}
    lmap = {_item_key(v): v for v in live}
    added = [jsonable(lmap[k]) for k in sorted(lmap.keys() - dmap.keys())]
    removed = [jsonable(dmap[k]) for k in sorted(dmap.keys() - lmap.keys())]
    changes = []
    if added:
        changes.append(Change(path, Op.ADD, None, added))
    if removed:
        changes.append(Change(path, Op.REMOVE, removed, None))
    return changes


def deep_changes(
    desired: Any, live: Any, path: str, set_keys: frozenset[str] = SET_KEYS
) -> list[Change]:
    """Compare nested JSON-like values key by key.

    ``None``, an empty object and a missing key are the same. Lists under a key in
    ``set_keys`` compare as sets; other lists compare as a whole.

    Example
    -------
    >>> [c.path for c in deep_changes({"A": {"RoleArn": "r1"}}, {"A": {"RoleArn": "r2"}}, "p")]
    ['p.A.RoleArn']
    """
    desired, live = _none_if_empty(desired), _none_if_empty(live)
    if desired is None or live is None:
        return scalar_changes(desired, live, path)
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        changes: list[Change] = []
        for key in sorted(set(desired) | set(live), key=str):
            changes += deep_changes(desired.get(key), live.get(key), join(path, key), set_keys)
        return changes
    leaf = path.rsplit(".", 1)[-1]
    if leaf in set_keys and _is_sequence(desired) and _is_sequence(live):
        return set_changes(desired, live, path)
    if jsonable(desired) == jsonable(live):
        return []
    return [Change(path, Op.CHANGE, jsonable(desired), jsonable(live))]


def _parsed_or_raw(doc: Any) -> Any:
    try:
        return jsonable(parse_document(doc))
    except (ValueError, TypeError, AttributeError):
        return jsonable(doc)


def document_changes(desired: Any, live: Any, path: str) -> list[Change]:
    """Compare two policy documents semantically (see ``iam_policy.diff_documents``).

    A document that cannot be parsed is compared as raw text: any difference is one
    ``change`` with both values.
    """
    if desired is None or live is None:
        return scalar_changes(
            None if desired is None else _parsed_or_raw(desired),
            None if live is None else _parsed_or_raw(live),
            path,
        )
    try:
        return diff_documents(desired, live, path)
    except (ValueError, TypeError, AttributeError):
        if _parsed_or_raw(desired) == _parsed_or_raw(live):
            return []
        return [Change(path, Op.CHANGE, _parsed_or_raw(desired), _parsed_or_raw(live))]


def named_document_changes(desired: Any, live: Any, path: str) -> list[Change]:
    """Compare maps of name → policy document (inline policies)."""
    dmap: Mapping[str, Any] = desired or {}
    lmap: Mapping[str, Any] = live or {}
    changes: list[Change] = []
    for name in sorted(set(dmap) | set(lmap)):
        changes += document_changes(dmap.get(name), lmap.get(name), join(path, name))
    return changes


def string_set_changes(desired: Any, live: Any, path: str) -> list[Change]:
    """Compare two lists as sets, one change per extra (``add``) or missing (``remove``) item."""
    dset = {str(v) for v in desired or ()}
    lset = {str(v) for v in live or ()}
    changes = [Change(path, Op.ADD, None, v) for v in sorted(lset - dset)]
    changes += [Change(path, Op.REMOVE, v, None) for v in sorted(dset - lset)]
    return changes


def normalise_tags(value: Any) -> dict[str, str]:
    """Tags as ``{key: value}``, from a mapping or an IAM ``[{"Key", "Value"}]`` list."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for item in value:
        if isinstance(item, Mapping) and "Key" in item:
            out[str(item["Key"])] = str(item.get("Value", ""))
    return out


def tag_changes(desired: Any, live: Any, path: str) -> list[Change]:
    """Compare only the tag keys the desired state declares (``tags.<key>``)."""
    dtags, ltags = normalise_tags(desired), normalise_tags(live)
    changes: list[Change] = []
    for key in sorted(dtags):
        changes += scalar_changes(dtags[key], ltags.get(key), join(path, key))
    return changes


def normalise_permissions(value: Any) -> dict[str, dict[str, str]]:
    """Resource permissions as ``{principal: {lower-cased action: action as written}}``.

    Accepts the registry's ``[{principal, actions}]``, the QuickSight API's
    ``[{Principal, Actions}]``, or a mapping of principal → actions. Entries for the same
    principal are merged.
    """
    out: dict[str, dict[str, str]] = {}
    if value is None:
        return out
    pairs: list[tuple[Any, Any]]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        pairs = []
        for item in value:
            if not isinstance(item, Mapping):
                continue
            pairs.append(
                (
                    item.get("principal", item.get("Principal")),
                    item.get("actions", item.get("Actions")),
                )
            )
    for principal, actions in pairs:
        items = [actions] if isinstance(actions, str) else list(actions or ())
        bucket = out.setdefault(str(principal), {})
        for action in items:
            bucket.setdefault(str(action).lower(), str(action))
    return out


def permission_changes(desired: Any, live: Any, path: str) -> list[Change]:
    """Compare resource permissions per principal (``permissions.<principal>``).

    Actions compare case-insensitively and as sets.
    """
    dmap, lmap = normalise_permissions(desired), normalise_permissions(live)
    changes: list[Change] = []
    for principal in sorted(set(dmap) | set(lmap)):
        d, lv = dmap.get(principal), lmap.get(principal)
        p = join(path, principal)
        if d is None and lv is not None:
            changes.append(Change(p, Op.ADD, None, sorted(lv.values())))
        elif lv is None and d is not None:
            changes.append(Change(p, Op.REMOVE, sorted(d.values()), None))
        elif d is not None and lv is not None and d.keys() != lv.keys():
            changes.append(Change(p, Op.CHANGE, sorted(d.values()), sorted(lv.values())))
    return changes
