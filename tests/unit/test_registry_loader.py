"""Registry loading, the snapshot body and digest, and placeholder resolution (pure, no AWS)."""

from __future__ import annotations

import json
import string
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import RegistryError, RegistryNotFoundError, RegistryValidationError
from chalicelib.models import AccountContext, DesiredResource, Kind, Mode, ResourceRef
from chalicelib.registry.loader import load_directory, read_directory
from chalicelib.registry.model import (
    Registry,
    RegistryEntry,
    RegistrySettings,
    digest_of,
    format_path,
    substitute,
)
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

SAMPLE = ROOT / "policies"
REGISTRIES = ROOT / "tests" / "data" / "registries"
CTX = AccountContext("111122223333", "eu-west-1", "aws")

ROLE_DOC: dict[str, Any] = {
    "kind": "iam_role",
    "id": "reader-${Region}",
    "spec": {
        "path": "/service-role/",
        "trust_policy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "quicksight.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        "managed_policies": ["arn:${Partition}:iam::${AccountId}:policy/reader"],
    },
}


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _registry(*documents: dict[str, Any], settings: RegistrySettings | None = None) -> Registry:
    entries = tuple(RegistryEntry(f"e{i}.yaml", doc) for i, doc in enumerate(documents))
    return Registry(settings or RegistrySettings(), entries, "test")


# -- loading -----------------------------------------------------------------------------------


def test_sample_registry_loads_every_entry_in_sorted_file_order() -> None:
    # GIVEN the shipped policies/ directory
    # WHEN it is loaded
    registry = load_directory(SAMPLE)
    # THEN every resource file is an entry, in sorted order, and registry.yaml is the settings
    sources = [entry.source for entry in registry.entries]
    assert sources == sorted(sources)
    assert len(sources) == 9
    assert "registry.yaml" not in sources
    assert registry.settings == RegistrySettings(default_mode=None, paused=False)
    assert registry.location == str(SAMPLE)


def test_loader_skips_hidden_files_and_dirs_and_non_registry_suffixes(tmp_path: Path) -> None:
    # GIVEN entries next to hidden files, a hidden directory and a README
    _write(tmp_path, "roles/a.yaml", yaml.safe_dump(ROLE_DOC))
    _write(tmp_path, "roles/.draft.yaml", "not: [valid")
    _write(tmp_path, ".git/config.json", "{")
    _write(tmp_path, "README.md", "# notes")
    _write(tmp_path, "sub/registry.yaml", yaml.safe_dump(ROLE_DOC | {"id": "nested-settings"}))
    # WHEN the directory is loaded
    registry = load_directory(tmp_path)
    # THEN only visible entry files count; registry.yaml is special only at the root
    assert [e.source for e in registry.entries] == ["roles/a.yaml", "sub/registry.yaml"]


def test_loader_reads_settings_from_root_registry_file(tmp_path: Path) -> None:
    # GIVEN a root registry.json with a default mode and the kill switch on
    _write(tmp_path, "registry.json", json.dumps({"default_mode": "enforce", "paused": True}))
    # WHEN loaded
    registry = load_directory(tmp_path)
    # THEN the settings are parsed and there are no entries
    assert registry.settings == RegistrySettings(default_mode=Mode.ENFORCE, paused=True)
    assert registry.entries == ()


def test_missing_directory_raises_registry_not_found(tmp_path: Path) -> None:
    # GIVEN a path that does not exist / WHEN loaded / THEN RegistryNotFoundError
    with pytest.raises(RegistryNotFoundError):
        load_directory(tmp_path / "nope")


