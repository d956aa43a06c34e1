"""Registry validation: schema (stage 1); placeholders, duplicates, references, rules (stage 2)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from jsonschema import Draft202012Validator

from chalicelib.errors import RegistryValidationError
from chalicelib.models import DesiredResource, Finding, Severity
from chalicelib.registry.loader import load_directory
from chalicelib.registry.model import Problem, Registry, RegistryEntry, RegistrySettings
from chalicelib.registry.validate import (
    load_schema,
    validate,
    validate_directory,
    validate_or_raise,
)
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Sequence

SAMPLE = ROOT / "policies"
REGISTRIES = ROOT / "tests" / "data" / "registries"

TRUST_QUICKSIGHT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "quicksight.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
ROLE: dict[str, Any] = {
    "kind": "iam_role",
    "id": "reader",
    "spec": {"path": "/service-role/", "trust_policy": TRUST_QUICKSIGHT},
}
READER_ARN = "arn:${Partition}:iam::${AccountId}:role/service-role/reader"
DATA_SOURCE: dict[str, Any] = {
    "kind": "quicksight_data_source",
    "id": "sales",
    "spec": {
        "type": "ATHENA",
        "parameters": {"AthenaParameters": {"WorkGroup": "primary", "RoleArn": READER_ARN}},
    },
}


def no_rules(resources: Sequence[DesiredResource]) -> list[Any]:
    """A rule check that finds nothing, to test the registry's own checks in isolation."""
    return []


def _registry(*documents: dict[str, Any]) -> Registry:
    entries = tuple(RegistryEntry(f"e{i}.yaml", doc) for i, doc in enumerate(documents))
    return Registry(RegistrySettings(), entries, "test")


def _problems(*documents: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (p.source, p.path, p.code) for p in validate(_registry(*documents), rule_check=no_rules)
    ]


