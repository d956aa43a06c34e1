"""Capture: rendering live resources as registry files with placeholders (pure, no AWS)."""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.models import AccountContext, Kind, LiveResource, Mode, ResourceRef
from chalicelib.registry.capture import entry_path, render_entries, templatize
from chalicelib.registry.loader import load_directory
from chalicelib.registry.model import placeholder_values, substitute
from chalicelib.registry.validate import validate
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

CTX = AccountContext("111122223333", "eu-west-1", "aws")
SAMPLE = ROOT / "policies"


def _live(kind: Kind, resource_id: str, state: dict[str, Any], **kwargs: Any) -> LiveResource:
    return LiveResource(
        ResourceRef(kind, resource_id, CTX.account, CTX.region), True, state, **kwargs
    )


def _write_all(root: Path, files: list[tuple[str, str]]) -> None:
    for name, text in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _sample_lives() -> list[LiveResource]:
    """Live state equal to the sample registry resolved for CTX (as collectors would report it)."""
    resources = load_directory(SAMPLE).resolve(CTX)
    return [LiveResource(r.ref, True, dict(r.spec)) for r in resources]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arn:aws:iam::111122223333:role/x", "arn:${Partition}:iam::${AccountId}:role/x"),
        (
            "arn:aws:quicksight:eu-west-1:111122223333:user/default/a",
            "arn:${Partition}:quicksight:${Region}:${AccountId}:user/default/a",
        ),
        (
            "arn:aws:s3:::dw-analytics-111122223333/*",
            "arn:${Partition}:s3:::dw-analytics-111122223333/*",
        ),
        ("arn:aws:iam::999988887777:role/x", "arn:${Partition}:iam::999988887777:role/x"),
        (
            "arn:aws:glue:us-east-1:111122223333:catalog",
            "arn:${Partition}:glue:us-east-1:${AccountId}:catalog",
        ),
        (
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "arn:${Partition}:iam::aws:policy/ReadOnlyAccess",
        ),
        ("arn:aws-cn:iam::111122223333:role/x", "arn:aws-cn:iam::${AccountId}:role/x"),
        ("111122223333", "${AccountId}"),
        ("eu-west-1", "eu-west-1"),
        ("spaceneedle-samplefiles.prod.eu-west-1", "spaceneedle-samplefiles.prod.eu-west-1"),
        ("c.abc.eu-west-1.redshift.amazonaws.com", "c.abc.${Region}.redshift.amazonaws.com"),
        ("quicksight.amazonaws.com", "quicksight.amazonaws.com"),
        ("my-arn:aws:iam::111122223333:role/x", "my-arn:aws:iam::111122223333:role/x"),
    ],
)
def test_templatize_replaces_account_values_only_in_arn_positions(text: str, expected: str) -> None:
    # GIVEN a live string / WHEN templated / THEN only ARN-ish positions get placeholders
    assert templatize(text, CTX) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["arn:aws:iam::", "111122223333", ":", "eu-west-1", ".amazonaws.com", "/", "aws", "."]
        )
        | st.text(string.ascii_letters + string.digits + ":/.-*", max_size=6),
        max_size=10,
    ).map("".join)
)
def test_templatize_then_resolve_gives_back_the_original(text: str) -> None:
    # GIVEN any string without placeholders / WHEN templated and resolved for the same account
    # THEN the original comes back
    assert substitute(templatize(text, CTX), placeholder_values(CTX)) == text


@pytest.mark.parametrize(
    ("kind", "resource_id", "path"),
    [
        (Kind.IAM_ROLE, "dw-reader", "iam/roles/dw-reader.yaml"),
        (Kind.IAM_POLICY, "arn:aws:iam::1:policy/team/dw-results", "iam/policies/dw-results.yaml"),
        (Kind.QUICKSIGHT_DATA_SOURCE, "dw-sales", "quicksight/data-sources/dw-sales.yaml"),
        (Kind.CLEANROOMS_MEMBERSHIP, "m-1", "cleanrooms/memberships/m-1.yaml"),
        (
            Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
            "m-1/a-1",
            "cleanrooms/configured-table-associations/m-1/a-1.yaml",
        ),
        (Kind.QUICKSIGHT_DATA_SOURCE, "../odd id", "quicksight/data-sources/_odd_id.yaml"),
    ],
)
def test_entry_path_follows_the_registry_layout(kind: Kind, resource_id: str, path: str) -> None:
    # GIVEN a kind and id / WHEN placed / THEN the file goes where the sample keeps that kind
    assert entry_path(kind, resource_id) == path


def test_rendered_registry_reloads_validates_and_resolves_to_the_live_state(tmp_path: Path) -> None:
    # GIVEN live state for every sample resource in another account and region
    lives = _sample_lives()
    # WHEN rendered, written and loaded back
    files = render_entries(lives, CTX, None)
    _write_all(tmp_path, files)
    registry = load_directory(tmp_path)
    # THEN it validates cleanly, and resolving for the same account gives the live state back
    assert validate(registry) == []
    resolved = {r.ref: dict(r.spec) for r in registry.resolve(CTX)}
    assert resolved == {live.ref: live.state for live in lives}


def test_rendered_entries_resolve_for_another_account(tmp_path: Path) -> None:
    # GIVEN the sample captured from CTX
    _write_all(tmp_path, render_entries(_sample_lives(), CTX, None))
    # WHEN resolved for a different account
    other = AccountContext("444455556666", "eu-west-1")
    resolved = {r.ref.id: r.spec for r in load_directory(tmp_path).resolve(other)}
    # THEN ARNs follow the account: the templated files serve many accounts
    role_arn = resolved["dw-sales-athena"]["parameters"]["AthenaParameters"]["RoleArn"]
    assert role_arn == "arn:aws:iam::444455556666:role/service-role/dw-quicksight-athena"


