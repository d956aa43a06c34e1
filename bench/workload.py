"""The benchmark account: N roles (2 inline + 2 attached customer-managed policies each) and
the QuickSight data sources that use them, as registry entries and as moto state.

Documents follow the shapes of the sample registry in ``policies/`` (dw-quicksight-athena,
dw-cleanrooms-read-data, dw-athena-results-bucket). The attached "athena" policy is a copy of
the AWS managed policy AWSQuicksightAthenaAccess v13 (from shared/corpus/policies/aws-managed,
collected by iann0036/iam-dataset, MIT), as a customer would copy it to pin it.

Every string is built with the placeholders ``${AccountId}``, ``${Region}`` and ``${Partition}``
for the registry, and with the real values for populating moto, so the two always agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"

#: The registry spelling of account, region and partition.
PLACEHOLDERS = {"account": "${AccountId}", "region": "${Region}", "partition": "${Partition}"}
#: The values moto is populated with.
REAL = {"account": ACCOUNT, "region": REGION, "partition": PARTITION}

POLICY_PATH = "/bench/"
ROLE_PATH = "/service-role/"

# AWSQuicksightAthenaAccess v13 (AWS managed policy), as published by AWS.
_ATHENA_ACCESS: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Action": [
                "athena:BatchGetQueryExecution",
                "athena:CancelQueryExecution",
                "athena:GetCatalogs",
                "athena:GetExecutionEngine",
                "athena:GetExecutionEngines",
                "athena:GetNamespace",
                "athena:GetNamespaces",
                "athena:GetQueryExecution",
                "athena:GetQueryExecutions",
                "athena:GetQueryResults",
                "athena:GetQueryResultsStream",
                "athena:GetTable",
                "athena:GetTables",
                "athena:ListQueryExecutions",
                "athena:RunQuery",
                "athena:StartQueryExecution",
                "athena:StopQueryExecution",
                "athena:ListWorkGroups",
                "athena:ListEngineVersions",
                "athena:GetWorkGroup",
                "athena:GetDataCatalog",
                "athena:GetDatabase",
                "athena:GetTableMetadata",
                "athena:ListDataCatalogs",
                "athena:ListDatabases",
                "athena:ListTableMetadata",
            ],
            "Effect": "Allow",
            "Resource": ["*"],
        },
        {
            "Action": [
                "glue:CreateDatabase",
                "glue:DeleteDatabase",
                "glue:GetCatalog",
                "glue:GetCatalogs",
                "glue:GetDatabase",
                "glue:GetDatabases",
                "glue:UpdateDatabase",
                "glue:CreateTable",
                "glue:DeleteTable",
                "glue:BatchDeleteTable",
                "glue:UpdateTable",
                "glue:GetTable",
                "glue:GetTables",
                "glue:BatchCreatePartition",
                "glue:CreatePartition",
                "glue:DeletePartition",
                "glue:BatchDeletePartition",
                "glue:UpdatePartition",
                "glue:GetPartition",
                "glue:GetPartitions",
                "glue:BatchGetPartition",
            ],
            "Effect": "Allow",
            "Resource": ["*"],
        },
        {
            "Action": [
                "s3:GetBucketLocation",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
                "s3:ListMultipartUploadParts",
                "s3:AbortMultipartUpload",
                "s3:CreateBucket",
                "s3:PutObject",
                "s3:PutBucketPublicAccessBlock",
            ],
            "Effect": "Allow",
            "Resource": ["arn:aws:s3:::aws-athena-query-results-*"],
        },
        {"Action": ["lakeformation:GetDataAccess"], "Effect": "Allow", "Resource": ["*"]},
    ],
}


def role_name(index: int) -> str:
    """The name of role ``index`` (zero-based)."""
    return f"bench-role-{index:05d}"


def data_source_id(index: int) -> str:
    """The ID of data source ``index`` (zero-based)."""
    return f"bench-ds-{index:04d}"


def trusted_service(index: int) -> str:
    """Which service role ``index`` trusts: 7 in 10 QuickSight, 2 Glue, 1 Clean Rooms."""
    slot = index % 10
    if slot < 7:
        return "quicksight"
    return "glue" if slot < 9 else "cleanrooms"


def quicksight_roles(roles: int) -> list[int]:
    """Indexes of the roles that QuickSight may assume (the data sources use these)."""
    return [i for i in range(roles) if trusted_service(i) == "quicksight"]


def _arn(v: Mapping[str, str], service: str, resource: str, region: bool = True) -> str:
    where = v["region"] if region else ""
    return f"arn:{v['partition']}:{service}:{where}:{v['account']}:{resource}"


def _trust(index: int, v: Mapping[str, str]) -> dict[str, Any]:
    service = trusted_service(index)
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": f"{service}.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if service == "cleanrooms":
        statement["Condition"] = {
            "StringLike": {"aws:SourceArn": _arn(v, "cleanrooms", "membership/*")},
            "StringEquals": {"aws:SourceAccount": v["account"]},
        }
    return {"Version": "2012-10-17", "Statement": [statement]}


def _data_access(index: int, v: Mapping[str, str]) -> dict[str, Any]:
    team = f"team{index % 20:02d}"
    bucket = f"bench-data-{team}-{v['account']}"
    manifests = f"bench-manifests-{v['account']}"
    part = v["partition"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RunQueriesInTeamWorkgroup",
                "Effect": "Allow",
                "Action": [
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:GetWorkGroup",
                ],
                "Resource": _arn(v, "athena", f"workgroup/{team}"),
            },
            {
                "Sid": "ReadGlueCatalog",
                "Effect": "Allow",
                "Action": [
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartitions",
                ],
                "Resource": [
                    _arn(v, "glue", "catalog"),
                    _arn(v, "glue", f"database/{team}"),
                    _arn(v, "glue", f"table/{team}/*"),
                ],
            },
            {
                "Sid": "ListTeamBuckets",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": [f"arn:{part}:s3:::{bucket}", f"arn:{part}:s3:::{manifests}"],
            },
            {
                "Sid": "ReadTeamObjects",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [f"arn:{part}:s3:::{bucket}/*", f"arn:{part}:s3:::{manifests}/*"],
            },
        ],
    }


def _results(index: int, v: Mapping[str, str]) -> dict[str, Any]:
    bucket = f"aws-athena-query-results-{v['account']}-{v['region']}"
    part = v["partition"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ResultsBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": f"arn:{part}:s3:::{bucket}",
            },
            {
                "Sid": "ResultsObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:{part}:s3:::{bucket}/{role_name(index)}/*",
            },
        ],
    }


def _s3_read(index: int, v: Mapping[str, str]) -> dict[str, Any]:
    part = v["partition"]
    bucket = f"bench-shared-{v['account']}"
    prefix = f"exports/{role_name(index)}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListExports",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:{part}:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*"]}},
            },
            {
                "Sid": "ReadExports",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": f"arn:{part}:s3:::{bucket}/{prefix}/*",
            },
            {
                "Sid": "DecryptExports",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": _arn(v, "kms", "key/*"),
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{v['region']}.amazonaws.com"}
                },
            },
        ],
    }


def policy_names(index: int) -> tuple[str, str]:
    """The two customer-managed policies that role ``index`` attaches."""
    name = role_name(index)
    return f"{name}-athena", f"{name}-s3-read"


def policy_arn(name: str, v: Mapping[str, str]) -> str:
    return f"arn:{v['partition']}:iam::{v['account']}:policy{POLICY_PATH}{name}"


def role_arn(index: int, v: Mapping[str, str]) -> str:
    return f"arn:{v['partition']}:iam::{v['account']}:role{ROLE_PATH}{role_name(index)}"


def policy_documents(index: int, v: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``{policy name: document}`` of the two customer-managed policies of role ``index``."""
    athena, s3_read = policy_names(index)
    return {athena: json.loads(json.dumps(_ATHENA_ACCESS)), s3_read: _s3_read(index, v)}


