"""A local CloudTrail: turns the mutating requests that the embedded emulator saw into
EventBridge "AWS API Call via CloudTrail" events, in the shape of real deliveries.

moto's server records every request it serves (``/moto-api/recorder/...``); this module follows
that recording, keeps the calls of IAM, QuickSight and Clean Rooms, and builds for each one the
envelope EventBridge would deliver: the caller (from the access key in the request signature),
the event name, the request parameters in CloudTrail's lowerCamelCase, and fresh event IDs.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

# REST operations of the JSON services: (method, path pattern) -> (event name, path params).
_REST_ROUTES: dict[str, tuple[tuple[str, re.Pattern[str], str], ...]] = {
    "quicksight": (
        (
            "POST",
            re.compile(r"^/accounts/(?P<awsAccountId>[^/]+)/data-sources$"),
            "CreateDataSource",
        ),
        (
            "PUT",
            re.compile(
                r"^/accounts/(?P<awsAccountId>[^/]+)/data-sources/(?P<dataSourceId>[^/]+)/permissions$"
            ),
            "UpdateDataSourcePermissions",
        ),
        (
            "PUT",
            re.compile(r"^/accounts/(?P<awsAccountId>[^/]+)/data-sources/(?P<dataSourceId>[^/]+)$"),
            "UpdateDataSource",
        ),
        (
            "DELETE",
            re.compile(r"^/accounts/(?P<awsAccountId>[^/]+)/data-sources/(?P<dataSourceId>[^/]+)$"),
            "DeleteDataSource",
        ),
    ),
    "cleanrooms": (
        (
            "PATCH",
            re.compile(
                r"^/memberships/(?P<membershipIdentifier>[^/]+)/configuredTableAssociations/"
                r"(?P<configuredTableAssociationIdentifier>[^/]+)$"
            ),
            "UpdateConfiguredTableAssociation",
        ),
        (
            "DELETE",
            re.compile(
                r"^/memberships/(?P<membershipIdentifier>[^/]+)/configuredTableAssociations/"
                r"(?P<configuredTableAssociationIdentifier>[^/]+)$"
            ),
            "DeleteConfiguredTableAssociation",
        ),
        (
            "POST",
            re.compile(
                r"^/memberships/(?P<membershipIdentifier>[^/]+)/configuredTableAssociations$"
            ),
            "CreateConfiguredTableAssociation",
        ),
        (
            "PATCH",
            re.compile(r"^/memberships/(?P<membershipIdentifier>[^/]+)$"),
            "UpdateMembership",
        ),
        (
            "DELETE",
            re.compile(r"^/memberships/(?P<membershipIdentifier>[^/]+)$"),
            "DeleteMembership",
        ),
    ),
}
_SOURCES = {
    "iam": "iam.amazonaws.com",
    "quicksight": "quicksight.amazonaws.com",
    "cleanrooms": "cleanrooms.amazonaws.com",
}
_READ_PREFIXES = ("Get", "List", "Describe", "Search", "Simulate", "Generate")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a local access key stands for, as CloudTrail's ``userIdentity`` would say."""

    arn: str
    account: str

    def user_identity(self, access_key: str) -> dict[str, Any]:
        if ":assumed-role/" in self.arn:
            _, _, rest = self.arn.partition(":assumed-role/")
            role_name, _, session = rest.partition("/")
            issuer = f"arn:aws:iam::{self.account}:role/{role_name}"
            return {
                "type": "AssumedRole",
                "principalId": f"AROALOCAL{abs(hash(role_name)) % 10**8:08d}:{session}",
                "arn": self.arn,
                "accountId": self.account,
                "accessKeyId": access_key,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "arn": issuer,
                        "accountId": self.account,
                        "userName": role_name,
                    },
                    "attributes": {"mfaAuthenticated": "false"},
                },
            }
        return {
            "type": "IAMUser",
            "principalId": f"AIDALOCAL{abs(hash(self.arn)) % 10**8:08d}",
            "arn": self.arn,
            "accountId": self.account,
            "accessKeyId": access_key,
            "userName": self.arn.rsplit("/", 1)[-1],
        }


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:] if name else name


def _camel_tree(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_lower_camel(str(k)): _camel_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_tree(v) for v in value]
    return value


