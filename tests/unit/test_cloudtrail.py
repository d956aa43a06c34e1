"""Unit tests for chalicelib.events.cloudtrail: event shapes, field rules, malformed input."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest

from chalicelib.errors import UnroutableEventError
from chalicelib.events.cloudtrail import infer_read_only, parse_event
from tests.conftest import ROOT
from tests.events import (
    ACCOUNT,
    ROLE_NAME,
    load_corpus_event,
    load_event,
    sns_wrap,
)

CONSOLEME_ATTACH = "iam/AttachRolePolicy/consoleme__conftest-line464.json"
IAMBIC_TAG = "iam/TagRole/iambic__test_detect.json"
STRATUS_TRUST = (
    "iam/UpdateAssumeRolePolicy/stratus-red-team__aws.persistence.iam-backdoor-role__0.json"
)
PANTHER_ERROR = (
    "iam/AttachRolePolicy/panther-analysis__aws_iam_anything_changed__error-making-iam-change.json"
)
AWSDOCS_CREATE = "iam/CreateRole/awsdocs-cloudtrail-user-guide__log-file-example.json"


def _detail(event: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = event["detail"]
    return detail


# -- accepted shapes ------------------------------------------------------------------------------


def test_eventbridge_envelope_yields_every_notice_field() -> None:
    """GIVEN the real ConsoleMe EventBridge envelope WHEN parsed THEN all fields come from it."""
    notice = parse_event(load_corpus_event(CONSOLEME_ATTACH))

    assert notice.event_id == "2ee753fa-c79c-4b2a-9584-7a011d6fe763"
    assert notice.event_name == "AttachRolePolicy"
    assert notice.event_source == "iam.amazonaws.com"
    assert notice.call == "iam:AttachRolePolicy"
    assert (notice.account, notice.region) == ("123456789012", "us-east-1")
    assert notice.event_time == "2021-06-15T18:51:57Z"
    assert notice.actor_arn == "arn:aws:sts::123456789012:assumed-role/role1/3957"
    assert notice.actor_issuer_arn == "arn:aws:iam::123456789012:role/role1"
    assert (notice.source_ip, notice.user_agent) == ("1.2.3.4", "Botocore")
    assert notice.error_code is None
    assert notice.read_only is False
    assert notice.request_parameters == {
        "roleName": "role1",
        "policyArn": "arn:aws:iam::123456789012:policy/1",
    }
    assert notice.response_elements == {}


def test_raw_cloudtrail_record_is_accepted_without_an_envelope() -> None:
    """GIVEN a bare CloudTrail record (Stratus) WHEN parsed THEN it yields the same fields."""
    notice = parse_event(load_corpus_event(STRATUS_TRUST))

    assert notice.event_id == "62e290e2-ee95-4a7c-a9f8-db4ef462b12d"
    assert notice.account == "751203476945"
    assert notice.request_parameters["roleName"] == "stratus-red-team-backdoor-r-role"


def test_fictitious_region_and_scrambled_ip_are_kept_verbatim() -> None:
    """GIVEN Stratus' made-up region and an IP with a leading zero WHEN parsed THEN unchanged."""
    notice = parse_event(load_corpus_event(STRATUS_TRUST))

    assert notice.region == "ca-isob-northsouth-1r"
    assert notice.source_ip == "225.178.039.250"


def test_thirteen_digit_account_id_is_accepted() -> None:
    """GIVEN the IAMbic envelope with a 13-digit account WHEN parsed THEN the account is kept."""
    notice = parse_event(load_corpus_event(IAMBIC_TAG))

    assert notice.account == "1234567890012"


def test_json_text_and_bytes_are_decoded_first() -> None:
    """GIVEN the same event as dict, str and bytes WHEN parsed THEN the notices are equal."""
    event = load_event("iam/PutRolePolicy")
    text = json.dumps(event)

    assert parse_event(text) == parse_event(event)
    assert parse_event(text.encode()) == parse_event(event)


def test_sns_notification_is_unwrapped() -> None:
    """GIVEN an envelope delivered through SNS (as ConsoleMe receives it) WHEN parsed
    THEN the notice equals the one of the inner envelope."""
    inner = load_event("iam/AttachRolePolicy")

    assert parse_event(load_event("sns/AttachRolePolicy")) == parse_event(inner)


