"""The local CloudTrail: recorded emulator requests -> EventBridge events that route correctly."""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

from chalicelib.events.cloudtrail import parse_event
from chalicelib.events.routes import route
from chalicelib.local.event_source import Identity, RecordingEventSource
from chalicelib.models import Kind

ACCOUNT = "123456789012"
KEY = "AKIAALICE00000000001"
ALICE = f"arn:aws:sts::{ACCOUNT}:assumed-role/data-engineer/alice@example.com"


def _auth(service: str, region: str = "us-east-1") -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={KEY}/20261122/{region}/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )


def _query(service: str, **params: str) -> dict[str, Any]:
    body = urllib.parse.urlencode(params)
    return {
        "headers": {"Authorization": _auth(service)},
        "method": "POST",
        "url": "http://127.0.0.1:5000/",
        "body": base64.b64encode(body.encode()).decode(),
        "body_encoded": True,
    }


def _rest(service: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "headers": {"Authorization": _auth(service, "eu-west-1")},
        "method": method,
        "url": f"http://127.0.0.1:5000{path}",
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "body_encoded": True,
    }


def _source(recording: list[dict[str, Any]]) -> RecordingEventSource:
    return RecordingEventSource(
        fetch=lambda: "\n".join(json.dumps(r) for r in recording),
        identities={KEY: Identity(ALICE, ACCOUNT)},
        account=ACCOUNT,
        region="us-east-1",
    )


def test_iam_query_call_becomes_a_routable_event() -> None:
    recording = [
        _query("iam", Action="PutRolePolicy", Version="2010-05-08", RoleName="r1",
               PolicyName="p", PolicyDocument="{}"),
    ]  # fmt: skip
    events = _source(recording).poll()
    assert len(events) == 1
    notice = parse_event(events[0])
    assert notice.call == "iam:PutRolePolicy"
    assert notice.actor_arn == ALICE
    assert notice.actor_issuer_arn == f"arn:aws:iam::{ACCOUNT}:role/data-engineer"
    assert notice.request_parameters["roleName"] == "r1"
    refs = route(notice).refs
    assert [(r.kind, r.id) for r in refs] == [(Kind.IAM_ROLE, "r1")]


def test_reads_are_not_events_and_polling_only_returns_new_calls() -> None:
    recording = [_query("iam", Action="GetRole", RoleName="r1")]
    source = _source(recording)
    assert source.poll() == []
    recording.append(_query("iam", Action="DetachRolePolicy", RoleName="r1", PolicyArn="arn:x"))
    events = source.poll()
    assert [e["detail"]["eventName"] for e in events] == ["DetachRolePolicy"]
    assert source.poll() == []


def test_quicksight_rest_call_carries_account_and_data_source() -> None:
    recording = [
        _rest("quicksight", "PUT", f"/accounts/{ACCOUNT}/data-sources/ds-1", {"Name": "n"}),
    ]
    (event,) = _source(recording).poll()
    notice = parse_event(event)
    assert notice.call == "quicksight:UpdateDataSource"
    assert notice.region == "eu-west-1"
    assert [(r.kind, r.id, r.region) for r in route(notice).refs] == [
        (Kind.QUICKSIGHT_DATA_SOURCE, "ds-1", "eu-west-1")
    ]


def test_unknown_key_becomes_an_iam_user_of_the_account() -> None:
    request = _query("iam", Action="TagRole", RoleName="r1")
    request["headers"]["Authorization"] = request["headers"]["Authorization"].replace(KEY, "AKIAX")
    (event,) = _source([request]).poll()
    assert event["detail"]["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/AKIAX"
