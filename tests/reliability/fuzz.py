"""Fuzzing driftwarden's event path: strategies, the oracle, and an in-memory account.

Strategies
    ``fuzz_events()`` mixes three sources: the real corpus events and the synthetic samples
    after 1-3 mutations (``mutated_events`` of tests/unit/test_event_properties.py: dropped
    fields, wrong types, huge, unicode and URL-encoded strings, truncated JSON, SNS wrapping);
    well-formed events of every routed event name aimed at the registry's resources or at
    near-misses of their names (case, paths, ARNs, homoglyphs, URL encoding, whitespace), made
    by driftwarden itself, by a trusted actor, in another account, failed or read-only, and
    carrying fuzzed policy documents; and those same events mutated further.
    ``drift_actions()`` draws what happens to the account before an event: nothing, a real
    drift (an extra inline policy, a widened managed policy, a renamed data source), or an
    equivalent rewrite of a desired policy document (statement order, string/list, case...),
    which is *not* drift.

Oracle (``Check.event``)
    After each event: no exception escaped ``handle_event`` and its JSON is serialisable
    (else a crash); every resource the outcome names is one the route table allows for the
    event's source and name, with an id the event carries (else a wrong route); and every
    write call was made for a resource that the event was routed to, that had really drifted
    before the event, whose mode is ``enforce``, by an actor that is neither driftwarden nor
    trusted (else a forbidden write).

``FakeAccount`` stands in for AWS in the long run: collectors and executors over an in-memory
state, with the real registry, planner, safety rules, journal (a directory) and responder.
"""

from __future__ import annotations

import copy
import json
import os
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from chalicelib.config import Settings
from chalicelib.errors import UnroutableEventError
from chalicelib.events.cloudtrail import parse_event
from chalicelib.events.routes import ROUTES, Route
from chalicelib.models import (
    AccountContext,
    ChangeNotice,
    DesiredResource,
    Kind,
    LiveResource,
    Mode,
    ResourceRef,
)
from chalicelib.notify.dedup import MemoryDedupStore
from chalicelib.pipeline import Pipeline
from chalicelib.registry.loader import load_directory
from chalicelib.registry.store import FileRegistryStore
from chalicelib.remediation.journal import DirectoryJournal
from chalicelib.respond import Responder
from tests.conftest import ACCOUNT, REGION
from tests.events import api_call, sns_wrap
from tests.fakes import POLICIES, RecordingNotifier
from tests.policy_rewrites import rewrite_all
from tests.unit.test_event_properties import _drop, _get, _paths, _set, mutated_events, odd_values

#: How many events the CI runs fuzz end to end (moto) and in memory; the long run raises both.
E2E_EVENTS_ENV = "RELIABILITY_FUZZ_E2E_EVENTS"
FAST_EVENTS_ENV = "RELIABILITY_FUZZ_EVENTS"
SEED_ENV = "RELIABILITY_FUZZ_SEED"
DEFAULT_E2E_EVENTS = 300
DEFAULT_FAST_EVENTS = 500
DEFAULT_SEED = 20240502

OTHER_ACCOUNT = "210987654321"
SELF_ROLE = "driftwarden-runtime"
SELF_ARN = f"arn:aws:iam::{ACCOUNT}:role/{SELF_ROLE}"
TRUSTED_ROLE = "break-glass"
TRUSTED_ARN = f"arn:aws:iam::{ACCOUNT}:role/{TRUSTED_ROLE}"
ACTORS = ("platform-admin", "alice-admin", SELF_ROLE, TRUSTED_ROLE)

CONTEXT = AccountContext(ACCOUNT, REGION)
DESIRED: tuple[DesiredResource, ...] = load_directory(POLICIES).resolve(CONTEXT)
BY_REF: dict[ResourceRef, DesiredResource] = {d.ref: d for d in DESIRED}
IDS: dict[Kind, list[str]] = {}
for _d in DESIRED:
    IDS.setdefault(_d.ref.kind, []).append(_d.ref.id)