def test_lambda_sns_record_is_unwrapped() -> None:
    """GIVEN a Lambda SNS event (Records[0].Sns.Message) WHEN parsed THEN the inner event wins."""
    inner = load_corpus_event(CONSOLEME_ATTACH)
    lambda_event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(inner)}}]}

    assert parse_event(lambda_event) == parse_event(inner)


def test_cloudtrail_log_file_with_one_record_is_accepted() -> None:
    """GIVEN a CloudTrail log file object holding one record WHEN parsed THEN it is the record."""
    record = load_corpus_event(STRATUS_TRUST)

    assert parse_event({"Records": [record]}) == parse_event(record)


def test_several_records_are_refused() -> None:
    """GIVEN a wrapper with two records WHEN parsed THEN the event is unroutable."""
    record = load_corpus_event(STRATUS_TRUST)

    with pytest.raises(UnroutableEventError, match="exactly one record"):
        parse_event({"Records": [record, record]})


# -- field rules ----------------------------------------------------------------------------------


def test_event_id_falls_back_to_the_envelope_id() -> None:
    """GIVEN an envelope whose record has no eventID WHEN parsed THEN the envelope id is used."""
    event = load_corpus_event(CONSOLEME_ATTACH)
    del _detail(event)["eventID"]

    assert parse_event(event).event_id == "825688d9-11c0-e149-0ef0-7c996f7f1468"


def test_event_id_falls_back_to_the_request_id() -> None:
    """GIVEN a bare record without eventID WHEN parsed THEN its requestID is used."""
    record = load_corpus_event(STRATUS_TRUST)
    del record["eventID"]

    assert parse_event(record).event_id == "295ee6e3-1da9-416f-885d-ad65d876ef82"


def test_event_without_any_id_gets_a_stable_synthetic_id() -> None:
    """GIVEN the AWS docs example, which has neither eventID nor requestID WHEN parsed twice
    THEN both notices carry the same synthetic id, different from another event's."""
    first = parse_event(load_corpus_event(AWSDOCS_CREATE))
    again = parse_event(load_corpus_event(AWSDOCS_CREATE))
    other = load_corpus_event(AWSDOCS_CREATE)
    other["requestParameters"]["roleName"] = "OtherRole"

    assert first.event_id.startswith("synthetic-")
    assert first.event_id == again.event_id
    assert parse_event(other).event_id != first.event_id


@pytest.mark.parametrize(
    ("remove", "expected"),
    [
        pytest.param((), "111111111111", id="recipientAccountId-first"),
        pytest.param(("recipient",), "222222222222", id="then-envelope-account"),
        pytest.param(("recipient", "envelope"), "333333333333", id="then-userIdentity"),
    ],
)
def test_account_precedence(remove: tuple[str, ...], expected: str) -> None:
    """GIVEN three different account fields WHEN some are removed THEN the first present wins:
    detail.recipientAccountId, then envelope account, then userIdentity.accountId."""
    event = load_corpus_event(CONSOLEME_ATTACH)
    detail = _detail(event)
    detail["recipientAccountId"], event["account"] = "111111111111", "222222222222"
    detail["userIdentity"]["accountId"] = "333333333333"
    if "recipient" in remove:
        del detail["recipientAccountId"]
    if "envelope" in remove:
        del event["account"]

    assert parse_event(event).account == expected


def test_account_comes_from_user_identity_in_the_aws_docs_example() -> None:
    """GIVEN the AWS docs record (no recipientAccountId) WHEN parsed THEN the caller's account."""
    assert parse_event(load_corpus_event(AWSDOCS_CREATE)).account == "123456789012"


def test_region_falls_back_to_the_envelope_region() -> None:
    """GIVEN an envelope whose record lacks awsRegion WHEN parsed THEN the envelope region."""
    event = load_corpus_event(CONSOLEME_ATTACH)
    del _detail(event)["awsRegion"]
    event["region"] = "eu-central-2"

    assert parse_event(event).region == "eu-central-2"


