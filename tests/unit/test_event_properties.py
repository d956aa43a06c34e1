"""Property tests: mutated real events never crash parsing or routing, and failed or read-only
calls never point at a resource."""

from __future__ import annotations

import copy
import dataclasses
import json
import urllib.parse
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.errors import UnroutableEventError
from chalicelib.events.cloudtrail import parse_event
from chalicelib.events.routes import ROUTES, actor_matches, route
from chalicelib.models import ChangeNotice
from tests.events import (
    MUTATING,
    corpus_event_files,
    envelope,
    load_corpus_event,
    samples,
    sns_wrap,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

# Real corpus events plus the synthetic samples (which cover QuickSight and Clean Rooms).
BASE: list[dict[str, Any]] = [load_corpus_event(p) for p in corpus_event_files()] + [
    event for _, event in samples()
]

# Keys driftwarden reads: mutations hit them more often than a uniform choice would.
INTERESTING = {
    "detail",
    "detail-type",
    "id",
    "account",
    "region",
    "time",
    "eventName",
    "eventSource",
    "eventID",
    "requestID",
    "eventTime",
    "recipientAccountId",
    "awsRegion",
    "readOnly",
    "errorCode",
    "requestParameters",
    "responseElements",
    "userIdentity",
    "sessionContext",
    "sessionIssuer",
    "arn",
    "accountId",
    "roleName",
    "policyArn",
    "dataSourceId",
    "awsAccountId",
    "membershipIdentifier",
    "configuredTableAssociationIdentifier",
    "Message",
}

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Path = tuple[str | int, ...]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
odd_values = st.one_of(
    json_values,
    st.integers(min_value=10_000, max_value=200_000).map(lambda n: "Ω" * n),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
    st.text(max_size=60).map(urllib.parse.quote),
    st.sampled_from(["", " ", "true", "false", "null", "{", "arn:aws:iam::*:role/*"]),
)


def _paths(node: Any, prefix: Path = ()) -> Iterator[Path]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _get(node: Any, path: Path) -> Any:
    for step in path:
        node = node[step]
    return node


def _set(root: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    _get(root, path[:-1])[path[-1]] = value
    return root


def _drop(root: Any, path: Path) -> Any:
    parent = _get(root, path[:-1])
    if isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    return root


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    """A real or synthetic event after 1-3 mutations, maybe serialised, wrapped or truncated."""
    event: Any = copy.deepcopy(draw(st.sampled_from(BASE)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = list(_paths(event))
        interesting = [p for p in paths if p and p[-1] in INTERESTING]
        prefer_interesting = draw(st.booleans())
        pool = interesting if interesting and prefer_interesting else paths
        path = draw(st.sampled_from(pool))
        action = draw(st.sampled_from(["drop", "replace", "replace", "url-encode", "envelope"]))
        if action == "drop" and path:
            event = _drop(event, path)
        elif action == "url-encode" and isinstance(_get(event, path), str):
            event = _set(event, path, urllib.parse.quote(_get(event, path)))
        elif action == "envelope" and isinstance(event, dict) and "eventSource" in event:
            event = envelope(event)
        else:
            event = _set(event, path, draw(odd_values))
    form = draw(st.sampled_from(["object", "json", "bytes", "truncated", "sns"]))
    if form == "object":
        return event
    text = json.dumps(event)
    if form == "json":
        return text
    if form == "bytes":
        return text.encode()
    if form == "truncated":
        return text[: draw(st.integers(min_value=0, max_value=max(len(text) - 1, 0)))]
    return sns_wrap(event) if isinstance(event, dict) else {"Type": "Notification", "Message": text}


def _check_route(notice: ChangeNotice) -> None:
    result = route(notice)
    assert bool(result.refs) != bool(result.reason)
    if notice.error_code is not None or notice.read_only:
        assert result.refs == ()
        assert result.policy_arns == ()


@PROPERTY_SETTINGS
@given(raw=mutated_events())
def test_mutated_events_parse_or_raise_unroutable_and_route_safely(raw: Any) -> None:
    """GIVEN a mutated real event (dropped fields, wrong types, huge/unicode/URL-encoded strings,
    truncated JSON) WHEN parsed THEN a notice or UnroutableEventError, nothing else; and a notice
    routes without raising, never to a resource when the call failed or was read-only."""
    try:
        notice = parse_event(raw)
    except UnroutableEventError:
        return
    assert isinstance(notice, ChangeNotice)
    _check_route(notice)


@PROPERTY_SETTINGS
@given(event=st.sampled_from(BASE), data=st.data())
def test_every_strict_prefix_of_event_json_is_unroutable(event: Any, data: st.DataObject) -> None:
    """GIVEN the JSON text of a real event WHEN cut anywhere before its end THEN unroutable."""
    text = json.dumps(event)
    cut = data.draw(st.integers(min_value=0, max_value=len(text) - 1))

    try:
        parse_event(text[:cut])
    except UnroutableEventError:
        return
    raise AssertionError(f"prefix of length {cut} was accepted")


@PROPERTY_SETTINGS
@given(
    name=st.sampled_from(sorted(MUTATING)),
    error_code=st.one_of(st.none(), st.text(min_size=1, max_size=30)),
    read_only=st.sampled_from([None, True, False, "true", "false", "TRUE"]),
)
def test_failed_or_read_only_calls_never_route(
    name: str, error_code: str | None, read_only: bool | str | None
) -> None:
    """GIVEN any mutating synthetic event marked failed and/or read-only WHEN routed
    THEN it points at a resource only if it neither failed nor was read-only."""
    event = MUTATING[name]()
    detail = event["detail"]
    if error_code is not None:
        detail["errorCode"] = error_code
    if read_only is None:
        del detail["readOnly"]
    else:
        detail["readOnly"] = read_only

    result = route(parse_event(event))

    may_act = error_code is None and str(read_only).lower() != "true"
    assert bool(result.refs) is may_act


notices = st.builds(
    ChangeNotice,
    event_id=st.text(max_size=10),
    event_name=st.one_of(st.sampled_from([r.event_name for r in ROUTES]), st.text(max_size=20)),
    event_source=st.one_of(
        st.sampled_from(sorted({r.event_source for r in ROUTES})), st.text(max_size=20)
    ),
    account=st.text(min_size=1, max_size=13),
    region=st.text(min_size=1, max_size=20),
    event_time=st.text(max_size=20),
    actor_arn=st.one_of(st.none(), st.text(max_size=60)),
    actor_issuer_arn=st.one_of(st.none(), st.text(max_size=60)),
    error_code=st.one_of(st.none(), st.text(max_size=10)),
    read_only=st.booleans(),
    request_parameters=st.dictionaries(
        st.sampled_from([*sorted(INTERESTING), "x"]), json_values, max_size=5
    ),
    response_elements=st.dictionaries(
        st.sampled_from(["role", "membership", "configuredTableAssociation", "dataSourceId"]),
        json_values,
        max_size=3,
    ),
)


@PROPERTY_SETTINGS
@given(notice=notices)
def test_route_never_raises_on_arbitrary_notices(notice: ChangeNotice) -> None:
    """GIVEN any notice (arbitrary parameters of any JSON type) WHEN routed THEN no exception,
    refs xor reason, and nothing for failed or read-only calls."""
    _check_route(notice)


@PROPERTY_SETTINGS
@given(notice=notices, patterns=st.lists(st.text(max_size=60), max_size=4))
def test_actor_matching_never_raises(notice: ChangeNotice, patterns: list[str]) -> None:
    """GIVEN arbitrary actor ARNs and patterns (regex metacharacters included) WHEN matched
    THEN a boolean, and an exact pattern of the actor always matches."""
    assert isinstance(actor_matches(notice, patterns), bool)
    if notice.actor_arn and notice.actor_arn.strip() == notice.actor_arn:
        literal = notice.actor_arn.replace("*", "").replace("?", "")
        if literal == notice.actor_arn:
            assert actor_matches(notice, [notice.actor_arn])


@PROPERTY_SETTINGS
@given(event=st.sampled_from(BASE))
def test_json_encoding_and_sns_wrapping_do_not_change_the_notice(event: Any) -> None:
    """GIVEN a parseable event WHEN given as JSON text or inside an SNS notification
    THEN the notice is the same as for the object."""
    notice = parse_event(event)

    assert parse_event(json.dumps(event)) == notice
    assert parse_event(sns_wrap(event)) == notice
    assert dataclasses.asdict(parse_event(json.dumps(event).encode())) == dataclasses.asdict(notice)
