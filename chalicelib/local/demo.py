"""``driftwarden demo``: an emulated account seeded from the registry, drift made through the
ordinary AWS APIs, and driftwarden's report of it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule

from chalicelib.audit.render import report_renderables
from chalicelib.aws import client_config, make_session
from chalicelib.config import Settings
from chalicelib.local.emulator import DEMO_ACCOUNT, emulator
from chalicelib.local.seed import seed_account
from chalicelib.models import AccountContext
from chalicelib.registry.loader import load_directory
from chalicelib.registry.store import publish
from chalicelib.wiring import Wiring

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from boto3.session import Session

OTHER_ACCOUNT = "210987654321"
REGISTRY_BUCKET = f"driftwarden-registry-{DEMO_ACCOUNT}"


@dataclass(frozen=True, slots=True)
class Drift:
    """One change somebody makes behind the registry's back."""

    actor: str
    call: str
    target: str
    story: str
    apply: Callable[[Session], Any]


def _trust(principal: dict[str, Any], conditions: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "sts:AssumeRole",
    }
    if conditions:
        statement["Condition"] = conditions
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _role_arn(name: str) -> str:
    return f"arn:aws:iam::{DEMO_ACCOUNT}:role/service-role/{name}"


def demo_drifts() -> list[Drift]:
    """The drifts the demo makes, each through one ordinary AWS API call."""

    def extra_inline(session: Session) -> None:
        session.client("iam").put_role_policy(
            RoleName="dw-quicksight-athena",
            PolicyName="temp-debug",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )

    def broader_trust(session: Session) -> None:
        session.client("iam").update_assume_role_policy(
            RoleName="dw-quicksight-s3",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "quicksight.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        },
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                            "Action": "sts:AssumeRole",
                        },
                    ],
                }
            ),
        )

    def detach(session: Session) -> None:
        session.client("iam").detach_role_policy(
            RoleName="dw-quicksight-athena",
            PolicyArn=f"arn:aws:iam::{DEMO_ACCOUNT}:policy/dw-athena-results-bucket",
        )

    def attach_broad(session: Session) -> None:
        iam = session.client("iam")
        created = iam.create_policy(
            PolicyName="contractor-redshift-admin",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "redshift:*", "Resource": "*"}],
                }
            ),
        )
        iam.attach_role_policy(
            RoleName="dw-quicksight-redshift", PolicyArn=created["Policy"]["Arn"]
        )

    def repoint_data_source(session: Session) -> None:
        session.client("quicksight").update_data_source(
            AwsAccountId=DEMO_ACCOUNT,
            DataSourceId="dw-sales-athena",
            Name="Sales (Athena)",
            DataSourceParameters={
                "AthenaParameters": {
                    "WorkGroup": "primary",
                    "RoleArn": _role_arn("dw-quicksight-s3"),
                }
            },
        )

    def drop_confused_deputy(session: Session) -> None:
        session.client("iam").update_assume_role_policy(
            RoleName="dw-cleanrooms-read-data",
            PolicyDocument=_trust({"Service": "cleanrooms.amazonaws.com"}),
        )

    return [
        Drift(
            "alice (data engineer)",
            "iam:PutRolePolicy",
            "role dw-quicksight-athena",
            "adds an inline policy 'temp-debug' granting s3:* on everything",
            extra_inline,
        ),
        Drift(
            "alice (data engineer)",
            "iam:DetachRolePolicy",
            "role dw-quicksight-athena",
            "detaches the managed policy dw-athena-results-bucket",
            detach,
        ),
        Drift(
            "bob (contractor)",
            "iam:UpdateAssumeRolePolicy",
            "role dw-quicksight-s3",
            f"lets account {OTHER_ACCOUNT} assume the role as well as QuickSight",
            broader_trust,
        ),
        Drift(
            "bob (contractor)",
            "iam:AttachRolePolicy",
            "role dw-quicksight-redshift",
            "attaches a new managed policy granting redshift:* on everything",
            attach_broad,
        ),
        Drift(
            "carol (BI admin)",
            "quicksight:UpdateDataSource",
            "data source dw-sales-athena",
            "points the Athena data source at the S3 run-as role",
            repoint_data_source,
        ),
        Drift(
            "dave (platform)",
            "iam:UpdateAssumeRolePolicy",
            "role dw-cleanrooms-read-data",
            "rewrites the Clean Rooms trust policy without its confused-deputy conditions",
            drop_confused_deputy,
        ),
    ]


def run_demo(registry_dir: Path, out: TextIO, keep_running: bool = False) -> int:
    """Run the whole demonstration; returns 0 when every step behaved as expected."""
    interactive = hasattr(out, "isatty") and out.isatty()
    console = Console(file=out, highlight=False, width=None if interactive else 120)
    started = time.monotonic()
    console.print(
        Panel.fit(
            "driftwarden demo: an emulated AWS account held to the registry in "
            f"[bold]{registry_dir}[/]\nNo AWS account is used: everything runs against an "
            "embedded emulator on 127.0.0.1.",
            title="driftwarden",
        )
    )
    registry = load_directory(registry_dir)
    with emulator() as emu:
        console.print(f"[dim]emulator listening on {emu.endpoint}[/]")
        session = make_session()
        s3 = session.client("s3", config=client_config())
        console.print(Rule("1. publish the registry"))
        s3.create_bucket(Bucket=REGISTRY_BUCKET)
        s3.put_bucket_versioning(
            Bucket=REGISTRY_BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
        result = publish(s3, REGISTRY_BUCKET, "registry", registry, datetime.now(UTC))
        location = f"s3://{REGISTRY_BUCKET}/registry"
        console.print(
            f"published {len(registry.entries)} entries to {location} "
            f"(snapshot {result.snapshot_key}, {result.digest[:19]}…)"
        )

        console.print(Rule("2. seed the sample account from the registry"))
        ctx = AccountContext(DEMO_ACCOUNT, session.region_name or "us-east-1")
        desired = registry.resolve(ctx)
        for line in seed_account(
            desired,
            session.client("iam", config=client_config()),
            session.client("quicksight", config=client_config()),
        ):
            console.print(f"  created {line}")

        wiring = Wiring(Settings(registry=location), session)
        console.print(Rule("3. audit: the account matches the registry"))
        clean = wiring.pipeline.audit(wiring.account)
        for renderable in report_renderables(clean):
            console.print(renderable)

        console.print(Rule("4. drift: changes made through the ordinary AWS APIs"))
        for drift in demo_drifts():
            drift.apply(session)
            console.print(
                f"  [bold]{drift.actor}[/] calls [cyan]{drift.call}[/] on {drift.target}: "
                f"{drift.story}"
            )

        console.print(Rule("5. audit: driftwarden reports every drift"))
        drifted = wiring.pipeline.audit(wiring.account)
        for renderable in report_renderables(drifted):
            console.print(renderable)

        elapsed = time.monotonic() - started
        ok = clean.exit_code() == 0 and drifted.exit_code() == 3
        verdict = "[bold green]demo complete[/]" if ok else "[bold red]demo did not behave[/]"
        console.print(f"{verdict} in {elapsed:.1f}s")
        if keep_running:
            console.print(
                f"emulator still running: export AWS_ENDPOINT_URL={emu.endpoint} "
                "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1; "
                f"driftwarden audit --registry {location}   (Ctrl-C to stop)"
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0 if ok else 1
