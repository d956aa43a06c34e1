"""Unit tests for chalicelib.events.routes: the route table, patterns and actor matching."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from chalicelib.events.cloudtrail import parse_event
from chalicelib.events.routes import (
    EVENTBRIDGE_SOURCES,
    MUTATING_EVENT_NAMES,
    REASON_NO_IDENTIFIER,
    REASON_READ_ONLY,
    REASON_UNKNOWN_EVENT,
    ROUTES,
    actor_matches,
    event_patterns,
    find_route,
    is_own_event,
    route,
)
from chalicelib.models import ChangeNotice, Kind, ResourceRef
from tests.events import (
    ACCOUNT,
    ASSOCIATION_ID,
    DATA_SOURCE_ID,
    EVENTS_DIR,
    MEMBERSHIP_ID,
    MUTATING,
    POLICY_ARN,
    QUICKSIGHT_REGION,
    REGION,
    ROLE_NAME,
    api_call,
    load_corpus_event,
    load_event,
    sample_name,
    samples,
)

# Independent expectations for every synthetic sample: event name -> (kind, id, region).
EXPECTED: dict[str, tuple[Kind, str, str]] = {
    **{
        name: (Kind.IAM_ROLE, ROLE_NAME, REGION)
        for name in (
            "CreateRole",
            "DeleteRole",
            "UpdateRole",
            "UpdateRoleDescription",
            "UpdateAssumeRolePolicy",
            "PutRolePolicy",
            "DeleteRolePolicy",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "PutRolePermissionsBoundary",
            "DeleteRolePermissionsBoundary",
            "TagRole",
            "UntagRole",
        )
    },
    **{
        name: (Kind.IAM_POLICY, POLICY_ARN, REGION)
        for name in (
            "CreatePolicyVersion",
            "SetDefaultPolicyVersion",
            "DeletePolicyVersion",
            "DeletePolicy",
        )
    },
    **{
        name: (Kind.QUICKSIGHT_DATA_SOURCE, DATA_SOURCE_ID, QUICKSIGHT_REGION)
        for name in (
            "CreateDataSource",
            "UpdateDataSource",
            "UpdateDataSourcePermissions",
            "DeleteDataSource",
        )
    },
    **{
        name: (
            Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
            f"{MEMBERSHIP_ID}/{ASSOCIATION_ID}",
            REGION,
        )
        for name in (
            "CreateConfiguredTableAssociation",
            "UpdateConfiguredTableAssociation",
            "DeleteConfiguredTableAssociation",
        )
    },
    **{
        name: (Kind.CLEANROOMS_MEMBERSHIP, MEMBERSHIP_ID, REGION)
        for name in ("CreateMembership", "UpdateMembership", "DeleteMembership")
    },
}


def _notice(sample: str = "PutRolePolicy", **changes: Any) -> ChangeNotice:
    notice = parse_event(load_event(sample_name(sample)))
    return dataclasses.replace(notice, **changes)


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    matcher: Any = EventPattern.load(json.dumps(pattern))
    return bool(matcher.matches_event(event))


# -- the route table ------------------------------------------------------------------------------


@pytest.mark.parametrize("event_name", sorted(EXPECTED))
def test_synthetic_sample_routes_to_its_resource(event_name: str) -> None:
    """GIVEN the synthetic sample file of a mutating event WHEN parsed and routed
    THEN it points at exactly the expected resource in the event's account and region."""
    kind, ident, region = EXPECTED[event_name]

    result = route(parse_event(load_event(sample_name(event_name))))

    assert result.reason is None
    assert result.refs == (ResourceRef(kind, ident, ACCOUNT, region),)


def test_every_route_has_a_synthetic_sample_and_an_expectation() -> None:
    """GIVEN the route table WHEN compared with the samples THEN every row has a sample file,
    a builder and an expectation, and nothing else is expected."""
    names = {row.event_name for row in ROUTES}

    assert names == set(MUTATING) == set(EXPECTED)
    for name in names:
        assert (EVENTS_DIR / f"{sample_name(name)}.json").is_file(), name


