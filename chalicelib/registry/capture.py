"""Rendering live resources as registry files (``driftwarden capture``), with placeholders.

Pure: takes live state, returns ``(relative path, YAML text)`` pairs; the caller writes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from chalicelib.models import AccountContext, Kind, LiveResource, Mode

__all__ = ["entry_document", "entry_path", "render_entries", "templatize"]

_ARN_RE = re.compile(
    r"(?<![A-Za-z0-9_-])arn:(?P<partition>[^:\s\"]+):(?P<service>[^:\s\"]*):"
    r"(?P<region>[^:\s\"]*):(?P<account>[^:\s\"]*):"
)
_UNSAFE_FILENAME_RE = re.compile(r"[^A-Za-z0-9._+=,@-]")
_DIRECTORY_OF_KIND: dict[Kind, str] = {
    Kind.IAM_ROLE: "iam/roles",
    Kind.IAM_POLICY: "iam/policies",
    Kind.QUICKSIGHT_DATA_SOURCE: "quicksight/data-sources",
    Kind.CLEANROOMS_MEMBERSHIP: "cleanrooms/memberships",
    Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION: "cleanrooms/configured-table-associations",
}


class _Dumper(yaml.SafeDumper):
    """Block style, list items indented under their key, never anchors or aliases."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_entries(
    lives: Sequence[LiveResource],
    ctx: AccountContext,
    mode: Mode | None,
    *,
    schema_path: str | None = None,
) -> list[tuple[str, str]]:
    """One registry file per existing live resource, with the account's values templated.

    In every string, the partition, region and account of ARNs become ``${Partition}``,
    ``${Region}`` and ``${AccountId}``, as do a string equal to the account ID and the region
    label of an ``amazonaws.com`` host name. Other occurrences (a bucket named after the
    account, say) are left alone, since they may not vary with the account.
    Resources that do not exist or could not be read are skipped.

    Parameters
    ----------
    lives
        Live resources from the collectors; ``state`` has the registry spec shape.
    ctx
        The account the live state was read from.
    mode
        Written as each entry's ``mode`` when given; otherwise entries name no mode.
    schema_path
        The path of ``schema.json`` relative to the output directory; when given, every file
        starts with a ``yaml-language-server`` line pointing at it (relative to the file).

    Returns
    -------
    list[tuple[str, str]]
        ``(posix path relative to the registry root, YAML text)`` in input order, e.g.
        ``("iam/roles/my-role.yaml", "...")``. Paths are unique.

    Example
    -------
    >>> for name, text in render_entries(lives, ctx, Mode.ALERT):
    ...     (out / name).write_text(text)
    """
    files: list[tuple[str, str]] = []
    used: set[str] = set()
    for live in lives:
        if not live.exists or live.error is not None:
            continue
        path = _unique(entry_path(live.ref.kind, live.ref.id), used)
        document = entry_document(live, ctx, mode)
        header = [f"# {live.ref.kind} {live.ref.id}: captured from live state by driftwarden."]
        if schema_path:
            up = "../" * path.count("/")
            header.insert(0, f"# yaml-language-server: $schema={up}{schema_path}")
        body = yaml.dump(
            document,
            Dumper=_Dumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=100,
        )
        files.append((path, "\n".join(header) + "\n" + body))
    return files


def entry_document(live: LiveResource, ctx: AccountContext, mode: Mode | None) -> dict[str, Any]:
    """The registry entry (as a mapping) for one live resource, with placeholders."""
    document: dict[str, Any] = {"kind": str(live.ref.kind), "id": templatize(live.ref.id, ctx)}
    if mode is not None:
        document["mode"] = str(mode)
    document["spec"] = _templatize_value(live.state, ctx)
    return document


def entry_path(kind: Kind, resource_id: str) -> str:
    """Where an entry of ``kind`` named ``resource_id`` goes, e.g. ``iam/roles/<name>.yaml``."""
    directory = _DIRECTORY_OF_KIND[kind]
    if kind is Kind.IAM_POLICY:
        parts = [resource_id.rsplit("/", 1)[-1]]
    elif kind is Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION:
        parts = resource_id.split("/", 1)
    else:
        parts = [resource_id]
    safe = [_UNSAFE_FILENAME_RE.sub("_", part).lstrip(".") or "_" for part in parts]
    return f"{directory}/{'/'.join(safe)}.yaml"


def templatize(text: str, ctx: AccountContext) -> str:
    """Replace the account's values in ARN positions with ``${...}`` placeholders.

    Example
    -------
    >>> templatize("arn:aws:iam::123456789012:role/r", AccountContext("123456789012", "us-east-1"))
    'arn:${Partition}:iam::${AccountId}:role/r'
    """
    if text == ctx.account:
        return "${AccountId}"

    def arn(match: re.Match[str]) -> str:
        partition = "${Partition}" if match["partition"] == ctx.partition else match["partition"]
        region = (
            "${Region}" if match["region"] and match["region"] == ctx.region else match["region"]
        )
        account = "${AccountId}" if match["account"] == ctx.account else match["account"]
        return f"arn:{partition}:{match['service']}:{region}:{account}:"

    text = _ARN_RE.sub(arn, text)
    if ctx.region and ctx.region in text:
        host = re.compile(
            rf"(?<=\.){re.escape(ctx.region)}(?=\.(?:[A-Za-z0-9-]+\.)*amazonaws\.com(?:\.cn)?\b)"
        )
        text = host.sub("${Region}", text)
    return text


def _templatize_value(value: Any, ctx: AccountContext) -> Any:
    if isinstance(value, str):
        return templatize(value, ctx)
    if isinstance(value, Mapping):
        return {str(k): _templatize_value(v, ctx) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_templatize_value(item, ctx) for item in value]
    return value


def _unique(path: str, used: set[str]) -> str:
    candidate, number = path, 1
    while candidate in used:
        number += 1
        candidate = f"{path.removesuffix('.yaml')}-{number}.yaml"
    used.add(candidate)
    return candidate