ROLE_NAMES = sorted(IDS.get(Kind.IAM_ROLE, []))
ENFORCED_ROLES = sorted(
    d.ref.id for d in DESIRED if d.ref.kind is Kind.IAM_ROLE and d.mode is Mode.ENFORCE
)


def fuzz_settings(examples: int) -> settings:
    """Hypothesis settings for a fuzz run: generation only (violations are counted, not
    raised, so there is nothing to shrink); reproducible with ``hypothesis.seed``."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


# ---------------------------------------------------------------------------------------------
# policy documents


ACTIONS = [
    "s3:GetObject",
    "s3:*",
    "S3:getobject",
    "athena:StartQueryExecution",
    "iam:PassRole",
    "iam:*",
    "*",
    "sts:AssumeRole",
    "quicksight:DescribeDataSource",
    "glue:Get*",
]
RESOURCES = [
    "*",
    "arn:aws:s3:::dw-analytics-123456789012/*",
    f"arn:aws:iam::{ACCOUNT}:role/*",
    "arn:aws:athena:us-east-1:123456789012:workgroup/primary",
]


def _one_or_many(values: Sequence[str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(values), st.lists(st.sampled_from(values), min_size=1, max_size=3)
    )


statements = st.fixed_dictionaries(
    {"Effect": st.sampled_from(["Allow", "Deny"]), "Action": _one_or_many(ACTIONS)},
    optional={
        "Resource": _one_or_many(RESOURCES),
        "Sid": st.text(alphabet="abcXYZ019", max_size=8),
        "Condition": st.just({"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}),
    },
)
valid_documents = st.builds(
    lambda stmts: {"Version": "2012-10-17", "Statement": stmts},
    st.lists(statements, min_size=1, max_size=4),
)


@st.composite
def policy_document_texts(draw: st.DrawFn) -> Any:
    """A ``policyDocument`` request parameter as CloudTrail may carry it: JSON text (plain
    or URL-encoded as IAM logs it), a parsed object, or junk of any type or size."""
    doc = draw(valid_documents)
    form = draw(st.sampled_from(["json", "url", "object", "single", "junk", "huge"]))
    if form == "json":
        return json.dumps(doc)
    if form == "url":
        return urllib.parse.quote(json.dumps(doc))
    if form == "object":
        return doc
    if form == "single":  # Statement as one object rather than a list
        return json.dumps({**doc, "Statement": doc["Statement"][0]})
    if form == "huge":
        return json.dumps({**doc, "Statement": doc["Statement"] * 500})
    return draw(odd_values)


# ---------------------------------------------------------------------------------------------
# events aimed at the registry


def _near_misses(ident: str) -> list[str]:
    """Names that look like ``ident`` but are other resources (or none)."""
    return [
        ident.upper(),
        f"service-role/{ident}",
        f"arn:aws:iam::{ACCOUNT}:role/service-role/{ident}",
        ident + " ",
        " " + ident,
        urllib.parse.quote(ident + "/"),
        ident.replace("a", "\u0430"),  # Cyrillic a
        ident + "\u200b",  # zero-width space
        ident * 40,
        ident[:-1],
    ]


def _ids_for(kind: Kind) -> list[str]:
    if kind is Kind.IAM_POLICY:
        return list(IDS.get(kind, []))
    if kind in IDS:
        return list(IDS[kind])
    return ["0f6d8c4e-1b2a-4c3d-9e8f-a1b2c3d4e5f6"]


@st.composite
def identifiers(draw: st.DrawFn, kind: Kind) -> Any:
    real = _ids_for(kind)
    choice = draw(st.sampled_from(["real", "real", "real", "near", "other"]))
    if choice == "real":
        return draw(st.sampled_from(real))
    if choice == "near":
        return draw(st.sampled_from(_near_misses(draw(st.sampled_from(real)))))
    return draw(st.one_of(st.sampled_from(["", "unmanaged-role", "*"]), odd_values))


def _params(draw: st.DrawFn, row: Route, ident: Any) -> tuple[dict[str, Any], Any]:
    """Request parameters and response elements shaped like the real API call of ``row``."""
    name = row.event_name
    if row.kind is Kind.IAM_ROLE:
        params: dict[str, Any] = {"roleName": ident}
        if "RolePolicy" in name:
            params["policyName"] = draw(st.sampled_from(["athena-query", "temp-debug", "x"]))
        if name in {"PutRolePolicy", "UpdateAssumeRolePolicy", "CreateRole"}:
            key = "assumeRolePolicyDocument" if name == "CreateRole" else "policyDocument"
            params[key] = draw(policy_document_texts())
        if name in {"AttachRolePolicy", "DetachRolePolicy"}:
            params["policyArn"] = draw(
                st.sampled_from([*IDS.get(Kind.IAM_POLICY, []), "arn:aws:iam::aws:policy/Admin"])
            )
        if name == "PutRolePermissionsBoundary":
            params["permissionsBoundary"] = f"arn:aws:iam::{ACCOUNT}:policy/boundary"
        if name == "TagRole":
            params["tags"] = [{"key": "owner", "value": draw(st.text(max_size=10))}]
        response = {"role": {"roleName": ident}} if name == "CreateRole" else None
        return params, response
    if row.kind is Kind.IAM_POLICY:
        params = {"policyArn": ident}
        if name == "CreatePolicyVersion":
            params["policyDocument"] = draw(policy_document_texts())
            params["setAsDefault"] = draw(st.booleans())
        if name in {"SetDefaultPolicyVersion", "DeletePolicyVersion"}:
            params["versionId"] = draw(st.sampled_from(["v1", "v2", "v9"]))
        return params, None
    if row.kind is Kind.QUICKSIGHT_DATA_SOURCE:
        params = {
            "awsAccountId": draw(st.sampled_from([ACCOUNT, ACCOUNT, OTHER_ACCOUNT])),
            "dataSourceId": ident,
        }
        if name in {"CreateDataSource", "UpdateDataSource"}:
            params["name"] = draw(st.text(max_size=20))
        return params, {"dataSourceId": ident, "status": 202}
    membership = draw(st.sampled_from(["0f6d8c4e-1b2a-4c3d-9e8f-a1b2c3d4e5f6", ident]))
    params = {"membershipIdentifier": membership}
    if "Association" in name:
        params["configuredTableAssociationIdentifier"] = ident
    return params, None


@st.composite
def managed_events(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed EventBridge event of a routed event name, mostly aimed at a registry
    resource, with the actor, account, error and read-only flags drawn."""
    row = draw(st.sampled_from(ROUTES))
    ident = draw(identifiers(row.kind))
    params, response = _params(draw, row, ident)
    return api_call(
        row.eventbridge_source,
        row.event_name,
        params,
        response,
        account=draw(st.sampled_from([ACCOUNT] * 6 + [OTHER_ACCOUNT])),
        region=REGION,
        read_only=draw(st.sampled_from([False] * 8 + [True])),
        error_code=draw(st.sampled_from([None] * 8 + ["AccessDenied", "NoSuchEntity"])),
        actor_role=draw(st.sampled_from(ACTORS)),
    )


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> Any:
    """An event from ``base`` after 0-2 structural mutations, in one of the delivery forms."""
    event: Any = copy.deepcopy(draw(base))
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        paths = [p for p in _paths(event) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["drop", "replace", "url-encode"]))
        if action == "drop":
            event = _drop(event, path)
        elif action == "url-encode" and isinstance(_get(event, path), str):
            event = _set(event, path, urllib.parse.quote(_get(event, path)))
        else:
            event = _set(event, path, draw(odd_values))
    form = draw(st.sampled_from(["object"] * 6 + ["json", "bytes", "sns"]))
    if form == "json":
        return json.dumps(event)
    if form == "bytes":
        return json.dumps(event).encode()
    if form == "sns" and isinstance(event, dict):
        return sns_wrap(event)
    return event


