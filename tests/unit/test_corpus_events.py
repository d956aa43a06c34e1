"""Every real event of the shared corpus parses and routes to the right resource or reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from chalicelib.events.cloudtrail import parse_event
from chalicelib.events.routes import REASON_NO_IDENTIFIER, REASON_UNKNOWN_EVENT, route
from chalicelib.models import Kind, ResourceRef
from tests.events import CORPUS_EVENTS, corpus_event_files, load_corpus_event

if TYPE_CHECKING:
    from pathlib import Path

ROLE = Kind.IAM_ROLE


def _role(name: str, account: str = "123456789012", region: str = "us-east-1") -> ResourceRef:
    return ResourceRef(ROLE, name, account, region)


# File (relative to corpus/events) -> the resource it must route to, or the ignored reason.
EXPECTED: dict[str, ResourceRef | str] = {
    "iam/AttachRolePolicy/consoleme__conftest-line464.json": _role("role1"),
    "iam/AttachRolePolicy/panther-analysis__aws_iam_anything_changed__"
    "error-making-iam-change.json": "failed call (errorCode=NoSuchEntity)",
    "iam/AttachRolePolicy/panther-analysis__aws_iam_anything_changed__iam-change.json": _role(
        "LambdaFunctionRole-1111"
    ),
    "iam/AttachRolePolicy/panther-analysis__aws_iam_attach_admin_role_policy__"
    "iam-role-policy-attached-with-administrator-access.json": _role(
        "new-role", region="us-west-2"
    ),
    "iam/AttachRolePolicy/panther-analysis__aws_iam_attach_admin_role_policy__"
    "iam-role-policy-attached-without-administrator-access.json": _role(
        "new-role", region="us-west-2"
    ),
    "iam/AttachRolePolicy/stratus-red-team__aws.persistence.iam-create-backdoor-role__0.json": (
        _role("stratus-red-team-malicious-iam-role", "609418236337", "sagov-west-2r")
    ),
    "iam/CreateRole/aws-spotlight__archive__IAM_CreateRole.json": _role(
        "rds-monitoring-role", "999999999999"
    ),
    "iam/CreateRole/aws-spotlight__current__IAM_CreateRole.json": _role(
        "MyTestRole", "999999999999"
    ),
    "iam/CreateRole/awsdocs-cloudtrail-user-guide__log-file-example.json": _role(
        "TestRole", region="us-east-2"
    ),
    "iam/CreateRole/panther-analysis__aws_iam_create_role__iam-role-created.json": _role(
        "new-role", region="us-west-2"
    ),
    "iam/CreateRole/stratus-red-team__aws.persistence.iam-create-backdoor-role__1.json": _role(
        "stratus-red-team-malicious-iam-role", "609418236337", "sagov-west-2r"
    ),
    "iam/DeleteRole/aws-spotlight__archive__IAM_DeleteRole.json": _role(
        "rds-monitoring-role", "999999999999"
    ),
    "iam/DeleteRole/aws-spotlight__current__IAM_DeleteRole.json": _role(
        "MyTestRole", "999999999999"
    ),
    "iam/TagRole/consoleme__conftest-line523.json": _role("abcrole"),
    "iam/TagRole/iambic__test_detect.json": _role("test_detect_role", "1234567890012"),
    "iam/UpdateAssumeRolePolicy/panther-analysis__aws_iam_backdoor_role__"
    "iam-role-policy-updated-to-allow-internet-access.json": REASON_NO_IDENTIFIER,
    "iam/UpdateAssumeRolePolicy/panther-analysis__aws_iam_backdoor_role__"
    "iam-role-policy-updated-with-no-policy-document.json": REASON_NO_IDENTIFIER,
    "iam/UpdateAssumeRolePolicy/panther-analysis__aws_iam_backdoor_role__"
    "iam-role-policy-updated-without-internet-access.json": REASON_NO_IDENTIFIER,
    "iam/UpdateAssumeRolePolicy/stratus-red-team__aws.persistence.iam-backdoor-role__0.json": (
        _role("stratus-red-team-backdoor-r-role", "751203476945", "ca-isob-northsouth-1r")
    ),
    "quicksight/BatchCreateUser/awsdocs-quicksight-user-guide__logging-using-cloudtrail.json": (
        REASON_UNKNOWN_EVENT
    ),
}


def _relative(path: Path) -> str:
    return path.relative_to(CORPUS_EVENTS).as_posix()


ALL_FILES = corpus_event_files()


def test_corpus_has_event_files() -> None:
    """GIVEN the shared corpus WHEN listed THEN it has events (the generic tests are not empty)."""
    assert len(ALL_FILES) >= len(EXPECTED)


def test_every_expectation_names_an_existing_corpus_file() -> None:
    """GIVEN the expectation table WHEN compared with the corpus THEN no entry is stale."""
    assert set(EXPECTED) <= {_relative(path) for path in ALL_FILES}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_known_corpus_event_routes_as_expected(name: str) -> None:
    """GIVEN a known corpus event WHEN parsed and routed THEN exactly the expected resource,
    or no resource and the expected reason."""
    expected = EXPECTED[name]

    result = route(parse_event(load_corpus_event(name)))

    if isinstance(expected, ResourceRef):
        assert (result.refs, result.reason) == ((expected,), None)
    else:
        assert (result.refs, result.reason) == ((), expected)


@pytest.mark.parametrize("path", ALL_FILES, ids=_relative)
def test_any_corpus_event_parses_and_routes_or_says_why_not(path: Path) -> None:
    """GIVEN any corpus event (new samples included automatically) WHEN parsed and routed
    THEN it parses, and routing gives either resources (with no reason) or a reason (with none),
    and a failed or read-only call never gives resources."""
    notice = parse_event(load_corpus_event(path))

    result = route(notice)

    assert bool(result.refs) != bool(result.reason)
    if notice.error_code is not None or notice.read_only:
        assert result.refs == ()
    for ref in result.refs:
        assert ref.id and ref.account and ref.region
        assert ref.kind in Kind


@pytest.mark.parametrize("path", ALL_FILES, ids=_relative)
def test_corpus_event_folder_names_its_event(path: Path) -> None:
    """GIVEN the corpus layout events/<service>/<eventName>/ WHEN a file is parsed
    THEN the notice's event name and service agree with its folder."""
    parts = path.relative_to(CORPUS_EVENTS).parts
    if len(parts) < 3:
        pytest.skip("file is not in an events/<service>/<eventName>/ folder")
    service, event_name = parts[:2]

    notice = parse_event(load_corpus_event(path))

    assert (notice.service, notice.event_name) == (service, event_name)