def test_event_without_account_is_unroutable() -> None:
    """GIVEN a record with no account field anywhere WHEN parsed THEN UnroutableEventError."""
    record = load_corpus_event(STRATUS_TRUST)
    del record["recipientAccountId"]
    del record["userIdentity"]["accountId"]

    with pytest.raises(UnroutableEventError, match="no account"):
        parse_event(record)


def test_event_without_region_is_unroutable() -> None:
    """GIVEN a bare record without awsRegion WHEN parsed THEN UnroutableEventError."""
    record = load_corpus_event(STRATUS_TRUST)
    del record["awsRegion"]

    with pytest.raises(UnroutableEventError, match="no region"):
        parse_event(record)


def test_iam_user_caller_has_no_issuer() -> None:
    """GIVEN a call by an IAM user WHEN parsed THEN the actor is the user, with no issuer."""
    notice = parse_event(load_corpus_event(STRATUS_TRUST))

    assert notice.actor_arn == "arn:aws:iam::751203476945:user/christophe"
    assert notice.actor_issuer_arn is None


def test_empty_session_issuer_gives_no_issuer_arn() -> None:
    """GIVEN aws-spotlight's `sessionIssuer: {}` WHEN parsed THEN the issuer ARN is None."""
    notice = parse_event(
        load_corpus_event("iam/DeleteRole/aws-spotlight__archive__IAM_DeleteRole.json")
    )

    assert notice.actor_issuer_arn is None
    assert notice.actor_arn == "arn:aws:iam::999999999999:user/test001@test.com"


def test_panther_misspelt_keys_and_error_code_are_tolerated() -> None:
    """GIVEN Panther's record with `accesKeyId` and errorCode WHEN parsed THEN the error code
    is kept and the caller is the assumed role."""
    notice = parse_event(load_corpus_event(PANTHER_ERROR))

    assert notice.error_code == "NoSuchEntity"
    assert notice.actor_issuer_arn == "arn:aws:iam::123456789012:role/example-role"


def test_update_assume_role_policy_without_role_name_still_parses() -> None:
    """GIVEN Panther's UpdateAssumeRolePolicy with empty requestParameters WHEN parsed
    THEN a notice with empty parameters is returned (routing decides what to do)."""
    notice = parse_event(
        load_corpus_event(
            "iam/UpdateAssumeRolePolicy/panther-analysis__aws_iam_backdoor_role__"
            "iam-role-policy-updated-with-no-policy-document.json"
        )
    )

    assert notice.request_parameters == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("false", False), ("TRUE", True)],
)
def test_read_only_flag_accepts_booleans_and_boolean_strings(value: object, expected: bool) -> None:
    """GIVEN readOnly as a bool or a "true"/"false" string WHEN parsed THEN read_only follows it."""
    event = load_event("iam/PutRolePolicy")
    _detail(event)["readOnly"] = value

    assert parse_event(event).read_only is expected


@pytest.mark.parametrize(
    ("event_name", "expected"),
    [
        ("GetRole", True),
        ("ListRolePolicies", True),
        ("DescribeDataSource", True),
        ("SearchDataSources", True),
        ("BatchGetCollaborationAnalysisTemplate", True),
        ("PutRolePolicy", False),
        ("UpdateDataSource", False),
        ("BatchCreateUser", False),
        ("Getaway", False),
    ],
)
def test_read_only_is_inferred_from_the_event_name_when_absent(
    event_name: str, expected: bool
) -> None:
    """GIVEN a record without readOnly WHEN parsed THEN read_only is inferred from the name."""
    event = load_event("iam/PutRolePolicy")
    del _detail(event)["readOnly"]
    _detail(event)["eventName"] = event_name

    assert parse_event(event).read_only is expected
    assert infer_read_only(event_name) is expected


def test_response_elements_are_kept_as_a_mapping() -> None:
    """GIVEN a CreateRole with responseElements WHEN parsed THEN they are available as a dict."""
    notice = parse_event(load_event("iam/CreateRole"))

    assert notice.response_elements["role"]["roleName"] == ROLE_NAME


def test_notice_does_not_alias_the_raw_parameters() -> None:
    """GIVEN a parsed event WHEN the raw requestParameters are changed THEN the notice is not."""
    event = load_event("iam/PutRolePolicy")
    notice = parse_event(event)
    _detail(event)["requestParameters"]["roleName"] = "changed"

    assert notice.request_parameters["roleName"] == ROLE_NAME


