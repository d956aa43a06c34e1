"""``driftwarden demo``: an emulated account seeded from the registry, drift made through the
ordinary AWS APIs by several people, and driftwarden catching it live: reverting ``enforce``
entries within a second, alerting on ``alert`` entries and on trusted actors, posting to a local
Slack stand-in and to SNS, ignoring its own writes, and finally undoing one revert.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

import boto3
from rich.console import Console
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from chalicelib.audit.render import DECISION_STYLE, report_renderables, resource_details
from chalicelib.aws import client_config
from chalicelib.config import Settings
from chalicelib.local.emulator import DEMO_ACCOUNT, DEMO_REGION, Emulator, emulator
from chalicelib.local.event_source import Identity, RecordingEventSource
from chalicelib.local.seed import seed_account
from chalicelib.local.slack_server import SlackStandIn, render_text
from chalicelib.models import AccountContext, Decision
from chalicelib.registry.loader import load_directory
from chalicelib.registry.store import publish
from chalicelib.wiring import Wiring

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from boto3.session import Session

    from chalicelib.respond import EventOutcome

OTHER_ACCOUNT = "210987654321"
REGISTRY_BUCKET = f"driftwarden-registry-{DEMO_ACCOUNT}"
JOURNAL_BUCKET = f"driftwarden-journal-{DEMO_ACCOUNT}"
DRIFTWARDEN_ARN = f"arn:aws:sts::{DEMO_ACCOUNT}:assumed-role/driftwarden/remediator"
PIPELINE_ROLE = f"arn:aws:iam::{DEMO_ACCOUNT}:role/terraform-pipeline"


@dataclass(frozen=True, slots=True)
class Persona:
    """Somebody who changes the account: an access key the local CloudTrail maps to an ARN."""

    name: str
    access_key: str
    arn: str

    def session(self) -> Session:
        return boto3.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key="demo-secret",
            region_name=DEMO_REGION,
        )


DRIFTWARDEN = Persona("driftwarden", "AKIADRIFTWARDEN00001", DRIFTWARDEN_ARN)
ALICE = Persona(
    "alice (data engineer)",
    "AKIAALICE00000000001",
    f"arn:aws:sts::{DEMO_ACCOUNT}:assumed-role/data-engineer/alice@example.com",
)
BOB = Persona("bob (contractor)", "AKIABOB0000000000001", f"arn:aws:iam::{DEMO_ACCOUNT}:user/bob")
CAROL = Persona(
    "carol (BI admin)",
    "AKIACAROL00000000001",
    f"arn:aws:sts::{DEMO_ACCOUNT}:assumed-role/bi-admin/carol@example.com",
)
PIPELINE = Persona(
    "terraform pipeline (trusted)",
    "AKIAPIPELINE00000001",
    f"arn:aws:sts::{DEMO_ACCOUNT}:assumed-role/terraform-pipeline/run-4711",
)
ERIN = Persona(
    "erin (AWS CLI)",
    "AKIAERIN000000000001",
    f"arn:aws:sts::{DEMO_ACCOUNT}:assumed-role/platform-admin/erin@example.com",
)
PERSONAS = (DRIFTWARDEN, ALICE, BOB, CAROL, PIPELINE, ERIN)


@dataclass(frozen=True, slots=True)
class Drift:
    """One change somebody makes behind the registry's back."""

    who: Persona
    call: str
    target: str
    story: str
    apply: Callable[[Session], Any]


