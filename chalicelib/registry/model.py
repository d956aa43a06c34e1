"""The registry as data: settings, raw entries, snapshot body and digest, placeholder resolution.

Pure: no I/O. Loading files lives in ``loader``, S3 in ``store``, checking in ``validate``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from chalicelib.errors import RegistryError, RegistryValidationError
from chalicelib.models import AccountContext, DesiredResource, Kind, Mode, ResourceRef

#: Version of the published snapshot body (docs/registry.md, "Published snapshots").
FORMAT_VERSION = 1

#: Registry placeholders, resolved per account context.
PLACEHOLDERS: tuple[str, ...] = ("AccountId", "Region", "Partition")

#: ``${...}`` tokens; IAM policy variables (``${aws:username}``, ``${*}``) share the syntax.
PLACEHOLDER_RE = re.compile(r"\$\{([^}]*)\}")

_POLICY_VARIABLE_SPECIALS = frozenset({"*", "?", "$"})
_PATH_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_SETTING_KEYS = ("default_mode", "paused", "targets")
_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem: the file, the path inside it, a message and a code."""

    source: str
    path: str
    message: str
    code: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return f"{where}: {self.message} [{self.code}]"

    def to_json(self) -> dict[str, str]:
        return {"file": self.source, "path": self.path, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Target:
    """An account (and its regions) that sweeps cover; the first region also holds IAM."""

    account: str
    regions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"account": self.account, "regions": list(self.regions)}


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    """Registry-wide settings from the root ``registry.yaml``.

    ``targets`` lists the accounts (and regions) a sweep covers; empty means the account and
    region of driftwarden's own credentials.
    """

    default_mode: Mode | None = None
    paused: bool = False
    targets: tuple[Target, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "default_mode": None if self.default_mode is None else str(self.default_mode),
            "paused": self.paused,
        }
        if self.targets:
            out["targets"] = [t.to_json() for t in self.targets]
        return out


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One registry file as written: placeholders unresolved.

    ``source`` is the file's path relative to the registry root, in posix form.
    """

    source: str
    document: Mapping[str, Any]

    @property
    def kind(self) -> str | None:
        value = self.document.get("kind")
        return value if isinstance(value, str) else None

    @property
    def id(self) -> str | None:
        value = self.document.get("id")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class EntryOptions:
    """Per-entry options that :class:`~chalicelib.models.DesiredResource` does not carry."""

    source: str
    recreate: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Registry:
    """A whole registry: settings and entries, plus where it was read from.

    The digest is the SHA-256 of :meth:`body` serialised canonically, so a directory and the
    snapshot published from it have the same digest.
    """

    settings: RegistrySettings
    entries: tuple[RegistryEntry, ...]
    location: str

    def body(self) -> dict[str, Any]:
        """The snapshot body: ``{"format_version", "settings", "entries"}``."""
        return {
            "format_version": FORMAT_VERSION,
            "settings": self.settings.to_json(),
            "entries": [
                {"source": entry.source, "document": _plain(entry.document)}
                for entry in self.entries
            ],
        }

    @cached_property
    def digest(self) -> str:
        """``sha256:<hex>`` of the canonical JSON of :meth:`body`."""
        return digest_of(self.body())

    @classmethod
    def from_body(cls, body: object, location: str) -> Registry:
        """Rebuild a registry from a snapshot body (the inverse of :meth:`body`).

        Raises
        ------
        RegistryError
            The body does not have the snapshot shape (wrong version, missing keys).
        """
        if not isinstance(body, Mapping):
            raise RegistryError(f"{location}: snapshot is not a JSON object")
        version = body.get("format_version")
        if version != FORMAT_VERSION:
            raise RegistryError(
                f"{location}: unsupported snapshot format_version {version!r} "
                f"(expected {FORMAT_VERSION})"
            )
        settings, problems = parse_settings(body.get("settings"), "settings")
        if problems:
            raise RegistryError(f"{location}: snapshot settings are invalid: {problems[0].message}")
        raw_entries = body.get("entries")
        if not isinstance(raw_entries, list):
            raise RegistryError(f"{location}: snapshot has no 'entries' list")
        entries: list[RegistryEntry] = []
        for index, raw in enumerate(raw_entries):
            if (
                not isinstance(raw, Mapping)
                or not isinstance(raw.get("source"), str)
                or not isinstance(raw.get("document"), Mapping)
            ):
                raise RegistryError(
                    f"{location}: snapshot entry {index} is not {{'source': str, 'document': {{}}}}"
                )
            entries.append(RegistryEntry(raw["source"], raw["document"]))
        return cls(settings=settings, entries=tuple(entries), location=location)

    def resolve(
        self, ctx: AccountContext, mode_override: Mode | None = None
    ) -> tuple[DesiredResource, ...]:
        """Every entry with placeholders resolved for ``ctx``.

        Mode precedence: the entry's ``mode``, then ``mode_override`` (``DRIFTWARDEN_MODE``, given
        by the caller), then the registry's ``default_mode``, then ``alert``.

        Raises
        ------
        RegistryValidationError
            An entry lacks the basic shape (kind, id, spec, mode) needed to resolve it; a
            registry that passed :func:`chalicelib.registry.validate.validate` never does.

        Example
        -------
        >>> registry.resolve(AccountContext("123456789012", "eu-west-1"), Mode.ALERT)
        """
        fallback = mode_override or self.settings.default_mode or Mode.ALERT
        values = placeholder_values(ctx)
        resources: list[DesiredResource] = []
        problems: list[Problem] = []
        for entry in self.entries:
            if not in_scope(entry.document, ctx):
                continue
            try:
                resources.append(_resolve_entry(entry, ctx, values, fallback))
            except _EntryShapeError as err:
                problems.append(Problem(entry.source, err.path, err.message, "SCHEMA"))
        if problems:
            raise RegistryValidationError(tuple(problems))
        return tuple(resources)

    def entry(self, source: str) -> RegistryEntry:
        """The entry read from ``source``.

        Raises
        ------
        RegistryError
            No entry has that source.
        """
        for entry in self.entries:
            if entry.source == source:
                return entry
        raise RegistryError(f"{self.location}: no registry entry from {source!r}")

    def entry_options(self, target: DesiredResource | ResourceRef | str) -> EntryOptions:
        """Options of one entry that :class:`DesiredResource` does not carry (``recreate``...).

        ``target`` is a resolved resource, the reference of one (matched by kind and id, with
        ``${Partition}`` matching any partition), or the entry's source path.

        Raises
        ------
        RegistryError
            No entry matches ``target``.
        """
        entry = self._entry_for(target)
        description = entry.document.get("description")
        return EntryOptions(
            source=entry.source,
            recreate=entry.document.get("recreate") is True,
            description=description if isinstance(description, str) else None,
        )

    def recreate(self, target: DesiredResource | ResourceRef | str) -> bool:
        """Whether the entry asks for a deleted resource to be recreated (``recreate: true``).

        Raises
        ------
        RegistryError
            No entry matches ``target``.
        """
        return self.entry_options(target).recreate

    def _entry_for(self, target: DesiredResource | ResourceRef | str) -> RegistryEntry:
        if isinstance(target, str):
            return self.entry(target)
        if isinstance(target, DesiredResource):
            return self.entry(target.source)
        for entry in self.entries:
            if (
                entry.kind == target.kind.value
                and entry.id is not None
                and _id_pattern(entry.id, target).fullmatch(target.id)
            ):
                return entry
        raise RegistryError(f"{self.location}: no registry entry for {target}")


def digest_of(body: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of ``body`` serialised canonically (see :func:`canonical_json`)."""
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """Sorted keys, compact separators, UTF-8: the bytes the digest is taken over."""
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def placeholder_values(ctx: AccountContext) -> dict[str, str]:
    """The value of each registry placeholder in ``ctx``."""
    return {"AccountId": ctx.account, "Region": ctx.region, "Partition": ctx.partition}