def test_every_parse_problem_is_reported_at_once_with_its_file() -> None:
    """Bad YAML, bad JSON, a list, an empty file, two documents, a duplicate key, bad settings."""
    # GIVEN the unparsable fixture directory
    # WHEN it is loaded
    with pytest.raises(RegistryValidationError) as raised:
        load_directory(REGISTRIES / "unparsable")
    # THEN one problem per broken file, and the hidden broken file is not read
    found = {(p.source, p.code) for p in raised.value.problems}
    assert found == {
        ("registry.yaml", "SCHEMA"),
        ("bad-syntax.yaml", "PARSE"),
        ("empty.yml", "PARSE"),
        ("nested/broken.json", "PARSE"),
        ("nested/duplicate-key.yaml", "PARSE"),
        ("top-level-list.yaml", "PARSE"),
        ("two-documents.yaml", "PARSE"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind: iam_role\nid: [x\n", "line 3"),
        ("kind: a\n---\nkind: b\n", "more than one YAML document"),
        ("kind: a\nkind: b\n", "duplicate key 'kind'"),
        ("- a\n- b\n", "found a list"),
        ("kind: a\nid: !!binary aGVsbG8=\n", "no JSON form"),
        ("kind: a\n1: x\n", "must be a string"),
    ],
)
def test_parse_problem_messages_say_what_is_wrong(tmp_path: Path, text: str, expected: str) -> None:
    # GIVEN one broken YAML file
    _write(tmp_path, "x.yaml", text)
    # WHEN read leniently
    registry, problems = read_directory(tmp_path)
    # THEN the file is left out and its problem names the cause
    assert registry.entries == ()
    assert len(problems) == 1
    assert problems[0].source == "x.yaml"
    assert expected in problems[0].message


def test_unquoted_policy_version_date_stays_a_string(tmp_path: Path) -> None:
    # GIVEN a YAML policy whose Version is written without quotes
    _write(
        tmp_path, "p.yaml", "kind: iam_policy\nid: x\nspec:\n  document:\n    Version: 2012-10-17\n"
    )
    # WHEN loaded
    registry = load_directory(tmp_path)
    # THEN it is the string IAM expects, not a date
    assert registry.entries[0].document["spec"]["document"]["Version"] == "2012-10-17"


def test_json_and_yaml_files_give_the_same_document(tmp_path: Path) -> None:
    # GIVEN the same entry once as JSON and once as YAML
    _write(tmp_path, "a.json", json.dumps(ROLE_DOC))
    _write(tmp_path, "b.yaml", yaml.safe_dump(ROLE_DOC))
    # WHEN loaded
    a, b = load_directory(tmp_path).entries
    # THEN the documents are equal
    assert a.document == b.document == ROLE_DOC


# -- digest and snapshot body ------------------------------------------------------------------


def test_digest_is_stable_across_key_order_and_file_format(tmp_path: Path) -> None:
    # GIVEN the same entry written as block YAML in one directory and as JSON (also valid YAML),
    # with its keys in reverse order, under the same file name in another
    yaml_dir, json_dir = tmp_path / "y", tmp_path / "j"
    _write(yaml_dir, "roles/r.yaml", yaml.safe_dump(ROLE_DOC, sort_keys=True))
    reversed_doc = dict(reversed(list(ROLE_DOC.items())))
    _write(json_dir, "roles/r.yaml", json.dumps(reversed_doc, indent=4))
    # WHEN both are loaded
    digest_yaml = load_directory(yaml_dir).digest
    digest_json = load_directory(json_dir).digest
    # THEN the digests are equal
    assert digest_yaml == digest_json
    assert digest_yaml.startswith("sha256:") and len(digest_yaml) == 7 + 64


def test_digest_changes_when_any_value_changes() -> None:
    # GIVEN two registries that differ in one nested value
    changed = json.loads(json.dumps(ROLE_DOC))
    changed["spec"]["path"] = "/"
    # WHEN / THEN their digests differ, and settings count too
    assert _registry(ROLE_DOC).digest != _registry(changed).digest
    assert (
        _registry(ROLE_DOC).digest
        != _registry(ROLE_DOC, settings=RegistrySettings(paused=True)).digest
    )


def test_body_has_the_documented_snapshot_shape() -> None:
    # GIVEN a registry / WHEN its body is built
    body = _registry(ROLE_DOC, settings=RegistrySettings(Mode.ALERT)).body()
    # THEN it matches docs/registry.md "Published snapshots"
    assert body == {
        "format_version": 1,
        "settings": {"default_mode": "alert", "paused": False},
        "entries": [{"source": "e0.yaml", "document": ROLE_DOC}],
    }


def test_from_body_round_trips_the_digest() -> None:
    # GIVEN the sample registry's body after a JSON round trip (as a snapshot is stored)
    registry = load_directory(SAMPLE)
    body = json.loads(json.dumps(registry.body()))
    # WHEN rebuilt
    again = Registry.from_body(body, "s3://bucket/prefix")
    # THEN it is the same registry with the new location
    assert again.digest == registry.digest
    assert again.entries == registry.entries
    assert again.location == "s3://bucket/prefix"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"format_version": 2, "settings": {}, "entries": []},
        {"format_version": 1, "settings": {"paused": "yes"}, "entries": []},
        {"format_version": 1, "settings": {}, "entries": {}},
        {"format_version": 1, "settings": {}, "entries": [{"source": "a.yaml"}]},
    ],
)
def test_from_body_refuses_a_malformed_snapshot(body: Any) -> None:
    # GIVEN a body without the snapshot shape / WHEN rebuilt / THEN RegistryError
    with pytest.raises(RegistryError):
        Registry.from_body(body, "s3://b/p")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(string.ascii_letters, max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(document=st.dictionaries(st.text(string.ascii_letters, max_size=6), json_values))
def test_digest_ignores_key_insertion_order(document: dict[str, Any]) -> None:
    # GIVEN any document and a copy with every mapping's keys reversed
    def reverse(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: reverse(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reverse(v) for v in value]
        return value

    # WHEN both are digested / THEN the digests are equal
    body = {"format_version": 1, "entries": [document]}
    assert digest_of(body) == digest_of(reverse(body))


# -- resolution --------------------------------------------------------------------------------


def test_resolve_substitutes_placeholders_in_id_and_spec() -> None:
    # GIVEN an entry with placeholders / WHEN resolved for an account context
    (resource,) = _registry(ROLE_DOC).resolve(CTX)
    # THEN every placeholder is replaced and the ref carries the context's account and region
    assert resource.ref == ResourceRef(
        Kind.IAM_ROLE, "reader-eu-west-1", "111122223333", "eu-west-1"
    )
    assert resource.spec["managed_policies"] == ["arn:aws:iam::111122223333:policy/reader"]
    assert resource.source == "e0.yaml"
    assert "${" not in json.dumps(resource.spec)


def test_resolve_uses_the_partition_of_the_context() -> None:
    # GIVEN a China-region context / WHEN resolved
    (resource,) = _registry(ROLE_DOC).resolve(
        AccountContext("111122223333", "cn-north-1", "aws-cn")
    )
    # THEN the partition placeholder takes its value
    assert resource.spec["managed_policies"] == ["arn:aws-cn:iam::111122223333:policy/reader"]


def test_resolve_leaves_iam_policy_variables_alone() -> None:
    # GIVEN a resource using IAM policy variables next to registry placeholders
    value = "arn:${Partition}:s3:::home-${AccountId}/${aws:username}/${*}"
    # WHEN substituted / THEN only the registry placeholders change
    resolved = substitute(value, {"AccountId": "1", "Partition": "aws", "Region": "r"})
    assert resolved == "arn:aws:s3:::home-1/${aws:username}/${*}"


@pytest.mark.parametrize(
    ("entry_mode", "override", "default", "expected"),
    [
        ("ignore", Mode.ENFORCE, Mode.ALERT, Mode.IGNORE),
        (None, Mode.ENFORCE, Mode.ALERT, Mode.ENFORCE),
        (None, None, Mode.ENFORCE, Mode.ENFORCE),
        (None, None, None, Mode.ALERT),
    ],
)
def test_mode_precedence_is_entry_then_override_then_default_then_alert(
    entry_mode: str | None, override: Mode | None, default: Mode | None, expected: Mode
) -> None:
    # GIVEN an entry with or without a mode, an override (DRIFTWARDEN_MODE) and a default
    document = ROLE_DOC | ({"mode": entry_mode} if entry_mode else {})
    registry = _registry(document, settings=RegistrySettings(default_mode=default))
    # WHEN resolved / THEN the first mode that is set wins
    (resource,) = registry.resolve(CTX, override)
    assert resource.mode is expected


def test_resolve_turns_allow_into_a_frozenset() -> None:
    # GIVEN an entry allowed to break a guardrail / WHEN resolved / THEN allow is a frozenset
    (resource,) = _registry(ROLE_DOC | {"allow": ["GUARD_IAM_WILDCARD"]}).resolve(CTX)
    assert resource.allow == frozenset({"GUARD_IAM_WILDCARD"})


def test_resolve_refuses_an_entry_without_the_basic_shape() -> None:
    # GIVEN an unvalidated entry of an unknown kind / WHEN resolved / THEN a validation error
    with pytest.raises(RegistryValidationError):
        _registry({"kind": "iam_user", "id": "x", "spec": {}}).resolve(CTX)


def test_entry_options_report_recreate_for_a_resolved_resource() -> None:
    # GIVEN one entry asking for recreation and one not
    registry = _registry(ROLE_DOC | {"recreate": True}, ROLE_DOC | {"id": "other"})
    first, second = registry.resolve(CTX)
    # WHEN the options are looked up by resource (or by source)
    # THEN recreate is found where DesiredResource has no field for it
    assert registry.entry_options(first).recreate is True
    assert registry.entry_options(second).recreate is False
    assert registry.entry_options("e0.yaml").recreate is True


def test_entry_options_of_an_unknown_source_raise() -> None:
    # GIVEN a resource from another registry / WHEN looked up / THEN RegistryError
    stranger = DesiredResource(ResourceRef(Kind.IAM_ROLE, "x", "1", "r"), Mode.ALERT, {}, "nope")
    with pytest.raises(RegistryError):
        _registry(ROLE_DOC).entry_options(stranger)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (
            ("spec", "trust_policy", "Statement", 0, "Effect"),
            "spec.trust_policy.Statement[0].Effect",
        ),
        (("spec", "inline_policies", "athena-query"), "spec.inline_policies.athena-query"),
        (("spec", "Condition", "aws:SourceArn"), 'spec.Condition["aws:SourceArn"]'),
        ((), ""),
    ],
)
def test_format_path_writes_readable_json_paths(
    parts: tuple[str | int, ...], expected: str
) -> None:
    # GIVEN a jsonschema-style path / WHEN formatted / THEN it reads like the docs' paths
    assert format_path(parts) == expected