def test_captured_files_match_the_sample_files_content() -> None:
    # GIVEN the live state of the sample in CTX / WHEN captured
    files = dict(render_entries(_sample_lives(), CTX, None))
    # THEN capture reproduces the hand-written ARN templating of the sample's data sources
    sample = yaml.safe_load((SAMPLE / "quicksight/data-sources/dw-sales-athena.yaml").read_text())
    captured = yaml.safe_load(files["quicksight/data-sources/dw-sales-athena.yaml"])
    assert captured["spec"] == sample["spec"]


def test_render_writes_the_mode_when_given_and_skips_missing_resources() -> None:
    # GIVEN one existing and one deleted role
    trust = {"Version": "2012-10-17", "Statement": []}
    lives = [
        _live(Kind.IAM_ROLE, "kept", {"trust_policy": trust}),
        LiveResource(ResourceRef(Kind.IAM_ROLE, "gone", CTX.account, CTX.region), False),
        _live(Kind.IAM_ROLE, "unreadable", {}, error="AccessDenied"),
    ]
    # WHEN rendered with a mode
    files = render_entries(lives, CTX, Mode.ALERT)
    # THEN only the existing one is written, with kind, id, mode, spec in that order
    assert [name for name, _ in files] == ["iam/roles/kept.yaml"]
    document = yaml.safe_load(files[0][1])
    assert list(document) == ["kind", "id", "mode", "spec"]
    assert document["mode"] == "alert"


def test_render_output_is_block_style_without_aliases() -> None:
    # GIVEN a live state that reuses one object twice (YAML would normally anchor it)
    shared = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}
    state = {
        "trust_policy": {"Version": "2012-10-17", "Statement": [shared]},
        "inline_policies": {"a": {"Version": "2012-10-17", "Statement": [shared]}},
    }
    # WHEN rendered
    ((_, text),) = render_entries([_live(Kind.IAM_ROLE, "r", state)], CTX, None)
    # THEN there are no anchors, aliases or flow collections, and list items are indented
    assert "&id" not in text and "*id" not in text
    assert "{" not in text and "[" not in text
    assert "\n      - Effect: Allow" in text


def test_render_adds_a_schema_line_relative_to_each_file_when_asked() -> None:
    # GIVEN the schema's path relative to the output directory
    lives = [
        _live(Kind.IAM_ROLE, "r", {"trust_policy": {"Version": "2012-10-17", "Statement": []}})
    ]
    # WHEN rendered
    ((_, text),) = render_entries(
        lives, CTX, None, schema_path="../chalicelib/registry/schema.json"
    )
    # THEN the first line points at it from the file's own directory
    first = text.splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../../chalicelib/registry/schema.json"


def test_render_quotes_strings_that_yaml_would_retype(tmp_path: Path) -> None:
    # GIVEN string values that look like dates, booleans and numbers
    state = {
        "trust_policy": {"Version": "2012-10-17", "Statement": []},
        "tags": {"a": "yes", "b": "0123", "c": "null"},
    }
    # WHEN rendered and loaded back
    _write_all(tmp_path, render_entries([_live(Kind.IAM_ROLE, "r", state)], CTX, None))
    (entry,) = load_directory(tmp_path).entries
    # THEN they are still strings
    assert entry.document["spec"]["tags"] == {"a": "yes", "b": "0123", "c": "null"}
    assert entry.document["spec"]["trust_policy"]["Version"] == "2012-10-17"


def test_render_gives_colliding_names_distinct_paths() -> None:
    # GIVEN two data source ids that sanitise to the same file name
    lives = [
        _live(Kind.QUICKSIGHT_DATA_SOURCE, "a b", {"name": "x"}),
        _live(Kind.QUICKSIGHT_DATA_SOURCE, "a?b", {"name": "y"}),
    ]
    # WHEN rendered / THEN both are kept under distinct paths
    assert [name for name, _ in render_entries(lives, CTX, None)] == [
        "quicksight/data-sources/a_b.yaml",
        "quicksight/data-sources/a_b-2.yaml",
    ]


def test_cleanrooms_capture_round_trips(tmp_path: Path) -> None:
    # GIVEN live Clean Rooms resources and the roles they use
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cleanrooms.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}},
            }
        ],
    }
    role_arn = "arn:aws:iam::111122223333:role/service-role/cr-reader"
    lives = [
        _live(Kind.IAM_ROLE, "cr-reader", {"path": "/service-role/", "trust_policy": trust}),
        _live(
            Kind.CLEANROOMS_MEMBERSHIP,
            "m-1",
            {"result_role_arn": role_arn, "query_log_status": "ENABLED"},
        ),
        _live(
            Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
            "m-1/a-1",
            {"name": "orders", "role_arn": role_arn},
        ),
    ]
    # WHEN rendered, written and loaded back
    files = render_entries(lives, CTX, Mode.ENFORCE)
    _write_all(tmp_path, files)
    registry = load_directory(tmp_path)
    # THEN the account in the trust condition became a placeholder, it validates and resolves back
    role_text = dict(files)["iam/roles/cr-reader.yaml"]
    assert "aws:SourceAccount: ${AccountId}" in role_text
    assert validate(registry) == []
    assert {r.ref: dict(r.spec) for r in registry.resolve(CTX)} == {
        live.ref: live.state for live in lives
    }
