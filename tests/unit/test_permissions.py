"""The hand-written IAM policies against what the code declares it calls (c7n-style contract).

Each Lambda function's needs come from ``chalicelib.permissions``: the ``permissions`` declared
on the collectors and executors, plus the declared components (logs, registry, journal,
notifiers, de-duplication, report history). ``.chalice/policy-<function>.json`` must grant every
one of them, and no write beyond them; no write may apply to ``Resource: "*"``; no ``*`` or
``iam:*`` action anywhere. The member-account template is held to the same rules, and every
resource the merge template creates must fall inside the policies' resource patterns.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import pytest

from chalicelib.permissions import (
    COLLECTORS,
    EXECUTORS,
    MEMBER_ROLES,
    function_components,
    function_permissions,
    is_write,
    required_actions,
)
from tests.conftest import ROOT

CHALICE = ROOT / ".chalice"
CONFIG = json.loads((CHALICE / "config.json").read_text())
FUNCTIONS = sorted(function_components())
MEMBER_TEMPLATE = json.loads((ROOT / "deploy" / "member-role.json").read_text())
MERGE_TEMPLATE = json.loads((ROOT / "deploy" / "resources.json").read_text())
ACCOUNT = "123456789012"
REGION = "us-east-1"
STAGE = "prod"


def policy(function: str) -> dict[str, Any]:
    return json.loads((CHALICE / f"policy-{function}.json").read_text())


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(document["Statement"])


def granted(document: dict[str, Any]) -> frozenset[str]:
    return frozenset(
        str(a).lower()
        for s in statements(document)
        if s["Effect"] == "Allow"
        for a in as_list(s.get("Action", []))
    )


def member_policy(logical_id: str) -> dict[str, Any]:
    role = MEMBER_TEMPLATE["Resources"][logical_id]["Properties"]
    (inline,) = role["Policies"]
    return dict(inline["PolicyDocument"])


def allowed_resources(document: dict[str, Any], action: str) -> list[str]:
    """Every Resource pattern of the Allow statements that grant ``action`` (literal strings)."""
    return [
        r
        for s in statements(document)
        if s["Effect"] == "Allow" and action.lower() in {a.lower() for a in as_list(s["Action"])}
        for r in as_list(s["Resource"])
        if isinstance(r, str)
    ]


def covered(arn: str, document: dict[str, Any], action: str) -> bool:
    return any(fnmatch.fnmatchcase(arn, p) for p in allowed_resources(document, action))


MEMBER_ROLE_IDS = {
    "driftwarden-member": "MemberRole",
    "driftwarden-member-audit": "MemberAuditRole",
}
ALL_DOCUMENTS: list[tuple[str, dict[str, Any]]] = [
    *((f"policy-{f}.json", policy(f)) for f in FUNCTIONS),
    *((f"member-role.json:{n}", member_policy(i)) for n, i in MEMBER_ROLE_IDS.items()),
]


# ---------------------------------------------------------------------------------------------


class TestClassifier:
    @pytest.mark.parametrize(
        "action",
        [
            "iam:GetRole",
            "iam:ListRoles",
            "iam:GetAccountAuthorizationDetails",
            "quicksight:DescribeDataSource",
            "s3:GetObject",
            "s3:ListBucket",
            "dynamodb:Query",
            "dynamodb:BatchGetItem",
            "sts:GetCallerIdentity",
            "sts:AssumeRole",
        ],
    )
    def test_reads(self, action: str) -> None:
        assert not is_write(action)

    @pytest.mark.parametrize(
        "action",
        [
            "iam:PutRolePolicy",
            "iam:PassRole",
            "iam:CreatePolicyVersion",
            "quicksight:UpdateDataSource",
            "cleanrooms:UpdateMembership",
            "s3:PutObject",
            "sns:Publish",
            "dynamodb:PutItem",
            "logs:PutLogEvents",
            "iam:*",
            "iam:Get*",
            "*",
        ],
    )
    def test_writes(self, action: str) -> None:
        """Anything not named as a read, and every wildcard, is a write."""
        assert is_write(action)


class TestConfig:
    def test_autogen_policy_is_off(self) -> None:
        """Chalice must not generate policies: the hand-written ones are the contract."""
        assert CONFIG["autogen_policy"] is False

    def test_stages_dev_prod_and_test_exist(self) -> None:
        assert {"dev", "prod", "test"} <= set(CONFIG["stages"])

    @pytest.mark.parametrize("stage", ["dev", "prod", "test"])
    def test_every_function_has_its_own_policy_file(self, stage: str) -> None:
        """GIVEN a stage THEN each Lambda function names policy-<function>.json, which exists."""
        functions = CONFIG["stages"][stage]["lambda_functions"]
        assert sorted(functions) == FUNCTIONS
        for name, settings in functions.items():
            assert settings["iam_policy_file"] == f"policy-{name}.json"
            assert (CHALICE / settings["iam_policy_file"]).is_file()

    def test_functions_are_the_handlers_of_the_app(self) -> None:
        """The declared functions are the Chalice handler names (the stable API) plus the API."""
        import app as chalice_app

        names = {source.name for source in chalice_app.app.event_sources}
        assert names | {"api_handler"} == set(FUNCTIONS)

    @pytest.mark.parametrize("stage", ["dev", "prod"])
    def test_deployed_stages_set_every_setting(self, stage: str) -> None:
        """Every setting of PRODUCT.md 6b that a Lambda reads has a value per deployed stage."""
        env = {
            **CONFIG.get("environment_variables", {}),
            **CONFIG["stages"][stage]["environment_variables"],
        }
        for name in (
            "DRIFTWARDEN_REGISTRY",
            "DRIFTWARDEN_JOURNAL",
            "DRIFTWARDEN_MODE",
            "DRIFTWARDEN_PAUSED",
            "DRIFTWARDEN_DRY_RUN",
            "DRIFTWARDEN_SNS_TOPIC_ARN",
            "DRIFTWARDEN_SLACK_SECRET",
            "DRIFTWARDEN_DEDUP_TABLE",
            "DRIFTWARDEN_TRUSTED_ACTORS",
            "DRIFTWARDEN_SELF_ARNS",
            "DRIFTWARDEN_MAX_REVERTS",
            "DRIFTWARDEN_ASSUME_ROLE",
            "DRIFTWARDEN_REPORTS",
            "POWERTOOLS_SERVICE_NAME",
        ):
            assert name in env, name

    def test_test_stage_leaves_driftwarden_settings_to_the_tests(self) -> None:
        """chalice.test.Client copies the stage's variables over os.environ: none may be set."""
        stage = CONFIG["stages"]["test"]
        names = set(CONFIG.get("environment_variables", {})) | set(stage["environment_variables"])
        names |= {
            n
            for f in stage["lambda_functions"].values()
            for n in f.get("environment_variables", {})
        }
        assert not {n for n in names if n.startswith("DRIFTWARDEN_")}


