"""The pure revert planner: the smallest set of API calls that turns live state into desired.

Stdlib-only (it uses the pure ``chalicelib.diff`` comparators so that "differs" means exactly
what the audit says). No I/O, no logging, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.diff.engine import diff_spec
from chalicelib.diff.iam_policy import equivalent, parse_document
from chalicelib.diff.normalise import normalise_permissions, normalise_tags
from chalicelib.errors import RemediationRefusedError
from chalicelib.models import DesiredResource, Kind, LiveResource, Mode

if TYPE_CHECKING:
    from chalicelib.remediation.journal import JournalEntry

#: How many versions IAM keeps per managed policy; the oldest non-default goes first.
MAX_POLICY_VERSIONS = 5


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One API call of a revert plan.

    ``call`` is ``service:Operation`` as in IAM policies (``"iam:PutRolePolicy"``); ``params``
    are the exact boto3 keyword arguments (policy documents as JSON strings); ``summary`` is
    one line for people.
    """

    call: str
    params: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""

    @property
    def service(self) -> str:
        """``iam`` for ``iam:PutRolePolicy``."""
        return self.call.split(":", 1)[0]

    def to_json(self) -> dict[str, Any]:
        """The step as a JSON-safe dict (for the journal and ``--json`` output)."""
        return {"call": self.call, "params": _plain(self.params), "summary": self.summary}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PlanStep:
        """The inverse of ``to_json``.

        Raises
        ------
        ValueError
            ``data`` has no ``call`` string or ``params`` mapping.
        """
        call = data.get("call")
        params = data.get("params", {})
        if not isinstance(call, str) or ":" not in call or not isinstance(params, Mapping):
            raise ValueError(f"not a plan step: {data!r}")
        return cls(call=call, params=dict(params), summary=str(data.get("summary", "")))


