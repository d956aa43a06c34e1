"""The IAM policy grammar: parsing, the canonical form, semantic equivalence and diffs."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.models import Change, Op

DEFAULT_VERSION = "2008-10-17"
"""The policy language version IAM assumes when a document names none."""

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ROOT_ARN_RE = re.compile(r"^arn:[a-z0-9-]+:iam::(\d{12}):root$")
_IAM_ARN_ACCOUNT_RE = re.compile(r"^arn:[a-z0-9-]+:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):")
_UNIQUE_ID_RE = re.compile(r"^(AROA|AIDA|AGPA|ANPA|AIPA|ASIA)[A-Z0-9]{16,17}$")
_SET_FIELDS = ("Action", "NotAction", "Resource", "NotResource")
_PRINCIPAL_FIELDS = ("Principal", "NotPrincipal")
_FIELD_POSITIONS = (
    (1, "Principal"),
    (1, "NotPrincipal"),
    (2, "Action"),
    (2, "NotAction"),
    (3, "Resource"),
    (3, "NotResource"),
)

Principal = tuple[str, str]
"""A principal as ``(type, value)``, e.g. ``("AWS", "123456789012")``."""

ConditionEntry = tuple[str, str, frozenset[str]]
"""One condition as ``(operator, lower-cased key, values)``."""

_Part = tuple[Any, ...]
Atom = tuple[str, _Part, _Part, _Part, frozenset[ConditionEntry]]
"""One atomic grant: effect, principal part, action part, resource part, conditions."""


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def parse_document(doc: str | Mapping[str, Any]) -> dict[str, Any]:
    """Turn a policy document into a dict.

    Parameters
    ----------
    doc
        A mapping, a JSON string, or a URL-encoded JSON string as IAM returns it
        (``%7B%22Version%22...``).

    Returns
    -------
    dict
        A shallow copy of the document object.

    Raises
    ------
    ValueError
        When the text is not JSON (after URL-decoding) or not a JSON object.

    Example
    -------
    >>> parse_document("%7B%22Statement%22%3A%5B%5D%7D")
    {'Statement': []}
    """
    if isinstance(doc, Mapping):
        return dict(doc)
    text = doc.strip()
    if not text.startswith("{"):
        text = urllib.parse.unquote(text).strip()
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ValueError(f"policy document is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"policy document must be a JSON object, got {type(value).__name__}")
    return value


# --------------------------------------------------------------------------------------------
# Canonical statements
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class PolicyStatement:
    """One statement in canonical form, with its position and the raw text it came from.

    Set fields are ``None`` when the statement does not have them. Actions are lower-cased,
    AWS account principals are bare 12-digit account IDs, condition keys are lower-cased.
    ``spelling`` maps ``(field, canonical item)`` back to the item as written.
    """

    index: int
    sid: str | None
    effect: str
    principal: frozenset[Principal] | None
    not_principal: frozenset[Principal] | None
    action: frozenset[str] | None
    not_action: frozenset[str] | None
    resource: frozenset[str] | None
    not_resource: frozenset[str] | None
    condition: frozenset[ConditionEntry]
    raw: Mapping[str, Any]
    spelling: Mapping[tuple[str, Any], Any]

    def field(self, name: str) -> frozenset[Any] | None:
        """The canonical set of ``Principal``, ``Action``, ``Resource`` or a ``Not*`` field."""
        value: frozenset[Any] | None = {
            "Principal": self.principal,
            "NotPrincipal": self.not_principal,
            "Action": self.action,
            "NotAction": self.not_action,
            "Resource": self.resource,
            "NotResource": self.not_resource,
        }[name]
        return value

    def atoms(self) -> frozenset[Atom]:
        """The atomic grants of this statement (the cross product of its positive fields)."""
        principals = _parts("Principal", self.principal, "NotPrincipal", self.not_principal)
        actions = _parts("Action", self.action, "NotAction", self.not_action)
        resources = _parts("Resource", self.resource, "NotResource", self.not_resource)
        return frozenset(
            (self.effect, p, a, r, self.condition)
            for p in principals
            for a in actions
            for r in resources
        )


def _parts(
    name: str, positive: frozenset[Any] | None, not_name: str, negative: frozenset[Any] | None
) -> list[_Part]:
    parts: list[_Part] = []
    if positive is not None:
        parts.extend((name, item) for item in positive)
    if negative is not None:
        parts.append((not_name, negative))
    if positive is None and negative is None:
        parts.append(("",))
    return parts


def _as_list(value: Any, what: str) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    raise ValueError(f"{what} must be a string or a list, got {type(value).__name__}")


def _strings(value: Any, what: str) -> list[str]:
    items = _as_list(value, what)
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{what} must contain strings, got {type(item).__name__}")
    return items


def canonical_account_principal(value: str) -> str:
    """Map an AWS principal to canonical form: ``arn:<p>:iam::<id>:root`` becomes ``<id>``.

    Example
    -------
    >>> canonical_account_principal("arn:aws:iam::123456789012:root")
    '123456789012'
    """
    match = _ROOT_ARN_RE.match(value)
    return match.group(1) if match else value


def principal_account(value: str) -> str | None:
    """The 12-digit account of an AWS principal (account ID or IAM ARN), else ``None``."""
    if _ACCOUNT_RE.match(value):
        return value
    match = _IAM_ARN_ACCOUNT_RE.match(value)
    return match.group(1) if match else None


def _principals(
    value: Any, field: str, spelling: dict[tuple[str, Any], Any]
) -> frozenset[Principal]:
    if value == "*":
        spelling.setdefault((field, ("AWS", "*")), "*")
        return frozenset({("AWS", "*")})
    if not isinstance(value, Mapping):
        raise ValueError(f'{field} must be "*" or an object, got {type(value).__name__}')
    out: set[Principal] = set()
    for kind, values in value.items():
        for item in _strings(values, f"{field}.{kind}"):
            canon = canonical_account_principal(item) if kind == "AWS" else item
            out.add((str(kind), canon))
            spelling.setdefault((field, (str(kind), canon)), item)
    return frozenset(out)


def _condition_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) or value is None:
        return json.dumps(value)
    raise ValueError(f"condition values must be scalars, got {type(value).__name__}")


def _conditions(value: Any) -> frozenset[ConditionEntry]:
    if not isinstance(value, Mapping):
        raise ValueError(f"Condition must be an object, got {type(value).__name__}")
    out: set[ConditionEntry] = set()
    for operator, block in value.items():
        if not isinstance(block, Mapping):
            raise ValueError(f"Condition.{operator} must be an object")
        for key, values in block.items():
            items = values if isinstance(values, list | tuple) else [values]
            canon = frozenset(_condition_value(item) for item in items)
            out.add((str(operator), str(key).lower(), canon))
    return frozenset(out)


def _statement(index: int, raw: Any) -> PolicyStatement:
    if not isinstance(raw, Mapping):
        raise ValueError(f"Statement[{index}] must be an object, got {type(raw).__name__}")
    effect = raw.get("Effect")
    if not isinstance(effect, str):
        raise ValueError(f"Statement[{index}] needs an Effect string")
    spelling: dict[tuple[str, Any], Any] = {}
    sets: dict[str, frozenset[Any] | None] = {}
    for name in _SET_FIELDS:
        if name not in raw:
            sets[name] = None
            continue
        items = _strings(raw[name], f"Statement[{index}].{name}")
        is_action = name.endswith("Action")
        canon_items = set()
        for item in items:
            canon = item.lower() if is_action else item
            canon_items.add(canon)
            spelling.setdefault((name, canon), item)
        sets[name] = frozenset(canon_items)
    for name in _PRINCIPAL_FIELDS:
        sets[name] = _principals(raw[name], name, spelling) if name in raw else None
    condition = _conditions(raw["Condition"]) if raw.get("Condition") else frozenset()
    sid = raw.get("Sid")
    return PolicyStatement(
        index=index,
        sid=str(sid) if sid not in (None, "") else None,
        effect=effect,
        principal=sets["Principal"],
        not_principal=sets["NotPrincipal"],
        action=sets["Action"],
        not_action=sets["NotAction"],
        resource=sets["Resource"],
        not_resource=sets["NotResource"],
        condition=condition,
        raw=raw,
        spelling=spelling,
    )


@dataclass(frozen=True, slots=True, eq=False)
class CanonicalPolicy:
    """A policy document in canonical form: version, statements and their atomic grants."""

    version: str
    statements: tuple[PolicyStatement, ...]
    atoms: frozenset[Atom]


def canonicalise(doc: str | Mapping[str, Any]) -> CanonicalPolicy:
    """Parse a document and bring it into canonical form.

    Raises
    ------
    ValueError
        When the document cannot be parsed or a statement is malformed.
    """
    parsed = parse_document(doc)
    version = parsed.get("Version") or DEFAULT_VERSION
    if not isinstance(version, str):
        raise ValueError("Version must be a string")
    raw_statements = parsed.get("Statement", [])
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list | tuple):
        raise ValueError("Statement must be an object or a list of objects")
    statements = tuple(_statement(i, raw) for i, raw in enumerate(raw_statements))
    atoms = frozenset(atom for statement in statements for atom in statement.atoms())
    return CanonicalPolicy(version=version, statements=statements, atoms=atoms)


def iter_statements(doc: str | Mapping[str, Any]) -> Iterator[PolicyStatement]:
    """Yield the canonical statements of a document in written order.

    Raises
    ------
    ValueError
        When the document cannot be parsed or a statement is malformed.
    """
    yield from canonicalise(doc).statements


def equivalent(a: str | Mapping[str, Any], b: str | Mapping[str, Any]) -> bool:
    """Whether two policy documents grant exactly the same thing.

    Statement order, splitting or merging statements, string-versus-list, action case,
    duplicates, ``Sid``, ``"*"`` versus ``{"AWS": "*"}``, account ID versus ``:root`` ARN,
    condition values as string or list and condition key case are not differences.

    Raises
    ------
    ValueError
        When a document cannot be parsed.
    """
    ca, cb = canonicalise(a), canonicalise(b)
    return ca.version == cb.version and ca.atoms == cb.atoms


def fingerprint(doc: str | Mapping[str, Any]) -> str:
    """A SHA-256 of the canonical form: equal for exactly the equivalent documents.

    Raises
    ------
    ValueError
        When the document cannot be parsed.
    """
    canon = canonicalise(doc)
    lines = sorted(repr(_sortable(atom)) for atom in canon.atoms)
    body = "\n".join([canon.version, *lines])
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


def _sortable(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return tuple(sorted((_sortable(v) for v in value), key=repr))
    if isinstance(value, tuple):
        return tuple(_sortable(v) for v in value)
    return value


# --------------------------------------------------------------------------------------------
# Queries used by the rules
# --------------------------------------------------------------------------------------------


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard matching: ``*`` is any run of characters, ``?`` any one character.

    Example
    -------
    >>> wildcard_match("s3:Get*", "s3:GetObject")
    True
    """
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _wildcard_regex(pattern, ignore_case).fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _matches_action(statement: PolicyStatement, action: str) -> bool:
    if statement.action is not None:
        return any(wildcard_match(p, action, ignore_case=True) for p in statement.action)
    if statement.not_action is not None:
        return not any(wildcard_match(p, action, ignore_case=True) for p in statement.not_action)
    return False