def test_recreate_is_found_from_a_resource_ref_in_any_partition() -> None:
    # GIVEN a policy entry (id with placeholders) asking for recreation, and a role that does not
    policy = {
        "kind": "iam_policy",
        "id": "arn:${Partition}:iam::${AccountId}:policy/results",
        "recreate": True,
        "spec": {"document": {"Version": "2012-10-17", "Statement": []}},
    }
    registry = _registry(policy, ROLE_DOC)
    china = AccountContext("111122223333", "cn-north-1", "aws-cn")
    # WHEN looked up by the refs of the resolved resources
    refs = [resource.ref for resource in registry.resolve(china)]
    # THEN the options of the matching entries are found
    assert [registry.recreate(ref) for ref in refs] == [True, False]
    assert registry.entry_options(refs[1]).source == "e1.yaml"


def test_a_ref_of_another_account_matches_no_entry_with_a_literal_account() -> None:
    # GIVEN an entry whose id names a literal account
    registry = _registry(ROLE_DOC | {"id": "reader-111122223333"})
    ref = ResourceRef(Kind.IAM_ROLE, "reader-111122223333", "999988887777", "eu-west-1")
    # WHEN / THEN the literal id still matches; an unknown id raises
    assert registry.entry_options(ref).source == "e0.yaml"
    with pytest.raises(RegistryError):
        registry.recreate(ResourceRef(Kind.IAM_ROLE, "other", "1", "r"))