def _plain(value: Any) -> Any:
    """A JSON-safe deep copy (mappings become dicts, tuples become lists)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def policy_json(doc: Any) -> str:
    """A policy document as the compact JSON string boto3 sends.

    Raises
    ------
    RemediationRefusedError
        The document is not a JSON object (or JSON text of one).
    """
    try:
        parsed = parse_document(doc)
    except (ValueError, TypeError, AttributeError) as err:
        raise RemediationRefusedError(f"not a valid policy document: {err}") from None
    return json.dumps(_plain(parsed), separators=(",", ":"))


def _equivalent(desired: Any, live: Any) -> bool:
    """Semantic equality of two policy documents; an unparsable live document never matches.

    Raises
    ------
    RemediationRefusedError
        The desired document cannot be parsed.
    """
    if live is None:
        return desired is None
    if desired is None:
        return False
    policy_json(desired)  # refuses an unparsable desired document
    try:
        return equivalent(desired, live)
    except (ValueError, TypeError, AttributeError):
        return False


def _differs(kind: Kind, key: str, desired: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """Whether one declared key differs, exactly as the audit compares it."""
    return bool(diff_spec(kind, {key: desired[key]}, live))


def _refuse(desired: DesiredResource, reason: str) -> RemediationRefusedError:
    return RemediationRefusedError(f"cannot revert {desired.ref}: {reason}")


# ------------------------------------------------------------------------------ iam_role


def _role_recreate(desired: DesiredResource) -> list[PlanStep]:
    spec, name = desired.spec, desired.ref.id
    if spec.get("trust_policy") is None:
        raise _refuse(desired, "the role is missing and the registry declares no trust_policy")
    params: dict[str, Any] = {
        "RoleName": name,
        "AssumeRolePolicyDocument": policy_json(spec["trust_policy"]),
    }
    if spec.get("path"):
        params["Path"] = spec["path"]
    if spec.get("description"):
        params["Description"] = spec["description"]
    if spec.get("max_session_duration") is not None:
        params["MaxSessionDuration"] = int(spec["max_session_duration"])
    if spec.get("permissions_boundary"):
        params["PermissionsBoundary"] = spec["permissions_boundary"]
    tags = normalise_tags(spec.get("tags"))
    if tags:
        params["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
    steps = [PlanStep("iam:CreateRole", params, f"create role {name}")]
    for policy_name, doc in sorted((spec.get("inline_policies") or {}).items()):
        steps.append(_put_role_policy(name, policy_name, doc, "put inline policy"))
    for arn in sorted({str(a) for a in spec.get("managed_policies") or ()}):
        steps.append(
            PlanStep(
                "iam:AttachRolePolicy",
                {"RoleName": name, "PolicyArn": arn},
                f"attach managed policy {arn} to role {name}",
            )
        )
    return steps


def _put_role_policy(role: str, policy_name: str, doc: Any, verb: str) -> PlanStep:
    return PlanStep(
        "iam:PutRolePolicy",
        {"RoleName": role, "PolicyName": policy_name, "PolicyDocument": policy_json(doc)},
        f"{verb} {policy_name} on role {role}",
    )


def _plan_role(desired: DesiredResource, live: LiveResource, exact: bool) -> list[PlanStep]:
    spec, state, name = desired.spec, live.state, desired.ref.id
    kind = Kind.IAM_ROLE
    if "path" in spec and _differs(kind, "path", spec, state):
        raise _refuse(
            desired,
            f"the role path is {state.get('path') or '/'!r}, the registry says "
            f"{spec['path'] or '/'!r}; IAM cannot change a role's path (recreate it by hand)",
        )
    # Tightening first: what removes access, then setting a boundary.
    removing: list[PlanStep] = []
    rest: list[PlanStep] = []
    loosening: list[PlanStep] = []

    if "managed_policies" in spec:
        want = {str(a) for a in spec["managed_policies"] or ()}
        have = {str(a) for a in state.get("managed_policies") or ()}
        for arn in sorted(have - want):
            removing.append(
                PlanStep(
                    "iam:DetachRolePolicy",
                    {"RoleName": name, "PolicyArn": arn},
                    f"detach extra managed policy {arn} from role {name}",
                )
            )
        for arn in sorted(want - have):
            rest.append(
                PlanStep(
                    "iam:AttachRolePolicy",
                    {"RoleName": name, "PolicyArn": arn},
                    f"attach managed policy {arn} to role {name}",
                )
            )

    puts: list[PlanStep] = []
    if "inline_policies" in spec:
        want_docs: Mapping[str, Any] = spec["inline_policies"] or {}
        have_docs: Mapping[str, Any] = state.get("inline_policies") or {}
        for policy_name in sorted(set(have_docs) - set(want_docs)):
            removing.append(
                PlanStep(
                    "iam:DeleteRolePolicy",
                    {"RoleName": name, "PolicyName": policy_name},
                    f"delete extra inline policy {policy_name} from role {name}",
                )
            )
        for policy_name in sorted(want_docs):
            if policy_name not in have_docs:
                puts.append(
                    _put_role_policy(name, policy_name, want_docs[policy_name], "put missing")
                )
            elif not _equivalent(want_docs[policy_name], have_docs[policy_name]):
                puts.append(
                    _put_role_policy(name, policy_name, want_docs[policy_name], "restore inline")
                )

    if "permissions_boundary" in spec and _differs(kind, "permissions_boundary", spec, state):
        boundary = spec["permissions_boundary"]
        if boundary:
            removing.append(
                PlanStep(
                    "iam:PutRolePermissionsBoundary",
                    {"RoleName": name, "PermissionsBoundary": str(boundary)},
                    f"set permissions boundary {boundary} on role {name}",
                )
            )
        else:
            loosening.append(
                PlanStep(
                    "iam:DeleteRolePermissionsBoundary",
                    {"RoleName": name},
                    f"remove permissions boundary from role {name}",
                )
            )

    trust: list[PlanStep] = []
    if spec.get("trust_policy") is not None and not _equivalent(
        spec["trust_policy"], state.get("trust_policy")
    ):
        trust.append(
            PlanStep(
                "iam:UpdateAssumeRolePolicy",
                {"RoleName": name, "PolicyDocument": policy_json(spec["trust_policy"])},
                f"restore the trust policy of role {name}",
            )
        )

    update: dict[str, Any] = {}
    if any(
        key in spec and _differs(kind, key, spec, state)
        for key in ("description", "max_session_duration")
    ):
        if "description" in spec:
            update["Description"] = spec["description"] or ""
        if spec.get("max_session_duration") is not None:
            update["MaxSessionDuration"] = int(spec["max_session_duration"])
    meta: list[PlanStep] = []
    if update:
        fields = " and ".join(
            label
            for key, label in (
                ("Description", "description"),
                ("MaxSessionDuration", "max session"),
            )
            if key in update
        )
        meta.append(
            PlanStep("iam:UpdateRole", {"RoleName": name, **update}, f"restore {fields} of {name}")
        )
    meta += _tag_steps(desired, live, exact)
    return removing + trust + puts + rest + loosening + meta


def _tag_steps(desired: DesiredResource, live: LiveResource, exact: bool) -> list[PlanStep]:
    if "tags" not in desired.spec:
        return []
    name = desired.ref.id
    want = normalise_tags(desired.spec["tags"])
    have = normalise_tags(live.state.get("tags"))
    steps: list[PlanStep] = []
    changed = {k: v for k, v in sorted(want.items()) if have.get(k) != v}
    if changed:
        steps.append(
            PlanStep(
                "iam:TagRole",
                {"RoleName": name, "Tags": [{"Key": k, "Value": v} for k, v in changed.items()]},
                f"restore tags {', '.join(changed)} on role {name}",
            )
        )
    extra = sorted(set(have) - set(want)) if exact else []
    if extra:
        steps.append(
            PlanStep(
                "iam:UntagRole",
                {"RoleName": name, "TagKeys": extra},
                f"remove tags {', '.join(extra)} from role {name}",
            )
        )
    return steps


# ---------------------------------------------------------------------------- iam_policy


def policy_path_and_name(arn: str) -> tuple[str, str]:
    """``("/analytics/", "athena-read")`` from ``arn:aws:iam::1:policy/analytics/athena-read``.

    Raises
    ------
    RemediationRefusedError
        The ARN is not a customer-managed policy ARN.
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("policy/"):
        raise RemediationRefusedError(f"not an IAM policy ARN: {arn!r}")
    segments = parts[5].split("/")[1:]
    if not segments or not segments[-1]:
        raise RemediationRefusedError(f"not an IAM policy ARN: {arn!r}")
    inner = "/".join(segments[:-1])
    return (f"/{inner}/" if inner else "/"), segments[-1]


