"""Security checks: the audit endpoint needs IAM auth, secrets stay out of logs and messages,
registry guardrails refuse escalation, driftwarden never manages its own roles, and the Lambda
policies pass a static IAM linter (parliament)."""

from __future__ import annotations

import functools
import io
import json
import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from chalicelib.config import Settings
from chalicelib.local.slack_server import SlackStandIn
from chalicelib.models import Decision
from chalicelib.notify.slack import SlackNotifier, load_slack_secret
from chalicelib.notify.sns import SnsNotifier
from chalicelib.remediation.journal import JournalEntry
from chalicelib.wiring import Wiring
from tests.conftest import ACCOUNT, ROOT, run_cli
from tests.events import api_call
from tests.fakes import CallLog, SnsInbox, build_wiring, copy_registry, policy_doc, seed_registry
from tests.functional.test_package import package
from tests.reliability.faults import refuse
from tests.reliability.figures import CaseFigures

ATHENA = "dw-quicksight-athena"
S3_ROLE = "dw-quicksight-s3"
ATHENA_FILE = "iam/roles/dw-quicksight-athena.yaml"
RESULTS_POLICY_FILE = "iam/policies/dw-athena-results-bucket.yaml"
WIDE = policy_doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def drift(session: boto3.Session, role: str = ATHENA) -> None:
    session.client("iam").put_role_policy(
        RoleName=role, PolicyName="temp-debug", PolicyDocument=WIDE
    )


def put_event(role: str = ATHENA) -> dict[str, Any]:
    return api_call(
        "aws.iam",
        "PutRolePolicy",
        {"roleName": role, "policyName": "temp-debug", "policyDocument": WIDE},
    )


def write_log(*wirings: Wiring) -> CallLog:
    log = CallLog()
    for wiring in wirings:
        for service in ("iam", "quicksight", "cleanrooms"):
            log.watch(wiring.client(service))
    return log


# ---------------------------------------------------------------------------------------------
# the audit endpoint


#: How API Gateway imports an OpenAPI security scheme into a method's AuthorizationType.
AUTHORIZATION_TYPES = {
    "awsSigv4": "AWS_IAM",
    "cognito_user_pools": "COGNITO_USER_POOLS",
    "custom": "CUSTOM",
}