class TestFunctionPolicies:
    @pytest.mark.parametrize("function", FUNCTIONS)
    def test_policy_grants_everything_the_code_calls(self, function: str) -> None:
        """A permission declared by a component the function uses but absent from its policy
        fails: the function would get AccessDenied in production."""
        missing = function_permissions()[function] - granted(policy(function))
        assert not missing, f"{function} lacks {sorted(missing)}"

    @pytest.mark.parametrize("function", FUNCTIONS)
    def test_policy_grants_no_write_the_code_does_not_make(self, function: str) -> None:
        """An extra write permission fails; extra reads are tolerated."""
        extra = {
            a for a in granted(policy(function)) - function_permissions()[function] if is_write(a)
        }
        assert not extra, f"{function} may also {sorted(extra)}"

    def test_audit_endpoint_writes_nothing_but_its_logs(self) -> None:
        writes = {a for a in granted(policy("api_handler")) if is_write(a)}
        assert writes == {"logs:createloggroup", "logs:createlogstream", "logs:putlogevents"}

    @pytest.mark.parametrize("function", ["on_quicksight_change", "on_cleanrooms_change"])
    def test_regional_event_handlers_write_only_their_own_service(self, function: str) -> None:
        """An event handler writes with its own service's executor only (plus PassRole)."""
        service = function.removeprefix("on_").removesuffix("_change")
        writes = {a for a in granted(policy(function)) if is_write(a)}
        foreign = {
            a
            for a in writes
            if a.split(":")[0] in COLLECTORS and a.split(":")[0] != service and a != "iam:passrole"
        }
        assert not foreign

    def test_sweep_can_do_everything_every_executor_can(self) -> None:
        every = required_actions(EXECUTORS.values())
        assert every <= granted(policy("sweep"))


