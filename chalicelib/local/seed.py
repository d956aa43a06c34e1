"""Creates a sample account from registry entries (the demo's starting point)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalicelib.models import DesiredResource, Kind

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_iam import IAMClient
    from mypy_boto3_quicksight import QuickSightClient


def _split_policy_arn(arn: str) -> tuple[str, str]:
    """``arn:aws:iam::123:policy/a/b/name`` -> (``/a/b/``, ``name``)."""
    resource = arn.split(":", 5)[5]
    parts = resource.split("/")[1:]
    return "/" + "".join(p + "/" for p in parts[:-1]), parts[-1]


def seed_account(
    resources: Sequence[DesiredResource], iam: IAMClient, quicksight: QuickSightClient
) -> list[str]:
    """Create every IAM policy, IAM role and QuickSight data source of ``resources``.

    Returns one line per resource created. Clean Rooms resources are skipped: they belong to a
    collaboration that a single emulated account cannot form.
    """
    created: list[str] = []
    order = {Kind.IAM_POLICY: 0, Kind.IAM_ROLE: 1, Kind.QUICKSIGHT_DATA_SOURCE: 2}
    for item in sorted(resources, key=lambda r: order.get(r.ref.kind, 9)):
        spec = item.spec
        if item.ref.kind is Kind.IAM_POLICY:
            path, name = _split_policy_arn(item.ref.id)
            iam.create_policy(
                PolicyName=name,
                Path=path,
                PolicyDocument=json.dumps(spec["document"]),
                Description=str(spec.get("description", "")),
            )
        elif item.ref.kind is Kind.IAM_ROLE:
            _create_role(iam, item.ref.id, spec)
        elif item.ref.kind is Kind.QUICKSIGHT_DATA_SOURCE:
            _create_data_source(quicksight, item, spec)
        else:
            continue
        created.append(f"{item.ref.kind}/{item.ref.id}")
    return created


def _create_role(iam: IAMClient, name: str, spec: Any) -> None:
    kwargs: dict[str, Any] = {
        "RoleName": name,
        "Path": spec.get("path", "/"),
        "AssumeRolePolicyDocument": json.dumps(spec["trust_policy"]),
    }
    if spec.get("description"):
        kwargs["Description"] = spec["description"]
    if spec.get("max_session_duration"):
        kwargs["MaxSessionDuration"] = int(spec["max_session_duration"])
    if spec.get("tags"):
        kwargs["Tags"] = [{"Key": k, "Value": str(v)} for k, v in spec["tags"].items()]
    if spec.get("permissions_boundary"):
        kwargs["PermissionsBoundary"] = spec["permissions_boundary"]
    iam.create_role(**kwargs)
    for policy_name, document in (spec.get("inline_policies") or {}).items():
        iam.put_role_policy(
            RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
        )
    for arn in spec.get("managed_policies") or []:
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)


def _create_data_source(quicksight: QuickSightClient, item: DesiredResource, spec: Any) -> None:
    kwargs: dict[str, Any] = {
        "AwsAccountId": item.ref.account,
        "DataSourceId": item.ref.id,
        "Name": spec.get("name", item.ref.id),
        "Type": spec["type"],
        "DataSourceParameters": spec["parameters"],
    }
    if spec.get("ssl_properties"):
        kwargs["SslProperties"] = spec["ssl_properties"]
    if spec.get("vpc_connection_properties"):
        kwargs["VpcConnectionProperties"] = spec["vpc_connection_properties"]
    if spec.get("permissions"):
        kwargs["Permissions"] = [
            {"Principal": p["principal"], "Actions": list(p["actions"])}
            for p in spec["permissions"]
        ]
    quicksight.create_data_source(**kwargs)