def _oldest_deletable_version(versions: Any) -> str | None:
    """The oldest non-default version id, from ``facts["versions"]`` (list of mappings with
    ``version_id``/``VersionId``, ``is_default``/``IsDefaultVersion`` and optional
    ``create_date``/``CreateDate``), when the policy already has the maximum number."""
    if not isinstance(versions, list | tuple) or len(versions) < MAX_POLICY_VERSIONS:
        return None
    candidates: list[tuple[str, int, str]] = []
    for item in versions:
        if not isinstance(item, Mapping):
            continue
        vid = str(item.get("version_id", item.get("VersionId", "")))
        default = bool(item.get("is_default", item.get("IsDefaultVersion", False)))
        if not vid or default:
            continue
        created = str(item.get("create_date", item.get("CreateDate", "")))
        number = int(vid[1:]) if vid[1:].isdigit() else 0
        candidates.append((created, number, vid))
    return min(candidates)[2] if candidates else None


def _plan_policy(desired: DesiredResource, live: LiveResource, recreate: bool) -> list[PlanStep]:
    spec, arn = desired.spec, desired.ref.id
    if not live.exists:
        if not recreate:
            return []
        if spec.get("document") is None:
            raise _refuse(desired, "the policy is missing and the registry declares no document")
        path, name = policy_path_and_name(arn)
        params: dict[str, Any] = {
            "PolicyName": name,
            "Path": path,
            "PolicyDocument": policy_json(spec["document"]),
        }
        if spec.get("description"):
            params["Description"] = spec["description"]
        return [PlanStep("iam:CreatePolicy", params, f"create policy {arn}")]
    if "description" in spec and _differs(Kind.IAM_POLICY, "description", spec, live.state):
        raise _refuse(
            desired,
            "IAM cannot change a managed policy's description after creation "
            "(fix the registry, or recreate the policy by hand)",
        )
    if spec.get("document") is None or _equivalent(spec["document"], live.state.get("document")):
        return []
    steps: list[PlanStep] = []
    oldest = _oldest_deletable_version(live.facts.get("versions"))
    if oldest is not None:
        steps.append(
            PlanStep(
                "iam:DeletePolicyVersion",
                {"PolicyArn": arn, "VersionId": oldest},
                f"delete the oldest non-default version {oldest} of {arn} (IAM keeps 5)",
            )
        )
    steps.append(
        PlanStep(
            "iam:CreatePolicyVersion",
            {
                "PolicyArn": arn,
                "PolicyDocument": policy_json(spec["document"]),
                "SetAsDefault": True,
            },
            f"restore the default version of {arn}",
        )
    )
    return steps


# ------------------------------------------------------------------------------ quicksight

_QS_FIELDS: tuple[tuple[str, str], ...] = (
    ("parameters", "DataSourceParameters"),
    ("vpc_connection_properties", "VpcConnectionProperties"),
    ("ssl_properties", "SslProperties"),
)


def _permissions_param(value: Any) -> list[dict[str, Any]]:
    return [
        {"Principal": principal, "Actions": sorted(actions.values())}
        for principal, actions in sorted(normalise_permissions(value).items())
        if actions
    ]