def is_policy_variable(name: str) -> bool:
    """True for IAM policy variables (``aws:username``, ``*``...) that share ``${...}``."""
    return ":" in name or name in _POLICY_VARIABLE_SPECIALS


def is_unknown_placeholder(name: str) -> bool:
    """True for a ``${name}`` that is neither a registry placeholder nor an IAM policy variable."""
    return not is_policy_variable(name) and name not in PLACEHOLDERS


def substitute(value: Any, values: Mapping[str, str]) -> Any:
    """``value`` with ``${Name}`` replaced from ``values`` in every string (keys included).

    IAM policy variables and unknown names are left as they are.
    """
    if isinstance(value, str):
        if "${" not in value:
            return value
        return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, Mapping):
        return {substitute(k, values): substitute(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(item, values) for item in value]
    return value


def iter_strings(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string in ``value`` (mapping keys included) with the path where it occurs."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*path, key), key
            yield from iter_strings(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from iter_strings(item, (*path, index))


def format_path(parts: Sequence[str | int]) -> str:
    """``("spec", "trust_policy", "Statement", 0)`` -> ``spec.trust_policy.Statement[0]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PATH_KEY_RE.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def parse_settings(raw: object, source: str) -> tuple[RegistrySettings, list[Problem]]:
    """Parse the root settings document; unknown keys and bad values become problems.

    ``None`` (an empty or absent file) gives the defaults.
    """
    if raw is None:
        return RegistrySettings(), []
    if not isinstance(raw, Mapping):
        return RegistrySettings(), [
            Problem(source, "", "registry settings must be a mapping", "SCHEMA")
        ]
    problems: list[Problem] = []
    for key in raw:
        if key not in _SETTING_KEYS:
            problems.append(
                Problem(
                    source,
                    format_path([str(key)]),
                    f"unknown setting {key!r}; valid settings: {', '.join(_SETTING_KEYS)}",
                    "SCHEMA",
                )
            )
    default_mode: Mode | None = None
    mode_raw = raw.get("default_mode")
    if mode_raw is not None:
        try:
            default_mode = Mode(mode_raw)
        except ValueError:
            problems.append(
                Problem(
                    source,
                    "default_mode",
                    f"{mode_raw!r} is not a mode; valid modes: {', '.join(m.value for m in Mode)}",
                    "SCHEMA",
                )
            )
    paused = raw.get("paused", False)
    if not isinstance(paused, bool):
        problems.append(Problem(source, "paused", f"{paused!r} is not true or false", "SCHEMA"))
        paused = False
    targets, target_problems = _parse_targets(raw.get("targets"), source)
    problems.extend(target_problems)
    settings = RegistrySettings(default_mode=default_mode, paused=paused, targets=targets)
    return settings, problems


def _parse_targets(raw: object, source: str) -> tuple[tuple[Target, ...], list[Problem]]:
    """``targets: [{account: "111122223333", regions: [us-east-1, ...]}, ...]``."""
    if raw is None:
        return (), []
    if not isinstance(raw, list):
        return (), [Problem(source, "targets", "targets must be a list", "SCHEMA")]
    targets: list[Target] = []
    problems: list[Problem] = []
    for index, item in enumerate(raw):
        where = f"targets[{index}]"
        if not isinstance(item, Mapping) or set(item) - {"account", "regions"}:
            problems.append(
                Problem(source, where, "a target has 'account' and optional 'regions'", "SCHEMA")
            )
            continue
        account = str(item.get("account", ""))
        regions = item.get("regions") or []
        if not _ACCOUNT_RE.match(account):
            problems.append(
                Problem(source, f"{where}.account", f"{account!r} is not an account ID", "SCHEMA")
            )
            continue
        if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
            problems.append(
                Problem(source, f"{where}.regions", "regions must be a list of names", "SCHEMA")
            )
            continue
        targets.append(Target(account, tuple(regions)))
    return tuple(targets), problems


def in_scope(document: Mapping[str, Any], ctx: AccountContext) -> bool:
    """Whether an entry's optional ``accounts`` / ``regions`` lists include ``ctx``.

    Regions only scope regional kinds: IAM is global, so IAM entries ignore ``regions``.
    """
    accounts = document.get("accounts")
    if isinstance(accounts, list) and ctx.account not in accounts:
        return False
    regions = document.get("regions")
    regional = str(document.get("kind", "")) not in (Kind.IAM_ROLE, Kind.IAM_POLICY)
    return not (regional and isinstance(regions, list) and ctx.region not in regions)


class _EntryShapeError(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _resolve_entry(
    entry: RegistryEntry, ctx: AccountContext, values: Mapping[str, str], fallback: Mode
) -> DesiredResource:
    document = entry.document
    try:
        kind = Kind(str(document.get("kind")))
    except ValueError:
        raise _EntryShapeError("kind", f"unknown kind {document.get('kind')!r}") from None
    raw_id = document.get("id")
    if not isinstance(raw_id, str) or not raw_id:
        raise _EntryShapeError("id", "'id' must be a non-empty string")
    spec = document.get("spec")
    if not isinstance(spec, Mapping):
        raise _EntryShapeError("spec", "'spec' must be a mapping")
    mode_raw = document.get("mode")
    try:
        mode = fallback if mode_raw is None else Mode(mode_raw)
    except ValueError:
        raise _EntryShapeError("mode", f"{mode_raw!r} is not a mode") from None
    allow_raw = document.get("allow") or ()
    if not isinstance(allow_raw, list | tuple) or not all(isinstance(a, str) for a in allow_raw):
        raise _EntryShapeError("allow", "'allow' must be a list of guardrail codes")
    return DesiredResource(
        ref=ResourceRef(kind, substitute(raw_id, values), ctx.account, ctx.region),
        mode=mode,
        spec=substitute(spec, values),
        source=entry.source,
        allow=frozenset(allow_raw),
    )


def _id_pattern(raw_id: str, ref: ResourceRef) -> re.Pattern[str]:
    """A pattern for ``raw_id`` resolved in ``ref``'s account and region, any partition."""
    values = {"AccountId": re.escape(ref.account), "Region": re.escape(ref.region)}
    parts: list[str] = []
    position = 0
    for match in PLACEHOLDER_RE.finditer(raw_id):
        parts.append(re.escape(raw_id[position : match.start()]))
        name = match.group(1)
        if name == "Partition":
            parts.append(r"aws[a-z-]*")
        else:
            parts.append(values.get(name, re.escape(match.group(0))))
        position = match.end()
    parts.append(re.escape(raw_id[position:]))
    flags = re.IGNORECASE if ref.kind in (Kind.IAM_ROLE, Kind.IAM_POLICY) else 0
    return re.compile("".join(parts), flags)


def _plain(value: Any) -> Any:
    """A JSON-ready deep copy (mappings to dicts, tuples to lists)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
