"""Per-event cost: warm-handler latency and AWS calls per event kind, the registry's ETag
re-reads, and the first event of a fresh process (cold start).

``python -m bench.events warm ...`` builds one ``Wiring`` (a warm container), publishes the
registry to S3, then for each event kind makes the drift itself through moto directly (never
counted), hands the EventBridge event to ``Wiring(...).responder.handle_event`` and reads the
proxy's call counts for that event alone.

``python -m bench.events first-event ...`` imports ``app`` in a fresh process and invokes the
Chalice handler ``on_iam_change`` twice: the first (cold) and the second (warm) event.
"""

from __future__ import annotations

import time

_PROCESS_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from bench import workload  # noqa: E402
from bench.emulator import control  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

REGISTRY_BUCKET = "bench-registry"
REGISTRY_PREFIX = "registry"
JOURNAL_BUCKET = "bench-journal"
JOURNAL_PREFIX = "journal"
EXTRA_POLICY = "bench-extra-admin"
ACTOR = "arn:aws:sts::123456789012:assumed-role/platform-admin/alice@example.com"

_WRITE_PREFIXES = ("Put", "Update", "Attach", "Detach", "Delete", "Create", "Set", "Tag", "Untag")


def settings_env() -> dict[str, str]:
    """The DRIFTWARDEN_* settings of the benchmark's Lambda (reverts allowed, high limit)."""
    return {
        "DRIFTWARDEN_REGISTRY": f"s3://{REGISTRY_BUCKET}/{REGISTRY_PREFIX}",
        "DRIFTWARDEN_JOURNAL": f"s3://{JOURNAL_BUCKET}/{JOURNAL_PREFIX}",
        "DRIFTWARDEN_MAX_REVERTS": "1000",
        "POWERTOOLS_SERVICE_NAME": "driftwarden",
        "POWERTOOLS_METRICS_NAMESPACE": "Driftwarden",
    }


def envelope(source: str, event_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """An EventBridge ``AWS API Call via CloudTrail`` event made by a platform admin."""
    event_id = str(uuid.uuid4())
    service = source.split(".", 1)[1]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": source,
        "account": workload.ACCOUNT,
        "time": "2024-05-02T09:30:00Z",
        "region": workload.REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROA3EXAMPLE4ROLEID5:alice@example.com",
                "arn": ACTOR,
                "accountId": workload.ACCOUNT,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": "AROA3EXAMPLE4ROLEID5",
                        "arn": f"arn:aws:iam::{workload.ACCOUNT}:role/platform-admin",
                        "accountId": workload.ACCOUNT,
                        "userName": "platform-admin",
                    }
                },
            },
            "eventTime": "2024-05-02T09:30:00Z",
            "eventSource": f"{service}.amazonaws.com",
            "eventName": event_name,
            "awsRegion": workload.REGION,
            "sourceIPAddress": "198.51.100.23",
            "userAgent": "bench",
            "requestParameters": dict(params),
            "responseElements": None,
            "requestID": str(uuid.uuid4()),
            "eventID": event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": workload.ACCOUNT,
            "eventCategory": "Management",
        },
    }


def category(operation: str) -> str:
    """``read``, ``write``, ``registry``, ``journal`` or ``other`` for a proxy operation name."""
    service, _, name = operation.partition(":")
    if service == "s3":
        if "[registry-" in name:
            return "registry"
        if "[journal]" in name:
            return "journal"
        return "other"
    if service in ("iam", "quicksight", "cleanrooms"):
        return "write" if name.startswith(_WRITE_PREFIXES) else "read"
    return "other"


def split(calls: Mapping[str, int]) -> dict[str, int]:
    """Call counts summed by :func:`category`."""
    out = {"read": 0, "write": 0, "registry": 0, "journal": 0, "other": 0}
    for operation, count in calls.items():
        out[category(operation)] += count
    return out


# ------------------------------------------------------------------------------ drift kinds


