"""The sweep contenders, each run in a fresh process: driftwarden's audit, a naive per-resource
reader, and a bare bulk read (the floor).

``python -m bench.contenders NAME --registry DIR --out FILE`` reads AWS through
``AWS_ENDPOINT_URL`` (the latency proxy) and writes one JSON object to FILE: the time spent in
the work itself (``work_s``, imports excluded), the part of it spent inside AWS calls
(``aws_s``: request, latency, response parsing, measured with botocore's call events), what it
found, and the peak RSS of its own process (``VmHWM``).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import boto3


def peak_rss_mb() -> float:
    """This process's peak resident set size (``VmHWM``) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class CallTimer:
    """Sums the time spent inside AWS calls, from botocore's before-call/after-call events."""

    def __init__(self) -> None:
        self.total = 0.0
        self.calls = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def attach(self, session: boto3.Session) -> None:
        """Register on ``session`` before any client is made (clients copy the handlers)."""
        session.events.register("before-call", self._start)
        session.events.register("after-call", self._stop)
        session.events.register("after-call-error", self._stop)

    def _start(self, **_: Any) -> None:
        self._local.started = time.perf_counter()

    def _stop(self, **_: Any) -> None:
        started = getattr(self._local, "started", None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        self._local.started = None
        with self._lock:
            self.total += elapsed
            self.calls += 1


def _session(timer: CallTimer) -> boto3.Session:
    from chalicelib.aws import make_session

    session = make_session()
    timer.attach(session)
    return session


def run_driftwarden(args: argparse.Namespace) -> dict[str, Any]:
    """driftwarden's audit: ``Wiring(Settings(registry=DIR), session).audit()``."""
    from chalicelib.config import Settings
    from chalicelib.wiring import Wiring

    timer = CallTimer()
    started = time.perf_counter()
    session = _session(timer)
    if args.what_if:
        from bench import whatif

        whatif.apply_code_fixes()
        whatif.apply_session_fix(session)
    wiring = Wiring(Settings(registry=args.registry), session)
    wiring.store.load()  # the first load parses and validates; audit() reuses it
    loaded = time.perf_counter()
    report = wiring.audit()
    done = time.perf_counter()
    body = report.to_json()
    findings = sum(len(r.get("findings") or ()) for r in body["resources"])
    return {
        "work_s": done - started,
        "phases": {"registry_s": loaded - started, "read_compare_s": done - loaded},
        "aws_s": timer.total,
        "resources": len(body["resources"]),
        "summary": body["summary"],
        "findings": findings,
    }


def _paged(pages: Any) -> list[Any]:
    return list(pages)


def run_floor(args: argparse.Namespace) -> dict[str, Any]:
    """A bare bulk read of the same data: GAAD + ListRoles + ListDataSources pages, no diff."""
    from bench.workload import ACCOUNT

    timer = CallTimer()
    started = time.perf_counter()
    session = _session(timer)
    iam = session.client("iam")
    quicksight = session.client("quicksight")
    gaad = _paged(
        iam.get_paginator("get_account_authorization_details").paginate(
            Filter=["Role", "LocalManagedPolicy"], PaginationConfig={"PageSize": 1000}
        )
    )
    roles = _paged(iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 1000}))
    sources = _paged(
        quicksight.get_paginator("list_data_sources").paginate(
            AwsAccountId=ACCOUNT, PaginationConfig={"PageSize": 100}
        )
    )
    done = time.perf_counter()
    return {
        "work_s": done - started,
        "aws_s": timer.total,
        "resources": sum(len(p["RoleDetailList"]) + len(p["Policies"]) for p in gaad)
        + sum(len(p["DataSources"]) for p in sources),
        "pages": {"gaad": len(gaad), "list_roles": len(roles), "list_data_sources": len(sources)},
    }


