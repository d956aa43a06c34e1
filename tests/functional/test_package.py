"""`scripts/package.sh` (what `make package` runs): CloudFormation and Terraform, cfn-lint clean.

The packages are built offline: ``--no-deps`` packages a temporary copy of the project with an
empty requirements.txt (so Chalice downloads no wheels), pip is told to use no index, and every
HTTP(S) proxy points at a closed loopback port so that any attempt to reach the network fails.
Chalice's local mode authorises every request, so IAM authorisation of the audit routes is
checked here, on the generated templates.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

FUNCTIONS = {
    "on_iam_change": "OnIamChange",
    "on_quicksight_change": "OnQuicksightChange",
    "on_cleanrooms_change": "OnCleanroomsChange",
    "sweep": "Sweep",
    "api_handler": "APIHandler",
}
ROLE_OF = {
    "OnIamChange": "OnIamChangeRole",
    "OnQuicksightChange": "OnQuicksightChangeRole",
    "OnCleanroomsChange": "OnCleanroomsChangeRole",
    "Sweep": "SweepRole",
    "APIHandler": "ApiHandlerRole",
}
BIN = Path(sys.executable).parent
OFFLINE = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Packaged:
    out: Path
    seconds: float
    stdout: str

    @property
    def cfn(self) -> dict[str, Any]:
        return json.loads((self.out / "cfn" / "sam.json").read_text())

    @property
    def tf(self) -> dict[str, Any]:
        return json.loads((self.out / "tf" / "chalice.tf.json").read_text())


def _tools() -> None:
    missing = [t for t in ("chalice", "cfn-lint") if not (BIN / t).exists()]
    if missing:
        reason = f"{', '.join(missing)} not installed in {BIN} (pip install -e '.[dev]')"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def package(out: Path, *args: str) -> Packaged:
    _tools()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        VENV=str(BIN.parent),
        PIP_NO_INDEX="1",
        HTTP_PROXY=OFFLINE,
        HTTPS_PROXY=OFFLINE,
        http_proxy=OFFLINE,
        https_proxy=OFFLINE,
        NO_PROXY="",
        no_proxy="",
    )
    started = time.monotonic()
    done = subprocess.run(
        [str(ROOT / "scripts" / "package.sh"), "--no-deps", "--out", str(out), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    return Packaged(out, seconds, done.stdout)


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    return package(tmp_path_factory.mktemp("prod"))


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    """The dev stage with the central event-bus policy merged in as well."""
    return package(
        tmp_path_factory.mktemp("dev"),
        "--stage",
        "dev",
        "--merge",
        str(ROOT / "deploy" / "event-bus.json"),
    )


def sigv4_schemes(swagger: dict[str, Any]) -> set[str]:
    return {
        name
        for name, scheme in swagger.get("securityDefinitions", {}).items()
        if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4"
    }


def assert_audit_routes_use_iam(swagger: dict[str, Any]) -> None:
    audit = {p: ops for p, ops in swagger["paths"].items() if p.startswith("/audit")}
    assert set(audit) == {"/audit", "/audit/{kind}/{resource_id}"}
    iam = sigv4_schemes(swagger)
    assert iam, "no AWS_IAM (awsSigv4) security scheme"
    for path, operations in audit.items():
        for method, operation in operations.items():
            names = {name for requirement in operation["security"] for name in requirement}
            assert names and names <= iam, f"{method.upper()} {path} is not IAM-authorised"


# ------------------------------------------------------------------------- the package step


def test_package_runs_offline_in_well_under_a_minute(prod: Packaged) -> None:
    """GIVEN no network and no AWS_DEFAULT_REGION WHEN packaging THEN it succeeds in < 60 s."""
    assert prod.seconds < 60
    assert "cfn-lint: no errors" in prod.stdout


def test_cloudformation_template_has_no_cfn_lint_errors(prod: Packaged) -> None:
    """cfn-lint (with the SAM transform) reports nothing on the generated, merged template."""
    done = subprocess.run(
        [str(BIN / "cfn-lint"), str(prod.out / "cfn" / "sam.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_deployment_zip_holds_the_app_but_no_downloaded_wheels(prod: Packaged) -> None:
    names = zipfile.ZipFile(prod.out / "cfn" / "deployment.zip").namelist()
    assert "app.py" in names
    assert "chalicelib/audit/html.py" in names
    assert not [n for n in names if n.startswith(("aws_lambda_powertools/", "slack_sdk/"))]
    assert not [n for n in names if "__pycache__" in n]


# ------------------------------------------------------------------------- authorisation


def test_cloudformation_audit_routes_require_aws_iam(prod: Packaged) -> None:
    """Both /audit methods carry the sigv4 (AWS_IAM) security requirement."""
    assert_audit_routes_use_iam(prod.cfn["Resources"]["RestAPI"]["Properties"]["DefinitionBody"])


def test_terraform_audit_routes_require_aws_iam(prod: Packaged) -> None:
    swagger = json.loads(prod.tf["locals"]["chalice_api_swagger"])
    assert_audit_routes_use_iam(swagger)


# ------------------------------------------------------------------------- policies


@pytest.mark.parametrize(("function", "logical"), sorted(FUNCTIONS.items()))
def test_cloudformation_roles_carry_the_hand_written_policies(
    prod: Packaged, function: str, logical: str
) -> None:
    role = prod.cfn["Resources"][ROLE_OF[logical]]["Properties"]
    (inline,) = role["Policies"]
    expected = json.loads((ROOT / ".chalice" / f"policy-{function}.json").read_text())
    assert inline["PolicyDocument"] == expected
    assert "ManagedPolicyArns" not in role


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_terraform_roles_carry_the_hand_written_policies(prod: Packaged, function: str) -> None:
    tf_policy = prod.tf["resource"]["aws_iam_role_policy"][f"{function}_role"]
    expected = json.loads((ROOT / ".chalice" / f"policy-{function}.json").read_text())
    assert json.loads(tf_policy["policy"]) == expected


# ------------------------------------------------------------------------- supporting resources


def test_registry_journal_and_reports_buckets_are_versioned(prod: Packaged) -> None:
    resources = prod.cfn["Resources"]
    for bucket in ("RegistryBucket", "JournalBucket", "ReportsBucket"):
        assert resources[bucket]["Type"] == "AWS::S3::Bucket"
        props = resources[bucket]["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
        assert resources[bucket]["DeletionPolicy"] == "Retain"


def test_dedup_table_has_a_string_key_and_ttl_on_expires_at(prod: Packaged) -> None:
    table = prod.cfn["Resources"]["DedupTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_alerts_topic_is_declared(prod: Packaged) -> None:
    assert prod.cfn["Resources"]["AlertsTopic"]["Type"] == "AWS::SNS::Topic"


@pytest.mark.parametrize("logical", sorted(FUNCTIONS.values()))
def test_functions_find_the_resources_through_their_environment(
    prod: Packaged, logical: str
) -> None:
    """The merge template replaces the example names of config.json with the stack's own."""
    env = prod.cfn["Resources"][logical]["Properties"]["Environment"]["Variables"]
    assert env["DRIFTWARDEN_REGISTRY"] == {"Fn::Sub": "s3://${RegistryBucket}/registry"}
    assert env["DRIFTWARDEN_JOURNAL"] == {"Fn::Sub": "s3://${JournalBucket}/journal"}
    assert env["DRIFTWARDEN_REPORTS"] == {"Fn::Sub": "s3://${ReportsBucket}/audit"}
    assert env["DRIFTWARDEN_SNS_TOPIC_ARN"] == {"Ref": "AlertsTopic"}
    assert env["DRIFTWARDEN_DEDUP_TABLE"] == {"Ref": "DedupTable"}
    assert env["DRIFTWARDEN_SLACK_SECRET"] == "/driftwarden/prod/slack"
    assert env["DRIFTWARDEN_DRY_RUN"] == "false"
    assert not [v for v in env.values() if isinstance(v, str) and "111122223333" in v]


