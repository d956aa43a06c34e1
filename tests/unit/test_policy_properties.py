"""Property tests: equivalent rewrites are never drift, added actions always are."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chalicelib.diff.iam_policy import allows, diff_documents, equivalent, parse_document
from tests.policy_rewrites import REWRITES, url_encode

PROFILE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ACCOUNTS = ["123456789012", "210987654321"]
ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:Get*",
    "athena:StartQueryExecution",
    "glue:GetTable",
    "sts:AssumeRole",
    "iam:PassRole",
    "quicksight:DescribeDataSource",
]
RESOURCES = [
    "*",
    "arn:aws:s3:::analytics",
    "arn:aws:s3:::analytics/*",
    "arn:aws:athena:us-east-1:123456789012:workgroup/primary",
    "arn:aws:iam::123456789012:role/service-role/qs",
]
FRESH_ACTIONS = ["zzfresh:DoThing", "newservice:Create", "cleanrooms:StartProtectedQuery"]


def one_or_many(values: list[str], max_size: int = 3) -> st.SearchStrategy[Any]:
    """A string, or a list of distinct strings."""
    return st.one_of(
        st.sampled_from(values),
        st.lists(st.sampled_from(values), min_size=1, max_size=max_size, unique=True),
    )


aws_principal = st.one_of(
    st.sampled_from(ACCOUNTS),
    st.sampled_from(ACCOUNTS).map(lambda a: f"arn:aws:iam::{a}:root"),
    st.sampled_from(ACCOUNTS).map(lambda a: f"arn:aws:iam::{a}:role/partner"),
)
principal = st.one_of(
    st.just("*"),
    st.just({"AWS": "*"}),
    st.fixed_dictionaries(
        {},
        optional={
            "AWS": st.one_of(aws_principal, st.lists(aws_principal, min_size=1, max_size=2)),
            "Service": one_or_many(["quicksight.amazonaws.com", "cleanrooms.amazonaws.com"]),
        },
    ).filter(bool),
)
condition = st.fixed_dictionaries(
    {},
    optional={
        "StringEquals": st.fixed_dictionaries(
            {},
            optional={
                "aws:SourceAccount": one_or_many(ACCOUNTS),
                "sts:ExternalId": one_or_many(["ext-1", "ext-2"]),
            },
        ).filter(bool),
        "Bool": st.just({"aws:SecureTransport": "true"}),
    },
).filter(bool)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    """One statement: an identity statement or a trust statement."""
    s: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    if draw(st.booleans()):
        s["Sid"] = draw(st.sampled_from(["One", "Two", "Three"]))
    if draw(st.integers(0, 5)) == 0:
        s["NotAction"] = draw(one_or_many(ACTIONS))
    else:
        s["Action"] = draw(one_or_many(ACTIONS, max_size=4))
    if draw(st.booleans()):
        s["Principal"] = draw(principal)
    else:
        s["Resource"] = draw(one_or_many(RESOURCES))
    if draw(st.booleans()):
        s["Condition"] = draw(condition)
    return s


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A policy document with one to four statements and any version."""
    out: dict[str, Any] = {"Statement": draw(st.lists(statements(), min_size=1, max_size=4))}
    version = draw(st.sampled_from([None, "2012-10-17", "2008-10-17"]))
    if version is not None:
        out["Version"] = version
    return out


@PROFILE
@given(
    doc=documents(),
    names=st.lists(st.sampled_from(sorted(REWRITES)), min_size=1, max_size=6),
    seed=st.integers(0, 2**32 - 1),
    encode=st.booleans(),
)
def test_equivalent_rewrites_are_not_drift(
    doc: dict[str, Any], names: list[str], seed: int, encode: bool
) -> None:
    """GIVEN any document and any chain of equivalent rewrites (optionally URL-encoded)
    WHEN compared THEN they are equivalent and the diff is empty, both ways."""
    rnd = random.Random(seed)
    rewritten = doc
    for name in names:
        rewritten = REWRITES[name](rewritten, rnd)
    live: Any = url_encode(rewritten) if encode else rewritten
    assert equivalent(doc, live)
    assert diff_documents(doc, live, "p") == []
    assert diff_documents(live, doc, "p") == []


@PROFILE
@given(doc=documents(), action=st.sampled_from(FRESH_ACTIONS), data=st.data())
def test_adding_an_action_no_allow_matches_is_drift(
    doc: dict[str, Any], action: str, data: st.DataObject
) -> None:
    """GIVEN a document and an action no Allow statement grants WHEN the action is added to
    an Allow statement live THEN the documents differ and the diff reports an add."""
    assume(not allows(doc, action, "*"))
    live = {**doc, "Statement": [dict(s) for s in doc["Statement"]]}
    targets = [s for s in live["Statement"] if s["Effect"] == "Allow" and "Action" in s]
    if targets:
        target = data.draw(st.sampled_from(targets))
        actions = target["Action"]
        target["Action"] = [*([actions] if isinstance(actions, str) else actions), action]
    else:
        live["Statement"].append({"Effect": "Allow", "Action": action, "Resource": "*"})
    assert not equivalent(doc, live)
    changes = diff_documents(doc, live, "p")
    assert changes
    assert any(c.op == "add" and action in str(c.live) for c in changes)


@PROFILE
@given(a=documents(), b=documents())
def test_diff_is_empty_exactly_when_equivalent(a: dict[str, Any], b: dict[str, Any]) -> None:
    """GIVEN any two documents WHEN compared THEN diff is empty iff they are equivalent."""
    assert (diff_documents(a, b, "p") == []) == equivalent(a, b)


@PROFILE
@given(a=documents(), b=documents())
def test_diff_is_deterministic_and_sorted(a: dict[str, Any], b: dict[str, Any]) -> None:
    """GIVEN any two documents WHEN diffed twice THEN the same sorted changes come back."""
    first = diff_documents(a, b, "p")
    assert first == diff_documents(a, b, "p")
    assert [c.path for c in first] == sorted(c.path for c in first)


@PROFILE
@given(text=st.one_of(st.text(), st.text(alphabet='{}[]":,%7B22D 0aA').map(str)))
def test_parse_document_raises_only_value_error(text: str) -> None:
    """GIVEN arbitrary text WHEN parsed THEN it returns a dict or raises ValueError."""
    try:
        result = parse_document(text)
    except ValueError:
        return
    assert isinstance(result, dict)


@PROFILE
@given(doc=documents())
def test_url_encoded_document_parses_back(doc: dict[str, Any]) -> None:
    """GIVEN any document WHEN URL-encoded as IAM does THEN it parses back to itself."""
    assert parse_document(url_encode(doc)) == doc