def fuzz_events() -> st.SearchStrategy[Any]:
    """Every kind of event the fuzz runs feed driftwarden (see the module docstring)."""
    return st.one_of(
        mutated_events(), managed_events(), managed_events(), mutated(managed_events())
    )


# ---------------------------------------------------------------------------------------------
# drift before an event


@dataclass(frozen=True)
class DriftAction:
    """What happens to the account before an event: ``none``, ``drift`` (real) or
    ``equivalent`` (a rewrite of a desired document IAM treats the same: not drift)."""

    what: str
    target: ResourceRef | None = None
    document: Mapping[str, Any] | None = None
    seed: int = 0


def _fuzzable_targets() -> list[ResourceRef]:
    return [d.ref for d in DESIRED]


@st.composite
def drift_actions(draw: st.DrawFn, kinds: Sequence[Kind] | None = None) -> DriftAction:
    what = draw(st.sampled_from(["none"] * 3 + ["drift"] * 2 + ["equivalent"]))
    if what == "none":
        return DriftAction("none")
    targets = [r for r in _fuzzable_targets() if kinds is None or r.kind in kinds]
    target = draw(st.sampled_from(targets))
    doc = draw(valid_documents.filter(lambda d: all(s.get("Resource") for s in d["Statement"])))
    return DriftAction(what, target, doc, draw(st.integers(min_value=0, max_value=2**16)))