class Drifter:
    """Makes drift through moto directly (never through the proxy, so never counted)."""

    def __init__(self, moto_url: str, roles: int) -> None:
        import boto3

        self.roles = roles
        session = boto3.Session(
            region_name=workload.REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.iam = session.client("iam", endpoint_url=moto_url)
        self.quicksight = session.client("quicksight", endpoint_url=moto_url)
        self.s3 = session.client("s3", endpoint_url=moto_url)

    def inline_policy_put(self, index: int) -> dict[str, Any]:
        name = workload.role_name(index)
        document = workload.role_spec(index, workload.REAL)["inline_policies"]["data-access"]
        document["Statement"][3]["Action"] = ["s3:GetObject", "s3:DeleteObject"]
        text = json.dumps(document)
        self.iam.put_role_policy(RoleName=name, PolicyName="data-access", PolicyDocument=text)
        params = {"roleName": name, "policyName": "data-access", "policyDocument": text}
        return envelope("aws.iam", "PutRolePolicy", params)

    def trust_change(self, index: int) -> dict[str, Any]:
        name = workload.role_name(index)
        trust = workload.role_spec(index, workload.REAL)["trust_policy"]
        trust["Statement"].append(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
                "Action": "sts:AssumeRole",
            }
        )
        text = json.dumps(trust)
        self.iam.update_assume_role_policy(RoleName=name, PolicyDocument=text)
        return envelope(
            "aws.iam", "UpdateAssumeRolePolicy", {"roleName": name, "policyDocument": text}
        )

    def attach(self, index: int) -> dict[str, Any]:
        name = workload.role_name(index)
        arn = workload.policy_arn(EXTRA_POLICY, workload.REAL)
        self.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return envelope("aws.iam", "AttachRolePolicy", {"roleName": name, "policyArn": arn})

    def data_source_role_change(self, index: int) -> dict[str, Any]:
        ident = workload.data_source_id(index)
        spec = workload.data_source_spec(index, self.roles, workload.REAL)
        parameters = json.loads(json.dumps(spec["parameters"]))
        other = workload.role_arn(
            workload.quicksight_roles(min(self.roles, 100))[-1], workload.REAL
        )
        for value in parameters.values():
            target = value.get("IAMParameters", value)
            target["RoleArn"] = other
        self.quicksight.update_data_source(
            AwsAccountId=workload.ACCOUNT,
            DataSourceId=ident,
            Name=spec["name"],
            DataSourceParameters=parameters,
        )
        params = {"awsAccountId": workload.ACCOUNT, "dataSourceId": ident, "name": spec["name"]}
        return envelope("aws.quicksight", "UpdateDataSource", params)

    def in_sync(self, index: int) -> dict[str, Any]:
        """An event about a resource that is in sync (nothing to revert)."""
        name = workload.role_name(index)
        params = {"roleName": name, "policyName": "query-results", "policyDocument": "{}"}
        return envelope("aws.iam", "PutRolePolicy", params)


EVENT_KINDS: tuple[tuple[str, str], ...] = (
    ("inline policy put", "inline_policy_put"),
    ("trust change", "trust_change"),
    ("attach", "attach"),
    ("data source role change", "data_source_role_change"),
)


