"""Registry validation: structure (JSON Schema per kind), then semantics (placeholders,
duplicates, references, documented service rules and guardrails). Collects every problem.

Pure: reads only the schema file shipped next to this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.errors import RegistryValidationError
from chalicelib.models import AccountContext, DesiredResource, Finding, Kind
from chalicelib.registry.model import (
    PLACEHOLDER_RE,
    PLACEHOLDERS,
    Problem,
    Registry,
    RegistryEntry,
    format_path,
    is_unknown_placeholder,
    iter_strings,
    placeholder_values,
    substitute,
)

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = [
    "SAMPLE_CONTEXT",
    "Problem",
    "load_schema",
    "validate",
    "validate_directory",
    "validate_or_raise",
]

#: The account context used to resolve placeholders while validating (any valid one would do).
SAMPLE_CONTEXT = AccountContext("123456789012", "us-east-1")

_KINDS = tuple(kind.value for kind in Kind)
_ACCOUNT_PLACEHOLDER = "${AccountId}"
_ROLE_ARN_RE = re.compile(
    r"^arn:[^:]+:iam::(?P<account>[^:]*):role(?P<path>/(?:.*/)?)(?P<name>[^/]+)$"
)
_POLICY_ARN_RE = re.compile(r"^arn:[^:]+:iam::(?P<account>[^:]*):policy/")
_REQUIRED_RE = re.compile(r"^(.*) is a required property$")
#: Validators whose schema may carry a friendlier ``errorMessage`` (as editors also honour).
_MESSAGE_OVERRIDES = frozenset(
    {"anyOf", "oneOf", "not", "const", "required", "minProperties", "maxProperties"}
)


class _Violation(Protocol):
    """What :func:`chalicelib.rules.registry_findings` returns per violation."""

    @property
    def resource(self) -> DesiredResource: ...

    @property
    def path(self) -> str: ...

    @property
    def finding(self) -> Finding: ...


RuleCheck = Callable[[Sequence[DesiredResource]], Iterable[_Violation]]


@cache
def load_schema() -> dict[str, Any]:
    """The registry entry JSON Schema (draft 2020-12) shipped as ``schema.json``."""
    loaded: dict[str, Any] = json.loads(
        Path(__file__).with_name("schema.json").read_text(encoding="utf-8")
    )
    return loaded


def validate(registry: Registry, *, rule_check: RuleCheck | None = None) -> list[Problem]:
    """Every problem in ``registry``; an empty list means it is valid.

    Stage 1 checks each entry's structure against its kind's JSON Schema. Stage 2 runs on the
    entries that passed: unknown placeholders, duplicate ``(kind, id)``, references (a role ARN
    or customer-managed policy ARN in ``${AccountId}`` must name a registry entry), then the
    documented service rules and guardrails of :func:`chalicelib.rules.registry_findings`.

    Parameters
    ----------
    registry
        The registry as loaded (placeholders unresolved).
    rule_check
        Replaces :func:`chalicelib.rules.registry_findings` (tests); ``None`` uses it.

    Returns
    -------
    list[Problem]
        Grouped by file in registry order, each with the JSON path inside the file.
    """
    problems: list[Problem] = []
    valid: list[RegistryEntry] = []
    for entry in registry.entries:
        structural = _structure_problems(entry)
        problems.extend(structural)
        problems.extend(_placeholder_problems(entry))
        if not structural:
            valid.append(entry)
    problems.extend(_duplicate_problems(valid))
    problems.extend(_reference_problems(valid))
    if valid:
        # Every entry is checked, whatever accounts or regions it is scoped to.
        unscoped = tuple(
            RegistryEntry(
                e.source, {k: v for k, v in e.document.items() if k not in ("accounts", "regions")}
            )
            for e in valid
        )
        resources = Registry(registry.settings, unscoped, registry.location).resolve(SAMPLE_CONTEXT)
        if rule_check is None:
            from chalicelib.rules import registry_findings

            rule_check = registry_findings
        # A broken reference is reported once, by the REFERENCE check (it says how to fix it).
        referenced = {(p.source, p.path) for p in problems if p.code == "REFERENCE"}
        problems.extend(
            Problem(v.resource.source, v.path, v.finding.message, v.finding.code)
            for v in rule_check(resources)
            if (v.resource.source, v.path) not in referenced
        )
    order = {entry.source: index for index, entry in enumerate(registry.entries)}
    return sorted(problems, key=lambda p: order.get(p.source, len(order)))


def validate_or_raise(registry: Registry, *, rule_check: RuleCheck | None = None) -> None:
    """Validate ``registry`` and raise if anything is wrong.

    Raises
    ------
    RegistryValidationError
        The registry has at least one problem; ``problems`` lists them all.
    """
    problems = validate(registry, rule_check=rule_check)
    if problems:
        raise RegistryValidationError(tuple(problems))


def validate_directory(
    path: str | Path, *, rule_check: RuleCheck | None = None
) -> tuple[Registry, list[Problem]]:
    """Parse and validate a registry directory, reporting parse and validation problems together.

    Files that cannot be parsed are reported and left out; the rest are validated, so one run
    lists every problem (``driftwarden validate``).

    Returns
    -------
    tuple[Registry, list[Problem]]
        The registry of the files that parsed, and every problem, ordered by file.

    Raises
    ------
    RegistryNotFoundError
        ``path`` does not exist or is not a directory.
    """
    from chalicelib.registry.loader import read_directory

    registry, problems = read_directory(path)
    problems = problems + validate(registry, rule_check=rule_check)
    return registry, sorted(problems, key=lambda p: p.source)


# -- stage 1: structure ------------------------------------------------------------------------


@cache
def _validator(kind: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = load_schema()
    return Draft202012Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/entry_{kind}"}
    )


def _structure_problems(entry: RegistryEntry) -> list[Problem]:
    document = entry.document
    valid_kinds = ", ".join(_KINDS)
    if "kind" not in document:
        return [
            Problem(
                entry.source, "", f"missing required key 'kind'; one of: {valid_kinds}", "SCHEMA"
            )
        ]
    kind = document["kind"]
    if kind not in _KINDS:
        return [
            Problem(
                entry.source,
                "kind",
                f"unknown kind {_short(kind)}; valid kinds: {valid_kinds}",
                "SCHEMA",
            )
        ]
    problems: list[Problem] = []
    for error in _validator(kind).iter_errors(document):
        problems.extend(_problems_of(entry.source, error))
    return sorted(problems, key=lambda p: (p.path, p.message))


def _problems_of(source: str, error: ValidationError) -> list[Problem]:
    """One jsonschema error as problems with a precise path and a readable message."""
    from jsonschema.exceptions import best_match

    schema = error.schema if isinstance(error.schema, Mapping) else {}
    override = schema.get("errorMessage")
    if error.context and not (override and error.validator in _MESSAGE_OVERRIDES):
        candidates = [c for c in error.context if c.validator != "type"] or list(error.context)
        return _problems_of(source, best_match(candidates))
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        expected = ", ".join(known) if known else "none"
        return [
            Problem(
                source,
                format_path([*path, str(key)]),
                f"unknown key {key!r}; expected one of: {expected}",
                "SCHEMA",
            )
            for key in error.instance
            if key not in known and not any(re.search(p, str(key)) for p in patterns)
        ]
    return [Problem(source, format_path(path), _message(error, schema, override), "SCHEMA")]


def _message(error: ValidationError, schema: Mapping[str, Any], override: Any) -> str:
    validator = error.validator
    if override and validator in _MESSAGE_OVERRIDES:
        return str(override)
    if validator == "type":
        expected = error.validator_value
        names = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return f"expected {names}, found {_short(error.instance)}"
    if validator == "enum":
        options = ", ".join(str(v) for v in schema.get("enum", ()))
        return f"{_short(error.instance)} is not one of: {options}"
    if validator == "pattern":
        what = schema.get("patternErrorMessage")
        if what:
            return f"{_short(error.instance)} is not {what}"
        return f"{_short(error.instance)} does not match {error.validator_value}"
    if validator == "required":
        match = _REQUIRED_RE.match(error.message)
        return f"missing required key {match.group(1) if match else error.message}"
    if validator == "const":
        return f"expected {error.validator_value!r}, found {_short(error.instance)}"
    if validator == "dependentRequired":
        return f"{error.message} (add it)"
    if validator == "uniqueItems":
        return "list has duplicate items"
    return error.message if len(error.message) <= 200 else error.message[:197] + "..."


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- stage 2: semantics ------------------------------------------------------------------------


def _placeholder_problems(entry: RegistryEntry) -> list[Problem]:
    problems: list[Problem] = []
    known = ", ".join(f"${{{name}}}" for name in PLACEHOLDERS)
    for key in ("id", "spec"):
        if key not in entry.document:
            continue
        for path, text in iter_strings(entry.document[key], (key,)):
            for match in PLACEHOLDER_RE.finditer(text):
                if is_unknown_placeholder(match.group(1)):
                    problems.append(
                        Problem(
                            entry.source,
                            format_path(path),
                            f"unknown placeholder {match.group(0)}; use {known}",
                            "PLACEHOLDER",
                        )
                    )
    return problems


def _resolved_id(entry: RegistryEntry) -> str:
    resolved: str = substitute(entry.document["id"], placeholder_values(SAMPLE_CONTEXT))
    # IAM names are unique without regard to case.
    return resolved.lower() if entry.document["kind"] in ("iam_role", "iam_policy") else resolved


def _duplicate_problems(entries: Sequence[RegistryEntry]) -> list[Problem]:
    first: dict[tuple[str, str, str, str], str] = {}
    problems: list[Problem] = []
    for entry in entries:
        # The same id may be declared once per account/region scope.
        scope = (
            ",".join(sorted(map(str, entry.document.get("accounts") or ()))),
            ",".join(sorted(map(str, entry.document.get("regions") or ()))),
        )
        key = (str(entry.document["kind"]), _resolved_id(entry), *scope)
        if key in first:
            problems.append(
                Problem(
                    entry.source,
                    "id",
                    f"duplicate {key[0]} {entry.document['id']!r}: "
                    f"already declared in {first[key]}",
                    "DUPLICATE",
                )
            )
        else:
            first[key] = entry.source
    return problems


def _reference_problems(entries: Sequence[RegistryEntry]) -> list[Problem]:
    values = placeholder_values(SAMPLE_CONTEXT)
    roles: dict[str, RegistryEntry] = {}
    policies: set[str] = set()
    for entry in entries:
        if entry.document["kind"] == "iam_role":
            roles.setdefault(_resolved_id(entry), entry)
        elif entry.document["kind"] == "iam_policy":
            policies.add(_resolved_id(entry))
    problems: list[Problem] = []
    for entry in entries:
        spec: Mapping[str, Any] = entry.document["spec"]
        for path, arn in _role_arns(str(entry.document["kind"]), spec):
            message = _role_reference_message(arn, roles, values)
            if message:
                problems.append(Problem(entry.source, format_path(path), message, "REFERENCE"))
        if entry.document["kind"] == "iam_role":
            for index, arn in enumerate(spec.get("managed_policies") or ()):
                match = _POLICY_ARN_RE.match(arn)
                if not match or match.group("account") != _ACCOUNT_PLACEHOLDER:
                    continue
                if substitute(arn, values).lower() not in policies:
                    problems.append(
                        Problem(
                            entry.source,
                            format_path(("spec", "managed_policies", index)),
                            f"customer-managed policy {arn} is not declared in the registry "
                            "(add an iam_policy entry with this id)",
                            "REFERENCE",
                        )
                    )
    return problems


def _role_arns(kind: str, spec: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """The role ARNs an entry refers to, with their paths."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if kind == "quicksight_data_source":
        for name, params in (spec.get("parameters") or {}).items():
            if not isinstance(params, Mapping):
                continue
            if isinstance(params.get("RoleArn"), str):
                found.append((("spec", "parameters", name, "RoleArn"), params["RoleArn"]))
            iam = params.get("IAMParameters")
            if isinstance(iam, Mapping) and isinstance(iam.get("RoleArn"), str):
                path = ("spec", "parameters", name, "IAMParameters", "RoleArn")
                found.append((path, iam["RoleArn"]))
    elif kind == "cleanrooms_configured_table_association":
        if isinstance(spec.get("role_arn"), str):
            found.append((("spec", "role_arn"), spec["role_arn"]))
    elif kind == "cleanrooms_membership" and isinstance(spec.get("result_role_arn"), str):
        found.append((("spec", "result_role_arn"), spec["result_role_arn"]))
    return found


def _role_reference_message(
    arn: str, roles: Mapping[str, RegistryEntry], values: Mapping[str, str]
) -> str | None:
    """Why ``arn`` (a role in ``${AccountId}``) does not name a registry role, or None."""
    match = _ROLE_ARN_RE.match(arn)
    if not match or match.group("account") != _ACCOUNT_PLACEHOLDER:
        return None
    name = substitute(match.group("name"), values)
    role = roles.get(name.lower())
    if role is None:
        return (
            f"role {match.group('name')!r} is not declared in the registry (add an iam_role entry)"
        )
    declared_path = role.document["spec"].get("path")
    arn_path = substitute(match.group("path"), values)
    if isinstance(declared_path, str) and substitute(declared_path, values) != arn_path:
        return (
            f"role ARN path {arn_path!r} does not match path {declared_path!r} of iam_role "
            f"{role.document['id']!r} ({role.source}); the ARN names no role"
        )
    return None