def role_spec(index: int, v: Mapping[str, str]) -> dict[str, Any]:
    """The ``iam_role`` spec of role ``index``."""
    service = trusted_service(index)
    return {
        "path": ROLE_PATH,
        "description": f"Benchmark role {index}: {service} reads team{index % 20:02d} data",
        "max_session_duration": 3600,
        "trust_policy": _trust(index, v),
        "inline_policies": {
            "data-access": _data_access(index, v),
            "query-results": _results(index, v),
        },
        "managed_policies": [policy_arn(n, v) for n in policy_names(index)],
        "permissions_boundary": None,
        "tags": {"team": f"team{index % 20:02d}", "managed-by": "driftwarden"},
    }


def data_source_spec(index: int, roles: int, v: Mapping[str, str]) -> dict[str, Any]:
    """The ``quicksight_data_source`` spec of data source ``index`` (ATHENA, S3 or REDSHIFT)."""
    candidates = quicksight_roles(min(roles, 100))
    role = role_arn(candidates[index % len(candidates)], v)
    kind = ("ATHENA", "S3", "REDSHIFT")[index % 3]
    parameters: dict[str, Any]
    if kind == "ATHENA":
        parameters = {"AthenaParameters": {"WorkGroup": "primary", "RoleArn": role}}
    elif kind == "S3":
        location = {"Bucket": f"bench-manifests-{v['account']}", "Key": f"ds-{index}/manifest.json"}
        parameters = {"S3Parameters": {"ManifestFileLocation": location, "RoleArn": role}}
    else:
        parameters = {
            "RedshiftParameters": {
                "Host": f"analytics-{index % 7}.abc123xyz.{v['region']}.redshift.amazonaws.com",
                "Port": 5439,
                "Database": f"db{index % 11}",
                "ClusterId": f"analytics-{index % 7}",
                "IAMParameters": {
                    "RoleArn": role,
                    "DatabaseUser": "quicksight_reader",
                    "DatabaseGroups": ["analysts"],
                    "AutoCreateDatabaseUser": False,
                },
            }
        }
    return {
        "name": f"Benchmark data source {index} ({kind.title()})",
        "type": kind,
        "parameters": parameters,
        "ssl_properties": {"DisableSsl": False},
    }