class TestNoBroadGrants:
    @pytest.mark.parametrize(("name", "document"), ALL_DOCUMENTS, ids=[n for n, _ in ALL_DOCUMENTS])
    def test_no_wildcard_actions(self, name: str, document: dict[str, Any]) -> None:
        """No ``*``, ``iam:*`` or any ``service:*`` action, no NotAction, no NotResource."""
        for s in statements(document):
            assert "NotAction" not in s and "NotResource" not in s
            for action in as_list(s["Action"]):
                assert "*" not in action, f"{name}: {action}"

    @pytest.mark.parametrize(("name", "document"), ALL_DOCUMENTS, ids=[n for n, _ in ALL_DOCUMENTS])
    def test_no_write_on_every_resource(self, name: str, document: dict[str, Any]) -> None:
        """A statement that grants any write names its resources: never ``Resource: "*"``."""
        for s in statements(document):
            writes = [a for a in as_list(s["Action"]) if is_write(a)]
            if writes:
                assert "*" not in as_list(s["Resource"]), f"{name}: {writes} on *"

    @pytest.mark.parametrize(("name", "document"), ALL_DOCUMENTS, ids=[n for n, _ in ALL_DOCUMENTS])
    def test_only_allow_statements(self, name: str, document: dict[str, Any]) -> None:
        assert {s["Effect"] for s in statements(document)} == {"Allow"}


def _literal(pattern: Any) -> str:
    """A member-template resource (``{"Fn::Sub": ...}``) as the ARN pattern for one account."""
    text = pattern["Fn::Sub"] if isinstance(pattern, dict) else pattern
    return text.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", ACCOUNT)


class TestWriteScopes:
    """Writes reach only the managed resources (role path /service-role/ and name dw-*)."""

    SCOPES = {
        "iam": (
            r"arn:aws:iam::(\*|\d{12}):role/service-role/dw-\*",
            r"arn:aws:iam::(\*|\d{12}):policy/dw-\*",
        ),
        "quicksight": (r"arn:aws:quicksight:\*:(\*|\d{12}):datasource/\*",),
        "cleanrooms": (r"arn:aws:cleanrooms:\*:(\*|\d{12}):membership/\*",),
    }

    @pytest.mark.parametrize(("name", "document"), ALL_DOCUMENTS, ids=[n for n, _ in ALL_DOCUMENTS])
    def test_service_writes_are_limited_to_managed_resources(
        self, name: str, document: dict[str, Any]
    ) -> None:
        for s in statements(document):
            for action in as_list(s["Action"]):
                service = action.split(":")[0]
                if service not in self.SCOPES or not is_write(action):
                    continue
                for resource in as_list(s["Resource"]):
                    arn = _literal(resource)
                    assert any(re.fullmatch(p, arn) for p in self.SCOPES[service]), (
                        f"{name}: {action} on {arn}"
                    )

    @pytest.mark.parametrize(("name", "document"), ALL_DOCUMENTS, ids=[n for n, _ in ALL_DOCUMENTS])
    def test_pass_role_only_to_the_services_that_need_it(
        self, name: str, document: dict[str, Any]
    ) -> None:
        for s in statements(document):
            if "iam:PassRole" in as_list(s["Action"]):
                services = set(as_list(s["Condition"]["StringEquals"]["iam:PassedToService"]))
                assert services <= {"quicksight.amazonaws.com", "cleanrooms.amazonaws.com"}

    def test_managed_sample_roles_are_in_scope_and_own_roles_are_not(self) -> None:
        """The sample registry's roles can be reverted; driftwarden's own roles cannot."""
        sweep = policy("sweep")
        for role in ("dw-quicksight-athena", "dw-cleanrooms-read-data"):
            assert covered(
                f"arn:aws:iam::{ACCOUNT}:role/service-role/{role}", sweep, "iam:PutRolePolicy"
            )
        for own in (f"driftwarden-{STAGE}-sweep", "driftwarden-member", "driftwarden-member-audit"):
            assert not covered(f"arn:aws:iam::{ACCOUNT}:role/{own}", sweep, "iam:PutRolePolicy")
        policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/dw-athena-results-bucket"
        assert covered(policy_arn, sweep, "iam:CreatePolicyVersion")


class TestMemberRoles:
    @pytest.mark.parametrize(("name", "logical_id"), sorted(MEMBER_ROLE_IDS.items()))
    def test_member_role_grants_what_the_code_calls_and_no_other_write(
        self, name: str, logical_id: str
    ) -> None:
        needed = required_actions(MEMBER_ROLES[name])
        has = granted(member_policy(logical_id))
        assert not needed - has
        assert not {a for a in has - needed if is_write(a)}

    def test_audit_member_role_writes_nothing(self) -> None:
        assert not {a for a in granted(member_policy("MemberAuditRole")) if is_write(a)}

    @pytest.mark.parametrize(
        ("logical_id", "function"),
        [
            ("MemberRole", "sweep"),
            ("MemberRole", "on_iam_change"),
            ("MemberRole", "on_quicksight_change"),
            ("MemberRole", "on_cleanrooms_change"),
            ("MemberAuditRole", "api_handler"),
        ],
    )
    def test_member_role_trusts_the_central_function_that_assumes_it(
        self, logical_id: str, function: str
    ) -> None:
        """Its trust admits the function's role, and that function may assume it, by name."""
        role = MEMBER_TEMPLATE["Resources"][logical_id]["Properties"]
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        patterns = [
            p["Fn::Sub"].replace("${AWS::Partition}", "aws").replace("${CentralAccountId}", ACCOUNT)
            for p in statement["Condition"]["ArnLike"]["aws:PrincipalArn"]
        ]
        central_role = f"arn:aws:iam::{ACCOUNT}:role/driftwarden-{STAGE}-{function}"
        assert any(fnmatch.fnmatchcase(central_role, p) for p in patterns)
        member_arn = f"arn:aws:iam::210987654321:role/{role['RoleName']}"
        assert covered(member_arn, policy(function), "sts:AssumeRole")

    def test_event_handlers_cannot_assume_the_audit_role_pair_the_other_way(self) -> None:
        """The audit function may assume only the read-only member role."""
        write_role = "arn:aws:iam::210987654321:role/driftwarden-member"
        assert not covered(write_role, policy("api_handler"), "sts:AssumeRole")