def run_naive(args: argparse.Namespace) -> dict[str, Any]:
    """Per-resource reads: ListRoles, then per role GetRole + ListRolePolicies + GetRolePolicy +
    ListAttachedRolePolicies + GetPolicy + GetPolicyVersion; per data source
    DescribeDataSource. ``--workers`` threads share the per-role work."""
    from bench.workload import ACCOUNT

    timer = CallTimer()
    started = time.perf_counter()
    session = _session(timer)
    iam = session.client("iam")
    quicksight = session.client("quicksight")
    names = [
        role["RoleName"]
        for page in iam.get_paginator("list_roles").paginate()
        for role in page["Roles"]
    ]

    def read_role(name: str) -> dict[str, Any]:
        role = iam.get_role(RoleName=name)["Role"]
        inline = {
            policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=name)
            for policy in page["PolicyNames"]
        }
        attached = {}
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for item in page["AttachedPolicies"]:
                policy = iam.get_policy(PolicyArn=item["PolicyArn"])["Policy"]
                version = iam.get_policy_version(
                    PolicyArn=item["PolicyArn"], VersionId=policy["DefaultVersionId"]
                )
                attached[item["PolicyArn"]] = version["PolicyVersion"]["Document"]
        return {"role": role, "inline": inline, "attached": attached}

    def read_data_source(ident: str) -> Any:
        return quicksight.describe_data_source(AwsAccountId=ACCOUNT, DataSourceId=ident)[
            "DataSource"
        ]

    idents = [
        item["DataSourceId"]
        for page in quicksight.get_paginator("list_data_sources").paginate(AwsAccountId=ACCOUNT)
        for item in page["DataSources"]
    ]
    if args.workers > 1:
        with ThreadPoolExecutor(args.workers) as pool:
            roles = list(pool.map(read_role, names))
            sources = list(pool.map(read_data_source, idents))
    else:
        roles = [read_role(n) for n in names]
        sources = [read_data_source(i) for i in idents]
    done = time.perf_counter()
    return {
        "work_s": done - started,
        "aws_s": timer.total,
        "resources": len(roles) + len(sources),
        "workers": args.workers,
    }


def run_registry(args: argparse.Namespace) -> dict[str, Any]:
    """Registry loading alone: a YAML directory, a JSON directory and an S3 snapshot body
    (parsed from bytes, as ``S3RegistryStore`` does), each parsed and then validated; then the
    same with the what-if fixes applied."""
    from chalicelib.registry.loader import load_directory
    from chalicelib.registry.model import Registry, canonical_json
    from chalicelib.registry.validate import validate_or_raise

    def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
        started = time.perf_counter()
        value = fn()
        return time.perf_counter() - started, value

    def one_pass() -> dict[str, float]:
        yaml_s, _ = timed(lambda: load_directory(args.yaml_registry))
        json_s, registry = timed(lambda: load_directory(args.registry))
        raw = canonical_json(registry.body())
        snapshot_s, snapshot = timed(
            lambda: Registry.from_body(json.loads(raw), "s3://bench-registry/registry")
        )
        validate_s, _ = timed(lambda: validate_or_raise(snapshot))
        return {
            "parse_yaml_dir_s": yaml_s,
            "parse_json_dir_s": json_s,
            "parse_snapshot_s": snapshot_s,
            "validate_s": validate_s,
            "entries": len(registry.entries),
            "snapshot_bytes": len(raw),
        }

    started = time.perf_counter()
    baseline = one_pass()
    from bench import whatif

    whatif.apply_code_fixes()
    fixed = one_pass()
    return {"work_s": time.perf_counter() - started, "baseline": baseline, "what_if": fixed}


CONTENDERS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "driftwarden": run_driftwarden,
    "floor": run_floor,
    "naive": run_naive,
    "registry": run_registry,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one sweep contender.")
    parser.add_argument("name", choices=sorted(CONTENDERS))
    parser.add_argument("--registry", default="")
    parser.add_argument("--yaml-registry", default="")
    parser.add_argument("--what-if", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    result = CONTENDERS[args.name](args)
    result["peak_rss_mb"] = peak_rss_mb()
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