# -- malformed input ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, 42, 4.2, [], ["event"], "[]", '"text"', b"null"])
def test_non_objects_are_unroutable(raw: object) -> None:
    """GIVEN something that is not a JSON object WHEN parsed THEN UnroutableEventError."""
    with pytest.raises(UnroutableEventError, match="JSON object"):
        parse_event(raw)


@pytest.mark.parametrize("cut", [1, 10, 100, -1])
def test_truncated_json_is_unroutable(cut: int) -> None:
    """GIVEN event text cut short WHEN parsed THEN UnroutableEventError naming invalid JSON."""
    text = json.dumps(load_event("iam/PutRolePolicy"))[:cut]

    with pytest.raises(UnroutableEventError, match="not valid JSON"):
        parse_event(text)


def test_invalid_utf8_bytes_are_unroutable() -> None:
    """GIVEN bytes that are not UTF-8 WHEN parsed THEN UnroutableEventError."""
    with pytest.raises(UnroutableEventError):
        parse_event(b'{"detail": "\xff\xfe\xfa"}')


def test_other_detail_type_is_unroutable() -> None:
    """GIVEN a scheduled EventBridge event WHEN parsed THEN the error names the detail-type."""
    scheduled = {
        "version": "0",
        "id": "1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2024-05-02T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }

    with pytest.raises(UnroutableEventError, match="Scheduled Event"):
        parse_event(scheduled)


def test_envelope_without_detail_object_is_unroutable() -> None:
    """GIVEN a CloudTrail envelope whose detail is a string WHEN parsed THEN unroutable."""
    event = load_event("iam/PutRolePolicy")
    event["detail"] = "oops"

    with pytest.raises(UnroutableEventError, match="detail"):
        parse_event(event)


@pytest.mark.parametrize("field", ["eventName", "eventSource"])
def test_missing_event_name_or_source_is_unroutable(field: str) -> None:
    """GIVEN a record without eventName or eventSource WHEN parsed THEN the error names it."""
    event = load_event("iam/PutRolePolicy")
    del _detail(event)[field]

    with pytest.raises(UnroutableEventError, match=field):
        parse_event(event)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("eventName",), 7),
        (("eventSource",), ["iam.amazonaws.com"]),
        (("eventID",), 12),
        (("recipientAccountId",), 123456789012),
        (("awsRegion",), {"name": "us-east-1"}),
        (("userIdentity",), "root"),
        (("userIdentity", "arn"), ["arn:aws:iam::123456789012:user/x"]),
        (("userIdentity", "sessionContext", "sessionIssuer"), []),
        (("requestParameters",), "roleName=x"),
        (("responseElements",), [1, 2]),
        (("readOnly",), "maybe"),
        (("readOnly",), 1),
        (("errorCode",), 403),
        (("errorCode",), ""),
    ],
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else repr(v)[:20],
)
def test_fields_of_the_wrong_type_are_unroutable(path: tuple[str, ...], value: object) -> None:
    """GIVEN a field driftwarden reads set to the wrong type WHEN parsed THEN the error says
    which field, instead of a TypeError or a silently wrong notice."""
    event = copy.deepcopy(load_event("iam/PutRolePolicy"))
    node = _detail(event)
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value

    with pytest.raises(UnroutableEventError, match=path[-1]):
        parse_event(event)


def test_deeply_wrapped_messages_are_refused() -> None:
    """GIVEN an SNS message wrapped in SNS five times WHEN parsed THEN unroutable, not a loop."""
    event: dict[str, Any] = load_event("iam/PutRolePolicy")
    for _ in range(5):
        event = sns_wrap(event)

    with pytest.raises(UnroutableEventError, match="wrapped"):
        parse_event(event)


# -- purity ---------------------------------------------------------------------------------------


def test_events_package_imports_no_aws_sdk_or_chalice() -> None:
    """GIVEN a fresh interpreter WHEN chalicelib.events is imported THEN neither boto3, botocore
    nor chalice is loaded (the package is pure and cheap to import)."""
    code = (
        "import sys, chalicelib.events\n"
        "bad = sorted(m for m in ('boto3', 'botocore', 'chalice', 'aws_lambda_powertools')"
        " if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == ""
