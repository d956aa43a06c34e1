"""Every IAM write: roles (trust, inline and managed policies, boundary, tags) and policies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from chalicelib.models import Kind
from chalicelib.remediation.executors.base import TableExecutor

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_iam import IAMClient

    from chalicelib.remediation.planner import PlanStep

#: IAM keeps at most this many versions of a managed policy.
MAX_POLICY_VERSIONS = 5
_GONE = frozenset({"NoSuchEntity", "NoSuchEntityException"})
_EXISTS = frozenset({"EntityAlreadyExists"})


class IamExecutor(TableExecutor):
    """Applies ``iam:*`` steps for ``iam_role`` and ``iam_policy``.

    Idempotent: removing what is already gone (detach, delete an inline policy, boundary or
    policy version) counts as done, and so does creating a role or policy that exists (the
    next comparison reports any difference). Before ``iam:CreatePolicyVersion`` it lists the
    versions and, when IAM already keeps five, deletes the oldest non-default one (recorded as
    an ``iam:DeletePolicyVersion`` call).

    Parameters
    ----------
    iam
        An IAM client.
    """

    kinds: ClassVar[tuple[Kind, ...]] = (Kind.IAM_ROLE, Kind.IAM_POLICY)
    methods: ClassVar[Mapping[str, str]] = {
        "iam:AttachRolePolicy": "attach_role_policy",
        "iam:CreatePolicy": "create_policy",
        "iam:CreatePolicyVersion": "create_policy_version",
        "iam:CreateRole": "create_role",
        "iam:DeletePolicyVersion": "delete_policy_version",
        "iam:DeleteRolePermissionsBoundary": "delete_role_permissions_boundary",
        "iam:DeleteRolePolicy": "delete_role_policy",
        "iam:DetachRolePolicy": "detach_role_policy",
        "iam:PutRolePermissionsBoundary": "put_role_permissions_boundary",
        "iam:PutRolePolicy": "put_role_policy",
        "iam:TagRole": "tag_role",
        "iam:UntagRole": "untag_role",
        "iam:UpdateAssumeRolePolicy": "update_assume_role_policy",
        "iam:UpdateRole": "update_role",
    }
    already_done: ClassVar[Mapping[str, frozenset[str]]] = {
        "iam:DetachRolePolicy": _GONE,
        "iam:DeleteRolePolicy": _GONE,
        "iam:DeleteRolePermissionsBoundary": _GONE,
        "iam:DeletePolicyVersion": _GONE,
        "iam:CreateRole": _EXISTS,
        "iam:CreatePolicy": _EXISTS,
    }
    permissions: ClassVar[tuple[str, ...]] = (*sorted(methods), "iam:ListPolicyVersions")

    def __init__(self, iam: IAMClient) -> None:
        super().__init__(iam)
        self._iam = iam

    def _apply_step(self, step: PlanStep, made: list[str]) -> None:
        if step.call == "iam:CreatePolicyVersion":
            self._make_room(str(step.params["PolicyArn"]), made)
        self._call(step.call, step.params, made)

    def _make_room(self, policy_arn: str, made: list[str]) -> None:
        """Delete the oldest non-default version when the policy has the maximum."""
        versions: list[Any] = []
        for page in self._iam.get_paginator("list_policy_versions").paginate(PolicyArn=policy_arn):
            versions.extend(page.get("Versions", []))
        if len(versions) < MAX_POLICY_VERSIONS:
            return
        deletable = [v for v in versions if not v.get("IsDefaultVersion")]
        if not deletable:
            return
        oldest = min(deletable, key=lambda v: (v.get("CreateDate"), _number(v.get("VersionId"))))
        self._call(
            "iam:DeletePolicyVersion",
            {"PolicyArn": policy_arn, "VersionId": oldest["VersionId"]},
            made,
        )


def _number(version_id: Any) -> int:
    text = str(version_id or "")[1:]
    return int(text) if text.isdigit() else 0
