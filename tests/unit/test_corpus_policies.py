"""Corpus tests: real AWS managed policy histories and recorded IAM responses.

Data: /work/shared/corpus (see its SOURCES.md). Version pairs of AWS managed policies come
from iann0036/iam-dataset; the URL-encoded documents are Cloud Custodian placebo recordings.
"""

from __future__ import annotations

import itertools
import json
import random
import urllib.parse
from typing import TYPE_CHECKING, Any

import pytest

from chalicelib.diff.iam_policy import (
    diff_documents,
    equivalent,
    iter_statements,
    parse_document,
)
from chalicelib.rules.checks import trust_guardrails
from tests.conftest import CORPUS
from tests.policy_rewrites import REWRITES, rewrite_all, url_encode

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

MANAGED = CORPUS / "policies" / "aws-managed"
RESPONSES = CORPUS / "responses" / "iam"
EVENTS = CORPUS / "events" / "iam"

pytestmark = pytest.mark.skipif(not MANAGED.is_dir(), reason="shared corpus not present")


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _policy_dirs() -> list[Path]:
    return sorted(p for p in MANAGED.iterdir() if (p / "index.json").is_file())


def _pairs() -> Iterator[Any]:
    for policy in _policy_dirs():
        versions = _load(policy / "index.json")["versions"]
        for previous, current in itertools.pairwise(versions):
            yield pytest.param(
                policy / previous["file"],
                policy / current["file"],
                current["document_identical_to_previous_file"],
                id=f"{policy.name}:{previous['version']}->{current['version']}",
            )


def _versions() -> Iterator[Any]:
    for policy in _policy_dirs():
        for version in _load(policy / "index.json")["versions"]:
            yield pytest.param(policy / version["file"], id=f"{policy.name}:{version['version']}")


def _without_sids(doc: dict[str, Any]) -> dict[str, Any]:
    body = doc["Statement"]
    statements = [body] if isinstance(body, dict) else body
    return {**doc, "Statement": [{k: v for k, v in s.items() if k != "Sid"} for s in statements]}


def _url_encoded_documents() -> Iterator[Any]:
    """Every URL-encoded policy string inside the recorded IAM responses."""

    def walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            for key, child in value.items():
                yield from walk(child, f"{path}.{key}")
        elif isinstance(value, list):
            for i, child in enumerate(value):
                yield from walk(child, f"{path}[{i}]")
        elif isinstance(value, str) and value.startswith("%7B"):
            yield path, value

    if not RESPONSES.is_dir():
        return
    for file in sorted(RESPONSES.glob("cloud-custodian__*.json")):
        recording = _load(file)
        for path, text in walk(recording.get("data"), "data"):
            yield pytest.param(text, id=f"{file.stem}{path}")


@pytest.mark.parametrize(("previous", "current", "flagged_identical"), list(_pairs()))
def test_consecutive_managed_policy_versions(
    previous: Path, current: Path, flagged_identical: bool | None
) -> None:
    """GIVEN two consecutive published versions of an AWS managed policy
    WHEN compared THEN versions flagged identical are equivalent with no diff, and versions
    whose documents differ in more than Sid labels are drift with a non-empty diff.

    Sid is a label and not compared, so versions that only renamed Sids are equivalent.
    """
    a, b = _load(previous), _load(current)
    if flagged_identical:
        assert equivalent(a, b)
        assert diff_documents(a, b, "document") == []
    elif _without_sids(a) != _without_sids(b):
        assert not equivalent(a, b)
        changes = diff_documents(a, b, "document")
        assert changes
        assert all(c.path.startswith("document.") for c in changes)
        json.dumps([c.to_json() for c in changes])
    else:
        assert equivalent(a, b)
        assert diff_documents(a, b, "document") == []


@pytest.mark.parametrize("version", list(_versions()))
@pytest.mark.parametrize("rewrite", sorted(REWRITES))
def test_managed_policy_rewrite_is_equivalent(version: Path, rewrite: str) -> None:
    """GIVEN a real managed policy WHEN one equivalent rewrite is applied THEN it is the same
    policy with no diff."""
    doc = _load(version)
    rewritten = REWRITES[rewrite](doc, random.Random(version.name))
    assert equivalent(doc, rewritten)
    assert diff_documents(doc, rewritten, "document") == []


@pytest.mark.parametrize("version", list(_versions()))
def test_managed_policy_with_all_rewrites_url_encoded_is_equivalent(version: Path) -> None:
    """GIVEN a real managed policy WHEN every rewrite is applied and it is URL-encoded as IAM
    returns it THEN it is the same policy with no diff."""
    doc = _load(version)
    live = url_encode(rewrite_all(doc, seed=7))
    assert equivalent(doc, live)
    assert diff_documents(doc, live, "document") == []


@pytest.mark.parametrize("text", list(_url_encoded_documents()))
def test_recorded_url_encoded_documents_parse(text: str) -> None:
    """GIVEN a URL-encoded document recorded from IAM (GetRole, ListRoles, GetPolicyVersion)
    WHEN parsed THEN it is the decoded JSON object, equivalent to itself decoded."""
    parsed = parse_document(text)
    assert parsed == json.loads(urllib.parse.unquote(text))
    assert list(iter_statements(parsed))
    assert equivalent(text, parsed)


def test_backdoor_trust_policy_event_is_drift_and_a_guardrail_breach() -> None:
    """GIVEN Stratus Red Team's UpdateAssumeRolePolicy event that adds another account's root
    WHEN its document is compared with the EC2-only trust it replaced THEN the new statement is
    drift and the trust guardrail fires on it."""
    event = _load(
        EVENTS
        / "UpdateAssumeRolePolicy"
        / "stratus-red-team__aws.persistence.iam-backdoor-role__0.json"
    )
    live = event["requestParameters"]["policyDocument"]
    account = event["recipientAccountId"]
    desired = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    changes = diff_documents(desired, live, "trust_policy")
    assert [(c.path, str(c.op)) for c in changes] == [("trust_policy.Statement[live:1]", "add")]
    hits = trust_guardrails(live, "trust_policy", account)
    assert [h.code for h in hits] == ["GUARD_TRUST_ANY"]