def _matches_resource(statement: PolicyStatement, resource: str) -> bool:
    if statement.resource is not None:
        return any(wildcard_match(p, resource) for p in statement.resource)
    if statement.not_resource is not None:
        return not any(wildcard_match(p, resource) for p in statement.not_resource)
    return True


def statement_allows(statement: PolicyStatement, action: str, resource: str = "*") -> bool:
    """Whether an Allow statement covers ``action`` on ``resource`` (conditions ignored)."""
    return (
        statement.effect == "Allow"
        and _matches_action(statement, action)
        and _matches_resource(statement, resource)
    )


def allows(doc: str | Mapping[str, Any], action: str, resource: str = "*") -> bool:
    """Whether an identity policy allows ``action`` on ``resource``.

    Allow statements count even when they have conditions (the conditions may hold); Deny
    statements count only when they have none. ``resource`` may itself contain wildcards: it is
    then covered by a pattern that matches it literally, so ``arn:aws:s3:::b/*`` is covered by
    ``arn:aws:s3:::b/*``, ``arn:aws:s3:::*`` and ``*``, but not by ``arn:aws:s3:::b/x/*``.

    Raises
    ------
    ValueError
        When the document cannot be parsed.

    Example
    -------
    >>> allows({"Statement": {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}},
    ...        "s3:GetObject", "arn:aws:s3:::bucket/key")
    True
    """
    statements = canonicalise(doc).statements
    allowed = any(statement_allows(s, action, resource) for s in statements)
    denied = any(
        s.effect == "Deny"
        and not s.condition
        and _matches_action(s, action)
        and _matches_resource(s, resource)
        for s in statements
    )
    return allowed and not denied


