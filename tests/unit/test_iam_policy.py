"""Unit tests for the IAM policy grammar: parsing, equivalence, diffs and rule helpers."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from chalicelib.diff.iam_policy import (
    allowed_actions,
    allows,
    conditions,
    diff_documents,
    equivalent,
    fingerprint,
    iter_statements,
    parse_document,
    principals,
    unique_id_principals,
    wildcard_match,
)
from chalicelib.models import Op

ACCOUNT = "123456789012"
OTHER = "210987654321"


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    out: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        out["Version"] = version
    return out


ATHENA = {
    "Sid": "AllowAthena",
    "Effect": "Allow",
    "Action": ["athena:StartQueryExecution", "athena:GetQueryResults"],
    "Resource": f"arn:aws:athena:us-east-1:{ACCOUNT}:workgroup/primary",
}
S3_READ = {
    "Effect": "Allow",
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::analytics/*",
}
TRUST_QS = {
    "Effect": "Allow",
    "Principal": {"Service": "quicksight.amazonaws.com"},
    "Action": "sts:AssumeRole",
}
TRUST_ACCOUNT = {
    "Sid": "Partner",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
    "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"sts:ExternalId": "xyz"}},
}


class TestParseDocument:
    def test_a_mapping_is_returned_as_a_dict(self) -> None:
        """GIVEN a dict WHEN parsed THEN an equal dict comes back."""
        assert parse_document(doc(S3_READ)) == doc(S3_READ)

    def test_json_text_is_parsed(self) -> None:
        """GIVEN JSON text WHEN parsed THEN the object comes back."""
        assert parse_document("  " + json.dumps(doc(S3_READ))) == doc(S3_READ)

    def test_url_encoded_json_as_iam_returns_it_is_parsed(self) -> None:
        """GIVEN IAM's URL-encoded JSON WHEN parsed THEN the object comes back."""
        encoded = urllib.parse.quote(json.dumps(doc(TRUST_QS)))
        assert encoded.startswith("%7B")
        assert parse_document(encoded) == doc(TRUST_QS)

    @pytest.mark.parametrize("text", ["", "not json", "%7B%22broken", "[1, 2]", "42", "null"])
    def test_garbage_raises_value_error(self, text: str) -> None:
        """GIVEN text that is not a JSON object WHEN parsed THEN ValueError names the problem."""
        with pytest.raises(ValueError, match="policy document"):
            parse_document(text)


