"""Sample events for tests: ``load_event`` for tests/events/*.json, builders for synthetic ones.

The synthetic samples copy the structure of the real EventBridge envelopes in the corpus
(noqdev/iambic TagRole, Netflix/consoleme AttachRolePolicy): an ``AWS API Call via CloudTrail``
envelope around a CloudTrail 1.08 record made by an assumed role. The files under
tests/events/ are written from :data:`SAMPLES`; regenerate them with
``.venv/bin/python -m tests.events`` (a unit test checks that they are up to date).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.conftest import CORPUS

EVENTS_DIR = Path(__file__).resolve().parent / "events"
CORPUS_EVENTS = CORPUS / "events"

ACCOUNT = "123456789012"
REGION = "us-east-1"
QUICKSIGHT_REGION = "eu-west-1"
ACTOR_ROLE = "platform-admin"
ACTOR_SESSION = "alice@example.com"
EVENT_TIME = "2024-05-02T09:30:00Z"

ROLE_NAME = "analytics-athena-reader"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/analytics/athena-read"
DATA_SOURCE_ID = "sales-athena"
MEMBERSHIP_ID = "0f6d8c4e-1b2a-4c3d-9e8f-a1b2c3d4e5f6"
ASSOCIATION_ID = "7a8b9c0d-2e3f-4a5b-8c6d-e7f8a9b0c1d2"
COLLABORATION_ID = "5c4b3a29-1807-4f6e-9d5c-4b3a29180716"

EVENT_SOURCES = {
    "aws.iam": "iam.amazonaws.com",
    "aws.quicksight": "quicksight.amazonaws.com",
    "aws.cleanrooms": "cleanrooms.amazonaws.com",
    "aws.s3": "s3.amazonaws.com",
}

_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "quicksight.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    },
    indent=2,
)
_ATHENA_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["athena:StartQueryExecution", "athena:GetQueryResults"],
                "Resource": "*",
            }
        ],
    }
)


def load_event(name: str) -> dict[str, Any]:
    """The sample ``tests/events/<name>.json`` (``name`` like ``"iam/PutRolePolicy"``)."""
    path = EVENTS_DIR / (name if name.endswith(".json") else f"{name}.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def corpus_event_files() -> list[Path]:
    """Every event file in the shared corpus (recursive, so new samples are picked up)."""
    return sorted(CORPUS_EVENTS.rglob("*.json"))


def load_corpus_event(path: Path | str) -> dict[str, Any]:
    """One corpus event by path (absolute, or relative to corpus/events)."""
    full = Path(path) if Path(path).is_absolute() else CORPUS_EVENTS / path
    data: dict[str, Any] = json.loads(full.read_text())
    return data


def _host(source: str, region: str) -> str:
    service = EVENT_SOURCES[source].split(".", 1)[0]
    return "iam.amazonaws.com" if service == "iam" else f"{service}.{region}.amazonaws.com"


def cloudtrail_record(
    source: str,
    event_name: str,
    request_parameters: Mapping[str, Any] | None,
    response_elements: Mapping[str, Any] | None = None,
    *,
    account: str = ACCOUNT,
    region: str = REGION,
    read_only: bool = False,
    error_code: str | None = None,
    actor_role: str = ACTOR_ROLE,
    actor_session: str = ACTOR_SESSION,
) -> dict[str, Any]:
    """A CloudTrail 1.08 "AwsApiCall" record made by an assumed role, as CloudTrail writes it."""
    seed = f"driftwarden-synthetic/{source}/{event_name}/{account}/{region}/{error_code}"
    record: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": f"AROA3EXAMPLE4ROLEID5:{actor_session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{actor_role}/{actor_session}",
            "accountId": account,
            "accessKeyId": "ASIA3EXAMPLE4KEYID56",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROA3EXAMPLE4ROLEID5",
                    "arn": f"arn:aws:iam::{account}:role/{actor_role}",
                    "accountId": account,
                    "userName": actor_role,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2024-05-02T09:12:41Z", "mfaAuthenticated": "false"},
            },
        },
        "eventTime": EVENT_TIME,
        "eventSource": EVENT_SOURCES[source],
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.23",
        "userAgent": "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux Python/3.11.9",
    }
    if error_code is not None:
        record["errorCode"] = error_code
        record["errorMessage"] = f"{error_code} (synthetic)"
    record.update(
        {
            "requestParameters": None if request_parameters is None else dict(request_parameters),
            "responseElements": None if response_elements is None else dict(response_elements),
            "requestID": str(uuid.uuid5(uuid.NAMESPACE_URL, seed + "/request")),
            "eventID": str(uuid.uuid5(uuid.NAMESPACE_URL, seed + "/event")),
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
            "tlsDetails": {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": _host(source, region),
            },
        }
    )
    return record


def envelope(record: Mapping[str, Any], *, source: str | None = None) -> dict[str, Any]:
    """Wrap a CloudTrail record the way EventBridge delivers it."""
    service = str(record["eventSource"]).split(".", 1)[0]
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"envelope/{record.get('eventID')}")),
        "detail-type": "AWS API Call via CloudTrail",
        "source": source or f"aws.{service}",
        "account": record.get("recipientAccountId", ACCOUNT),
        "time": record.get("eventTime", EVENT_TIME),
        "region": record.get("awsRegion", REGION),
        "resources": [],
        "detail": dict(record),
    }


def api_call(
    source: str,
    event_name: str,
    request_parameters: Mapping[str, Any] | None,
    response_elements: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """An EventBridge envelope for one API call (``kwargs`` as for :func:`cloudtrail_record`)."""
    return envelope(
        cloudtrail_record(source, event_name, request_parameters, response_elements, **kwargs)
    )


def sns_wrap(event: Mapping[str, Any], topic: str = "driftwarden-events") -> dict[str, Any]:
    """An SNS notification carrying ``event`` as its JSON ``Message`` (as ConsoleMe received)."""
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sns/{event.get('id')}")),
        "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}",
        "Message": json.dumps(event),
        "Timestamp": "2024-05-02T09:30:01.123Z",
        "SignatureVersion": "1",
    }


# -- builders, one per mutating event name ------------------------------------------------------


def _role_arn(name: str = ROLE_NAME) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def _role_element(name: str = ROLE_NAME) -> dict[str, Any]:
    return {
        "path": "/",
        "roleName": name,
        "roleId": "AROA3EXAMPLE7TARGET8",
        "arn": _role_arn(name),
        "createDate": "May 2, 2024 9:30:00 AM",
    }


def _iam(event_name: str, params: Mapping[str, Any] | None, response: Any = None) -> Builder:
    return lambda: api_call("aws.iam", event_name, params, response)


def _data_source_params(**extra: Any) -> dict[str, Any]:
    return {"awsAccountId": ACCOUNT, "dataSourceId": DATA_SOURCE_ID, **extra}


def _athena_params() -> dict[str, Any]:
    return {
        "name": "Sales (Athena)",
        "type": "ATHENA",
        "dataSourceParameters": {
            "athenaParameters": {"workGroup": "primary", "roleArn": _role_arn()}
        },
    }


def _quicksight(event_name: str, params: Mapping[str, Any], response: Any) -> Builder:
    return lambda: api_call(
        "aws.quicksight", event_name, params, response, region=QUICKSIGHT_REGION
    )


def _cleanrooms(event_name: str, params: Mapping[str, Any], response: Any = None) -> Builder:
    return lambda: api_call("aws.cleanrooms", event_name, params, response)


def _association(**extra: Any) -> dict[str, Any]:
    return {
        "id": ASSOCIATION_ID,
        "arn": f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}:membership/{MEMBERSHIP_ID}"
        f"/configuredtableassociation/{ASSOCIATION_ID}",
        "membershipId": MEMBERSHIP_ID,
        "membershipArn": f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}:membership/{MEMBERSHIP_ID}",
        "configuredTableId": "3e2d1c0b-a987-4654-b321-0fedcba98765",
        "name": "orders",
        "roleArn": _role_arn("cleanrooms-orders-reader"),
        "createTime": "2024-05-02T09:30:00.000Z",
        "updateTime": "2024-05-02T09:30:00.000Z",
        **extra,
    }


def _membership() -> dict[str, Any]:
    return {
        "id": MEMBERSHIP_ID,
        "arn": f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}:membership/{MEMBERSHIP_ID}",
        "collaborationId": COLLABORATION_ID,
        "status": "ACTIVE",
        "queryLogStatus": "ENABLED",
        "defaultResultConfiguration": {
            "outputConfiguration": {
                "s3": {"resultFormat": "CSV", "bucket": "results-bucket", "keyPrefix": "cr/"}
            },
            "roleArn": _role_arn("cleanrooms-results-writer"),
        },
    }


Builder = Callable[[], dict[str, Any]]

#: Builders of every mutating event driftwarden routes, keyed by event name.
MUTATING: dict[str, Builder] = {
    # IAM roles
    "CreateRole": _iam(
        "CreateRole",
        {"roleName": ROLE_NAME, "assumeRolePolicyDocument": _TRUST, "description": "Athena"},
        {"role": {**_role_element(), "assumeRolePolicyDocument": "%7B%22Version%22%7D"}},
    ),
    "DeleteRole": _iam("DeleteRole", {"roleName": ROLE_NAME}),
    "UpdateRole": _iam(
        "UpdateRole",
        {"roleName": ROLE_NAME, "description": "changed", "maxSessionDuration": 7200},
    ),
    "UpdateRoleDescription": _iam(
        "UpdateRoleDescription",
        {"roleName": ROLE_NAME, "description": "changed"},
        {"role": {**_role_element(), "description": "changed"}},
    ),
    "UpdateAssumeRolePolicy": _iam(
        "UpdateAssumeRolePolicy", {"roleName": ROLE_NAME, "policyDocument": _TRUST}
    ),
    "PutRolePolicy": _iam(
        "PutRolePolicy",
        {"roleName": ROLE_NAME, "policyName": "athena", "policyDocument": _ATHENA_POLICY},
    ),
    "DeleteRolePolicy": _iam("DeleteRolePolicy", {"roleName": ROLE_NAME, "policyName": "athena"}),
    "AttachRolePolicy": _iam(
        "AttachRolePolicy",
        {"roleName": ROLE_NAME, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
    ),
    "DetachRolePolicy": _iam("DetachRolePolicy", {"roleName": ROLE_NAME, "policyArn": POLICY_ARN}),
    "PutRolePermissionsBoundary": _iam(
        "PutRolePermissionsBoundary",
        {"roleName": ROLE_NAME, "permissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/boundary"},
    ),
    "DeleteRolePermissionsBoundary": _iam("DeleteRolePermissionsBoundary", {"roleName": ROLE_NAME}),
    "TagRole": _iam(
        "TagRole", {"roleName": ROLE_NAME, "tags": [{"key": "owner", "value": "analytics"}]}
    ),
    "UntagRole": _iam("UntagRole", {"roleName": ROLE_NAME, "tagKeys": ["owner"]}),
    # customer-managed policies
    "CreatePolicyVersion": _iam(
        "CreatePolicyVersion",
        {"policyArn": POLICY_ARN, "policyDocument": _ATHENA_POLICY, "setAsDefault": True},
        {
            "policyVersion": {
                "versionId": "v2",
                "isDefaultVersion": True,
                "createDate": "May 2, 2024 9:30:00 AM",
            }
        },
    ),
    "SetDefaultPolicyVersion": _iam(
        "SetDefaultPolicyVersion", {"policyArn": POLICY_ARN, "versionId": "v1"}
    ),
    "DeletePolicyVersion": _iam(
        "DeletePolicyVersion", {"policyArn": POLICY_ARN, "versionId": "v2"}
    ),
    "DeletePolicy": _iam("DeletePolicy", {"policyArn": POLICY_ARN}),
    # QuickSight data sources
    "CreateDataSource": _quicksight(
        "CreateDataSource",
        _data_source_params(**_athena_params()),
        {
            "arn": f"arn:aws:quicksight:{QUICKSIGHT_REGION}:{ACCOUNT}:datasource/{DATA_SOURCE_ID}",
            "dataSourceId": DATA_SOURCE_ID,
            "creationStatus": "CREATION_IN_PROGRESS",
            "requestId": "4f3e2d1c-0b9a-4876-a543-210fedcba987",
            "status": 202,
        },
    ),
    "UpdateDataSource": _quicksight(
        "UpdateDataSource",
        _data_source_params(**_athena_params()),
        {
            "arn": f"arn:aws:quicksight:{QUICKSIGHT_REGION}:{ACCOUNT}:datasource/{DATA_SOURCE_ID}",
            "dataSourceId": DATA_SOURCE_ID,
            "updateStatus": "UPDATE_IN_PROGRESS",
            "requestId": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
            "status": 202,
        },
    ),
    "UpdateDataSourcePermissions": _quicksight(
        "UpdateDataSourcePermissions",
        _data_source_params(
            grantPermissions=[
                {
                    "principal": f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/mallory",
                    "actions": [
                        "quicksight:DescribeDataSource",
                        "quicksight:UpdateDataSourcePermissions",
                    ],
                }
            ]
        ),
        {
            "dataSourceArn": f"arn:aws:quicksight:{QUICKSIGHT_REGION}:{ACCOUNT}:datasource/"
            f"{DATA_SOURCE_ID}",
            "dataSourceId": DATA_SOURCE_ID,
            "requestId": "6b5c4d3e-2f1a-4b0c-9d8e-7f6a5b4c3d2e",
            "status": 200,
        },
    ),
    "DeleteDataSource": _quicksight(
        "DeleteDataSource",
        _data_source_params(),
        {
            "arn": f"arn:aws:quicksight:{QUICKSIGHT_REGION}:{ACCOUNT}:datasource/{DATA_SOURCE_ID}",
            "dataSourceId": DATA_SOURCE_ID,
            "requestId": "7c6d5e4f-3a2b-4c1d-8e9f-0a1b2c3d4e5f",
            "status": 200,
        },
    ),
    # Clean Rooms configured table associations
    "CreateConfiguredTableAssociation": _cleanrooms(
        "CreateConfiguredTableAssociation",
        {
            "membershipIdentifier": MEMBERSHIP_ID,
            "name": "orders",
            "configuredTableIdentifier": "3e2d1c0b-a987-4654-b321-0fedcba98765",
            "roleArn": _role_arn("cleanrooms-orders-reader"),
        },
        {"configuredTableAssociation": _association()},
    ),
    "UpdateConfiguredTableAssociation": _cleanrooms(
        "UpdateConfiguredTableAssociation",
        {
            "membershipIdentifier": MEMBERSHIP_ID,
            "configuredTableAssociationIdentifier": ASSOCIATION_ID,
            "roleArn": _role_arn("someone-elses-role"),
        },
        {"configuredTableAssociation": _association(roleArn=_role_arn("someone-elses-role"))},
    ),
    "DeleteConfiguredTableAssociation": _cleanrooms(
        "DeleteConfiguredTableAssociation",
        {
            "membershipIdentifier": MEMBERSHIP_ID,
            "configuredTableAssociationIdentifier": ASSOCIATION_ID,
        },
    ),
    # Clean Rooms memberships
    "CreateMembership": _cleanrooms(
        "CreateMembership",
        {
            "collaborationIdentifier": COLLABORATION_ID,
            "queryLogStatus": "ENABLED",
            "defaultResultConfiguration": _membership()["defaultResultConfiguration"],
        },
        {"membership": _membership()},
    ),
    "UpdateMembership": _cleanrooms(
        "UpdateMembership",
        {"membershipIdentifier": MEMBERSHIP_ID, "queryLogStatus": "DISABLED"},
        {"membership": {**_membership(), "queryLogStatus": "DISABLED"}},
    ),
    "DeleteMembership": _cleanrooms("DeleteMembership", {"membershipIdentifier": MEMBERSHIP_ID}),
}

#: Events driftwarden must not act on, keyed by sample name.
NON_MUTATING: dict[str, Builder] = {
    "iam/GetRole": lambda: api_call(
        "aws.iam",
        "GetRole",
        {"roleName": ROLE_NAME},
        {"role": _role_element()},
        read_only=True,
    ),
    "iam/PutRolePolicy-failed": lambda: api_call(
        "aws.iam",
        "PutRolePolicy",
        {"roleName": ROLE_NAME, "policyName": "athena", "policyDocument": _ATHENA_POLICY},
        error_code="AccessDenied",
    ),
    "s3/PutBucketPolicy": lambda: api_call(
        "aws.s3",
        "PutBucketPolicy",
        {"bucketName": "results-bucket", "bucketPolicy": {"Version": "2012-10-17"}},
    ),
    "sns/AttachRolePolicy": lambda: sns_wrap(MUTATING["AttachRolePolicy"]()),
}


def sample_name(event_name: str) -> str:
    """The sample name (``iam/PutRolePolicy``) of a mutating event name."""
    event = MUTATING[event_name]()
    service = str(event["source"]).removeprefix("aws.")
    return f"{service}/{event_name}"


def samples() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every synthetic sample as ``(name, event)``: the mutating ones, then the others."""
    for event_name, build in MUTATING.items():
        yield sample_name(event_name), build()
    for name, build in NON_MUTATING.items():
        yield name, build()


def write_samples(directory: Path = EVENTS_DIR) -> list[Path]:
    """Write every synthetic sample as ``<directory>/<name>.json``; returns the paths."""
    written = []
    for name, event in samples():
        path = directory / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(event, indent=2) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    write_samples()