def set_up(moto_url: str, registry_dir: str, roles: int) -> None:
    """Buckets, the published registry and the extra policy the ``attach`` drift uses."""
    from datetime import UTC, datetime

    from chalicelib.registry.loader import load_directory
    from chalicelib.registry.store import publish

    drifter = Drifter(moto_url, roles)
    for bucket in (REGISTRY_BUCKET, JOURNAL_BUCKET):
        drifter.s3.create_bucket(Bucket=bucket)
    drifter.s3.put_bucket_versioning(
        Bucket=REGISTRY_BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    publish(
        drifter.s3,
        REGISTRY_BUCKET,
        REGISTRY_PREFIX,
        load_directory(registry_dir),
        datetime.now(UTC),
    )
    drifter.iam.create_policy(
        PolicyName=EXTRA_POLICY,
        Path=workload.POLICY_PATH,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )


def republish(moto_url: str, registry_dir: str) -> str:
    """Publish a registry with a new digest (``default_mode`` set: no entry changes meaning)."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from chalicelib.models import Mode
    from chalicelib.registry.loader import load_directory
    from chalicelib.registry.model import RegistrySettings
    from chalicelib.registry.store import publish

    registry = load_directory(registry_dir)
    changed = replace(registry, settings=RegistrySettings(default_mode=Mode.ALERT))
    result = publish(
        Drifter(moto_url, 0).s3, REGISTRY_BUCKET, REGISTRY_PREFIX, changed, datetime.now(UTC)
    )
    return result.digest


# ------------------------------------------------------------------------------ measuring


def _measured(
    proxy_url: str, handle: Callable[[], Any], timer: Any
) -> tuple[float, float, dict[str, int], dict[str, int], Any]:
    control(proxy_url, "reset", "POST")
    aws_before = timer.total
    started = time.perf_counter()
    outcome = handle()
    elapsed = time.perf_counter() - started
    counts = control(proxy_url, "counts")
    return elapsed, timer.total - aws_before, counts["calls"], counts["statuses"], outcome


def run_warm(args: argparse.Namespace) -> dict[str, Any]:
    import os

    from bench.contenders import CallTimer
    from chalicelib.aws import make_session
    from chalicelib.config import Settings
    from chalicelib.remediation.journal import open_journal
    from chalicelib.wiring import Wiring

    os.environ.update(settings_env())
    drifter = Drifter(args.moto, args.roles)
    timer = CallTimer()
    session = make_session()
    timer.attach(session)
    wiring = Wiring(Settings.from_env(), session)
    responder = wiring.responder
    journals = iter(range(1_000_000))

    def fresh_journal() -> None:
        # Each measured event starts as the first revert of the hour: an empty journal prefix.
        location = f"s3://{JOURNAL_BUCKET}/{JOURNAL_PREFIX}-{next(journals)}"
        responder.journal = open_journal(location, lambda: wiring.client("s3"))

    # Warm the container: clients, caller identity, registry, code paths.
    warm_up = _measured(args.proxy, lambda: responder.handle_event(drifter.in_sync(0)), timer)

    kinds: list[dict[str, Any]] = []
    index = 1
    for label, method in EVENT_KINDS:
        runs = []
        event_name = ""
        for rep in range(args.reps):
            target = rep if method == "data_source_role_change" else index
            index += 1
            event = getattr(drifter, method)(target)
            event_name = event["detail"]["eventName"]
            fresh_journal()
            runs.append(_run(args, responder, event, timer))
        ordered = sorted(runs, key=lambda r: r["latency_s"])
        kinds.append(
            {
                "kind": label,
                "event_name": event_name,
                "runs": runs,
                "median": ordered[len(ordered) // 2],
                "latency_median_s": statistics.median(r["latency_s"] for r in runs),
            }
        )

    # Journal growth: successive reverts within the hour, into one journal.
    fresh_journal()
    growth = []
    for target in range(1, min(args.growth, args.roles - 1) + 1):
        growth.append(_run(args, responder, drifter.inline_policy_put(target), timer))

    etag = measure_etag(args, drifter, responder)
    return {
        "registry_roles": args.roles,
        "reps": args.reps,
        "warm_up": {"latency_s": warm_up[0], "calls": warm_up[2]},
        "kinds": kinds,
        "journal_growth": [
            {"reverts_before": n, "journal_calls": run["split"]["journal"], "calls": run["calls"]}
            for n, run in enumerate(growth)
        ],
        "etag": etag,
        "etag_events": args.etag_events,
    }


def _run(args: argparse.Namespace, responder: Any, event: Any, timer: Any) -> dict[str, Any]:
    elapsed, aws, calls, statuses, outcome = _measured(
        args.proxy, lambda: responder.handle_event(event), timer
    )
    if str(outcome.decision) != "reverted":
        raise RuntimeError(
            f"{event['detail']['eventName']}: expected a revert, got {outcome.decision} "
            f"({outcome.reason}; {[r.reason for r in outcome.responses]})"
        )
    return {
        "latency_s": elapsed,
        "aws_s": aws,
        "decision": str(outcome.decision),
        "calls": calls,
        "statuses": statuses,
        "split": split(calls),
        "revert_calls": [list(r.action.calls) for r in outcome.responses if r.action is not None],
    }


def measure_etag(args: argparse.Namespace, drifter: Drifter, responder: Any) -> dict[str, Any]:
    """S3 reads of the registry across ``--etag-events`` in-sync events, then as many again
    after a republish."""

    def ten() -> dict[str, Any]:
        control(args.proxy, "reset", "POST")
        for _ in range(args.etag_events):
            outcome = responder.handle_event(drifter.in_sync(0))
            if str(outcome.decision) != "in_sync":
                raise RuntimeError(f"expected in_sync, got {outcome.decision}: {outcome.reason}")
        counts = control(args.proxy, "counts")
        registry_calls = {k: v for k, v in counts["calls"].items() if category(k) == "registry"}
        not_modified = {
            k: v for k, v in counts["statuses"].items() if "[registry-" in k and k.endswith("304")
        }
        return {"calls": registry_calls, "not_modified": not_modified}

    unchanged = ten()
    digest = republish(args.moto, args.registry)
    after = ten()
    return {"no_republish": unchanged, "after_republish": after, "new_digest": digest}


class _Context:
    """The attributes of a Lambda context that powertools reads."""

    function_name = "driftwarden-dev-on_iam_change"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = (
        f"arn:aws:lambda:{workload.REGION}:{workload.ACCOUNT}:function:{function_name}"
    )
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/driftwarden-dev-on_iam_change"
    log_stream_name = "bench"


def run_first_event(args: argparse.Namespace) -> dict[str, Any]:
    """Import ``app`` in this fresh process and invoke ``on_iam_change`` twice."""
    events = json.loads(Path(args.events).read_text())
    before_import = time.perf_counter()
    import app

    imported = time.perf_counter()
    timings = []
    for event in events:
        control(args.proxy, "reset", "POST")
        started = time.perf_counter()
        result = app.on_iam_change(event, _Context())
        elapsed = time.perf_counter() - started
        counts = control(args.proxy, "counts")
        timings.append(
            {
                "latency_s": elapsed,
                "decision": result.get("decision"),
                "calls": counts["calls"],
                "split": split(counts["calls"]),
            }
        )
    return {
        "interpreter_to_import_s": before_import - _PROCESS_START,
        "import_app_s": imported - before_import,
        "first_event": timings[0],
        "second_event": timings[1] if len(timings) > 1 else None,
        "import_plus_first_event_s": imported - before_import + timings[0]["latency_s"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Per-event benchmark.")
    parser.add_argument("mode", choices=("warm", "first-event"))
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--moto", default="")
    parser.add_argument("--registry", default="")
    parser.add_argument("--roles", type=int, default=0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--events", default="")
    parser.add_argument("--etag-events", type=int, default=10)
    parser.add_argument("--growth", type=int, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    result = run_warm(args) if args.mode == "warm" else run_first_event(args)
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