def test_sample_files_are_up_to_date_with_their_builders() -> None:
    """GIVEN tests/events/*.json WHEN compared with tests.events builders THEN they are equal
    (regenerate with `.venv/bin/python -m tests.events`)."""
    for name, event in samples():
        assert load_event(name) == json.loads(json.dumps(event)), name


def test_route_rows_are_unique_per_source_and_name() -> None:
    """GIVEN the route table WHEN keyed by (eventSource, eventName) THEN no key repeats."""
    keys = [(row.event_source, row.event_name) for row in ROUTES]

    assert len(keys) == len(set(keys))


def test_required_event_names_are_routed() -> None:
    """GIVEN the event names PRODUCT.md section 4 and the brief list WHEN looked up
    THEN each has a route of the right kind."""
    required = {
        "iam.amazonaws.com": {
            Kind.IAM_ROLE: "CreateRole DeleteRole UpdateRole UpdateRoleDescription "
            "UpdateAssumeRolePolicy PutRolePolicy DeleteRolePolicy AttachRolePolicy "
            "DetachRolePolicy PutRolePermissionsBoundary DeleteRolePermissionsBoundary "
            "TagRole UntagRole",
            Kind.IAM_POLICY: "CreatePolicyVersion SetDefaultPolicyVersion DeletePolicyVersion "
            "DeletePolicy",
        },
        "quicksight.amazonaws.com": {
            Kind.QUICKSIGHT_DATA_SOURCE: "CreateDataSource UpdateDataSource "
            "UpdateDataSourcePermissions DeleteDataSource",
        },
        "cleanrooms.amazonaws.com": {
            Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION: "CreateConfiguredTableAssociation "
            "UpdateConfiguredTableAssociation DeleteConfiguredTableAssociation",
            Kind.CLEANROOMS_MEMBERSHIP: "CreateMembership UpdateMembership DeleteMembership",
        },
    }
    for source, by_kind in required.items():
        for kind, names in by_kind.items():
            for name in names.split():
                row = find_route(source, name)
                assert row is not None, name
                assert row.kind is kind, name


def test_policy_routes_ask_for_attached_roles_to_be_rechecked() -> None:
    """GIVEN a CreatePolicyVersion WHEN routed THEN the policy ARN is also in policy_arns."""
    result = route(_notice("CreatePolicyVersion"))

    assert result.policy_arns == (POLICY_ARN,)
    assert all(row.expands_to_attached_roles is (row.kind is Kind.IAM_POLICY) for row in ROUTES)


def test_role_routes_do_not_expand_to_policies() -> None:
    """GIVEN an AttachRolePolicy WHEN routed THEN only the role is named, no policy_arns."""
    result = route(_notice("AttachRolePolicy"))

    assert result.policy_arns == ()
    assert [ref.kind for ref in result.refs] == [Kind.IAM_ROLE]


def test_create_role_falls_back_to_the_response_role_name() -> None:
    """GIVEN a CreateRole whose request lacks roleName WHEN routed THEN the response names it."""
    notice = _notice("CreateRole")
    notice = dataclasses.replace(
        notice,
        request_parameters={k: v for k, v in notice.request_parameters.items() if k != "roleName"},
    )

    assert [ref.id for ref in route(notice).refs] == [ROLE_NAME]


def test_quicksight_account_comes_from_aws_account_id() -> None:
    """GIVEN a QuickSight event whose awsAccountId differs from the recipient account
    WHEN routed THEN the data source is looked up in awsAccountId."""
    notice = _notice("UpdateDataSource")
    params = {**notice.request_parameters, "awsAccountId": "210987654321"}

    (ref,) = route(dataclasses.replace(notice, request_parameters=params)).refs

    assert ref.account == "210987654321"


