"""Equivalence-preserving rewrites of IAM policy documents, shared by the property and corpus
tests: each returns a document that IAM treats exactly like its input."""

from __future__ import annotations

import copy
import json
import random
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

Doc = dict[str, Any]
Rewrite = Callable[[Doc, random.Random], Doc]

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ROOT_RE = re.compile(r"^arn:aws:iam::(\d{12}):root$")
_SET_FIELDS = ("Action", "NotAction", "Resource", "NotResource")


def _statements(doc: Doc) -> list[dict[str, Any]]:
    body = doc.get("Statement", [])
    return [body] if isinstance(body, dict) else list(body)


def _with_statements(doc: Doc, statements: list[dict[str, Any]]) -> Doc:
    out = copy.deepcopy(doc)
    out["Statement"] = statements
    return out


def _toggle(value: Any, rnd: random.Random) -> Any:
    """A one-element list becomes a string, a string a one-element list; lists are shuffled."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    if isinstance(value, list):
        shuffled = list(value)
        rnd.shuffle(shuffled)
        return shuffled
    return value


def shuffle_statements(doc: Doc, rnd: random.Random) -> Doc:
    """Statement order does not matter."""
    statements = copy.deepcopy(_statements(doc))
    rnd.shuffle(statements)
    return _with_statements(doc, statements)


def toggle_string_list(doc: Doc, rnd: random.Random) -> Doc:
    """Action/Resource/Principal values as a string or a one-element list (lists reordered)."""
    statements = copy.deepcopy(_statements(doc))
    for s in statements:
        for name in _SET_FIELDS:
            if name in s:
                s[name] = _toggle(s[name], rnd)
        for name in ("Principal", "NotPrincipal"):
            if isinstance(s.get(name), dict):
                s[name] = {k: _toggle(v, rnd) for k, v in s[name].items()}
    return _with_statements(doc, statements)


def flip_action_case(doc: Doc, rnd: random.Random) -> Doc:
    """Action names are case-insensitive."""

    def flip(action: str) -> str:
        return "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in action)

    statements = copy.deepcopy(_statements(doc))
    for s in statements:
        for name in ("Action", "NotAction"):
            if isinstance(s.get(name), str):
                s[name] = flip(s[name])
            elif isinstance(s.get(name), list):
                s[name] = [flip(a) for a in s[name]]
    return _with_statements(doc, statements)


def duplicate_statement(doc: Doc, rnd: random.Random) -> Doc:
    """A duplicated statement (and a duplicated list entry) grants nothing new."""
    statements = copy.deepcopy(_statements(doc))
    if not statements:
        return copy.deepcopy(doc)
    twin = copy.deepcopy(rnd.choice(statements))
    for name in _SET_FIELDS:
        if isinstance(twin.get(name), list) and twin[name]:
            twin[name] = [*twin[name], twin[name][0]]
    statements.insert(rnd.randrange(len(statements) + 1), twin)
    return _with_statements(doc, statements)


def split_statement(doc: Doc, rnd: random.Random) -> Doc:
    """A statement with several actions equals one statement per action."""
    statements = copy.deepcopy(_statements(doc))
    splittable = [
        i for i, s in enumerate(statements) if isinstance(s.get("Action"), list) and s["Action"]
    ]
    if not splittable:
        return _with_statements(doc, statements)
    i = rnd.choice(splittable)
    original = statements.pop(i)
    for action in original["Action"]:
        part = copy.deepcopy(original)
        part["Action"] = action
        part.pop("Sid", None)
        statements.insert(i, part)
    return _with_statements(doc, statements)


def swap_account_root(doc: Doc, rnd: random.Random) -> Doc:
    """An AWS principal as a 12-digit account ID equals ``arn:aws:iam::<id>:root``."""

    def swap(value: str) -> str:
        if _ACCOUNT_RE.match(value):
            return f"arn:aws:iam::{value}:root"
        match = _ROOT_RE.match(value)
        return match.group(1) if match else value

    statements = copy.deepcopy(_statements(doc))
    for s in statements:
        for name in ("Principal", "NotPrincipal"):
            p = s.get(name)
            if isinstance(p, dict) and "AWS" in p:
                aws = p["AWS"]
                p["AWS"] = swap(aws) if isinstance(aws, str) else [swap(v) for v in aws]
    return _with_statements(doc, statements)


def swap_star_principal(doc: Doc, rnd: random.Random) -> Doc:
    """``Principal: "*"`` equals ``Principal: {"AWS": "*"}``."""
    statements = copy.deepcopy(_statements(doc))
    for s in statements:
        for name in ("Principal", "NotPrincipal"):
            p = s.get(name)
            if p == "*":
                s[name] = {"AWS": "*"}
            elif p in ({"AWS": "*"}, {"AWS": ["*"]}):
                s[name] = "*"
    return _with_statements(doc, statements)


def toggle_condition_values(doc: Doc, rnd: random.Random) -> Doc:
    """Condition values as a string or a one-element list; key names in any case."""

    def recase(key: str) -> str:
        return key.upper() if rnd.random() < 0.5 else key.lower()

    statements = copy.deepcopy(_statements(doc))
    for s in statements:
        condition = s.get("Condition")
        if isinstance(condition, dict):
            s["Condition"] = {
                op: {recase(k): _toggle(v, rnd) for k, v in block.items()}
                for op, block in condition.items()
            }
    return _with_statements(doc, statements)


def relabel_sids(doc: Doc, rnd: random.Random) -> Doc:
    """``Sid`` is a label: renaming or dropping it changes nothing."""
    statements = copy.deepcopy(_statements(doc))
    for s in statements:
        if "Sid" in s and rnd.random() < 0.5:
            del s["Sid"]
        elif "Sid" in s:
            s["Sid"] = f"{s['Sid']}Renamed"
    return _with_statements(doc, statements)


def toggle_default_version(doc: Doc, rnd: random.Random) -> Doc:
    """A missing ``Version`` means ``2008-10-17``."""
    out = copy.deepcopy(doc)
    if "Version" not in out:
        out["Version"] = "2008-10-17"
    elif out["Version"] == "2008-10-17":
        del out["Version"]
    return out


REWRITES: dict[str, Rewrite] = {
    "shuffle_statements": shuffle_statements,
    "toggle_string_list": toggle_string_list,
    "flip_action_case": flip_action_case,
    "duplicate_statement": duplicate_statement,
    "split_statement": split_statement,
    "swap_account_root": swap_account_root,
    "swap_star_principal": swap_star_principal,
    "toggle_condition_values": toggle_condition_values,
    "relabel_sids": relabel_sids,
    "toggle_default_version": toggle_default_version,
}
"""Every dict-to-dict rewrite, by name."""


def url_encode(doc: Doc) -> str:
    """The document as IAM returns it: URL-encoded JSON."""
    return urllib.parse.quote(json.dumps(doc))


def rewrite_all(doc: Doc, seed: int) -> Doc:
    """Apply every rewrite once, in a seeded random order."""
    rnd = random.Random(seed)
    names = sorted(REWRITES)
    rnd.shuffle(names)
    out = doc
    for name in names:
        out = REWRITES[name](out, rnd)
    return out