def allowed_actions(doc: str | Mapping[str, Any]) -> frozenset[str]:
    """The lower-cased action patterns of the Allow statements (``NotAction`` is not listed).

    Raises
    ------
    ValueError
        When the document cannot be parsed.
    """
    return frozenset(
        action
        for s in canonicalise(doc).statements
        if s.effect == "Allow" and s.action is not None
        for action in s.action
    )


def principals(doc: str | Mapping[str, Any]) -> frozenset[Principal]:
    """Every ``(type, value)`` named in a ``Principal`` or ``NotPrincipal``, as written.

    ``Principal: "*"`` is reported as ``("AWS", "*")``.

    Raises
    ------
    ValueError
        When the document cannot be parsed.
    """
    out: set[Principal] = set()
    for s in canonicalise(doc).statements:
        for name in _PRINCIPAL_FIELDS:
            for kind, canon in s.field(name) or ():
                out.add((kind, str(s.spelling.get((name, (kind, canon)), canon))))
    return frozenset(out)


def conditions(statement: PolicyStatement | Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """A statement's conditions as ``{operator: {lower-cased key: sorted values}}``.

    Raises
    ------
    ValueError
        When the condition block is malformed.
    """
    entries = statement.condition if isinstance(statement, PolicyStatement) else None
    if entries is None:
        assert isinstance(statement, Mapping)
        raw = statement.get("Condition")
        entries = _conditions(raw) if raw else frozenset()
    out: dict[str, dict[str, list[str]]] = {}
    for operator, key, values in sorted(entries, key=_sortable):
        out.setdefault(operator, {})[key] = sorted(values)
    return out


def condition_keys(statement: PolicyStatement) -> frozenset[str]:
    """The lower-cased condition keys a statement tests, whatever the operator."""
    return frozenset(key for _, key, _ in statement.condition)


def is_unique_id(value: str) -> bool:
    """Whether a principal value looks like an IAM unique ID (``AROA...``, ``AIDA...``)."""
    return _UNIQUE_ID_RE.match(value) is not None


def unique_id_principals(doc: str | Mapping[str, Any]) -> tuple[str, ...]:
    """AWS principals that IAM replaced with a unique ID because the principal was deleted.

    Raises
    ------
    ValueError
        When the document cannot be parsed.

    Example
    -------
    >>> unique_id_principals({"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
    ...     "Principal": {"AWS": "AROAIGK7B2VUDZL4I73HK"}}]})
    ('AROAIGK7B2VUDZL4I73HK',)
    """
    return tuple(sorted({v for kind, v in principals(doc) if kind == "AWS" and is_unique_id(v)}))


# --------------------------------------------------------------------------------------------
# Diff
# --------------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: mappings become dicts, sequences and sets become lists."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted((jsonable(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return str(value)


def _join(path: str, leaf: str) -> str:
    return f"{path}.{leaf}" if path else leaf


def _by_unique_sid(statements: Sequence[PolicyStatement]) -> dict[str, PolicyStatement]:
    seen: dict[str, list[PolicyStatement]] = {}
    for s in statements:
        if s.sid is not None:
            seen.setdefault(s.sid, []).append(s)
    return {sid: found[0] for sid, found in seen.items() if len(found) == 1}


def _label(
    statement: PolicyStatement, unique: Mapping[str, PolicyStatement], *, live_only: bool
) -> str:
    if statement.sid is not None and statement.sid in unique:
        return f"Statement[Sid={statement.sid}]"
    return f"Statement[live:{statement.index}]" if live_only else f"Statement[{statement.index}]"


def _similarity(d: PolicyStatement, s: PolicyStatement) -> tuple[int, float] | None:
    """How alike two statements are, or ``None`` when they are too different to pair.

    Statements pair when they share an action and agree on at least two more fields, or agree
    on four of the five fields (effect, principal, action, resource, condition).
    """
    same = sum(
        (
            d.effect == s.effect,
            d.principal == s.principal and d.not_principal == s.not_principal,
            d.action == s.action and d.not_action == s.not_action,
            d.resource == s.resource and d.not_resource == s.not_resource,
            d.condition == s.condition,
        )
    )
    da, sa = d.action or frozenset(), s.action or frozenset()
    overlap = len(da & sa) / len(da | sa) if da | sa else 0.0
    shares_action = overlap > 0 or (d.action == s.action and d.not_action == s.not_action)
    if (shares_action and same >= 2) or same >= 4:
        return same, overlap
    return None


def _extends(small: PolicyStatement, big: PolicyStatement) -> bool:
    """Whether ``big`` is ``small`` with extra principals, actions or resources only."""
    if (small.effect, small.condition) != (big.effect, big.condition):
        return False
    if (small.not_principal, small.not_action, small.not_resource) != (
        big.not_principal,
        big.not_action,
        big.not_resource,
    ):
        return False
    for name in ("Principal", "Action", "Resource"):
        sv, bv = small.field(name), big.field(name)
        if (sv is None) != (bv is None) or (sv is not None and bv is not None and not sv <= bv):
            return False
    return True


def _pair(
    d_all: Sequence[PolicyStatement],
    l_all: Sequence[PolicyStatement],
    desired: list[PolicyStatement],
    live: list[PolicyStatement],
) -> list[tuple[PolicyStatement, PolicyStatement]]:
    """Pair the open statements (``desired``, ``live``) with a partner on the other side.

    First by unique Sid (the partner may be satisfied), then open with open by similarity,
    then an open statement with a satisfied one that it merely extends. Paired statements are
    removed from ``desired`` and ``live``.
    """
    d_by_sid, l_by_sid = _by_unique_sid(d_all), _by_unique_sid(l_all)
    pairs: list[tuple[PolicyStatement, PolicyStatement]] = []
    used_d: set[int] = set()
    used_l: set[int] = set()

    def take(d: PolicyStatement, s: PolicyStatement) -> None:
        pairs.append((d, s))
        used_d.add(d.index)
        used_l.add(s.index)

    for d in desired:
        partner = l_by_sid.get(d.sid) if d.sid is not None and d.sid in d_by_sid else None
        if partner is not None:
            take(d, partner)
    for s in live:
        partner = d_by_sid.get(s.sid) if s.sid is not None and s.sid in l_by_sid else None
        if partner is not None and s.index not in used_l and partner.index not in used_d:
            take(partner, s)
    candidates = []
    for d in desired:
        for s in live:
            score = _similarity(d, s) if d.index not in used_d and s.index not in used_l else None
            if score is not None:
                candidates.append((-score[0], -score[1], d.index, s.index, d, s))
    candidates.sort(key=lambda c: c[:4])
    for *_, d, s in candidates:
        if d.index not in used_d and s.index not in used_l:
            take(d, s)
    for s in live:
        for d in d_all:
            if s.index not in used_l and d.index not in used_d and _extends(d, s):
                take(d, s)
    for d in desired:
        for s in l_all:
            if d.index not in used_d and s.index not in used_l and _extends(s, d):
                take(d, s)
    desired[:] = [d for d in desired if d.index not in used_d]
    live[:] = [s for s in live if s.index not in used_l]
    return pairs


def _atom_items(atoms: Iterable[Atom], position: int, name: str) -> set[Any]:
    parts: list[_Part] = [(atom[1], atom[2], atom[3])[position - 1] for atom in atoms]
    return {part[1] for part in parts if part[0] == name}


def _spell(statement: PolicyStatement, name: str, items: Iterable[Any]) -> list[Any]:
    spelt = [statement.spelling.get((name, item), item) for item in items]
    if name.endswith("Principal"):
        return sorted(spelt, key=lambda v: json.dumps(jsonable(v)))
    return sorted(spelt)


def _set_field_changes(
    base: str,
    name: str,
    d: PolicyStatement,
    s: PolicyStatement,
    missing: set[Any],
    extra: set[Any],
) -> list[Change]:
    dv, lv = d.field(name), s.field(name)
    if dv == lv:
        return []
    path = _join(base, name)
    if dv is None:
        return [Change(path, Op.ADD, None, jsonable(s.raw.get(name)))]
    if lv is None:
        return [Change(path, Op.REMOVE, jsonable(d.raw.get(name)), None)]
    if name.startswith("Not"):
        return [Change(path, Op.CHANGE, jsonable(d.raw.get(name)), jsonable(s.raw.get(name)))]
    added = sorted((lv - dv) & extra, key=repr)
    removed = sorted((dv - lv) & missing, key=repr)
    if name == "Principal":
        return _principal_changes(path, d, s, added, removed)
    changes = []
    if added:
        changes.append(Change(path, Op.ADD, None, _spell(s, name, added)))
    if removed:
        changes.append(Change(path, Op.REMOVE, _spell(d, name, removed), None))
    return changes


def _principal_changes(
    path: str,
    d: PolicyStatement,
    s: PolicyStatement,
    added: list[Principal],
    removed: list[Principal],
) -> list[Change]:
    changes = []
    for kind in sorted({k for k, _ in added} | {k for k, _ in removed}):
        kind_path = f"{path}.{kind}"
        plus = [p for p in added if p[0] == kind]
        minus = [p for p in removed if p[0] == kind]
        if plus:
            values = [s.spelling.get(("Principal", p), p[1]) for p in plus]
            changes.append(Change(kind_path, Op.ADD, None, sorted(map(str, values))))
        if minus:
            values = [d.spelling.get(("Principal", p), p[1]) for p in minus]
            changes.append(Change(kind_path, Op.REMOVE, sorted(map(str, values)), None))
    return changes


def _condition_changes(base: str, d: PolicyStatement, s: PolicyStatement) -> list[Change]:
    if d.condition == s.condition:
        return []
    path = _join(base, "Condition")
    if not s.condition:
        return [Change(path, Op.REMOVE, jsonable(d.raw.get("Condition")), None)]
    if not d.condition:
        return [Change(path, Op.ADD, None, jsonable(s.raw.get("Condition")))]
    dmap = {(op, key): values for op, key, values in d.condition}
    lmap = {(op, key): values for op, key, values in s.condition}
    changes = []
    for op, key in sorted(dmap.keys() | lmap.keys()):
        key_path = f"{path}.{op}.{key}"
        dv, lv = dmap.get((op, key)), lmap.get((op, key))
        if dv == lv:
            continue
        if dv is None:
            changes.append(Change(key_path, Op.ADD, None, sorted(lv or ())))
        elif lv is None:
            changes.append(Change(key_path, Op.REMOVE, sorted(dv), None))
        else:
            changes.append(Change(key_path, Op.CHANGE, sorted(dv), sorted(lv)))
    return changes


def _pair_changes(
    base: str, d: PolicyStatement, s: PolicyStatement, missing: set[Atom], extra: set[Atom]
) -> list[Change]:
    changes: list[Change] = []
    if d.effect != s.effect:
        changes.append(Change(_join(base, "Effect"), Op.CHANGE, d.effect, s.effect))
    d_missing = missing & d.atoms()
    s_extra = extra & s.atoms()
    for position, name in _FIELD_POSITIONS:
        missing_items = _atom_items(d_missing, position, name)
        extra_items = _atom_items(s_extra, position, name)
        changes += _set_field_changes(base, name, d, s, missing_items, extra_items)
    changes += _condition_changes(base, d, s)
    if not changes:
        changes.append(Change(base, Op.CHANGE, jsonable(d.raw), jsonable(s.raw)))
    return changes


def diff_documents(
    desired: str | Mapping[str, Any], live: str | Mapping[str, Any], path: str
) -> list[Change]:
    """The semantic changes from ``desired`` to ``live``, at statement and field level.

    Statements whose grants all exist on the other side are never reported, so reordering,
    splitting and merging statements produce no change. The others are matched with a
    statement on the other side by ``Sid`` (when unique on both sides), then by similarity,
    then with a statement that they only extend (more actions, resources or principals).
    Each change names the field and the values involved: added items (``op=add``, values in
    ``live``), missing items (``op=remove``, values in ``desired``), a changed ``Effect`` or
    condition (``op=change``).
    A whole new statement is an ``add`` at ``Statement[...]`` and a missing one a ``remove``.

    Parameters
    ----------
    desired, live
        The two documents (mapping, JSON or URL-encoded JSON).
    path
        Prefix of every change path, e.g. ``inline_policies.athena-query``.

    Returns
    -------
    list of Change
        Sorted by path; empty exactly when the documents are equivalent.

    Raises
    ------
    ValueError
        When a document cannot be parsed.

    Example
    -------
    >>> diff_documents({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject",
    ...     "Resource": "*"}]}, {"Statement": [{"Sid": "A", "Effect": "Allow",
    ...     "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}]}, "doc")[0].path
    'doc.Statement[Sid=A].Action'
    """
    cd, cl = canonicalise(desired), canonicalise(live)
    changes: list[Change] = []
    if cd.version != cl.version:
        changes.append(Change(_join(path, "Version"), Op.CHANGE, cd.version, cl.version))
    missing = set(cd.atoms - cl.atoms)
    extra = set(cl.atoms - cd.atoms)
    d_open = [d for d in cd.statements if d.atoms() & missing]
    l_open = [s for s in cl.statements if s.atoms() & extra]
    d_sids, l_sids = _by_unique_sid(cd.statements), _by_unique_sid(cl.statements)
    for d, s in _pair(cd.statements, cl.statements, d_open, l_open):
        base = _join(path, _label(d, d_sids, live_only=False))
        changes += _pair_changes(base, d, s, missing, extra)
    for d in d_open:
        base = _join(path, _label(d, d_sids, live_only=False))
        changes.append(Change(base, Op.REMOVE, jsonable(d.raw), None))
    for s in l_open:
        base = _join(path, _label(s, l_sids, live_only=True))
        changes.append(Change(base, Op.ADD, None, jsonable(s.raw)))
    return sorted(changes, key=lambda c: (c.path, str(c.op)))