def authorization_type(swagger: Mapping[str, Any], operation: Mapping[str, Any]) -> str:
    """The AuthorizationType API Gateway gives a method imported from ``swagger``: the auth
    type of the schemes its ``security`` names (``NONE`` when it names none)."""
    names = {name for requirement in operation.get("security") or () for name in requirement}
    if not names:
        return "NONE"
    schemes = swagger.get("securityDefinitions", {})
    types = {
        AUTHORIZATION_TYPES.get(schemes.get(n, {}).get("x-amazon-apigateway-authtype"), "?")
        for n in names
    }
    return types.pop() if len(types) == 1 else "MIXED"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The CloudFormation template ``scripts/package.sh --no-deps`` generates (prod stage)."""
    packaged = package(tmp_path_factory.mktemp("package"))
    return packaged.cfn


class TestAuditEndpoint:
    def test_every_audit_method_is_aws_iam_authorised(self, template: dict[str, Any]) -> None:
        """GIVEN the generated template WHEN each method of the REST API is imported by API
        Gateway THEN every method (all under /audit) gets AuthorizationType AWS_IAM, so an
        unsigned request is refused with 403 before it reaches the Lambda (local mode
        authorises everything, hence the check on the template)."""
        swagger = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
        methods = {
            (path, method.upper()): authorization_type(swagger, operation)
            for path, operations in swagger["paths"].items()
            for method, operation in operations.items()
        }

        assert methods == {
            ("/audit", "GET"): "AWS_IAM",
            ("/audit/{kind}/{resource_id}", "GET"): "AWS_IAM",
        }

    def test_no_other_way_in_bypasses_iam_auth(self, template: dict[str, Any]) -> None:
        """GIVEN the generated template THEN there is no ANY method, no separately declared
        API Gateway method, no Lambda function URL, and every Lambda permission for API
        Gateway is scoped to this API."""
        swagger = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
        resources = template["Resources"]

        assert not any("x-amazon-apigateway-any-method" in ops for ops in swagger["paths"].values())
        assert [n for n, r in resources.items() if r["Type"] == "AWS::ApiGateway::Method"] == []
        assert [n for n, r in resources.items() if r["Type"] == "AWS::Lambda::Url"] == []
        for name, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Permission":
                continue
            props = resource["Properties"]
            if props.get("Principal") == "apigateway.amazonaws.com":
                assert "RestAPI" in json.dumps(props.get("SourceArn")), name


# ---------------------------------------------------------------------------------------------
# secrets


WEBHOOK_SECRET = "T0SECRET/B0SECRET/w3bh00kS3cr3tT0k3n"
BOT_TOKEN = "xoxb-000000000000-0000000000000-b0tS3cr3tT0k3nV4lu3"
SECRET_NAME = "/driftwarden/test/slack"


@pytest.fixture
def logs(capfd: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Everything logged while the test runs: driftwarden's logger at DEBUG (its handlers
    pointed at a buffer), every other logger at INFO through the root logger, and whatever
    reaches the process's stdout and stderr. Yields a function returning it all."""
    buffer = io.StringIO()
    ours = logging.getLogger("driftwarden")
    streams = [h for h in ours.handlers if isinstance(h, logging.StreamHandler)]
    saved = [(h, h.stream) for h in streams]
    ours_level, root = ours.level, logging.getLogger()
    root_level = root.level
    extra = logging.StreamHandler(buffer)
    extra.setLevel(logging.INFO)
    for handler in streams:
        handler.setStream(buffer)
    if not streams:
        ours.addHandler(extra)
    root.addHandler(extra)
    ours.setLevel(logging.DEBUG)
    root.setLevel(logging.INFO)

    def everything() -> str:
        captured = capfd.readouterr()
        return buffer.getvalue() + captured.out + captured.err

    yield everything
    root.removeHandler(extra)
    ours.removeHandler(extra)
    root.setLevel(root_level)
    ours.setLevel(ours_level)
    for handler, stream in saved:
        handler.setStream(stream)


def leaks(secrets: list[str], *texts: str) -> list[str]:
    """The secrets found in any of ``texts``, whole or by a distinctive part (a path segment
    of 12 characters or more: the host of a URL is not secret)."""
    found = []
    for secret in secrets:
        path = urlsplit(secret).path if "://" in secret else secret
        parts = {secret, *[p for p in path.split("/") if len(p) >= 12]}
        if any(part in text for part in parts for text in texts):
            found.append(secret)
    return found


def everything_sent(
    outcomes: list[Any], inbox: SnsInbox, slack: SlackStandIn, journal: list[JournalEntry]
) -> list[str]:
    """Outcomes (as the Lambda returns them), SNS messages, Slack payloads, journal entries."""
    return [
        *(json.dumps(o.to_json()) for o in outcomes),
        *(json.dumps([d.subject, d.body, d.attributes]) for d in inbox.deliveries()),
        *(json.dumps(r.payload) for r in slack.requests),
        *(json.dumps(e.to_json()) for e in journal),
    ]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _webhook_env(session: boto3.Session, slack: SlackStandIn) -> tuple[dict[str, Any], str]:
    url = f"{slack.base}/services/{WEBHOOK_SECRET}"
    return {"slack_webhook_url": url}, url


def _webhook_ssm(session: boto3.Session, slack: SlackStandIn) -> tuple[dict[str, Any], str]:
    url = f"{slack.base}/services/{WEBHOOK_SECRET}"
    session.client("ssm").put_parameter(Name=SECRET_NAME, Value=url, Type="SecureString")
    return {"slack_secret": SECRET_NAME}, url


