"""Reading a registry directory (YAML / JSON, one resource per file) into a :class:`Registry`."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from chalicelib.errors import RegistryNotFoundError, RegistryValidationError
from chalicelib.registry.model import (
    Problem,
    Registry,
    RegistryEntry,
    RegistrySettings,
    format_path,
    parse_settings,
)

ENTRY_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
SETTINGS_NAMES = ("registry.yaml", "registry.yml", "registry.json")
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


# libyaml's parser when PyYAML was built with it (about six times faster on large registries).
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _RegistryYamlLoader(_SafeLoader):  # type: ignore[misc]
    """A safe YAML loader that keeps dates as strings and refuses duplicate keys.

    ``Version: 2012-10-17`` unquoted must stay the string IAM expects, not a ``date``.
    """


_RegistryYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool):
            continue
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_RegistryYamlLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_directory(path: str | Path) -> Registry:
    """Read every entry file under ``path`` and the optional root ``registry.yaml``.

    Entry files are ``*.yaml``, ``*.yml`` and ``*.json`` at any depth, except the root settings
    file and anything hidden (a file or directory whose name starts with ``.``); they are read
    in sorted order of their posix path relative to ``path``. Only parsing happens here; call
    :func:`chalicelib.registry.validate.validate` to check the contents.

    Parameters
    ----------
    path
        The registry directory, e.g. ``policies/``.

    Returns
    -------
    Registry
        The raw registry; ``location`` is ``str(path)``.

    Raises
    ------
    RegistryNotFoundError
        ``path`` does not exist or is not a directory.
    RegistryValidationError
        One or more files cannot be parsed (bad YAML or JSON, not a mapping, several documents
        in one file, a value JSON cannot hold, bad settings); every such problem is listed.
    """
    registry, problems = read_directory(path)
    if problems:
        raise RegistryValidationError(tuple(problems))
    return registry


def read_directory(path: str | Path) -> tuple[Registry, list[Problem]]:
    """Like :func:`load_directory`, but return the parse problems instead of raising.

    The registry holds the entries that parsed (and default settings when the settings file
    did not), so a caller can validate them and report every problem in one pass.

    Raises
    ------
    RegistryNotFoundError
        ``path`` does not exist or is not a directory.
    """
    root = Path(path)
    if not root.is_dir():
        raise RegistryNotFoundError(f"registry directory not found: {root}")
    problems: list[Problem] = []
    settings = RegistrySettings()
    settings_files = [name for name in SETTINGS_NAMES if (root / name).is_file()]
    if len(settings_files) > 1:
        problems.append(
            Problem(
                settings_files[1],
                "",
                f"more than one settings file: {', '.join(settings_files)}",
                "PARSE",
            )
        )
    if settings_files:
        name = settings_files[0]
        raw, parse_problems = _parse_file(root / name, name)
        problems.extend(parse_problems)
        if not parse_problems:
            settings, setting_problems = parse_settings(raw, name)
            problems.extend(setting_problems)
    entries: list[RegistryEntry] = []
    for file in _entry_files(root):
        source = file.relative_to(root).as_posix()
        document, parse_problems = _parse_file(file, source)
        problems.extend(parse_problems)
        if parse_problems:
            continue
        if document is None:
            problems.append(Problem(source, "", "file is empty; expected one mapping", "PARSE"))
        elif not isinstance(document, Mapping):
            problems.append(
                Problem(
                    source,
                    "",
                    f"expected a mapping at the top level, found {_type_name(document)}",
                    "PARSE",
                )
            )
        else:
            json_problems = list(_json_problems(document, source, ()))
            problems.extend(json_problems)
            if not json_problems:
                entries.append(RegistryEntry(source, document))
    return Registry(settings=settings, entries=tuple(entries), location=str(path)), problems


def _entry_files(root: Path) -> list[Path]:
    files: list[tuple[str, Path]] = []
    for file in root.rglob("*"):
        relative = file.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if file.suffix.lower() not in ENTRY_SUFFIXES or not file.is_file():
            continue
        if len(relative.parts) == 1 and relative.name in SETTINGS_NAMES:
            continue
        files.append((relative.as_posix(), file))
    return [file for _, file in sorted(files)]


def _parse_file(file: Path, source: str) -> tuple[Any, list[Problem]]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return None, [Problem(source, "", f"cannot read file: {err}", "PARSE")]
    if file.suffix.lower() == ".json":
        try:
            return json.loads(text), []
        except json.JSONDecodeError as err:
            message = f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}"
            return None, [Problem(source, "", message, "PARSE")]
    try:
        return yaml.load(text, Loader=_RegistryYamlLoader), []
    except yaml.composer.ComposerError as err:
        if "single document" in f"{err.context} {err.problem}":
            return None, [
                Problem(
                    source,
                    "",
                    "more than one YAML document (---); a registry file holds one resource",
                    "PARSE",
                )
            ]
        return None, [Problem(source, "", f"invalid YAML: {_yaml_message(err)}", "PARSE")]
    except yaml.YAMLError as err:
        return None, [Problem(source, "", f"invalid YAML: {_yaml_message(err)}", "PARSE")]


def _yaml_message(err: yaml.YAMLError) -> str:
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = err.problem or err.context or "syntax error"
        return f"{reason}{where}"
    return str(err)


def _json_problems(value: Any, source: str, path: tuple[str | int, ...]) -> list[Problem]:
    """Values that have no JSON form (non-string keys, dates, bytes, NaN) are problems."""
    problems: list[Problem] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append(
                    Problem(
                        source,
                        format_path([*path, str(key)]),
                        f"mapping key {key!r} must be a string (quote it)",
                        "PARSE",
                    )
                )
                continue
            problems.extend(_json_problems(item, source, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.extend(_json_problems(item, source, (*path, index)))
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append(Problem(source, format_path(path), "number must be finite", "PARSE"))
    elif value is not None and not isinstance(value, str | int | float | bool):
        problems.append(
            Problem(
                source,
                format_path(path),
                f"a {_type_name(value)} value has no JSON form (quote it)",
                "PARSE",
            )
        )
    return problems


def _type_name(value: object) -> str:
    names = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return names.get(type(value), type(value).__name__)