def _doc(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _role_arn(name: str) -> str:
    return f"arn:aws:iam::{DEMO_ACCOUNT}:role/service-role/{name}"


def demo_drifts() -> list[Drift]:
    """The drifts the demo makes, each through one ordinary AWS API call."""

    def extra_inline(session: Session) -> None:
        session.client("iam").put_role_policy(
            RoleName="dw-quicksight-athena",
            PolicyName="temp-debug",
            PolicyDocument=_doc([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
        )

    def detach(session: Session) -> None:
        session.client("iam").detach_role_policy(
            RoleName="dw-quicksight-athena",
            PolicyArn=f"arn:aws:iam::{DEMO_ACCOUNT}:policy/dw-athena-results-bucket",
        )

    def broader_trust(session: Session) -> None:
        session.client("iam").update_assume_role_policy(
            RoleName="dw-quicksight-s3",
            PolicyDocument=_doc(
                [
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
                ]
            ),
        )

    def attach_broad(session: Session) -> None:
        iam = session.client("iam")
        created = iam.create_policy(
            PolicyName="contractor-redshift-admin",
            PolicyDocument=_doc([{"Effect": "Allow", "Action": "redshift:*", "Resource": "*"}]),
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
            PolicyDocument=_doc(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "cleanrooms.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ]
            ),
        )

    def pipeline_tags(session: Session) -> None:
        session.client("iam").tag_role(
            RoleName="dw-quicksight-athena", Tags=[{"Key": "team", "Value": "marketing"}]
        )

    return [
        Drift(
            ALICE,
            "iam:PutRolePolicy",
            "role dw-quicksight-athena",
            "adds an inline policy 'temp-debug' granting s3:* on everything",
            extra_inline,
        ),
        Drift(
            ALICE,
            "iam:DetachRolePolicy",
            "role dw-quicksight-athena",
            "detaches the managed policy dw-athena-results-bucket",
            detach,
        ),
        Drift(
            BOB,
            "iam:UpdateAssumeRolePolicy",
            "role dw-quicksight-s3",
            f"lets account {OTHER_ACCOUNT} assume the role as well as QuickSight",
            broader_trust,
        ),
        Drift(
            BOB,
            "iam:AttachRolePolicy",
            "role dw-quicksight-redshift (alert mode)",
            "attaches a new managed policy granting redshift:* on everything",
            attach_broad,
        ),
        Drift(
            CAROL,
            "quicksight:UpdateDataSource",
            "data source dw-sales-athena",
            "points the Athena data source at the S3 run-as role",
            repoint_data_source,
        ),
        Drift(
            CAROL,
            "iam:UpdateAssumeRolePolicy",
            "role dw-cleanrooms-read-data",
            "rewrites the Clean Rooms trust policy without its confused-deputy conditions",
            drop_confused_deputy,
        ),
        Drift(
            PIPELINE,
            "iam:TagRole",
            "role dw-quicksight-athena",
            "re-tags the role team=marketing (a trusted actor: alerted, not reverted)",
            pipeline_tags,
        ),
    ]


def _cli_drift(emu: Emulator) -> Drift | None:
    """The same kind of change made with the AWS CLI, when it is installed."""
    aws = shutil.which("aws")
    if aws is None:
        return None

    def run(_: Session) -> None:
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": ERIN.access_key,
            "AWS_SECRET_ACCESS_KEY": "demo-secret",
            "AWS_ENDPOINT_URL": emu.endpoint,
            "AWS_DEFAULT_REGION": DEMO_REGION,
        }
        env.pop("AWS_SESSION_TOKEN", None)
        subprocess.run(
            [aws, "iam", "put-role-policy", "--role-name", "dw-quicksight-s3",
             "--policy-name", "cli-wildcard", "--policy-document",
             _doc([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]),
             "--endpoint-url", emu.endpoint],
            env=env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    return Drift(ERIN, "aws iam put-role-policy", "role dw-quicksight-s3",
                 "adds an inline policy allowing iam:PassRole on every role", run)  # fmt: skip


def _outcome_line(outcome: EventOutcome, elapsed_ms: float) -> Text:
    parts: list[Any] = [
        ("    -> ", "bold"),
        (str(outcome.decision), DECISION_STYLE[outcome.decision]),
    ]
    for response in outcome.responses:
        if response.action is not None and response.action.status == "applied":
            parts.append(f" {response.result.ref}: {', '.join(response.action.calls)}")
            parts.append((f" (action {response.action.action_id})", "dim"))
        elif response.decision is not Decision.IN_SYNC:
            parts.append(f" {response.result.ref}")
        if response.reason:
            parts.append((f" [{response.reason}]", "dim"))
    if outcome.reason:
        parts.append((f" [{outcome.reason}]", "dim"))
    parts.append((f"  {elapsed_ms:.0f} ms after the call", "dim"))
    return Text.assemble(*parts)


def run_demo(registry_dir: Path, out: TextIO, keep_running: bool = False) -> int:
    """Run the whole demonstration; returns 0 when every step behaved as expected."""
    interactive = hasattr(out, "isatty") and out.isatty()
    console = Console(file=out, highlight=False, width=None if interactive else 120)
    started = time.monotonic()
    console.print(
        Panel.fit(
            "driftwarden demo: an emulated AWS account held to the registry in "
            f"[bold]{registry_dir}[/]\nNo AWS account is used: everything runs against an "
            "embedded emulator and a stand-in Slack on 127.0.0.1.",
            title="driftwarden",
        )
    )
    registry = load_directory(registry_dir)
    checks: dict[str, bool] = {}
    with emulator() as emu, SlackStandIn() as slack:
        console.print(f"[dim]emulator on {emu.endpoint}, Slack stand-in on {slack.url}[/]")
        admin = DRIFTWARDEN.session()
        s3 = admin.client("s3", config=client_config())

        console.print(Rule("1. publish the registry"))
        for bucket in (REGISTRY_BUCKET, JOURNAL_BUCKET):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        result = publish(s3, REGISTRY_BUCKET, "registry", registry, datetime.now(UTC))
        location = f"s3://{REGISTRY_BUCKET}/registry"
        console.print(
            f"published {len(registry.entries)} entries to {location} "
            f"(snapshot {result.snapshot_key})"
        )

        console.print(Rule("2. seed the sample account from the registry"))
        ctx = AccountContext(DEMO_ACCOUNT, DEMO_REGION)
        created = seed_account(
            registry.resolve(ctx),
            admin.client("iam", config=client_config()),
            admin.client("quicksight", config=client_config()),
        )
        console.print(f"created {len(created)} resources: " + ", ".join(created))
        sns = admin.client("sns", config=client_config())
        sqs = admin.client("sqs", config=client_config())
        topic = sns.create_topic(Name="driftwarden-alerts")["TopicArn"]
        queue = sqs.create_queue(QueueName="driftwarden-alerts-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

        settings = Settings(
            registry=location,
            journal=f"s3://{JOURNAL_BUCKET}/journal",
            sns_topic_arn=topic,
            slack_webhook_url=slack.url,
            trusted_actors=(PIPELINE_ROLE,),
            self_arns=(DRIFTWARDEN_ARN,),
        )
        wiring = Wiring(settings, admin)

        console.print(Rule("3. audit: the account matches the registry"))
        clean = wiring.pipeline.audit(wiring.account)
        for renderable in report_renderables(clean):
            console.print(renderable)
        checks["clean audit"] = clean.exit_code() == 0

        console.print(
            Rule("4. live: drift made through the AWS APIs, caught from CloudTrail events")
        )
        console.print(
            "[dim]The emulator records no CloudTrail; a local event source turns each mutating "
            "request it served into the EventBridge event AWS would deliver.[/]"
        )
        emu.post("/moto-api/recorder/reset-recording")
        emu.post("/moto-api/recorder/start-recording")
        source = RecordingEventSource(
            fetch=lambda: emu.get("/moto-api/recorder/download-recording").decode(),
            identities={p.access_key: Identity(p.arn, DEMO_ACCOUNT) for p in PERSONAS},
            account=DEMO_ACCOUNT,
            region=DEMO_REGION,
        )
        drifts = demo_drifts()
        cli_drift = _cli_drift(emu)
        if cli_drift is not None:
            drifts.append(cli_drift)
        decisions: list[Decision] = []
        first_action: str | None = None
        for drift in drifts:
            console.print(
                Text.assemble(
                    ("  ", ""),
                    (drift.who.name, "bold"),
                    " calls ",
                    (drift.call, "cyan"),
                    f" on {drift.target}: {drift.story}",
                )
            )
            called = time.monotonic()
            drift.apply(drift.who.session())
            # Feed every event the call produced, then driftwarden's own writes (ignored).
            pending = source.poll()
            while pending:
                event = pending.pop(0)
                outcome = wiring.responder.handle_event(event)
                elapsed = (time.monotonic() - called) * 1000
                decisions.append(outcome.decision)
                detail = event["detail"]
                label = f"{detail['eventSource'].split('.')[0]}:{detail['eventName']}"
                console.print(
                    Text(f"    event {label} by {detail['userIdentity']['arn']}", style="dim")
                )
                console.print(_outcome_line(outcome, elapsed))
                for response in outcome.responses:
                    action = response.action
                    if first_action is None and action is not None and action.status == "applied":
                        first_action = action.action_id
                pending.extend(source.poll())
        checks["reverted"] = Decision.REVERTED in decisions
        checks["alerted"] = Decision.ALERTED in decisions
        checks["own writes ignored"] = Decision.IGNORED in decisions
        checks["nothing failed"] = Decision.FAILED not in decisions

        console.print(Rule("5. what on-call received"))
        console.print(f"[bold]Slack[/] (stand-in webhook): {len(slack.messages)} message(s)")
        for payload in slack.messages:
            console.print(Panel(render_text(payload), expand=False))
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = received.get("Messages", [])
        table = Table(title=f"SNS {topic} (read back through an SQS subscription)")
        for column in ("subject", "severity", "decision", "actor"):
            table.add_column(column, overflow="fold")
        for message in messages:
            envelope = json.loads(message["Body"])
            body = json.loads(envelope["Message"])
            attributes = envelope.get("MessageAttributes", {})
            table.add_row(
                envelope.get("Subject", ""),
                attributes.get("severity", {}).get("Value", ""),
                attributes.get("decision", {}).get("Value", ""),
                str(body.get("actor") or ""),
            )
        console.print(table)
        checks["slack"] = bool(slack.messages)
        checks["sns"] = bool(messages)

        console.print(Rule("6. audit: only drift in alert mode or by a trusted actor is left"))
        after = wiring.pipeline.audit(wiring.account)
        for renderable in report_renderables(after):
            console.print(renderable)

        if first_action is not None:
            console.print(Rule(f"7. undo: driftwarden undo {first_action}"))
            record = wiring.responder.undo(first_action)
            console.print(
                f"restored the state saved before {first_action} with {record.action_id}: "
                f"{', '.join(record.calls)}"
            )
            undone = wiring.audit(f"{record.resource.kind}/{record.resource.id}")
            for restored in undone.resources:
                console.print(resource_details(restored))
            checks["undo"] = record.status == "applied"
            source.poll()  # the undo's own writes are driftwarden's: not fed back

        elapsed = time.monotonic() - started
        ok = all(checks.values())
        failed = [name for name, passed in checks.items() if not passed]
        verdict = (
            "[bold green]demo complete[/]"
            if ok
            else f"[bold red]demo did not behave: {', '.join(failed)}[/]"
        )
        console.print(f"{verdict} in {elapsed:.1f}s")
        if keep_running:
            console.print(
                f"emulator still running: export AWS_ENDPOINT_URL={emu.endpoint} "
                "AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
                f"AWS_REGION={DEMO_REGION}; driftwarden audit --registry {location}"
                "   (Ctrl-C to stop)"
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0 if ok else 1