def _webhook_secrets_manager(
    session: boto3.Session, slack: SlackStandIn
) -> tuple[dict[str, Any], str]:
    url = f"{slack.base}/services/{WEBHOOK_SECRET}"
    value = json.dumps({"webhook_url": url})
    session.client("secretsmanager").create_secret(
        Name="driftwarden/test/slack", SecretString=value
    )
    return {"slack_secret": "secretsmanager:driftwarden/test/slack"}, value


SECRET_SOURCES: dict[str, Callable[[boto3.Session, SlackStandIn], tuple[dict[str, Any], str]]] = {
    "DRIFTWARDEN_SLACK_WEBHOOK_URL": _webhook_env,
    "SSM SecureString webhook": _webhook_ssm,
    "Secrets Manager JSON webhook": _webhook_secrets_manager,
}


class TestSecrets:
    def test_the_scan_finds_a_secret_whole_or_by_its_distinctive_part(self) -> None:
        """The scanner the tests below rely on: the whole URL, or only its secret path
        segment (e.g. in a log line that cut the URL), is a leak; the host alone is not."""
        url = f"https://hooks.slack.com/services/{WEBHOOK_SECRET}"

        assert leaks([url], f"posting to {url}") == [url]
        assert leaks([url], "error near w3bh00kS3cr3tT0k3n") == [url]
        assert leaks([url], "posting to https://hooks.slack.com/services/***") == []

    @pytest.mark.parametrize("source", sorted(SECRET_SOURCES))
    def test_webhook_secret_never_reaches_logs_or_messages(
        self,
        source: str,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        slack: SlackStandIn,
        logs: Callable[[], str],
    ) -> None:
        """GIVEN the Slack webhook URL given directly, in SSM or in Secrets Manager, and
        driftwarden's logger at DEBUG WHEN one drift is reverted and notified, and a second
        one is notified while Slack answers 500 THEN neither the URL nor its secret path
        appears in the logs, stdout/stderr, the outcomes, the SNS messages, the Slack
        payloads or the journal (the failure detail included)."""
        settings, secret = SECRET_SOURCES[source](session, slack)
        wiring = build_wiring(
            session, seeded, journal=journal, sns_topic_arn=inbox.topic_arn, **settings
        )
        drift(session, ATHENA)
        first = wiring.responder.handle_event(put_event(ATHENA))
        slack.fail_next(500)
        drift(session, S3_ROLE)
        second = wiring.responder.handle_event(put_event(S3_ROLE))

        assert [first.decision, second.decision] == [Decision.REVERTED, Decision.REVERTED]
        assert [r.status for r in slack.requests] == [200, 500]
        assert ("slack", "failed") in [(n.channel, n.status) for n in second.all_notifications]
        assert wiring.journal is not None
        sent = everything_sent([first, second], inbox, slack, wiring.journal.recent(EPOCH))
        captured = logs()
        assert "revert applied" in captured and "notification failed" in captured
        assert leaks([secret, WEBHOOK_SECRET], captured, *sent) == []

    def test_unreachable_webhook_failure_detail_does_not_quote_the_url(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        slack: SlackStandIn,
        logs: Callable[[], str],
    ) -> None:
        """GIVEN a webhook URL on a port where nothing listens WHEN a drift is reverted THEN
        Slack is reported failed, and the connection error in the record and the logs does
        not quote the URL."""
        url = f"http://127.0.0.1:{closed_port()}/services/{WEBHOOK_SECRET}"
        wiring = build_wiring(
            session,
            seeded,
            journal=journal,
            sns_topic_arn=inbox.topic_arn,
            slack_webhook_url=url,
        )
        drift(session)

        outcome = wiring.responder.handle_event(put_event())

        assert outcome.decision is Decision.REVERTED
        assert ("slack", "failed") in [(n.channel, n.status) for n in outcome.all_notifications]
        sent = everything_sent([outcome], inbox, slack, [])
        captured = logs()
        assert "notification failed" in captured
        assert leaks([url, WEBHOOK_SECRET], captured, *sent) == []

    def test_bot_token_in_ssm_never_reaches_logs_or_messages(
        self,
        seeded: Path,
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        slack: SlackStandIn,
        logs: Callable[[], str],
    ) -> None:
        """GIVEN a bot token (JSON with token and channel) in an SSM SecureString, read
        through ``load_slack_secret`` as the wiring does (the notifier points at the
        stand-in's Web API) WHEN one drift is notified fine and another while Slack answers
        500 THEN the token is sent only in the Authorization header, never in a payload,
        a log line, an outcome, an SNS message or the journal."""
        value = json.dumps({"token": BOT_TOKEN, "channel": "#drift"})
        session.client("ssm").put_parameter(Name=SECRET_NAME, Value=value, Type="SecureString")
        wiring = build_wiring(session, seeded, journal=journal, sns_topic_arn=inbox.topic_arn)
        load = functools.partial(
            load_slack_secret, SECRET_NAME, wiring.client("ssm"), wiring.client("secretsmanager")
        )
        wiring.notifiers = [
            SnsNotifier(wiring.client("sns"), inbox.topic_arn),
            SlackNotifier(load, api_base_url=slack.api_url),
        ]
        drift(session, ATHENA)
        first = wiring.responder.handle_event(put_event(ATHENA))
        slack.fail_next(500)
        drift(session, S3_ROLE)
        second = wiring.responder.handle_event(put_event(S3_ROLE))

        assert [r.authorization for r in slack.requests] == [f"Bearer {BOT_TOKEN}"] * 2
        assert [r.status for r in slack.requests] == [200, 500]
        assert wiring.journal is not None
        sent = everything_sent([first, second], inbox, slack, wiring.journal.recent(EPOCH))
        captured = logs()
        assert "revert applied" in captured and "notification failed" in captured
        assert leaks([BOT_TOKEN, value], captured, *sent) == []