# Each row: (description, desired, live) that IAM treats identically -> NOT drift.
EQUIVALENT = [
    ("statement order", doc(ATHENA, S3_READ), doc(S3_READ, ATHENA)),
    (
        "action as string vs list",
        doc({**S3_READ, "Action": "s3:GetObject"}),
        doc({**S3_READ, "Action": ["s3:GetObject"]}),
    ),
    (
        "resource as string vs list",
        doc(S3_READ),
        doc({**S3_READ, "Resource": ["arn:aws:s3:::analytics/*"]}),
    ),
    (
        "not-action and not-resource as string vs list",
        doc({"Effect": "Deny", "NotAction": "s3:*", "NotResource": "arn:aws:s3:::a"}),
        doc({"Effect": "Deny", "NotAction": ["s3:*"], "NotResource": ["arn:aws:s3:::a"]}),
    ),
    (
        "action name case",
        doc(ATHENA),
        doc({**ATHENA, "Action": ["ATHENA:startqueryexecution", "Athena:GetQueryRESULTS"]}),
    ),
    ("duplicate statements", doc(ATHENA), doc(ATHENA, ATHENA)),
    (
        "duplicate list entries",
        doc(S3_READ),
        doc({**S3_READ, "Action": ["s3:GetObject", "s3:getobject"]}),
    ),
    (
        "principal * vs AWS *",
        doc({**TRUST_QS, "Principal": "*"}),
        doc({**TRUST_QS, "Principal": {"AWS": "*"}}),
    ),
    (
        "account id vs root ARN",
        doc({**TRUST_QS, "Principal": {"AWS": OTHER}}),
        doc({**TRUST_QS, "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}}),
    ),
    (
        "account id vs root ARN in another partition",
        doc({**TRUST_QS, "Principal": {"AWS": OTHER}}),
        doc({**TRUST_QS, "Principal": {"AWS": f"arn:aws-cn:iam::{OTHER}:root"}}),
    ),
    (
        "principal value string vs list",
        doc(TRUST_QS),
        doc({**TRUST_QS, "Principal": {"Service": ["quicksight.amazonaws.com"]}}),
    ),
    (
        "condition value string vs one-element list",
        doc(TRUST_ACCOUNT),
        doc({**TRUST_ACCOUNT, "Condition": {"StringEquals": {"sts:ExternalId": ["xyz"]}}}),
    ),
    (
        "condition value list order",
        doc({**S3_READ, "Condition": {"StringEquals": {"aws:SourceVpc": ["a", "b"]}}}),
        doc({**S3_READ, "Condition": {"StringEquals": {"aws:SourceVpc": ["b", "a"]}}}),
    ),
    (
        "condition key case",
        doc(TRUST_ACCOUNT),
        doc({**TRUST_ACCOUNT, "Condition": {"StringEquals": {"STS:EXTERNALID": "xyz"}}}),
    ),
    (
        "condition boolean vs string",
        doc({**S3_READ, "Condition": {"Bool": {"aws:SecureTransport": True}}}),
        doc({**S3_READ, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
    ),
    ("Sid is a label", doc(ATHENA), doc({**ATHENA, "Sid": "Renamed"})),
    (
        "missing Version is 2008-10-17",
        doc(S3_READ, version=None),
        doc(S3_READ, version="2008-10-17"),
    ),
    (
        "statement as object vs list",
        {"Version": "2012-10-17", "Statement": S3_READ},
        doc(S3_READ),
    ),
    (
        "one statement split per action",
        doc(ATHENA),
        doc(
            {**ATHENA, "Action": "athena:StartQueryExecution"},
            {**ATHENA, "Sid": "Other", "Action": "athena:GetQueryResults"},
        ),
    ),
    ("URL-encoded live document", doc(TRUST_QS), urllib.parse.quote(json.dumps(doc(TRUST_QS)))),
    ("JSON text desired document", json.dumps(doc(ATHENA, S3_READ)), doc(S3_READ, ATHENA)),
]


@pytest.mark.parametrize(
    ("desired", "live"), [r[1:] for r in EQUIVALENT], ids=[r[0] for r in EQUIVALENT]
)
class TestEquivalentRewrites:
    def test_is_equivalent(self, desired: Any, live: Any) -> None:
        """GIVEN two spellings of the same policy WHEN compared THEN they are equivalent."""
        assert equivalent(desired, live)
        assert equivalent(live, desired)

    def test_has_no_diff(self, desired: Any, live: Any) -> None:
        """GIVEN two spellings of the same policy WHEN diffed THEN there is no change."""
        assert diff_documents(desired, live, "p") == []
        assert diff_documents(live, desired, "p") == []

    def test_has_the_same_fingerprint(self, desired: Any, live: Any) -> None:
        """GIVEN two spellings of the same policy WHEN fingerprinted THEN the hashes match."""
        assert fingerprint(desired) == fingerprint(live)


# Each row: (description, desired, live, expected (path, op, desired, live) changes).
DRIFTS: list[tuple[str, Any, Any, list[tuple[str, Op, Any, Any]]]] = [
    (
        "added action",
        doc(ATHENA),
        doc({**ATHENA, "Action": [*ATHENA["Action"], "athena:DeleteWorkGroup"]}),
        [("p.Statement[Sid=AllowAthena].Action", Op.ADD, None, ["athena:DeleteWorkGroup"])],
    ),
    (
        "removed action",
        doc(ATHENA),
        doc({**ATHENA, "Action": "athena:GetQueryResults"}),
        [
            (
                "p.Statement[Sid=AllowAthena].Action",
                Op.REMOVE,
                ["athena:StartQueryExecution"],
                None,
            )
        ],
    ),
    (
        "new principal",
        doc(TRUST_QS),
        doc({**TRUST_QS, "Principal": {"Service": "quicksight.amazonaws.com", "AWS": OTHER}}),
        [("p.Statement[0].Principal.AWS", Op.ADD, None, [OTHER])],
    ),
    (
        "widened resource",
        doc(S3_READ),
        doc({**S3_READ, "Resource": "*"}),
        [
            ("p.Statement[0].Resource", Op.ADD, None, ["*"]),
            ("p.Statement[0].Resource", Op.REMOVE, ["arn:aws:s3:::analytics/*"], None),
        ],
    ),
    (
        "added resource",
        doc(S3_READ),
        doc({**S3_READ, "Resource": ["arn:aws:s3:::analytics/*", "arn:aws:s3:::secrets/*"]}),
        [("p.Statement[0].Resource", Op.ADD, None, ["arn:aws:s3:::secrets/*"])],
    ),
    (
        "removed condition",
        doc(TRUST_ACCOUNT),
        doc({k: v for k, v in TRUST_ACCOUNT.items() if k != "Condition"}),
        [
            (
                "p.Statement[Sid=Partner].Condition",
                Op.REMOVE,
                {"StringEquals": {"sts:ExternalId": "xyz"}},
                None,
            )
        ],
    ),
    (
        "changed condition value",
        doc(TRUST_ACCOUNT),
        doc({**TRUST_ACCOUNT, "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}}),
        [
            (
                "p.Statement[Sid=Partner].Condition.StringEquals.sts:externalid",
                Op.CHANGE,
                ["xyz"],
                ["abc"],
            )
        ],
    ),
    (
        "changed effect",
        doc(ATHENA),
        doc({**ATHENA, "Effect": "Deny"}),
        [("p.Statement[Sid=AllowAthena].Effect", Op.CHANGE, "Allow", "Deny")],
    ),
    (
        "new statement",
        doc(ATHENA),
        doc(ATHENA, S3_READ),
        [("p.Statement[live:1]", Op.ADD, None, S3_READ)],
    ),
    (
        "deleted statement",
        doc(ATHENA, S3_READ),
        doc(ATHENA),
        [("p.Statement[1]", Op.REMOVE, S3_READ, None)],
    ),
    (
        "changed version",
        doc(S3_READ),
        doc(S3_READ, version=None),
        [("p.Version", Op.CHANGE, "2012-10-17", "2008-10-17")],
    ),
]


@pytest.mark.parametrize(
    ("desired", "live", "expected"), [r[1:] for r in DRIFTS], ids=[r[0] for r in DRIFTS]
)
class TestDrift:
    def test_is_not_equivalent(self, desired: Any, live: Any, expected: Any) -> None:
        """GIVEN a policy and a drifted copy WHEN compared THEN they are not equivalent."""
        assert not equivalent(desired, live)

    def test_reports_the_change_with_op_and_path(
        self, desired: Any, live: Any, expected: list[tuple[str, Op, Any, Any]]
    ) -> None:
        """GIVEN a drifted copy WHEN diffed THEN exactly the expected changes are reported."""
        changes = diff_documents(desired, live, "p")
        assert [(c.path, c.op, c.desired, c.live) for c in changes] == expected


class TestDiffDetails:
    def test_added_action_reports_spelling_as_written(self) -> None:
        """GIVEN live adds an action in mixed case WHEN diffed THEN the value is as written."""
        live = doc({**ATHENA, "Action": [*ATHENA["Action"], "Athena:DeleteWORKGROUP"]})
        (change,) = diff_documents(doc(ATHENA), live, "p")
        assert change.live == ["Athena:DeleteWORKGROUP"]

    def test_reordered_and_extended_statements_report_only_the_extension(self) -> None:
        """GIVEN live reorders statements and adds one action WHEN diffed THEN only the action
        appears, at the desired statement's label."""
        live = doc(S3_READ, {**ATHENA, "Action": [*ATHENA["Action"], "athena:ListWorkGroups"]})
        changes = diff_documents(doc(ATHENA, S3_READ), live, "doc")
        assert [(c.path, c.op, c.live) for c in changes] == [
            ("doc.Statement[Sid=AllowAthena].Action", Op.ADD, ["athena:ListWorkGroups"])
        ]

    def test_statement_without_sid_extended_by_a_new_action_pairs_with_it(self) -> None:
        """GIVEN an unlabelled statement with one more action live WHEN diffed THEN the change
        is at its desired index, not a whole new statement."""
        live = doc(ATHENA, {**S3_READ, "Action": ["s3:GetObject", "s3:PutObject"]})
        changes = diff_documents(doc(ATHENA, S3_READ), live, "")
        assert [(c.path, c.op, c.live) for c in changes] == [
            ("Statement[1].Action", Op.ADD, ["s3:PutObject"])
        ]

    def test_backdoor_trust_statement_is_a_new_statement(self) -> None:
        """GIVEN a trust policy where live adds another account's root WHEN diffed THEN the new
        statement is reported whole as an add."""
        backdoor = {**TRUST_QS, "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}}
        (change,) = diff_documents(doc(TRUST_QS), doc(TRUST_QS, backdoor), "trust_policy")
        assert (change.path, change.op, change.live) == (
            "trust_policy.Statement[live:1]",
            Op.ADD,
            backdoor,
        )

    def test_changes_are_sorted_by_path(self) -> None:
        """GIVEN several drifts WHEN diffed THEN the changes come sorted by path."""
        live = doc({**ATHENA, "Effect": "Deny"}, {**S3_READ, "Resource": "*"})
        paths = [c.path for c in diff_documents(doc(ATHENA, S3_READ), live, "p")]
        assert paths == sorted(paths)

    def test_change_values_are_json_safe(self) -> None:
        """GIVEN drift in every field WHEN diffed THEN every change serialises as JSON."""
        live = doc({**TRUST_ACCOUNT, "Effect": "Deny", "Condition": {"Bool": {"x:y": True}}})
        changes = diff_documents(doc(TRUST_ACCOUNT, S3_READ), live, "p")
        json.dumps([c.to_json() for c in changes])

    def test_malformed_statement_raises_value_error(self) -> None:
        """GIVEN a statement without Effect WHEN diffed THEN ValueError is raised."""
        with pytest.raises(ValueError, match="Effect"):
            diff_documents(doc({"Action": "s3:*"}), doc(S3_READ), "p")


class TestHelpers:
    @pytest.mark.parametrize(
        ("pattern", "value", "ignore_case", "expected"),
        [
            ("s3:Get*", "s3:GetObject", False, True),
            ("s3:get*", "S3:GETOBJECT", True, True),
            ("s3:get*", "S3:GETOBJECT", False, False),
            ("s3:GetObjec?", "s3:GetObject", False, True),
            ("arn:aws:s3:::b/*", "arn:aws:s3:::b/*", False, True),
            ("arn:aws:s3:::b/x/*", "arn:aws:s3:::b/*", False, False),
            ("a.b", "axb", False, False),
        ],
    )
    def test_wildcard_match(
        self, pattern: str, value: str, ignore_case: bool, expected: bool
    ) -> None:
        """GIVEN an IAM pattern WHEN matched THEN * and ? behave as in IAM, . is literal."""
        assert wildcard_match(pattern, value, ignore_case=ignore_case) is expected

    def test_allows_matches_action_wildcards_case_insensitively(self) -> None:
        """GIVEN Allow s3:get* on a bucket WHEN asked about s3:GetObject THEN it is allowed."""
        policy = doc({**S3_READ, "Action": "S3:get*"})
        assert allows(policy, "s3:GetObject", "arn:aws:s3:::analytics/data.csv")
        assert not allows(policy, "s3:PutObject", "arn:aws:s3:::analytics/data.csv")
        assert not allows(policy, "s3:GetObject", "arn:aws:s3:::other/data.csv")

    def test_allows_is_blocked_by_an_unconditional_deny(self) -> None:
        """GIVEN Allow s3:* and Deny s3:GetObject WHEN asked THEN it is not allowed."""
        policy = doc(
            {**S3_READ, "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"},
        )
        assert not allows(policy, "s3:GetObject", "arn:aws:s3:::analytics/x")

    def test_allows_honours_not_action(self) -> None:
        """GIVEN Allow NotAction iam:* WHEN asked THEN s3 is allowed and iam is not."""
        policy = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
        assert allows(policy, "s3:GetObject")
        assert not allows(policy, "iam:PassRole")

    def test_allowed_actions_lists_lower_cased_allow_patterns(self) -> None:
        """GIVEN Allow and Deny statements WHEN listing allowed actions THEN only Allow's."""
        policy = doc(ATHENA, {"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
        assert allowed_actions(policy) == {
            "athena:startqueryexecution",
            "athena:getqueryresults",
        }

    def test_principals_are_reported_as_written(self) -> None:
        """GIVEN a trust policy WHEN listing principals THEN values are as written."""
        assert principals(doc(TRUST_QS, TRUST_ACCOUNT, {**TRUST_QS, "Principal": "*"})) == {
            ("Service", "quicksight.amazonaws.com"),
            ("AWS", f"arn:aws:iam::{OTHER}:root"),
            ("AWS", "*"),
        }

    def test_conditions_lower_case_keys_and_keep_operators(self) -> None:
        """GIVEN a condition with mixed-case key WHEN read THEN the key is lower-cased."""
        raw = {**S3_READ, "Condition": {"StringEquals": {"AWS:SourceAccount": ACCOUNT}}}
        (statement,) = iter_statements(doc(raw))
        assert conditions(statement) == {"StringEquals": {"aws:sourceaccount": [ACCOUNT]}}
        assert conditions(raw) == conditions(statement)

    def test_unique_id_principals_are_found(self) -> None:
        """GIVEN a trust policy naming a deleted role's unique ID WHEN checked THEN it is listed
        and ordinary principals are not."""
        policy = doc(TRUST_QS, {**TRUST_QS, "Principal": {"AWS": ["AROAIGK7B2VUDZL4I73HK", OTHER]}})
        assert unique_id_principals(policy) == ("AROAIGK7B2VUDZL4I73HK",)
        assert unique_id_principals(doc(TRUST_QS, TRUST_ACCOUNT)) == ()