def _query_parameters(body: str) -> tuple[str | None, dict[str, Any]]:
    """Action name and CloudTrail-style parameters of an AWS query-protocol request body."""
    pairs = urllib.parse.parse_qsl(body, keep_blank_values=True)
    flat = dict(pairs)
    action = flat.pop("Action", None)
    flat.pop("Version", None)
    params: dict[str, Any] = {}
    lists: dict[str, dict[int, dict[str, str]]] = {}
    for key, value in flat.items():
        parts = key.split(".")
        if len(parts) >= 3 and parts[1] == "member" and parts[2].isdigit():
            item = lists.setdefault(parts[0], {}).setdefault(int(parts[2]), {})
            item[_lower_camel(parts[3]) if len(parts) > 3 else "value"] = value
        else:
            params[_lower_camel(key)] = value
    for name, items in lists.items():
        ordered = [items[i] for i in sorted(items)]
        params[_lower_camel(name)] = [i["value"] if set(i) == {"value"} else i for i in ordered]
    return action, params


@dataclass
class RecordingEventSource:
    """Follows the emulator's request recording and yields new CloudTrail-shaped events.

    Parameters
    ----------
    fetch:
        Returns the emulator's whole recording (one JSON request per line).
    identities:
        Access key id -> who uses it; unknown keys become an IAM user named after the key.
    account, region:
        The emulated account and its region.
    """

    fetch: Callable[[], str]
    identities: Mapping[str, Identity]
    account: str
    region: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _seen: int = field(default=0, init=False)

    def poll(self) -> list[dict[str, Any]]:
        """Events for the mutating requests recorded since the last poll, oldest first."""
        lines = [line for line in self.fetch().splitlines() if line.strip()]
        fresh, self._seen = lines[self._seen :], len(lines)
        events = []
        for line in fresh:
            event = self.to_event(json.loads(line))
            if event is not None:
                events.append(event)
        return events

    def to_event(self, request: Mapping[str, Any]) -> dict[str, Any] | None:
        """The EventBridge envelope for one recorded request, or None for reads and others."""
        headers = {str(k).lower(): str(v) for k, v in (request.get("headers") or {}).items()}
        match = _CREDENTIAL.search(headers.get("authorization", ""))
        if match is None:
            return None
        access_key, region, service = match.group(1), match.group(2), match.group(3)
        if service not in _SOURCES:
            return None
        raw_body = request.get("body") or ""
        body = (
            base64.b64decode(raw_body).decode("utf-8", "replace")
            if request.get("body_encoded")
            else str(raw_body)
        )
        path = urllib.parse.urlsplit(str(request.get("url", ""))).path
        if service == "iam":
            event_name, params = _query_parameters(body)
            region = "us-east-1"  # IAM is global; its events are delivered in us-east-1
        else:
            event_name, params = self._rest_call(
                service, str(request.get("method", "")), path, body
            )
        if not event_name or event_name.startswith(_READ_PREFIXES):
            return None
        identity = self.identities.get(access_key) or Identity(
            f"arn:aws:iam::{self.account}:user/{access_key}", self.account
        )
        now = self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event_id = str(uuid.uuid4())
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "AWS API Call via CloudTrail",
            "source": f"aws.{service}",
            "account": self.account,
            "time": now,
            "region": region,
            "resources": [],
            "detail": {
                "eventVersion": "1.09",
                "userIdentity": identity.user_identity(access_key),
                "eventTime": now,
                "eventSource": _SOURCES[service],
                "eventName": event_name,
                "awsRegion": region,
                "sourceIPAddress": "127.0.0.1",
                "userAgent": headers.get("user-agent", "local"),
                "requestParameters": params,
                "responseElements": None,
                "requestID": str(uuid.uuid4()),
                "eventID": event_id,
                "readOnly": False,
                "eventType": "AwsApiCall",
                "managementEvent": True,
                "recipientAccountId": self.account,
                "eventCategory": "Management",
            },
        }

    @staticmethod
    def _rest_call(
        service: str, method: str, path: str, body: str
    ) -> tuple[str | None, dict[str, Any]]:
        for route_method, pattern, name in _REST_ROUTES.get(service, ()):
            found = pattern.match(path) if route_method == method else None
            if found is None:
                continue
            params: dict[str, Any] = {}
            if body.strip():
                try:
                    loaded = json.loads(body)
                except ValueError:
                    loaded = {}
                if isinstance(loaded, dict):
                    params.update(_camel_tree(loaded))
            params.update({k: urllib.parse.unquote(v) for k, v in found.groupdict().items()})
            return name, params
        return None, {}