@pytest.mark.parametrize(("function", "logical"), sorted(FUNCTIONS.items()))
def test_functions_and_roles_have_predictable_names(
    prod: Packaged, function: str, logical: str
) -> None:
    """Named as `chalice deploy` and the Terraform output name them (driftwarden-<stage>-<function>,
    the API handler driftwarden-<stage>): the policies' log groups and the member roles' trust
    rely on it."""
    resources = prod.cfn["Resources"]
    role = f"driftwarden-${{Stage}}-{function}"
    name = "driftwarden-${Stage}" if function == "api_handler" else role
    assert resources[logical]["Properties"]["FunctionName"] == {"Fn::Sub": name}
    assert resources[ROLE_OF[logical]]["Properties"]["RoleName"] == {"Fn::Sub": role}
    tf_name = prod.tf["resource"]["aws_lambda_function"][function]["function_name"]
    assert tf_name == name.replace("${Stage}", "prod")
    assert prod.tf["resource"]["aws_iam_role"][f"{function}_role"]["name"] == role.replace(
        "${Stage}", "prod"
    )


def test_audit_function_assumes_the_read_only_member_role(prod: Packaged) -> None:
    api = prod.cfn["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    sweep = prod.cfn["Resources"]["Sweep"]["Properties"]["Environment"]["Variables"]
    assert api["DRIFTWARDEN_ASSUME_ROLE"].endswith(":role/driftwarden-member-audit")
    assert sweep["DRIFTWARDEN_ASSUME_ROLE"].endswith(":role/driftwarden-member")


# ------------------------------------------------------------------------- stages


def test_sweep_schedule_is_a_parameter_defaulting_per_stage(prod: Packaged, dev: Packaged) -> None:
    """The Sweep's schedule event reads the SweepSchedule parameter; each stage sets its default."""
    for packaged in (prod, dev):
        event = packaged.cfn["Resources"]["Sweep"]["Properties"]["Events"]["SweepEvent"]
        assert event["Type"] == "Schedule"
        assert event["Properties"]["Schedule"] == {"Ref": "SweepSchedule"}
    assert prod.cfn["Parameters"]["SweepSchedule"]["Default"] == "rate(1 hour)"
    assert dev.cfn["Parameters"]["SweepSchedule"]["Default"] == "rate(6 hours)"
    assert prod.cfn["Parameters"]["Stage"]["Default"] == "prod"
    assert dev.cfn["Parameters"]["Stage"]["Default"] == "dev"


def test_dev_stage_runs_dry(dev: Packaged) -> None:
    env = dev.cfn["Resources"]["Sweep"]["Properties"]["Environment"]["Variables"]
    assert env["DRIFTWARDEN_DRY_RUN"] == "true"


def test_event_bus_policy_merges_into_the_central_stack(dev: Packaged) -> None:
    """deploy/event-bus.json lets the organisation's accounts put events on the default bus;
    merged into the stack it still lints clean (the dev package ran cfn-lint on it)."""
    policy = dev.cfn["Resources"]["MemberAccountsEventBusPolicy"]
    assert policy["Type"] == "AWS::Events::EventBusPolicy"
    assert policy["Properties"]["Statement"]["Action"] == "events:PutEvents"
    assert "aws:PrincipalOrgID" in policy["Properties"]["Statement"]["Condition"]["StringEquals"]


def test_terraform_schedule_is_the_apps_default(prod: Packaged) -> None:
    """Terraform output takes no merge template: its schedule is app.py's (documented)."""
    rule = prod.tf["resource"]["aws_cloudwatch_event_rule"]["sweep-event"]
    assert rule["schedule_expression"] == "rate(1 hour)"


def test_make_package_target_runs_the_script() -> None:
    """`make package` is the documented entry point; it calls this script."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(
        ["make", "-n", "package", "STAMP=", "PACKAGE_ARGS=--no-deps"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "scripts/package.sh --stage prod --no-deps" in done.stdout