# ------------------------------------------------------------------------------- registry


@dataclass(frozen=True, slots=True)
class RegistryFile:
    """One registry file: its path relative to the registry root, and its document."""

    path: str
    document: dict[str, Any]


def registry_files(
    roles: int, data_sources: int, mode: str = "enforce", start: int = 0
) -> Iterator[RegistryFile]:
    """The registry entries of roles ``start`` to ``roles - 1`` with their policies, and of
    every data source (placeholders unresolved), one per file."""
    v = PLACEHOLDERS
    for i in range(start, roles):
        name = role_name(i)
        yield RegistryFile(
            f"iam/roles/{name}",
            {"kind": "iam_role", "id": name, "mode": mode, "spec": role_spec(i, v)},
        )
        for policy, document in policy_documents(i, v).items():
            yield RegistryFile(
                f"iam/policies/{policy}",
                {
                    "kind": "iam_policy",
                    "id": policy_arn(policy, v),
                    "mode": mode,
                    "spec": {"description": f"Benchmark policy {policy}", "document": document},
                },
            )
    for j in range(data_sources):
        ident = data_source_id(j)
        yield RegistryFile(
            f"quicksight/data-sources/{ident}",
            {
                "kind": "quicksight_data_source",
                "id": ident,
                "mode": mode,
                "spec": data_source_spec(j, roles, v),
            },
        )


def write_registry(
    root: Path, roles: int, data_sources: int, fmt: str = "json", start: int = 0
) -> int:
    """Write the workload's registry under ``root`` (``fmt`` ``yaml`` or ``json``).

    With ``start``, only roles from ``start`` on (and every data source) are written: the
    directory already holds the earlier ones. Returns the number of entry files written.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "registry.yaml").write_text("paused: false\n")
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    count = 0
    made: set[Path] = set()
    for item in registry_files(roles, data_sources, start=start):
        file = root / f"{item.path}.{fmt}"
        if file.parent not in made:
            file.parent.mkdir(parents=True, exist_ok=True)
            made.add(file.parent)
        if fmt == "json":
            file.write_text(json.dumps(item.document, indent=2))
        else:
            file.write_text(yaml.dump(item.document, Dumper=dumper, sort_keys=False))
        count += 1
    return count


# ---------------------------------------------------------------------------------- moto


def populate_iam(iam_backend: Any, start: int, stop: int) -> None:
    """Create roles ``start`` to ``stop - 1`` with their policies directly in moto's backend.

    Going through moto's backend instead of its HTTP API makes populating 10,000 roles take
    seconds: moto's ``AttachRolePolicy`` scans every policy of the account on each call.
    """
    v = REAL
    for i in range(start, stop):
        spec = role_spec(i, v)
        role = iam_backend.create_role(
            role_name=role_name(i),
            assume_role_policy_document=json.dumps(spec["trust_policy"]),
            path=spec["path"],
            permissions_boundary=None,
            description=spec["description"],
            tags=[{"Key": k, "Value": val} for k, val in spec["tags"].items()],
            max_session_duration=str(spec["max_session_duration"]),
        )
        for name, document in spec["inline_policies"].items():
            role.put_policy(name, json.dumps(document))
        for name, document in policy_documents(i, v).items():
            policy = iam_backend.create_policy(
                description=f"Benchmark policy {name}",
                path=POLICY_PATH,
                policy_document=json.dumps(document),
                policy_name=name,
                tags=[],
            )
            policy.attach_to(role)


def populate_quicksight(quicksight_backend: Any, roles: int, data_sources: int) -> None:
    """Create the data sources directly in moto's QuickSight backend."""
    for j in range(data_sources):
        spec = data_source_spec(j, roles, REAL)
        quicksight_backend.create_data_source(
            aws_account_id=ACCOUNT,
            data_source_id=data_source_id(j),
            name=spec["name"],
            data_source_type=spec["type"],
            data_source_parameters=spec["parameters"],
            ssl_properties=spec["ssl_properties"],
        )