def _with(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``document`` with the dotted ``path`` set to ``value`` (None deletes)."""
    result = copy.deepcopy(document)
    *parents, last = path.split(".")
    target: Any = result
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return result


# -- the shipped sample and the fixtures -------------------------------------------------------


def test_sample_registry_passes_the_registrys_own_checks() -> None:
    # GIVEN policies/ / WHEN validated without the rules module / THEN no problem
    assert validate(load_directory(SAMPLE), rule_check=no_rules) == []


def test_sample_registry_is_valid_including_documented_rules_and_guardrails() -> None:
    """Needs chalicelib.rules.registry_findings."""
    # GIVEN policies/ / WHEN fully validated / THEN zero problems
    assert validate(load_directory(SAMPLE)) == []


def test_every_kind_of_problem_is_reported_at_once_with_file_and_path() -> None:
    """Bad YAML, unknown kind, schema errors, duplicate id, unknown placeholder, missing role
    and missing customer-managed policy, all in one run."""
    # GIVEN the invalid fixture registry
    # WHEN the directory is validated
    _, problems = validate_directory(REGISTRIES / "invalid")
    # THEN each problem comes with its file, its path inside the file and a code
    assert {(p.source, p.path, p.code) for p in problems} == {
        ("misc/bad-indentation.yaml", "", "PARSE"),
        ("misc/unknown-kind.yaml", "kind", "SCHEMA"),
        ("iam/roles/typo-role.yaml", "spec.max_session_duration", "SCHEMA"),
        ("iam/roles/typo-role.yaml", "spec.trust_policy.Statement[0]", "SCHEMA"),
        ("iam/roles/typo-role.yaml", "spec.trust_policy.Statement[0].Effect", "SCHEMA"),
        ("iam/roles/typo-role.yaml", "spec.trust_policy.Statement[0].Principle", "SCHEMA"),
        ("iam/roles/reader-duplicate.yaml", "id", "DUPLICATE"),
        ("iam/roles/unmanaged-policy.yaml", "spec.managed_policies[1]", "REFERENCE"),
        (
            "quicksight/data-sources/orphan.yaml",
            "spec.parameters.AthenaParameters.RoleArn",
            "REFERENCE",
        ),
        (
            "quicksight/data-sources/templated.json",
            "spec.parameters.AthenaParameters.WorkGroup",
            "PLACEHOLDER",
        ),
    }
    assert [p.source for p in problems] == sorted(p.source for p in problems)


def test_validate_or_raise_carries_every_problem() -> None:
    # GIVEN a registry with two broken entries / WHEN validate_or_raise / THEN both are carried
    registry = _registry(_with(ROLE, "kind", "iam_user"), _with(ROLE, "spec.trust_policy", None))
    with pytest.raises(RegistryValidationError) as raised:
        validate_or_raise(registry, rule_check=no_rules)
    problems = raised.value.problems
    assert [p.source for p in problems if isinstance(p, Problem)] == ["e0.yaml", "e1.yaml"]


def test_validate_or_raise_returns_quietly_for_a_valid_registry() -> None:
    # GIVEN a valid registry / WHEN validate_or_raise / THEN nothing is raised
    validate_or_raise(_registry(ROLE, DATA_SOURCE), rule_check=no_rules)


# -- stage 1: structure ------------------------------------------------------------------------


def test_schema_file_is_a_valid_draft_2020_12_schema_with_one_entry_per_kind() -> None:
    # GIVEN the shipped schema / WHEN checked against the meta-schema / THEN it is valid
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    kinds = schema["properties"]["kind"]["enum"]
    assert {f"entry_{kind}" for kind in kinds} <= set(schema["$defs"])


def test_whole_schema_accepts_the_sample_entries_as_editors_see_them() -> None:
    # GIVEN the schema editors use (top level, with if/then per kind)
    validator = Draft202012Validator(load_schema())
    # WHEN every sample file is checked against it / THEN none has an error
    for entry in load_directory(SAMPLE).entries:
        assert list(validator.iter_errors(entry.document)) == [], entry.source


def test_schema_allow_codes_are_the_rules_guardrail_codes() -> None:
    """Needs chalicelib.rules: the schema's allow enum and the guardrail catalogue agree."""
    from chalicelib.rules import GUARDRAIL_CODES

    assert set(load_schema()["$defs"]["allow"]["items"]["enum"]) == set(GUARDRAIL_CODES)


def test_unknown_kind_is_one_problem_listing_the_valid_kinds() -> None:
    # GIVEN an entry of an unknown kind with other errors too / WHEN validated
    problems = validate(_registry({"kind": "iam_user", "idd": 3}), rule_check=no_rules)
    # THEN a single problem names the valid kinds
    assert len(problems) == 1
    assert problems[0].path == "kind"
    assert "iam_role" in problems[0].message and "cleanrooms_membership" in problems[0].message


def test_missing_kind_is_reported() -> None:
    # GIVEN an entry without kind / WHEN validated / THEN it says kind is required
    problems = validate(_registry({"id": "x", "spec": {}}), rule_check=no_rules)
    assert [(p.code, "kind" in p.message) for p in problems] == [("SCHEMA", True)]


@pytest.mark.parametrize(
    ("document", "path", "fragment"),
    [
        (
            _with(ROLE, "spec.trust_policy.Statement.0.Effect", "Permit"),
            "spec.trust_policy.Statement[0].Effect",
            "Allow, Deny",
        ),
        (_with(ROLE, "spec.trust_policy.Version", None), "spec.trust_policy", "'Version'"),
        (
            _with(ROLE, "spec.trust_policy.Statement.0.Resource", "*"),
            "spec.trust_policy.Statement[0].Resource",
            "unknown key",
        ),
        (_with(ROLE, "spec.trust_policy", None), "spec", "'trust_policy'"),
        (_with(ROLE, "spec.color", "blue"), "spec.color", "unknown key"),
        (_with(ROLE, "extra", 1), "extra", "unknown key"),
        (_with(ROLE, "mode", "revert"), "mode", "enforce, alert, ignore"),
        (_with(ROLE, "id", "arn:aws:iam::1:role/x"), "id", "not an ARN"),
        (_with(ROLE, "spec.path", "service-role"), "spec.path", "IAM path"),
        (
            _with(ROLE, "spec.max_session_duration", "1h"),
            "spec.max_session_duration",
            "expected integer",
        ),
        (
            _with(ROLE, "spec.managed_policies", ["AmazonS3ReadOnlyAccess"]),
            "spec.managed_policies[0]",
            "policy ARN",
        ),
        (
            _with(ROLE, "spec.permissions_boundary", "boundary"),
            "spec.permissions_boundary",
            "policy ARN",
        ),
        (_with(ROLE, "spec.tags", {"team": 7}), "spec.tags.team", "expected string"),
        (
            _with(ROLE, "spec.trust_policy.Statement.0.Principal", ["x"]),
            "spec.trust_policy.Statement[0].Principal",
            "expected object",
        ),
        (
            _with(ROLE, "spec.trust_policy.Statement.0.Action", "AssumeRole"),
            "spec.trust_policy.Statement[0].Action",
            "an action such as",
        ),
        (_with(ROLE, "allow", ["GUARD_EVERYTHING"]), "allow[0]", "GUARD_IAM_WILDCARD"),
        (
            _with(
                ROLE,
                "spec.inline_policies",
                {
                    "p": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}],
                    }
                },
            ),
            "spec.inline_policies.p.Statement[0]",
            "Resource or NotResource",
        ),
        (
            _with(
                ROLE,
                "spec.inline_policies",
                {
                    "p": {
                        "Version": "2012-10-17",
                        "Statement": {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": "*",
                        },
                    }
                },
            ),
            "spec.inline_policies.p.Statement.Principal",
            "unknown key",
        ),
        (_with(DATA_SOURCE, "spec.type", "EXCEL"), "spec.type", "ATHENA"),
        (
            _with(
                DATA_SOURCE,
                "spec.parameters",
                {"S3Parameters": {"ManifestFileLocation": {"Bucket": "b", "Key": "k"}}},
            ),
            "spec.parameters",
            "type ATHENA needs AthenaParameters",
        ),
        (
            _with(DATA_SOURCE, "spec.parameters.AthenaParameters.RoleArn", "dw-reader"),
            "spec.parameters.AthenaParameters.RoleArn",
            "role ARN",
        ),
        (
            _with(DATA_SOURCE, "spec.parameters.Unknown", {}),
            "spec.parameters.Unknown",
            "unknown key",
        ),
        (
            _with(
                DATA_SOURCE,
                "spec.permissions",
                [
                    {
                        "principal": "arn:aws:quicksight:us-east-1:1:user/default/a",
                        "actions": ["DescribeDataSource"],
                    }
                ],
            ),
            "spec.permissions[0].actions[0]",
            "QuickSight action",
        ),
        (
            _with(DATA_SOURCE, "spec.ssl_properties", {"DisableSsl": "no"}),
            "spec.ssl_properties.DisableSsl",
            "expected boolean",
        ),
        (
            {"kind": "cleanrooms_membership", "id": "m", "spec": {"query_log_status": "ON"}},
            "spec.query_log_status",
            "ENABLED, DISABLED",
        ),
        (
            {
                "kind": "cleanrooms_configured_table_association",
                "id": "just-one-id",
                "spec": {"name": "t"},
            },
            "id",
            "<membership-id>/",
        ),
        (
            {
                "kind": "iam_policy",
                "id": "arn:${Partition}:iam::aws:policy/ReadOnlyAccess",
                "spec": {"document": TRUST_QUICKSIGHT},
            },
            "id",
            "customer-managed",
        ),
    ],
)
def test_schema_problem_has_a_precise_path_and_a_clear_message(
    document: dict[str, Any], path: str, fragment: str
) -> None:
    # GIVEN an entry with one structural mistake / WHEN validated
    problems = [p for p in validate(_registry(document), rule_check=no_rules) if p.code == "SCHEMA"]
    # THEN a SCHEMA problem points at the mistake and explains it
    assert [p.path for p in problems].count(path) >= 1, problems
    assert any(fragment in p.message for p in problems if p.path == path), problems


