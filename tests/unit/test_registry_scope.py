"""Registry entries scoped to accounts/regions, and the sweep targets in registry.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml

from chalicelib.models import AccountContext, Kind
from chalicelib.registry.loader import load_directory
from chalicelib.registry.model import Target
from chalicelib.registry.validate import validate

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "quicksight.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _write(root: Path, name: str, document: dict[str, object]) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))


def _role(name: str, **extra: object) -> dict[str, object]:
    return {"kind": "iam_role", "id": name, "spec": {"trust_policy": TRUST}, **extra}


def _data_source(name: str, **extra: object) -> dict[str, object]:
    return {
        "kind": "quicksight_data_source",
        "id": name,
        "spec": {
            "name": name,
            "type": "ATHENA",
            "parameters": {"AthenaParameters": {"WorkGroup": "primary"}},
        },
        **extra,
    }


def test_entries_resolve_only_in_their_accounts_and_regions(tmp_path: Path) -> None:
    """GIVEN entries scoped to one account and one region WHEN resolved THEN each appears only
    there; IAM entries ignore regions (IAM is global)."""
    _write(tmp_path, "a.yaml", _role("everywhere"))
    _write(tmp_path, "b.yaml", _role("only-111", accounts=["111111111111"]))
    _write(tmp_path, "c.yaml", _role("iam-ignores-regions", regions=["eu-west-1"]))
    _write(tmp_path, "d.yaml", _data_source("ds-eu", regions=["eu-west-1"]))
    registry = load_directory(tmp_path)
    assert validate(registry) == []

    def ids(account: str, region: str) -> set[str]:
        return {d.ref.id for d in registry.resolve(AccountContext(account, region))}

    assert ids("111111111111", "us-east-1") == {"everywhere", "only-111", "iam-ignores-regions"}
    assert ids("222222222222", "us-east-1") == {"everywhere", "iam-ignores-regions"}
    assert ids("222222222222", "eu-west-1") == {"everywhere", "iam-ignores-regions", "ds-eu"}
    eu = registry.resolve(AccountContext("222222222222", "eu-west-1"))
    assert {d.ref.kind for d in eu if d.ref.id == "ds-eu"} == {Kind.QUICKSIGHT_DATA_SOURCE}


def test_same_id_in_different_account_scopes_is_not_a_duplicate(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _role("shared", accounts=["111111111111"]))
    _write(tmp_path, "b.yaml", _role("shared", accounts=["222222222222"]))
    _write(tmp_path, "c.yaml", _role("shared", accounts=["222222222222"]))
    problems = validate(load_directory(tmp_path))
    assert [(p.source, p.code) for p in problems] == [("c.yaml", "DUPLICATE")]


def test_bad_scope_is_a_schema_problem(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _role("r", accounts=["12345"]))
    problems = validate(load_directory(tmp_path))
    assert [(p.source, p.path.split("[")[0], p.code) for p in problems] == [
        ("a.yaml", "accounts", "SCHEMA")
    ]


def test_targets_are_read_from_registry_settings(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _role("r"))
    (tmp_path / "registry.yaml").write_text(
        "targets:\n"
        "  - account: '111111111111'\n"
        "    regions: [us-east-1, eu-west-1]\n"
        "  - account: '222222222222'\n"
    )
    registry = load_directory(tmp_path)
    assert registry.settings.targets == (
        Target("111111111111", ("us-east-1", "eu-west-1")),
        Target("222222222222", ()),
    )


def test_bad_target_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", _role("r"))
    (tmp_path / "registry.yaml").write_text("targets:\n  - account: nope\n")
    from chalicelib.registry.validate import validate_directory

    _, problems = validate_directory(tmp_path)
    assert [(p.source, p.path, p.code) for p in problems] == [
        ("registry.yaml", "targets[0].account", "SCHEMA")
    ]