def _plan_data_source(
    desired: DesiredResource, live: LiveResource, recreate: bool
) -> list[PlanStep]:
    spec, state, ref = desired.spec, live.state, desired.ref
    kind = Kind.QUICKSIGHT_DATA_SOURCE
    ids = {"AwsAccountId": ref.account, "DataSourceId": ref.id}
    if not live.exists:
        if not recreate:
            return []
        if not spec.get("name") or not spec.get("type"):
            raise _refuse(desired, "the data source is missing and the registry lacks name/type")
        params: dict[str, Any] = {**ids, "Name": spec["name"], "Type": spec["type"]}
        for key, api in _QS_FIELDS:
            if spec.get(key) is not None:
                params[api] = _plain(spec[key])
        permissions = _permissions_param(spec.get("permissions"))
        if permissions:
            params["Permissions"] = permissions
        return [PlanStep("quicksight:CreateDataSource", params, f"create data source {ref.id}")]
    if "type" in spec and _differs(kind, "type", spec, state):
        raise _refuse(
            desired,
            f"the data source type is {state.get('type')!r}, the registry says "
            f"{spec['type']!r}; QuickSight cannot change a data source's type",
        )
    steps: list[PlanStep] = []
    keys = ("name", *(key for key, _ in _QS_FIELDS))
    changed = [key for key in keys if key in spec and _differs(kind, key, spec, state)]
    if changed:
        params = {**ids, "Name": spec["name"] if "name" in spec else state.get("name")}
        for key, api in _QS_FIELDS:
            value = spec[key] if key in spec else state.get(key)
            if value is not None:
                params[api] = _plain(value)
        steps.append(
            PlanStep(
                "quicksight:UpdateDataSource",
                params,
                f"restore {', '.join(changed)} of data source {ref.id}",
            )
        )
    if "permissions" in spec:
        want = normalise_permissions(spec["permissions"])
        have = normalise_permissions(state.get("permissions"))
        grant: list[dict[str, Any]] = []
        revoke: list[dict[str, Any]] = []
        for principal in sorted(set(want) | set(have)):
            w, h = want.get(principal, {}), have.get(principal, {})
            missing = sorted(w[a] for a in set(w) - set(h))
            extra = sorted(h[a] for a in set(h) - set(w))
            if missing:
                grant.append({"Principal": principal, "Actions": missing})
            if extra:
                revoke.append({"Principal": principal, "Actions": extra})
        if grant or revoke:
            perm_params: dict[str, Any] = dict(ids)
            if grant:
                perm_params["GrantPermissions"] = grant
            if revoke:
                perm_params["RevokePermissions"] = revoke
            steps.append(
                PlanStep(
                    "quicksight:UpdateDataSourcePermissions",
                    perm_params,
                    f"grant {len(grant)} and revoke {len(revoke)} principal permission(s) "
                    f"on data source {ref.id}",
                )
            )
    return steps


# ------------------------------------------------------------------------------ cleanrooms


def _plan_association(desired: DesiredResource, live: LiveResource) -> list[PlanStep]:
    spec, state, ref = desired.spec, live.state, desired.ref
    kind = Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION
    membership_id, sep, association_id = ref.id.partition("/")
    if not sep or not membership_id or not association_id:
        raise _refuse(desired, "the id must be <membership-id>/<configured-table-association-id>")
    if "name" in spec and _differs(kind, "name", spec, state):
        raise _refuse(desired, "Clean Rooms cannot rename a configured table association")
    if "role_arn" not in spec or not _differs(kind, "role_arn", spec, state):
        return []
    if not spec["role_arn"]:
        raise _refuse(desired, "a configured table association must have a role")
    return [
        PlanStep(
            "cleanrooms:UpdateConfiguredTableAssociation",
            {
                "membershipIdentifier": membership_id,
                "configuredTableAssociationIdentifier": association_id,
                "roleArn": spec["role_arn"],
            },
            f"restore the role of configured table association {ref.id}",
        )
    ]


def _output_configuration(live: LiveResource) -> Any:
    facts = live.facts
    if facts.get("result_output_configuration") is not None:
        return facts["result_output_configuration"]
    default = facts.get("default_result_configuration")
    if isinstance(default, Mapping):
        return default.get("outputConfiguration")
    return None