def test_placeholders_and_policy_variables_are_accepted_in_arns() -> None:
    # GIVEN ARNs built from placeholders and resources using IAM policy variables
    policy = {
        "kind": "iam_policy",
        "id": "arn:${Partition}:iam::${AccountId}:policy/home-dirs",
        "spec": {
            "document": {
                "Version": "2012-10-17",
                "Statement": {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": "arn:${Partition}:s3:::home-${AccountId}/${aws:username}/*",
                    "Condition": {"StringEquals": {"aws:RequestedRegion": ["${Region}"]}},
                },
            }
        },
    }
    # WHEN validated / THEN there is no problem
    assert _problems(policy, ROLE, DATA_SOURCE) == []


def test_a_valid_cleanrooms_association_and_membership_pass() -> None:
    # GIVEN Clean Rooms entries naming a registry role / WHEN validated / THEN no problem
    association = {
        "kind": "cleanrooms_configured_table_association",
        "id": "m-1/a-1",
        "spec": {"name": "orders", "role_arn": READER_ARN},
    }
    membership = {
        "kind": "cleanrooms_membership",
        "id": "m-1",
        "spec": {"result_role_arn": None, "query_log_status": "ENABLED"},
    }
    assert _problems(ROLE, association, membership) == []


# -- stage 2: semantics ------------------------------------------------------------------------


def test_unknown_placeholder_is_reported_at_its_path() -> None:
    # GIVEN a misspelt placeholder in a role ARN
    document = _with(
        DATA_SOURCE,
        "spec.parameters.AthenaParameters.RoleArn",
        READER_ARN.replace("AccountId", "Account"),
    )
    # WHEN validated
    problems = validate(_registry(ROLE, document), rule_check=no_rules)
    # THEN it is a PLACEHOLDER problem that names the placeholder and the valid ones
    placeholder = [p for p in problems if p.code == "PLACEHOLDER"]
    assert [(p.source, p.path) for p in placeholder] == [
        ("e1.yaml", "spec.parameters.AthenaParameters.RoleArn")
    ]
    assert "${Account}" in placeholder[0].message and "${AccountId}" in placeholder[0].message


def test_duplicate_kind_and_id_is_reported_on_the_later_file() -> None:
    # GIVEN the same role name twice, differing only in case (IAM names ignore case)
    # WHEN validated / THEN the second file gets a DUPLICATE problem naming the first
    problems = validate(_registry(ROLE, _with(ROLE, "id", "READER")), rule_check=no_rules)
    assert [(p.source, p.path, p.code) for p in problems] == [("e1.yaml", "id", "DUPLICATE")]
    assert "e0.yaml" in problems[0].message


def test_same_id_of_different_kinds_is_not_a_duplicate() -> None:
    # GIVEN a role and a data source both called reader / WHEN validated / THEN no problem
    data_source = _with(DATA_SOURCE, "id", "reader")
    assert _problems(ROLE, data_source) == []


def test_ids_equal_after_resolution_are_duplicates() -> None:
    # GIVEN two ids that only differ by a placeholder that resolves to the same text
    first = _with(ROLE, "id", "reader-us-east-1")
    second = _with(ROLE, "id", "reader-${Region}")
    # WHEN validated / THEN they collide
    assert ("e1.yaml", "id", "DUPLICATE") in _problems(first, second)


@pytest.mark.parametrize(
    ("path", "arn"),
    [
        (
            "spec.parameters.AthenaParameters.RoleArn",
            "arn:${Partition}:iam::${AccountId}:role/service-role/ghost",
        ),
    ],
)
def test_data_source_role_in_this_account_must_be_a_registry_role(path: str, arn: str) -> None:
    # GIVEN a data source whose role is in ${AccountId} but not declared
    document = _with(DATA_SOURCE, "spec.parameters.AthenaParameters.RoleArn", arn)
    # WHEN validated / THEN a REFERENCE problem at the RoleArn
    assert _problems(ROLE, document) == [("e1.yaml", path, "REFERENCE")]


@pytest.mark.parametrize(
    ("parameters", "path"),
    [
        (
            {
                "S3Parameters": {
                    "ManifestFileLocation": {"Bucket": "b", "Key": "k"},
                    "RoleArn": "arn:${Partition}:iam::${AccountId}:role/ghost",
                }
            },
            "spec.parameters.S3Parameters.RoleArn",
        ),
        (
            {
                "RedshiftParameters": {
                    "Database": "d",
                    "IAMParameters": {"RoleArn": "arn:${Partition}:iam::${AccountId}:role/ghost"},
                }
            },
            "spec.parameters.RedshiftParameters.IAMParameters.RoleArn",
        ),
    ],
)
def test_s3_and_redshift_role_arns_are_checked_too(parameters: dict[str, Any], path: str) -> None:
    # GIVEN S3 / Redshift data sources naming an undeclared role of this account
    kind = "S3" if "S3Parameters" in parameters else "REDSHIFT"
    document = _with(_with(DATA_SOURCE, "spec.parameters", parameters), "spec.type", kind)
    # WHEN validated / THEN the role ARN is a REFERENCE problem
    assert _problems(ROLE, document) == [("e1.yaml", path, "REFERENCE")]


def test_role_arn_with_another_path_than_the_registry_role_is_a_reference_problem() -> None:
    # GIVEN the registry role lives under /service-role/ but the data source's ARN omits it
    document = _with(
        DATA_SOURCE,
        "spec.parameters.AthenaParameters.RoleArn",
        "arn:${Partition}:iam::${AccountId}:role/reader",
    )
    # WHEN validated
    problems = validate(_registry(ROLE, document), rule_check=no_rules)
    # THEN the mismatch is explained
    assert [(p.path, p.code) for p in problems] == [
        ("spec.parameters.AthenaParameters.RoleArn", "REFERENCE")
    ]
    assert "/service-role/" in problems[0].message


def test_role_in_another_account_is_not_a_registry_reference() -> None:
    # GIVEN a data source using a role of a literal other account
    document = _with(
        DATA_SOURCE,
        "spec.parameters.AthenaParameters.RoleArn",
        "arn:aws:iam::999988887777:role/shared",
    )
    # WHEN validated without rules / THEN the registry's reference check does not apply
    assert _problems(document) == []


def test_customer_managed_policy_must_be_in_the_registry_but_aws_managed_need_not() -> None:
    # GIVEN a role attaching an AWS-managed and a customer-managed policy
    policies = [
        "arn:${Partition}:iam::aws:policy/AmazonAthenaFullAccess",
        "arn:${Partition}:iam::${AccountId}:policy/team/results",
    ]
    role = _with(ROLE, "spec.managed_policies", policies)
    # WHEN validated without and with the iam_policy entry
    missing = _problems(role)
    policy = {
        "kind": "iam_policy",
        "id": "arn:${Partition}:iam::${AccountId}:policy/team/results",
        "spec": {
            "document": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        },
    }
    # THEN only the undeclared customer-managed policy is a problem
    assert missing == [("e0.yaml", "spec.managed_policies[1]", "REFERENCE")]
    assert _problems(role, policy) == []


@pytest.mark.parametrize(
    "document",
    [
        {
            "kind": "cleanrooms_configured_table_association",
            "id": "m/a",
            "spec": {"role_arn": "arn:${Partition}:iam::${AccountId}:role/ghost"},
        },
        {
            "kind": "cleanrooms_membership",
            "id": "m",
            "spec": {"result_role_arn": "arn:${Partition}:iam::${AccountId}:role/ghost"},
        },
    ],
)
def test_cleanrooms_roles_in_this_account_must_be_registry_roles(document: dict[str, Any]) -> None:
    # GIVEN a Clean Rooms entry naming an undeclared role / WHEN validated / THEN REFERENCE
    assert [code for _, _, code in _problems(document)] == ["REFERENCE"]


def test_semantic_checks_skip_entries_with_schema_problems() -> None:
    # GIVEN a structurally broken data source that also names an undeclared role
    document = _with(DATA_SOURCE, "spec.type", "EXCEL")
    # WHEN validated / THEN only the structural problem is reported for it
    assert {code for _, _, code in _problems(document)} == {"SCHEMA"}


# -- rules (chalicelib.rules.registry_findings) ------------------------------------------------


@dataclass(frozen=True)
class StubViolation:
    resource: DesiredResource
    path: str
    finding: Finding


def test_rule_violations_become_problems_on_the_entry_file() -> None:
    # GIVEN a rule check that flags the first resource it sees
    def flag_first(resources: Sequence[DesiredResource]) -> list[StubViolation]:
        finding = Finding("GUARD_IAM_WILDCARD", Severity.CRITICAL, "grants iam:*")
        return [StubViolation(resources[0], "spec.inline_policies.admin.Statement[0]", finding)]

    # WHEN validated with it
    problems = validate(_registry(ROLE), rule_check=flag_first)
    # THEN the finding is a problem on the entry's source with the rule's path, code and message
    assert problems == [
        Problem(
            "e0.yaml",
            "spec.inline_policies.admin.Statement[0]",
            "grants iam:*",
            "GUARD_IAM_WILDCARD",
        )
    ]


def test_rules_see_resources_resolved_for_a_sample_account() -> None:
    # GIVEN a rule check that records what it is given
    seen: list[DesiredResource] = []

    def record(resources: Sequence[DesiredResource]) -> list[StubViolation]:
        seen.extend(resources)
        return []

    # WHEN a valid and an invalid entry are validated
    validate(_registry(ROLE, _with(ROLE, "kind", "nope")), rule_check=record)
    # THEN only the valid entry reached the rules, with placeholders resolved
    assert [r.ref.id for r in seen] == ["reader"]
    assert seen[0].ref.account == "123456789012"


WILDCARD_ROLE = _with(
    ROLE,
    "spec.inline_policies",
    {
        "admin": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
        }
    },
)


def test_guardrail_refuses_iam_wildcard_unless_allowed() -> None:
    """Needs chalicelib.rules.registry_findings."""
    # GIVEN a role granting iam:* / WHEN validated with the real rules
    refused = validate(_registry(WILDCARD_ROLE))
    allowed = validate(
        _registry(WILDCARD_ROLE | {"allow": ["GUARD_IAM_WILDCARD", "GUARD_PASSROLE_ANY"]})
    )
    # THEN it is refused unless the entry lists the code under allow
    assert "GUARD_IAM_WILDCARD" in {p.code for p in refused}
    assert all(
        p.source == "e0.yaml" and p.path.startswith("spec.inline_policies.admin") for p in refused
    )
    assert "GUARD_IAM_WILDCARD" not in {p.code for p in allowed}


def test_undeclared_data_source_role_is_reported_once() -> None:
    """Needs chalicelib.rules.registry_findings: its QS_ROLE_NOT_FOUND is folded into REFERENCE."""
    # GIVEN a data source naming an undeclared role / WHEN validated with the real rules
    document = _with(
        DATA_SOURCE,
        "spec.parameters.AthenaParameters.RoleArn",
        "arn:${Partition}:iam::${AccountId}:role/ghost",
    )
    problems = validate(_registry(document))
    # THEN one problem at the RoleArn
    at_role = [p for p in problems if p.path == "spec.parameters.AthenaParameters.RoleArn"]
    assert [p.code for p in at_role] == ["REFERENCE"]