def test_quicksight_account_falls_back_to_the_notice_account() -> None:
    """GIVEN a QuickSight event without awsAccountId WHEN routed THEN the notice's account."""
    notice = _notice("DeleteDataSource")
    params = {k: v for k, v in notice.request_parameters.items() if k != "awsAccountId"}

    (ref,) = route(dataclasses.replace(notice, request_parameters=params)).refs

    assert ref.account == ACCOUNT


def test_create_association_without_response_has_no_identifier() -> None:
    """GIVEN a CreateConfiguredTableAssociation without responseElements (the id is only known
    from the response) WHEN routed THEN there is no resource identifier."""
    notice = dataclasses.replace(_notice("CreateConfiguredTableAssociation"), response_elements={})

    assert route(notice).reason == REASON_NO_IDENTIFIER


def test_update_association_needs_both_identifiers() -> None:
    """GIVEN an UpdateConfiguredTableAssociation without the association id WHEN routed
    THEN no half-built id is produced."""
    notice = _notice("UpdateConfiguredTableAssociation")
    params = {"membershipIdentifier": MEMBERSHIP_ID}

    result = route(dataclasses.replace(notice, request_parameters=params))

    assert result.refs == ()
    assert result.reason == REASON_NO_IDENTIFIER


def test_create_membership_id_comes_from_the_response() -> None:
    """GIVEN a CreateMembership (request names only the collaboration) WHEN routed
    THEN the membership id comes from responseElements.membership.id."""
    notice = _notice("CreateMembership")

    assert "membershipIdentifier" not in notice.request_parameters
    assert [ref.id for ref in route(notice).refs] == [MEMBERSHIP_ID]


# -- ignored events -------------------------------------------------------------------------------


def test_failed_call_is_ignored_with_its_error_code() -> None:
    """GIVEN a PutRolePolicy that failed with AccessDenied WHEN routed THEN no refs and the
    reason names the error code."""
    result = route(parse_event(load_event("iam/PutRolePolicy-failed")))

    assert result.refs == ()
    assert result.reason == "failed call (errorCode=AccessDenied)"


def test_read_only_event_is_ignored() -> None:
    """GIVEN a GetRole WHEN routed THEN no refs, reason read-only."""
    result = route(parse_event(load_event("iam/GetRole")))

    assert (result.refs, result.reason) == ((), REASON_READ_ONLY)


def test_mutating_name_flagged_read_only_is_still_ignored() -> None:
    """GIVEN a PutRolePolicy record that says readOnly=true WHEN routed THEN it is ignored."""
    assert route(_notice(read_only=True)).reason == REASON_READ_ONLY


def test_error_code_wins_over_every_other_reason() -> None:
    """GIVEN a read-only, unknown event that also failed WHEN routed THEN the failure is named."""
    notice = _notice(error_code="Throttling", read_only=True, event_name="Nope")

    assert route(notice).reason == "failed call (errorCode=Throttling)"


def test_event_of_another_service_is_unknown() -> None:
    """GIVEN an S3 PutBucketPolicy WHEN routed THEN it is an unknown event."""
    assert route(parse_event(load_event("s3/PutBucketPolicy"))).reason == REASON_UNKNOWN_EVENT


def test_route_name_from_the_wrong_service_is_unknown() -> None:
    """GIVEN an event named PutRolePolicy but sourced from quicksight WHEN routed
    THEN it does not route (routes are keyed by eventSource and eventName)."""
    notice = _notice(event_source="quicksight.amazonaws.com")

    assert route(notice).reason == REASON_UNKNOWN_EVENT


@pytest.mark.parametrize("role_name", [None, "", 123, ["a"], {"name": "a"}])
def test_missing_or_non_string_identifier_gives_no_identifier(role_name: object) -> None:
    """GIVEN a PutRolePolicy whose roleName is absent, empty or not a string WHEN routed
    THEN the reason is 'no resource identifier in the event' (never an exception)."""
    notice = _notice(request_parameters={"roleName": role_name, "policyName": "p"})

    result = route(notice)

    assert (result.refs, result.reason) == ((), REASON_NO_IDENTIFIER)