def equivalent_inline(desired: DesiredResource, seed: int) -> tuple[str, dict[str, Any]]:
    """One desired inline policy of a role, rewritten equivalently: (name, document)."""
    inline = desired.spec.get("inline_policies") or {}
    name = sorted(inline)[seed % len(inline)]
    return name, rewrite_all(copy.deepcopy(dict(inline[name])), seed)


# ---------------------------------------------------------------------------------------------
# the oracle


def strings_in(value: Any) -> set[str]:
    """Every string found anywhere inside ``value`` (keys excluded)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.add(item)
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found


CLEANROOMS_KINDS = frozenset(
    {Kind.CLEANROOMS_MEMBERSHIP, Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION}
)


def allowed(notice: ChangeNotice, ref: ResourceRef) -> bool:
    """Whether the route table allows an event to point at ``ref``.

    A failed or read-only call never does. Otherwise a row of ``ROUTES`` for the event's
    source and name must name ``ref``'s kind, the event must carry ``ref``'s id (each part of
    a ``<membership>/<association>`` id) and its account; for a customer-managed policy row,
    a registry role that attaches a policy the event names is allowed too.
    """
    if notice.error_code is not None or notice.read_only:
        return False
    carried = strings_in(notice.request_parameters) | strings_in(notice.response_elements)
    if ref.account != notice.account and ref.account not in carried:
        return False
    for row in ROUTES:
        if (row.event_source, row.event_name) != (notice.event_source, notice.event_name):
            continue
        if ref.kind is row.kind:
            parts = ref.id.split("/") if row.kind in CLEANROOMS_KINDS else [ref.id]
            if all(part in carried for part in parts):
                return True
        if row.expands_to_attached_roles and ref.kind is Kind.IAM_ROLE:
            desired = BY_REF.get(ref)
            attached = set(desired.spec.get("managed_policies") or ()) if desired else set()
            if attached & carried:
                return True
    return False


@dataclass
class FuzzStats:
    """What one fuzz run saw; ``examples`` keeps a few offending inputs per problem."""

    events: int = 0
    crashes: int = 0
    wrong_routes: int = 0
    writes: int = 0
    forbidden_writes: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def keep(self, problem: str, raw: Any, detail: str) -> None:
        kept = self.examples.setdefault(problem, [])
        if len(kept) < 5:
            text = raw if isinstance(raw, str) else repr(raw)
            kept.append(f"{detail} <- {text[:400]}")

    def problems(self) -> dict[str, int]:
        return {
            "crashes": self.crashes,
            "wrong_routes": self.wrong_routes,
            "forbidden_writes": self.forbidden_writes,
        }


@dataclass
class Check:
    """Runs one event through a responder and applies the oracle, counting into ``stats``."""

    stats: FuzzStats
    trusted: tuple[str, ...] = (TRUSTED_ARN,)
    own: tuple[str, ...] = (SELF_ARN,)

    def event(
        self,
        handle: Callable[[Any], Any],
        raw: Any,
        drifted: set[ResourceRef],
        writes_of: Callable[[], list[tuple[ResourceRef | None, str]]],
    ) -> Any:
        """Handle ``raw``; ``drifted`` are the resources that really drifted before it,
        ``writes_of()`` the write calls made while handling it, each with the resource it
        was made for when known (None: attribute by the outcome's actions)."""
        self.stats.events += 1
        try:
            outcome = handle(raw)
            json.dumps(outcome.to_json())
        except Exception as err:  # the oracle's whole point: nothing may escape
            self.stats.crashes += 1
            self.stats.keep("crashes", raw, f"{type(err).__name__}: {err}")
            writes_of()
            return None
        self.stats.decisions[str(outcome.decision)] += 1
        try:
            notice: ChangeNotice | None = parse_event(raw)
        except UnroutableEventError:
            notice = None
        routed_ok: set[ResourceRef] = set()
        for response in outcome.responses:
            ref = response.result.ref
            if notice is not None and allowed(notice, ref):
                routed_ok.add(ref)
            else:
                self.stats.wrong_routes += 1
                self.stats.keep("wrong_routes", raw, f"routed to {ref}")
        may_write = self._may_write(notice, routed_ok, drifted)
        made = writes_of()
        self.stats.writes += len(made)
        budget: Counter[tuple[ResourceRef | None, str]] = Counter()
        for response in outcome.responses:
            action = response.action
            if action is not None and action.resource in may_write:
                for call in action.calls:
                    budget[(None, call)] += 1
        for ref, call in made:
            if ref is not None:
                ok = ref in may_write
            else:
                ok = budget[(None, call)] > 0
                budget[(None, call)] -= 1
            if not ok:
                self.stats.forbidden_writes += 1
                self.stats.keep("forbidden_writes", raw, f"{call} on {ref}")
        return outcome

    def _may_write(
        self, notice: ChangeNotice | None, routed: set[ResourceRef], drifted: set[ResourceRef]
    ) -> set[ResourceRef]:
        if notice is None or notice.account != ACCOUNT:
            return set()
        actors = {notice.actor_arn or "", notice.actor_issuer_arn or ""}
        names = {a.rsplit("/", 1)[-1] for a in actors} | {
            a.split("/")[1] for a in actors if ":assumed-role/" in a
        }
        if any(arn.rsplit("/", 1)[-1] in names for arn in (*self.trusted, *self.own)):
            return set()
        return {
            ref
            for ref in routed & drifted
            if BY_REF.get(ref) is not None and BY_REF[ref].mode is Mode.ENFORCE
        }


# ---------------------------------------------------------------------------------------------
# the in-memory account


class FakeAccount:
    """Live state of the registry's resources in memory (in spec shape), with the collectors
    and executors the responder needs. Executors restore the desired state of the resource
    read last (the responder re-reads a resource immediately before reverting it)."""

    def __init__(self) -> None:
        self.state: dict[ResourceRef, dict[str, Any]] = {
            d.ref: copy.deepcopy(dict(d.spec)) for d in DESIRED
        }
        self.drifted: set[ResourceRef] = set()
        self.writes: list[tuple[ResourceRef | None, str]] = []
        self._last_read: ResourceRef | None = None

    def live(self, ref: ResourceRef) -> LiveResource:
        if ref not in self.state:
            return LiveResource(ref, exists=False)
        return LiveResource(ref, exists=True, state=copy.deepcopy(self.state[ref]))

    def apply(self, action: DriftAction) -> None:
        if action.what == "none" or action.target is None:
            return
        ref, desired = action.target, BY_REF[action.target]
        state = self.state[ref]
        if action.what == "equivalent":
            if ref.kind is Kind.IAM_ROLE and desired.spec.get("inline_policies"):
                name, doc = equivalent_inline(desired, action.seed)
                state["inline_policies"][name] = doc
            elif ref.kind is Kind.IAM_POLICY:
                state["document"] = rewrite_all(
                    copy.deepcopy(dict(desired.spec["document"])), action.seed
                )
            return
        if ref.kind is Kind.IAM_ROLE:
            state.setdefault("inline_policies", {})["fuzz-extra"] = dict(action.document or {})
        elif ref.kind is Kind.IAM_POLICY:
            state["document"] = dict(action.document or {})
        else:
            state["name"] = f"renamed-{action.seed}"
        self.drifted.add(ref)

    def take_writes(self) -> list[tuple[ResourceRef | None, str]]:
        made, self.writes = self.writes, []
        return made

    # -- what the responder sees ----------------------------------------------------------

    def collector(self) -> FakeCollector:
        return FakeCollector(self)

    def executor(self) -> FakeExecutor:
        return FakeExecutor(self)

    def roles(self) -> FakeRoles:
        return FakeRoles(self)


class FakeCollector:
    """A collector over a ``FakeAccount`` (every kind)."""

    kinds: ClassVar[tuple[Kind, ...]] = tuple(Kind)
    permissions: ClassVar[tuple[str, ...]] = ()

    def __init__(self, account: FakeAccount) -> None:
        self.account = account

    def read(self, ref: ResourceRef, desired: DesiredResource | None = None) -> LiveResource:
        self.account._last_read = ref
        return self.account.live(ref)

    def read_all(
        self,
        refs: Sequence[ResourceRef],
        desired: Mapping[ResourceRef, DesiredResource] | None = None,
    ) -> dict[ResourceRef, LiveResource]:
        return {ref: self.account.live(ref) for ref in refs}


class FakeExecutor:
    """An executor over a ``FakeAccount``: records the calls and restores the desired state."""

    kinds: ClassVar[tuple[Kind, ...]] = tuple(Kind)
    permissions: ClassVar[tuple[str, ...]] = ()

    def __init__(self, account: FakeAccount) -> None:
        self.account = account

    def apply(self, steps: Sequence[Any], dry_run: bool = False) -> tuple[str, ...]:
        calls = tuple(step.call for step in steps)
        if dry_run:
            return calls
        ref = self.account._last_read
        for call in calls:
            self.account.writes.append((ref, call))
        if ref is not None and ref in BY_REF:
            self.account.state[ref] = copy.deepcopy(dict(BY_REF[ref].spec))
            self.account.drifted.discard(ref)
        return calls


class FakeRoles:
    """The role lookup the pipeline uses for data source checks, over a ``FakeAccount``."""

    def __init__(self, account: FakeAccount) -> None:
        self.account = account

    def roles_by_arn(self) -> dict[str, LiveResource]:
        return {
            self._arn(d): self.account.live(d.ref) for d in DESIRED if d.ref.kind is Kind.IAM_ROLE
        }

    def read_roles_by_arn(self, arns: Iterable[str]) -> dict[str, LiveResource | None]:
        known = self.roles_by_arn()
        return {arn: known.get(arn) for arn in arns}

    @staticmethod
    def _arn(desired: DesiredResource) -> str:
        path = str(desired.spec.get("path") or "/")
        return f"arn:aws:iam::{ACCOUNT}:role{path}{desired.ref.id}"


def fast_responder(
    account: FakeAccount, journal_dir: Path, clock: Callable[[], datetime]
) -> Responder:
    """The real responder over the sample registry, with ``account`` in place of AWS and
    ``clock`` for time (so that a long run is not held by the hourly revert limit)."""
    settings_ = Settings(
        registry=str(POLICIES), trusted_actors=(TRUSTED_ARN,), self_arns=(SELF_ARN,)
    )
    collector = account.collector()
    executor = account.executor()
    pipeline = Pipeline(
        FileRegistryStore(POLICIES), dict.fromkeys(Kind, collector), account.roles(), settings_
    )
    return Responder(
        pipeline=pipeline,
        executors=dict.fromkeys(Kind, executor),
        journal=DirectoryJournal(journal_dir),
        notifiers=[RecordingNotifier()],
        dedup=MemoryDedupStore(),
        settings=settings_,
        account=lambda: CONTEXT,
        self_arns=lambda: (SELF_ARN,),
        clock=clock,
    )