def _plan_membership(desired: DesiredResource, live: LiveResource) -> list[PlanStep]:
    spec, state, ref = desired.spec, live.state, desired.ref
    kind = Kind.CLEANROOMS_MEMBERSHIP
    params: dict[str, Any] = {"membershipIdentifier": ref.id}
    restored: list[str] = []
    if "query_log_status" in spec and _differs(kind, "query_log_status", spec, state):
        params["queryLogStatus"] = spec["query_log_status"]
        restored.append("query log status")
    if "result_role_arn" in spec and _differs(kind, "result_role_arn", spec, state):
        output = _output_configuration(live)
        if output is None:
            raise _refuse(
                desired,
                "the membership has no default result output configuration to keep; "
                "Clean Rooms needs one to set the result role",
            )
        result: dict[str, Any] = {"outputConfiguration": _plain(output)}
        if spec["result_role_arn"]:
            result["roleArn"] = spec["result_role_arn"]
        params["defaultResultConfiguration"] = result
        restored.append("result role")
    if not restored:
        return []
    return [
        PlanStep(
            "cleanrooms:UpdateMembership",
            params,
            f"restore the {' and '.join(restored)} of membership {ref.id}",
        )
    ]


# --------------------------------------------------------------------------------- public


def plan_revert(
    desired: DesiredResource, live: LiveResource, recreate: bool = False
) -> tuple[PlanStep, ...]:
    """The smallest set of API calls that turns ``live.state`` into ``desired.spec``.

    Only keys the spec declares are considered. For an ``iam_role``, steps that remove
    access (detach, delete extra inline policies, set a boundary) come first, then the trust
    policy, inline and managed policies, removing a boundary, and description/tags last.

    Parameters
    ----------
    desired
        The registry entry (placeholders resolved).
    live
        The live state, read just before planning.
    recreate
        Plan the creation of a resource that does not exist (else: no steps).

    Returns
    -------
    tuple of PlanStep
        Empty when nothing needs to change (including a missing resource without
        ``recreate``).

    Raises
    ------
    RemediationRefusedError
        The desired state cannot be reached with API calls (a role path or data source type
        change, a policy description, a Clean Rooms recreation or rename), or the live state
        could not be read.

    Example
    -------
    >>> [s.call for s in plan_revert(desired, live)]  # doctest: +SKIP
    ['iam:DeleteRolePolicy']
    """
    return _plan(desired, live, recreate=recreate, exact=False)


def _plan(
    desired: DesiredResource, live: LiveResource, *, recreate: bool, exact: bool
) -> tuple[PlanStep, ...]:
    if live.error is not None:
        raise _refuse(desired, f"its live state could not be read ({live.error})")
    kind = desired.ref.kind
    if kind is Kind.IAM_POLICY:
        return tuple(_plan_policy(desired, live, recreate))
    if kind is Kind.QUICKSIGHT_DATA_SOURCE:
        return tuple(_plan_data_source(desired, live, recreate))
    if not live.exists:
        if not recreate:
            return ()
        if kind is Kind.IAM_ROLE:
            return tuple(_role_recreate(desired))
        raise _refuse(
            desired,
            "a deleted Clean Rooms resource cannot be recreated by driftwarden "
            "(it belongs to a collaboration)",
        )
    planners: Mapping[Kind, Callable[[], list[PlanStep]]] = {
        Kind.IAM_ROLE: lambda: _plan_role(desired, live, exact),
        Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION: lambda: _plan_association(desired, live),
        Kind.CLEANROOMS_MEMBERSHIP: lambda: _plan_membership(desired, live),
    }
    return tuple(planners[kind]())


def undo_plan(entry: JournalEntry, current: LiveResource) -> tuple[PlanStep, ...]:
    """The plan that restores the state saved before ``entry``'s action, exactly.

    Every key of the saved state is declared, so everything is restored: also tags added
    since (``iam:UntagRole``), which a registry revert never removes. A resource that existed
    before and is gone now is recreated (IAM, QuickSight). A resource that did *not* exist
    before (the action created it) is not deleted: driftwarden never deletes a resource, so
    that is refused; if it is gone again there is nothing to do.

    Parameters
    ----------
    entry
        The journal entry of the action to undo.
    current
        The live state of the same resource, read just before planning.

    Returns
    -------
    tuple of PlanStep
        Empty when the resource is already as it was.

    Raises
    ------
    RemediationRefusedError
        The action created the resource, the saved state cannot be reached with API calls,
        or the current state could not be read.
    """
    saved = entry.before
    spec = saved.get("state") or {}
    desired = DesiredResource(
        ref=entry.resource,
        mode=Mode.ENFORCE,
        spec=dict(spec),
        source=f"journal:{entry.action_id}",
    )
    if current.error is not None:
        raise _refuse(desired, f"its live state could not be read ({current.error})")
    if not saved.get("exists", False):
        if not current.exists:
            return ()
        raise _refuse(
            desired,
            f"it did not exist before action {entry.action_id}; undoing would delete it, "
            "which driftwarden never does (delete it by hand if that is intended)",
        )
    return _plan(desired, current, recreate=True, exact=True)