# ---------------------------------------------------------------------------------------------
# guardrails


def _inline(statement: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["spec"]["inline_policies"]["athena-query"]["Statement"].append(statement)

    return edit


def _managed(statement: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["spec"]["document"]["Statement"].append(statement)

    return edit


def _trust(statement: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["spec"]["trust_policy"]["Statement"].append(
            {"Effect": "Allow", "Action": "sts:AssumeRole", **statement}
        )

    return edit


ESCALATIONS: dict[str, tuple[str, Callable[[dict[str, Any]], None], str]] = {
    "Action *": (
        ATHENA_FILE,
        _inline({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        "GUARD_WILDCARD_ACTION",
    ),
    "Action * in a list": (
        ATHENA_FILE,
        _inline({"Effect": "Allow", "Action": ["s3:GetObject", "*"], "Resource": "arn:aws:s3:::x"}),
        "GUARD_WILDCARD_ACTION",
    ),
    "Action * in a managed policy": (
        RESULTS_POLICY_FILE,
        _managed({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        "GUARD_WILDCARD_ACTION",
    ),
    "iam:*": (
        ATHENA_FILE,
        _inline(
            {"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::${AccountId}:user/*"}
        ),
        "GUARD_IAM_WILDCARD",
    ),
    "IAM:* (case)": (
        ATHENA_FILE,
        _inline(
            {"Effect": "Allow", "Action": "IAM:*", "Resource": "arn:aws:iam::${AccountId}:user/*"}
        ),
        "GUARD_IAM_WILDCARD",
    ),
    "iam:PassRole on *": (
        ATHENA_FILE,
        _inline({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}),
        "GUARD_PASSROLE_ANY",
    ),
    "iam:Pass* on every role": (
        ATHENA_FILE,
        _inline(
            {
                "Effect": "Allow",
                "Action": "iam:Pass*",
                "Resource": "arn:aws:iam::${AccountId}:role/*",
            }
        ),
        "GUARD_PASSROLE_ANY",
    ),
    "NotAction s3:* on *": (
        ATHENA_FILE,
        _inline({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}),
        "GUARD_PASSROLE_ANY",
    ),
    "trust AWS *": (ATHENA_FILE, _trust({"Principal": {"AWS": "*"}}), "GUARD_TRUST_ANY"),
    "trust Principal *": (ATHENA_FILE, _trust({"Principal": "*"}), "GUARD_TRUST_ANY"),
    "trust another account, no condition": (
        ATHENA_FILE,
        _trust({"Principal": {"AWS": "arn:aws:iam::999999999999:root"}}),
        "GUARD_TRUST_ANY",
    ),
    "trust another account's role, no condition": (
        ATHENA_FILE,
        _trust({"Principal": {"AWS": "arn:aws:iam::999999999999:role/partner"}}),
        "GUARD_TRUST_ANY",
    ),
}


def validate(registry: Path) -> dict[str, Any]:
    run = run_cli("validate", "--registry", str(registry), "--json")
    report: dict[str, Any] = run.json()
    report["exit"] = run.code
    return report


def allow(code: str, edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit_and_allow(doc: dict[str, Any]) -> None:
        edit(doc)
        doc["allow"] = [*doc.get("allow", []), code]

    return edit_and_allow


class TestGuardrails:
    @pytest.mark.parametrize("case", sorted(ESCALATIONS))
    def test_escalation_is_refused_unless_explicitly_allowed(
        self, case: str, tmp_path: Path
    ) -> None:
        """GIVEN a registry entry granting an escalation (``*``, ``iam:*``, PassRole on every
        role, a trust policy open to anyone or to another account without a condition) WHEN
        ``driftwarden validate`` runs THEN it exits 1 naming the guardrail; WHEN the entry
        lists that guardrail under ``allow`` THEN that guardrail is no longer reported."""
        file, edit, code = ESCALATIONS[case]

        refused = validate(copy_registry(tmp_path / "refused", {file: edit}))
        allowed = validate(copy_registry(tmp_path / "allowed", {file: allow(code, edit)}))

        assert refused["exit"] == 1
        assert code in {p["code"] for p in refused["problems"] if p["file"] == file}
        assert code not in {p["code"] for p in allowed["problems"]}

    @pytest.mark.parametrize(
        "condition",
        [
            {"StringEquals": {"sts:ExternalId": "dw-partner-7f3a"}},
            {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
        ],
        ids=["sts:ExternalId", "aws:PrincipalOrgID"],
    )
    def test_trust_to_another_account_with_a_condition_is_accepted(
        self, condition: dict[str, Any], tmp_path: Path
    ) -> None:
        """GIVEN a trust statement for another account with a confused-deputy condition WHEN
        validated THEN no guardrail refuses it (the documented exception)."""
        edit = _trust(
            {"Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Condition": condition}
        )

        report = validate(copy_registry(tmp_path / "reg", {ATHENA_FILE: edit}))

        assert "GUARD_TRUST_ANY" not in {p["code"] for p in report["problems"]}

    def test_trust_to_anyone_with_a_condition_that_restricts_nobody_is_refused(
        self, tmp_path: Path
    ) -> None:
        """GIVEN a trust statement for ``AWS: *`` whose only condition is
        ``aws:SecureTransport`` WHEN validated THEN GUARD_TRUST_ANY refuses it: the
        condition narrows how, not who."""
        edit = _trust(
            {"Principal": {"AWS": "*"}, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
        )

        report = validate(copy_registry(tmp_path / "reg", {ATHENA_FILE: edit}))

        assert report["exit"] == 1
        assert "GUARD_TRUST_ANY" in {p["code"] for p in report["problems"]}

    def test_the_sample_registry_passes_the_guardrails(self) -> None:
        """The shipped registry grants no escalation (CI validates it too)."""
        report = validate(ROOT / "policies")

        assert (report["exit"], report["problems"]) == (0, [])


# ---------------------------------------------------------------------------------------------
# driftwarden's own roles


RUNTIME_ROLE = "driftwarden-runtime"
MEMBER_ROLE = "driftwarden-member"


def _protected_entry(name: str, principal: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "iam_role",
        "id": name,
        "mode": "enforce",
        "spec": {
            "path": "/",
            "description": f"{name} (must never be managed by driftwarden)",
            "max_session_duration": 3600,
            "trust_policy": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
                ],
            },
            "inline_policies": {
                "read": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}],
                }
            },
            "managed_policies": [],
            "permissions_boundary": None,
            "tags": {"managed-by": "driftwarden"},
        },
    }


@pytest.fixture
def runtime_session(session: boto3.Session, tmp_path: Path) -> tuple[boto3.Session, Path]:
    """A registry that (wrongly) lists driftwarden's runtime role and its cross-account role,
    both created in moto, and a session whose caller is the runtime role (assumed in moto)."""
    registry = copy_registry(
        tmp_path / "registry",
        extra={
            f"iam/roles/{RUNTIME_ROLE}.yaml": _protected_entry(
                RUNTIME_ROLE, {"Service": "lambda.amazonaws.com"}
            ),
            f"iam/roles/{MEMBER_ROLE}.yaml": _protected_entry(
                MEMBER_ROLE, {"AWS": "arn:${Partition}:iam::${AccountId}:root"}
            ),
        },
    )
    seed_registry(registry, session)
    credentials = session.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{RUNTIME_ROLE}", RoleSessionName="lambda"
    )["Credentials"]
    runtime = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=session.region_name,
    )
    return runtime, registry


class TestOwnRoles:
    def test_own_role_and_cross_account_role_are_alerted_never_written(
        self,
        runtime_session: tuple[boto3.Session, Path],
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
    ) -> None:
        """GIVEN driftwarden running as ``driftwarden-runtime`` with DRIFTWARDEN_ASSUME_ROLE
        naming ``driftwarden-member``, and a registry listing both roles in enforce WHEN both
        drift and their events arrive, and then a sweep runs THEN each is alerted with the
        reason that driftwarden never manages its own role, and nothing is written."""
        runtime, registry = runtime_session
        settings = Settings(
            registry=str(registry),
            journal=journal,
            sns_topic_arn=inbox.topic_arn,
            assume_role=f"arn:${{Partition}}:iam::${{AccountId}}:role/{MEMBER_ROLE}",
        )
        wiring = Wiring(settings, runtime)
        writes = write_log(wiring)
        for role in (RUNTIME_ROLE, MEMBER_ROLE):
            drift(session, role)

        events = [wiring.responder.handle_event(put_event(r)) for r in (RUNTIME_ROLE, MEMBER_ROLE)]
        sweep = wiring.responder.sweep()

        assert figures.writes_where_forbidden(writes.writes) == []
        for outcome in events:
            assert outcome.decision is Decision.ALERTED
            (response,) = outcome.responses
            assert response.reason == "driftwarden never manages its own role"
        protected = {
            r.result.ref.id: (r.decision, r.reason)
            for r in sweep.responses
            if r.result.ref.id in {RUNTIME_ROLE, MEMBER_ROLE}
        }
        assert protected == {
            RUNTIME_ROLE: (Decision.ALERTED, "driftwarden never manages its own role"),
            MEMBER_ROLE: (Decision.ALERTED, "driftwarden never manages its own role"),
        }
        for role in (RUNTIME_ROLE, MEMBER_ROLE):
            names = session.client("iam").list_role_policies(RoleName=role)["PolicyNames"]
            assert sorted(names) == ["read", "temp-debug"]

    def test_own_role_stays_protected_when_the_caller_identity_becomes_unreadable(
        self,
        runtime_session: tuple[boto3.Session, Path],
        session: boto3.Session,
        journal: str,
        inbox: SnsInbox,
        figures: CaseFigures,
    ) -> None:
        """GIVEN driftwarden running as ``driftwarden-runtime``, its role listed (wrongly) in
        the registry and drifted, and STS answering the first GetCallerIdentity (the account)
        but refusing the next ones WHEN the sweep runs THEN its own role is still not
        written (protection must fail closed)."""
        runtime, registry = runtime_session
        wiring = Wiring(Settings(registry=str(registry), journal=journal), runtime)
        writes = write_log(wiring)
        refused = refuse(wiring.client("sts"), "GetCallerIdentity", code="Throttling", after=1)
        drift(session, RUNTIME_ROLE)

        sweep = wiring.responder.sweep()
        refused.remove()

        forbidden = figures.writes_where_forbidden(writes.writes)
        own = [r for r in sweep.responses if r.result.ref.id == RUNTIME_ROLE]
        assert [r.decision for r in own] == [Decision.ALERTED]
        assert forbidden == []
        names = session.client("iam").list_role_policies(RoleName=RUNTIME_ROLE)["PolicyNames"]
        assert sorted(names) == ["read", "temp-debug"]


# ---------------------------------------------------------------------------------------------
# the Lambda policies


POLICY_FILES = sorted((ROOT / ".chalice").glob("policy-*.json"))

#: parliament findings of severity MEDIUM or above that are accepted, with the reason.
ACCEPTED: dict[tuple[str, str, str], str] = {
    (name, "RESOURCE_MISMATCH", "quicksight:CreateDataSource"): (
        "parliament 1.6.4's bundled IAM definitions give quicksight:CreateDataSource no "
        "resource type (Resource '*' only); the policy scopes it to datasource ARNs, as the "
        "Service Authorization Reference allows (datasource*). Narrower than '*', so no "
        "privilege is widened; to be re-checked when parliament's definitions are updated."
    )
    for name in ("policy-on_quicksight_change.json", "policy-sweep.json")
}


def parliament_findings(path: Path) -> list[tuple[str, str, str]]:
    """(severity, issue, first action) of every parliament finding on one policy file."""
    try:
        from parliament import (  # type: ignore[import-untyped]
            analyze_policy_string,
            enhance_finding,
        )
    except ImportError:
        message = "parliament is not installed (pip install -e '.[dev]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    policy = analyze_policy_string(path.read_text())
    out = []
    for finding in policy.findings:
        enhanced = enhance_finding(finding)
        detail = enhanced.detail
        first = detail[0] if isinstance(detail, list) and detail else detail
        action = first.get("action", "") if isinstance(first, dict) else str(first or "")
        out.append((str(enhanced.severity), str(enhanced.issue), action))
    return out


class TestLambdaPolicies:
    @pytest.mark.parametrize("path", POLICY_FILES, ids=[p.name for p in POLICY_FILES])
    def test_lambda_policy_has_no_high_or_medium_parliament_finding(self, path: Path) -> None:
        """GIVEN a Lambda policy from .chalice WHEN parliament analyses it THEN no finding is
        CRITICAL or HIGH, and every MEDIUM one is in the accepted list (with its reason)."""
        findings = parliament_findings(path)

        serious = [
            (issue, action)
            for severity, issue, action in findings
            if severity in {"CRITICAL", "HIGH", "MEDIUM"}
            and (path.name, issue, action) not in ACCEPTED
        ]
        assert serious == []

    def test_every_policy_file_is_linted(self) -> None:
        """The five functions' policies are all there to lint."""
        assert [p.name for p in POLICY_FILES] == [
            "policy-api_handler.json",
            "policy-on_cleanrooms_change.json",
            "policy-on_iam_change.json",
            "policy-on_quicksight_change.json",
            "policy-sweep.json",
        ]
