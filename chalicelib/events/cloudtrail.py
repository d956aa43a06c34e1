"""Parsing of CloudTrail "AWS API Call" records (raw, EventBridge or SNS-wrapped) into notices."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from chalicelib.errors import UnroutableEventError
from chalicelib.models import ChangeNotice

__all__ = ["CLOUDTRAIL_DETAIL_TYPE", "READ_ONLY_PREFIXES", "infer_read_only", "parse_event"]

#: The EventBridge ``detail-type`` of CloudTrail management events.
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"

#: Event-name prefixes of calls that change nothing; used when ``readOnly`` is absent.
READ_ONLY_PREFIXES: tuple[str, ...] = (
    "BatchDescribe",
    "BatchGet",
    "Describe",
    "Get",
    "Head",
    "List",
    "Lookup",
    "Search",
    "Simulate",
)

# How many wrappers (SNS message inside a Lambda SNS record, ...) are peeled at most.
_MAX_WRAPPERS = 3


def parse_event(raw: Any) -> ChangeNotice:
    """Reduce one CloudTrail API-call event to a :class:`ChangeNotice`.

    Accepted shapes: an EventBridge envelope (``detail-type`` "AWS API Call via CloudTrail",
    the CloudTrail record under ``detail``), the raw CloudTrail record alone, an SNS
    notification whose ``Message`` holds either (also inside a Lambda ``Records[0].Sns``
    wrapper), and a CloudTrail log file holding exactly one record. ``str``/``bytes`` input is
    decoded as JSON first.

    Field rules: ``event_id`` is ``eventID``, else the envelope ``id``, else ``requestID``,
    else a digest of the record (``synthetic-<hex>``); ``account`` is ``recipientAccountId``,
    else the envelope ``account``, else ``userIdentity.accountId``; ``region`` is
    ``awsRegion``, else the envelope ``region`` (never checked against a list of real
    regions); ``read_only`` is ``readOnly`` (bool or "true"/"false") or, when absent, inferred
    from the event name (:data:`READ_ONLY_PREFIXES`). Every field read must have its
    documented type or be absent/null.

    Parameters
    ----------
    raw
        The event as delivered: a mapping, or JSON text/bytes.

    Returns
    -------
    ChangeNotice
        Where the change happened and who made it; never the new state.

    Raises
    ------
    UnroutableEventError
        The input is not JSON or not an object, is an EventBridge event of another
        detail-type, lacks ``eventName``/``eventSource``/account/region, or a field driftwarden
        reads has the wrong type.

    Example
    -------
    >>> notice = parse_event({"eventSource": "iam.amazonaws.com", "eventName": "TagRole",
    ...     "awsRegion": "us-east-1", "recipientAccountId": "123456789012",
    ...     "requestParameters": {"roleName": "analytics"}})
    >>> notice.call, notice.request_parameters["roleName"]
    ('iam:TagRole', 'analytics')
    """
    envelope, record = _split(_unwrap(raw))
    identity = _mapping(record, "userIdentity", "detail.userIdentity")
    session = _mapping(identity, "sessionContext", "userIdentity.sessionContext")
    issuer = _mapping(session, "sessionIssuer", "userIdentity.sessionContext.sessionIssuer")

    event_name = _required(record, "eventName")
    event_source = _required(record, "eventSource")
    account = (
        _text(record, "recipientAccountId", "detail.recipientAccountId")
        or _text(envelope, "account", "account")
        or _text(identity, "accountId", "userIdentity.accountId")
    )
    if not account:
        raise UnroutableEventError(
            f"{event_source} {event_name}: no account "
            "(detail.recipientAccountId, account and userIdentity.accountId are all missing)"
        )
    region = _text(record, "awsRegion", "detail.awsRegion") or _text(envelope, "region", "region")
    if not region:
        raise UnroutableEventError(
            f"{event_source} {event_name}: no region (detail.awsRegion and region are missing)"
        )
    read_only = _read_only(record.get("readOnly"), event_name)
    return ChangeNotice(
        event_id=_event_id(envelope, record),
        event_name=event_name,
        event_source=event_source,
        account=account,
        region=region,
        event_time=_text(record, "eventTime", "detail.eventTime")
        or _text(envelope, "time", "time")
        or "",
        actor_arn=_text(identity, "arn", "userIdentity.arn"),
        actor_issuer_arn=_text(issuer, "arn", "userIdentity.sessionContext.sessionIssuer.arn"),
        source_ip=_text(record, "sourceIPAddress", "detail.sourceIPAddress"),
        user_agent=_text(record, "userAgent", "detail.userAgent"),
        error_code=_error_code(record.get("errorCode")),
        read_only=read_only,
        request_parameters=_params(record, "requestParameters"),
        response_elements=_params(record, "responseElements"),
    )


def infer_read_only(event_name: str) -> bool:
    """Whether an event name reads rather than writes, judged by its prefix.

    ``GetRole`` and ``ListDataSources`` are read-only; ``Getaway`` is not (the prefix must be
    followed by an upper-case letter or end the name).

    Parameters
    ----------
    event_name
        The CloudTrail ``eventName``.

    Returns
    -------
    bool
        True when the name starts with one of :data:`READ_ONLY_PREFIXES`.
    """
    for prefix in READ_ONLY_PREFIXES:
        if event_name.startswith(prefix):
            rest = event_name[len(prefix) :]
            if not rest or rest[0].isupper():
                return True
    return False


def _unwrap(raw: Any) -> Mapping[str, Any]:
    """Decode JSON text and peel SNS / log-file wrappers until a record or envelope remains."""
    for _ in range(_MAX_WRAPPERS + 1):
        if isinstance(raw, str | bytes | bytearray):
            raw = _loads(raw)
        if not isinstance(raw, Mapping):
            raise UnroutableEventError(f"event must be a JSON object, got {type(raw).__name__}")
        if "detail" in raw or "eventName" in raw or "eventSource" in raw:
            return raw
        inner = _wrapped(raw)
        if inner is None:
            return raw
        raw = inner
    raise UnroutableEventError(f"event is wrapped more than {_MAX_WRAPPERS} times")


def _wrapped(raw: Mapping[str, Any]) -> Any | None:
    """The payload of an SNS notification, Lambda SNS event or one-record log file, or None."""
    if raw.get("Type") == "Notification" and "Message" in raw:
        return raw["Message"]
    records = raw.get("Records")
    if not isinstance(records, list):
        return None
    if len(records) != 1:
        raise UnroutableEventError(f"expected exactly one record, got {len(records)}")
    record = records[0]
    if isinstance(record, Mapping):
        sns = record.get("Sns")
        if isinstance(sns, Mapping) and "Message" in sns:
            return sns["Message"]
        if "eventName" in record:
            return record
    raise UnroutableEventError("the record is neither an SNS message nor a CloudTrail record")


def _loads(text: str | bytes | bytearray) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError too
        raise UnroutableEventError(f"event is not valid JSON: {err}") from err


def _split(event: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """``(envelope, record)``; the envelope is empty when a raw record was given."""
    if "detail" not in event and "detail-type" not in event:
        return {}, event
    detail_type = event.get("detail-type")
    if detail_type is not None and detail_type != CLOUDTRAIL_DETAIL_TYPE:
        raise UnroutableEventError(
            f"unsupported detail-type {detail_type!r}; expected {CLOUDTRAIL_DETAIL_TYPE!r}"
        )
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise UnroutableEventError("EventBridge event has no 'detail' object")
    return event, detail


def _mapping(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UnroutableEventError(f"{where} must be an object, got {type(value).__name__}")
    return value


def _text(parent: Mapping[str, Any], key: str, where: str) -> str | None:
    """The string at ``key``; None when absent, null or empty."""
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UnroutableEventError(f"{where} must be a string, got {type(value).__name__}")
    return value or None


def _required(record: Mapping[str, Any], key: str) -> str:
    value = _text(record, key, f"detail.{key}")
    if value is None:
        raise UnroutableEventError(f"event has no detail.{key}")
    return value


def _event_id(envelope: Mapping[str, Any], record: Mapping[str, Any]) -> str:
    found = (
        _text(record, "eventID", "detail.eventID")
        or _text(envelope, "id", "id")
        or _text(record, "requestID", "detail.requestID")
    )
    if found:
        return found
    try:
        canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=repr)
    except (ValueError, TypeError, RecursionError):
        canonical = repr(sorted(map(str, record)))
    return "synthetic-" + hashlib.sha256(canonical.encode("utf-8", "replace")).hexdigest()[:32]


def _read_only(value: Any, event_name: str) -> bool:
    if value is None:
        return infer_read_only(event_name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise UnroutableEventError(f"detail.readOnly must be a boolean, got {value!r:.40}")


def _error_code(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value:
        return value
    # A failed call must never look like a successful one: refuse rather than guess.
    raise UnroutableEventError(f"detail.errorCode must be a non-empty string, got {value!r:.40}")


def _params(record: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise UnroutableEventError(f"detail.{key} must be an object, got {type(value).__name__}")
    return dict(value)