def _resolve(value: Any, stage: str = STAGE) -> str:
    """A merge-template name (``{"Fn::Sub": ...}``) for one stage, account and region."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    return (
        text.replace("${Stage}", stage)
        .replace("${AWS::AccountId}", ACCOUNT)
        .replace("${AWS::Region}", REGION)
    )


class TestResourcesMatchPolicies:
    """What deploy/resources.json creates is exactly what the policies' patterns reach."""

    RESOURCES = MERGE_TEMPLATE["Resources"]

    def name(self, logical_id: str, prop: str) -> str:
        return _resolve(self.RESOURCES[logical_id]["Properties"][prop])

    @pytest.mark.parametrize(
        ("function", "action"),
        [(f, "s3:GetObject") for f in FUNCTIONS],
    )
    def test_every_function_reads_the_registry_bucket(self, function: str, action: str) -> None:
        bucket = self.name("RegistryBucket", "BucketName")
        assert covered(f"arn:aws:s3:::{bucket}/registry/latest.json", policy(function), action)
        assert covered(f"arn:aws:s3:::{bucket}", policy(function), "s3:ListBucket")

    @pytest.mark.parametrize("function", [f for f in FUNCTIONS if f != "api_handler"])
    def test_responders_reach_journal_topic_and_table(self, function: str) -> None:
        document = policy(function)
        journal = self.name("JournalBucket", "BucketName")
        topic = self.name("AlertsTopic", "TopicName")
        table = self.name("DedupTable", "TableName")
        assert covered(f"arn:aws:s3:::{journal}/journal/actions/a.json", document, "s3:PutObject")
        assert covered(f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}", document, "sns:Publish")
        assert covered(
            f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}", document, "dynamodb:PutItem"
        )

    def test_only_the_sweep_writes_reports_and_the_api_reads_them(self) -> None:
        reports = self.name("ReportsBucket", "BucketName")
        key = f"arn:aws:s3:::{reports}/audit/latest.json"
        assert covered(key, policy("sweep"), "s3:PutObject")
        assert covered(key, policy("api_handler"), "s3:GetObject")
        assert not covered(key, policy("api_handler"), "s3:PutObject")
        assert not covered(key, policy("on_iam_change"), "s3:PutObject")

    def test_nobody_writes_the_registry(self) -> None:
        bucket = self.name("RegistryBucket", "BucketName")
        for function in FUNCTIONS:
            assert not covered(
                f"arn:aws:s3:::{bucket}/registry/latest.json", policy(function), "s3:PutObject"
            )

    @pytest.mark.parametrize("function", FUNCTIONS)
    def test_function_writes_its_own_log_group(self, function: str) -> None:
        name = _resolve(self.RESOURCES[_logical(function)]["Properties"]["FunctionName"])
        group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{name}"
        assert covered(group, policy(function), "logs:CreateLogGroup")
        assert covered(
            f"{group}:log-stream:2025/01/01/[$LATEST]abc", policy(function), "logs:PutLogEvents"
        )

    @pytest.mark.parametrize("stage", ["dev", "prod"])
    def test_slack_secret_of_each_stage_is_readable(self, stage: str) -> None:
        name = CONFIG["stages"][stage]["environment_variables"]["DRIFTWARDEN_SLACK_SECRET"]
        arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}"
        assert covered(arn, policy("sweep"), "ssm:GetParameter")


def _logical(function: str) -> str:
    return {
        "on_iam_change": "OnIamChange",
        "on_quicksight_change": "OnQuicksightChange",
        "on_cleanrooms_change": "OnCleanroomsChange",
        "sweep": "Sweep",
        "api_handler": "APIHandler",
    }[function]