# -- EventBridge patterns -------------------------------------------------------------------------


def test_pattern_shape_per_source() -> None:
    """GIVEN the patterns WHEN read THEN each filters source, detail-type, eventSource, names."""
    patterns = event_patterns()

    assert set(patterns) == {"aws.iam", "aws.quicksight", "aws.cleanrooms"}
    assert patterns["aws.iam"]["source"] == ["aws.iam"]
    assert patterns["aws.iam"]["detail-type"] == ["AWS API Call via CloudTrail"]
    assert patterns["aws.iam"]["detail"]["eventSource"] == ["iam.amazonaws.com"]
    assert patterns["aws.quicksight"]["detail"]["eventSource"] == ["quicksight.amazonaws.com"]
    assert patterns["aws.cleanrooms"]["detail"]["eventSource"] == ["cleanrooms.amazonaws.com"]


def test_patterns_list_exactly_the_routed_names_of_their_source() -> None:
    """GIVEN routes and patterns WHEN compared THEN every route's name is in its source's pattern
    and every pattern name has a route from that source."""
    patterns = event_patterns()
    for source, pattern in patterns.items():
        names = pattern["detail"]["eventName"]
        assert len(names) == len(set(names))
        assert set(names) == {
            row.event_name for row in ROUTES if row.event_source == EVENTBRIDGE_SOURCES[source]
        }
        assert tuple(names) == MUTATING_EVENT_NAMES[source]


def test_patterns_are_fresh_copies() -> None:
    """GIVEN a caller that edits a returned pattern WHEN patterns are asked again
    THEN the edit is not visible (no shared mutable state)."""
    event_patterns()["aws.iam"]["detail"]["eventName"].append("GetRole")

    assert "GetRole" not in event_patterns()["aws.iam"]["detail"]["eventName"]


@pytest.mark.parametrize("event_name", sorted(EXPECTED))
def test_pattern_of_its_source_matches_each_synthetic_event(event_name: str) -> None:
    """GIVEN moto's EventBridge matcher WHEN the synthetic envelope is matched against every
    pattern THEN exactly the pattern of its own source matches."""
    event = load_event(sample_name(event_name))

    matching = [src for src, pattern in event_patterns().items() if _matches(pattern, event)]

    assert matching == [event["source"]]


@pytest.mark.parametrize(
    "sample", ["iam/GetRole", "s3/PutBucketPolicy"], ids=["read-only", "other-source"]
)
def test_patterns_do_not_match_events_driftwarden_ignores(sample: str) -> None:
    """GIVEN a read-only GetRole and an S3 event WHEN matched THEN no pattern matches."""
    event = load_event(sample)

    assert not any(_matches(pattern, event) for pattern in event_patterns().values())


def test_pattern_rejects_a_routed_name_from_another_source() -> None:
    """GIVEN an aws.quicksight envelope carrying an IAM event name WHEN matched THEN no match."""
    event = api_call("aws.quicksight", "PutRolePolicy", {"roleName": ROLE_NAME})

    assert not any(_matches(pattern, event) for pattern in event_patterns().values())


@pytest.mark.parametrize(
    "path",
    [
        "iam/AttachRolePolicy/consoleme__conftest-line464.json",
        "iam/TagRole/consoleme__conftest-line523.json",
        "iam/TagRole/iambic__test_detect.json",
    ],
)
def test_iam_pattern_matches_the_real_corpus_envelopes(path: str) -> None:
    """GIVEN the real EventBridge envelopes of the corpus WHEN matched THEN the IAM pattern does."""
    assert _matches(event_patterns()["aws.iam"], load_corpus_event(path))


# -- actor matching -------------------------------------------------------------------------------

SESSION = "arn:aws:sts::123456789012:assumed-role/driftwarden-remediator/i-0abc"
ISSUER = "arn:aws:iam::123456789012:role/service/driftwarden-remediator"


def _by(actor: str | None, issuer: str | None = None) -> ChangeNotice:
    return _notice(actor_arn=actor, actor_issuer_arn=issuer)


@pytest.mark.parametrize(
    ("actor", "issuer", "patterns", "expected"),
    [
        pytest.param(SESSION, ISSUER, [ISSUER], True, id="issuer-exact"),
        pytest.param(SESSION, None, [SESSION], True, id="session-exact"),
        pytest.param(
            SESSION,
            None,
            ["arn:aws:iam::123456789012:role/driftwarden-remediator"],
            True,
            id="session-vs-role-arn",
        ),
        pytest.param(SESSION, None, [ISSUER], True, id="session-vs-role-arn-with-path"),
        pytest.param(
            SESSION, None, ["arn:aws:iam::*:role/driftwarden-*"], True, id="wildcard-role"
        ),
        pytest.param(
            SESSION,
            None,
            ["arn:aws:sts::123456789012:assumed-role/driftwarden-remediator/*"],
            True,
            id="wildcard-session",
        ),
        pytest.param(
            SESSION,
            None,
            ["arn:aws:iam::210987654321:role/driftwarden-remediator"],
            False,
            id="other-account",
        ),
        pytest.param(
            SESSION,
            None,
            ["arn:aws:iam::123456789012:role/driftwarden"],
            False,
            id="name-prefix-is-not-a-match",
        ),
        pytest.param(
            SESSION,
            None,
            ["arn:aws:iam::123456789012:role/other/*"],
            False,
            id="wildcard-under-a-path-is-not-widened",
        ),
        pytest.param(
            SESSION,
            ISSUER,
            ["arn:aws:iam::123456789012:role/service/*"],
            True,
            id="wildcard-under-a-path-via-issuer",
        ),
        pytest.param(
            "arn:aws:iam::123456789012:user/alice",
            None,
            ["arn:aws:iam::123456789012:user/alice"],
            True,
            id="iam-user",
        ),
        pytest.param(
            "arn:aws:iam::123456789012:user/alice",
            None,
            ["arn:aws:iam::123456789012:user/Alice"],
            False,
            id="case-sensitive",
        ),
        pytest.param(None, None, ["*"], False, id="no-actor"),
        pytest.param(SESSION, ISSUER, ["", "  "], False, id="blank-patterns-skipped"),
        pytest.param(SESSION, ISSUER, [], False, id="no-patterns"),
        pytest.param(
            "arn:aws:iam::123456789012:user/a[1]",
            None,
            ["arn:aws:iam::123456789012:user/a[1]"],
            True,
            id="brackets-are-literal",
        ),
    ],
)
def test_actor_matches(
    actor: str | None, issuer: str | None, patterns: list[str], expected: bool
) -> None:
    """GIVEN a caller and ARN patterns WHEN matched THEN the expected answer."""
    assert actor_matches(_by(actor, issuer), patterns) is expected


def test_own_event_is_recognised_from_the_real_consoleme_envelope() -> None:
    """GIVEN the ConsoleMe envelope made by role1 WHEN role1 is driftwarden's role
    THEN the event is its own; with another role it is not."""
    notice = parse_event(load_corpus_event("iam/AttachRolePolicy/consoleme__conftest-line464.json"))

    assert is_own_event(notice, ["arn:aws:iam::123456789012:role/role1"])
    assert not is_own_event(notice, ["arn:aws:iam::123456789012:role/role2"])


def test_a_single_string_is_one_pattern_not_many() -> None:
    """GIVEN self ARNs passed as one string containing `*` WHEN matched against an unrelated
    caller THEN it is treated as one pattern (its characters are not patterns of their own)."""
    notice = _by("arn:aws:iam::123456789012:user/alice")

    assert not actor_matches(notice, "arn:aws:iam::*:role/driftwarden-*")
