"""Unit tests for the finding catalogue, the registry rules and the live rules."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.models import (
    DesiredResource,
    Kind,
    LiveResource,
    Mode,
    ResourceRef,
    Severity,
    Status,
)
from chalicelib.rules import (
    CATALOGUE,
    GUARDRAIL_CODES,
    MANAGED_POLICY_DOCUMENTS_FACT,
    RuleViolation,
    evaluate,
    finding,
    live_findings,
    parse_role_arn,
    registry_findings,
)

ACCOUNT = "123456789012"
OTHER = "210987654321"
REGION = "us-east-1"
QS_ROLE = "qs-s3"
QS_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{QS_ROLE}"
CR_ROLE = "cr-read"
CR_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service-role/{CR_ROLE}"
BUCKET = "analytics-data"


def statement(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", **fields}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust(service: str, **extra: Any) -> dict[str, Any]:
    return policy(statement(Principal={"Service": service}, Action="sts:AssumeRole", **extra))


S3_READ = policy(
    statement(
        Action=["s3:GetObject", "s3:ListBucket"],
        Resource=[f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    )
)
CR_SAFE_TRUST = trust(
    "cleanrooms.amazonaws.com",
    Condition={"ArnLike": {"aws:SourceArn": f"arn:aws:cleanrooms:{REGION}:{ACCOUNT}:membership/m"}},
)


def ref(kind: Kind, rid: str, account: str = ACCOUNT) -> ResourceRef:
    return ResourceRef(kind=kind, id=rid, account=account, region=REGION)


def entry(
    kind: Kind, rid: str, spec: dict[str, Any], allow: frozenset[str] = frozenset()
) -> DesiredResource:
    return DesiredResource(
        ref=ref(kind, rid), mode=Mode.ALERT, spec=spec, source=f"policies/{rid}.yaml", allow=allow
    )


def role(
    name: str = QS_ROLE,
    *,
    trust_policy: Any = None,
    allow: frozenset[str] = frozenset(),
    **spec: Any,
) -> DesiredResource:
    body = {"trust_policy": trust_policy or trust("quicksight.amazonaws.com"), **spec}
    return entry(Kind.IAM_ROLE, name, body, allow)


def s3_source(role_arn: str = QS_ROLE_ARN, key: str = "sales/manifest.json") -> DesiredResource:
    params = {
        "S3Parameters": {
            "ManifestFileLocation": {"Bucket": BUCKET, "Key": key},
            "RoleArn": role_arn,
        }
    }
    return entry(
        Kind.QUICKSIGHT_DATA_SOURCE, "sales", {"name": "Sales", "type": "S3", "parameters": params}
    )


def athena_source(role_arn: str = QS_ROLE_ARN) -> DesiredResource:
    params = {"AthenaParameters": {"WorkGroup": "primary", "RoleArn": role_arn}}
    return entry(Kind.QUICKSIGHT_DATA_SOURCE, "athena", {"parameters": params})


def codes(violations: list[RuleViolation]) -> set[str]:
    return {v.finding.code for v in violations}


def live_role(
    name: str, state: dict[str, Any], facts: dict[str, Any] | None = None
) -> LiveResource:
    return LiveResource(ref=ref(Kind.IAM_ROLE, name), exists=True, state=state, facts=facts or {})


def live_of(resource: DesiredResource, state: dict[str, Any] | None = None) -> LiveResource:
    return LiveResource(
        ref=resource.ref, exists=True, state=dict(state if state is not None else resource.spec)
    )


class TestCatalogue:
    def test_every_code_has_a_severity_group_and_title(self) -> None:
        """GIVEN the catalogue WHEN read THEN each code has metadata keyed by itself."""
        assert all(
            rule.code == code and rule.title and rule.severity for code, rule in CATALOGUE.items()
        )

    def test_guardrails_are_critical_or_high(self) -> None:
        """GIVEN the guardrail codes WHEN looked up THEN each is critical or high."""
        expected = {
            "GUARD_WILDCARD_ACTION",
            "GUARD_IAM_WILDCARD",
            "GUARD_PASSROLE_ANY",
            "GUARD_TRUST_ANY",
        }
        assert expected == GUARDRAIL_CODES
        assert {CATALOGUE[c].severity for c in GUARDRAIL_CODES} <= {
            Severity.CRITICAL,
            Severity.HIGH,
        }

    def test_finding_takes_severity_from_the_catalogue(self) -> None:
        """GIVEN a code WHEN a finding is built THEN it carries the catalogue severity."""
        assert finding("CR_TRUST_NO_CONFUSED_DEPUTY", "m").severity is Severity.HIGH

    def test_unknown_code_is_a_key_error(self) -> None:
        """GIVEN a code not in the catalogue WHEN a finding is built THEN KeyError."""
        with pytest.raises(KeyError):
            finding("NOPE", "m")

    def test_role_arn_parsing(self) -> None:
        """GIVEN role ARNs with and without a path WHEN parsed THEN parts come back."""
        parsed = parse_role_arn(CR_ROLE_ARN)
        assert parsed is not None
        assert (parsed.partition, parsed.account, parsed.path, parsed.name) == (
            "aws",
            ACCOUNT,
            "/service-role/",
            CR_ROLE,
        )
        assert str(parsed) == CR_ROLE_ARN
        assert parse_role_arn("arn:aws:iam::123:user/x") is None


class TestGuardrails:
    @pytest.mark.parametrize(
        ("actions", "expected"),
        [
            ("*", {"GUARD_WILDCARD_ACTION", "GUARD_PASSROLE_ANY"}),
            (["*:*"], {"GUARD_WILDCARD_ACTION", "GUARD_PASSROLE_ANY"}),
            (["iam:*"], {"GUARD_IAM_WILDCARD", "GUARD_PASSROLE_ANY"}),
            (["iam:PassRole"], {"GUARD_PASSROLE_ANY"}),
            (["IAM:Pass*"], {"GUARD_PASSROLE_ANY"}),
            (["s3:*", "iam:Get*"], set()),
        ],
        ids=["star", "star-colon-star", "iam-star", "passrole", "passrole-pattern", "compliant"],
    )
    def test_permission_guardrails_on_inline_policy(self, actions: Any, expected: set[str]) -> None:
        """GIVEN an inline policy allowing actions on * WHEN validated THEN the guardrails that
        the actions break fire, and a compliant policy breaks none."""
        resource = role(inline_policies={"p": policy(statement(Action=actions, Resource="*"))})
        assert codes(registry_findings([resource])) == expected

    def test_passrole_on_specific_role_is_allowed(self) -> None:
        """GIVEN iam:PassRole on one role ARN WHEN validated THEN no guardrail fires."""
        doc = policy(statement(Action="iam:PassRole", Resource=QS_ROLE_ARN))
        assert codes(registry_findings([role(inline_policies={"p": doc})])) == set()

    def test_passrole_on_every_role_of_the_account_fires(self) -> None:
        """GIVEN iam:PassRole on arn:...:role/* WHEN validated THEN GUARD_PASSROLE_ANY."""
        doc = policy(statement(Action="iam:PassRole", Resource=f"arn:aws:iam::{ACCOUNT}:role/*"))
        assert codes(registry_findings([role(inline_policies={"p": doc})])) == {
            "GUARD_PASSROLE_ANY"
        }

    def test_deny_statements_are_not_guardrail_breaches(self) -> None:
        """GIVEN a Deny * statement WHEN validated THEN no guardrail fires."""
        doc = policy({"Effect": "Deny", "Action": "*", "Resource": "*"})
        assert codes(registry_findings([role(inline_policies={"p": doc})])) == set()

    def test_customer_managed_policy_document_is_checked(self) -> None:
        """GIVEN an iam_policy entry granting iam:* WHEN validated THEN the violation's path
        points into spec.document."""
        arn = f"arn:aws:iam::{ACCOUNT}:policy/admin"
        resource = entry(
            Kind.IAM_POLICY,
            arn,
            {"document": policy(statement(Action="iam:*", Resource=QS_ROLE_ARN))},
        )
        (violation,) = registry_findings([resource])
        assert (violation.finding.code, violation.path) == (
            "GUARD_IAM_WILDCARD",
            "spec.document.Statement[0]",
        )
        assert violation.resource is resource

    @pytest.mark.parametrize(
        ("principal", "condition", "fires"),
        [
            ("*", None, True),
            ({"AWS": "*"}, None, True),
            ({"AWS": OTHER}, None, True),
            ({"AWS": f"arn:aws:iam::{OTHER}:role/partner"}, None, True),
            ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, None, False),
            ({"AWS": OTHER}, {"StringEquals": {"sts:ExternalId": "x"}}, False),
            ("*", {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}, False),
            ({"Service": "quicksight.amazonaws.com"}, None, False),
        ],
        ids=[
            "star",
            "aws-star",
            "other-account",
            "other-account-role",
            "own-account",
            "other-with-condition",
            "star-with-condition",
            "service",
        ],
    )
    def test_trust_any(self, principal: Any, condition: Any, fires: bool) -> None:
        """GIVEN a trust statement WHEN validated THEN GUARD_TRUST_ANY fires for * or another
        account without a condition, and not otherwise."""
        extra = {"Condition": condition} if condition else {}
        doc = policy(statement(Principal=principal, Action="sts:AssumeRole", **extra))
        violations = registry_findings([role(trust_policy=doc)])
        assert ("GUARD_TRUST_ANY" in codes(violations)) is fires
        if fires:
            assert violations[0].path == "spec.trust_policy.Statement[0]"

    def test_allow_list_bypasses_only_the_listed_guardrail(self) -> None:
        """GIVEN an entry that allows GUARD_WILDCARD_ACTION WHEN it grants * THEN that code is
        not reported but GUARD_PASSROLE_ANY still is."""
        doc = policy(statement(Action="*", Resource="*"))
        resource = role(inline_policies={"admin": doc}, allow=frozenset({"GUARD_WILDCARD_ACTION"}))
        assert codes(registry_findings([resource])) == {"GUARD_PASSROLE_ANY"}

    def test_allow_list_does_not_bypass_documented_rules(self) -> None:
        """GIVEN a data source entry allowing QS_ROLE_NOT_FOUND WHEN its role is missing
        THEN the rule still fires (only guardrails can be allowed)."""
        source = athena_source()
        allowed = DesiredResource(
            ref=source.ref,
            mode=source.mode,
            spec=source.spec,
            source=source.source,
            allow=frozenset({"QS_ROLE_NOT_FOUND"}),
        )
        assert codes(registry_findings([allowed])) == {"QS_ROLE_NOT_FOUND"}


class TestQuickSightRegistryRules:
    def test_compliant_athena_source_has_no_findings(self) -> None:
        """GIVEN a data source whose role exists and trusts QuickSight WHEN validated THEN none."""
        assert registry_findings([role(), athena_source()]) == []

    def test_role_in_another_account(self) -> None:
        """GIVEN a role ARN in another account WHEN validated THEN QS_ROLE_WRONG_ACCOUNT at the
        RoleArn's path."""
        (violation,) = registry_findings(
            [role(), athena_source(f"arn:aws:iam::{OTHER}:role/{QS_ROLE}")]
        )
        assert violation.finding.code == "QS_ROLE_WRONG_ACCOUNT"
        assert violation.path == "spec.parameters.AthenaParameters.RoleArn"
        assert OTHER in violation.finding.message

    def test_role_not_trusting_quicksight(self) -> None:
        """GIVEN the role trusts only EC2 WHEN validated THEN QS_ROLE_NOT_TRUSTING_QUICKSIGHT."""
        violations = registry_findings(
            [role(trust_policy=trust("ec2.amazonaws.com")), athena_source()]
        )
        assert codes(violations) == {"QS_ROLE_NOT_TRUSTING_QUICKSIGHT"}

    def test_role_not_in_registry(self) -> None:
        """GIVEN a same-account role ARN no registry entry declares WHEN validated THEN
        QS_ROLE_NOT_FOUND."""
        assert codes(registry_findings([athena_source()])) == {"QS_ROLE_NOT_FOUND"}

    def test_role_with_another_path_is_not_found(self) -> None:
        """GIVEN the registry role declares path /x/ WHEN the ARN has / THEN QS_ROLE_NOT_FOUND."""
        assert codes(registry_findings([role(path="/x/"), athena_source()])) == {
            "QS_ROLE_NOT_FOUND"
        }
        assert registry_findings([role(path="/"), athena_source()]) == []

    def test_multiple_roles(self) -> None:
        """GIVEN two different RoleArns in one data source WHEN validated THEN QS_MULTIPLE_ROLES;
        the same ARN twice is fine."""
        other = f"arn:aws:iam::{ACCOUNT}:role/second"

        def source(second: str) -> DesiredResource:
            params = {
                "RedshiftParameters": {"Database": "d", "IAMParameters": {"RoleArn": second}},
                "AthenaParameters": {"RoleArn": QS_ROLE_ARN},
            }
            return entry(Kind.QUICKSIGHT_DATA_SOURCE, "ds", {"parameters": params})

        assert codes(registry_findings([role(), role("second"), source(other)])) == {
            "QS_MULTIPLE_ROLES"
        }
        assert registry_findings([role(), source(QS_ROLE_ARN)]) == []

    def test_s3_role_reading_the_bucket_has_no_findings(self) -> None:
        """GIVEN an S3 data source whose role can read the bucket WHEN validated THEN none."""
        assert registry_findings([role(inline_policies={"read": S3_READ}), s3_source()]) == []

    def test_s3_role_reading_only_the_manifest_cannot_read_data(self) -> None:
        """GIVEN the role may read only the manifest object WHEN validated THEN only
        QS_S3_CANNOT_READ_DATA."""
        doc = policy(
            statement(Action="s3:GetObject", Resource=f"arn:aws:s3:::{BUCKET}/sales/manifest.json")
        )
        assert codes(registry_findings([role(inline_policies={"read": doc}), s3_source()])) == {
            "QS_S3_CANNOT_READ_DATA"
        }

    def test_s3_role_reading_another_bucket_cannot_read_manifest(self) -> None:
        """GIVEN the role may read another bucket only WHEN validated THEN both S3 codes."""
        doc = policy(statement(Action="s3:GetObject", Resource="arn:aws:s3:::elsewhere/*"))
        assert codes(registry_findings([role(inline_policies={"read": doc}), s3_source()])) == {
            "QS_S3_CANNOT_READ_MANIFEST",
            "QS_S3_CANNOT_READ_DATA",
        }

    def test_s3_rules_use_registry_managed_policy_documents(self) -> None:
        """GIVEN the read access comes from a registry iam_policy attached to the role
        WHEN validated THEN no finding."""
        arn = f"arn:aws:iam::{ACCOUNT}:policy/read"
        managed = entry(Kind.IAM_POLICY, arn, {"document": S3_READ})
        assert (
            registry_findings(
                [managed, role(inline_policies={}, managed_policies=[arn]), s3_source()]
            )
            == []
        )

    def test_s3_rules_skip_roles_with_unknown_policies(self) -> None:
        """GIVEN the role attaches an AWS managed policy whose document is unknown
        WHEN validated THEN the S3 rules are skipped."""
        resource = role(
            inline_policies={}, managed_policies=["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
        )
        assert registry_findings([resource, s3_source()]) == []


class TestCleanRoomsRules:
    def test_trust_without_confused_deputy_condition(self) -> None:
        """GIVEN a role trusting Clean Rooms with no condition WHEN validated THEN
        CR_TRUST_NO_CONFUSED_DEPUTY at the statement."""
        (violation,) = registry_findings(
            [role(CR_ROLE, trust_policy=trust("cleanrooms.amazonaws.com"))]
        )
        assert (violation.finding.code, violation.path) == (
            "CR_TRUST_NO_CONFUSED_DEPUTY",
            "spec.trust_policy.Statement[0]",
        )

    @pytest.mark.parametrize("key", ["aws:SourceArn", "AWS:SourceAccount", "sts:ExternalId"])
    def test_any_confused_deputy_condition_is_compliant(self, key: str) -> None:
        """GIVEN a Clean Rooms trust with a SourceArn/SourceAccount/ExternalId condition
        WHEN validated THEN no finding."""
        doc = trust("cleanrooms.amazonaws.com", Condition={"StringLike": {key: "x"}})
        assert registry_findings([role(CR_ROLE, trust_policy=doc)]) == []

    def test_association_role_missing_and_not_trusting(self) -> None:
        """GIVEN associations bound to an unknown role and to a QuickSight-only role WHEN
        validated THEN CR_ROLE_NOT_FOUND and CR_ROLE_NOT_TRUSTING_CLEANROOMS."""
        missing = entry(
            Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION,
            "m/a1",
            {"role_arn": f"arn:aws:iam::{ACCOUNT}:role/ghost"},
        )
        wrong = entry(
            Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, "m/a2", {"role_arn": QS_ROLE_ARN}
        )
        assert codes(registry_findings([role(), missing, wrong])) == {
            "CR_ROLE_NOT_FOUND",
            "CR_ROLE_NOT_TRUSTING_CLEANROOMS",
        }

    def test_membership_result_role_that_trusts_cleanrooms_is_compliant(self) -> None:
        """GIVEN a membership whose result role trusts Clean Rooms safely WHEN validated THEN
        no finding."""
        cr_role = role(CR_ROLE, trust_policy=CR_SAFE_TRUST, path="/service-role/")
        membership = entry(Kind.CLEANROOMS_MEMBERSHIP, "m", {"result_role_arn": CR_ROLE_ARN})
        assert registry_findings([cr_role, membership]) == []


class TestLiveFindings:
    def test_role_with_unique_id_principal(self) -> None:
        """GIVEN a live trust naming a deleted role's unique ID WHEN checked THEN
        PRINCIPAL_UNIQUE_ID naming the ID."""
        doc = policy(statement(Principal={"AWS": "AROAIGK7B2VUDZL4I73HK"}, Action="sts:AssumeRole"))
        resource = role(CR_ROLE)
        (found,) = live_findings(resource, live_of(resource, {"trust_policy": doc}), {})
        assert found.code == "PRINCIPAL_UNIQUE_ID"
        assert "AROAIGK7B2VUDZL4I73HK" in found.message

    def test_role_with_ordinary_principals_has_no_findings(self) -> None:
        """GIVEN a live trust with an account principal WHEN checked THEN no finding."""
        doc = policy(statement(Principal={"AWS": OTHER}, Action="sts:AssumeRole"))
        resource = role(CR_ROLE)
        assert live_findings(resource, live_of(resource, {"trust_policy": doc}), {}) == ()

    def test_live_cleanrooms_trust_without_condition(self) -> None:
        """GIVEN a live role whose confused-deputy condition was removed WHEN checked THEN
        CR_TRUST_NO_CONFUSED_DEPUTY; with the condition THEN none."""
        resource = role(CR_ROLE, trust_policy=CR_SAFE_TRUST)
        bad = live_of(resource, {"trust_policy": trust("cleanrooms.amazonaws.com")})
        assert [f.code for f in live_findings(resource, bad, {})] == ["CR_TRUST_NO_CONFUSED_DEPUTY"]
        assert live_findings(resource, live_of(resource), {}) == ()

    def test_data_source_role_known_not_to_exist(self) -> None:
        """GIVEN roles_by_arn maps the role to None WHEN checked THEN QS_ROLE_NOT_FOUND."""
        source = athena_source()
        assert [f.code for f in live_findings(source, live_of(source), {QS_ROLE_ARN: None})] == [
            "QS_ROLE_NOT_FOUND"
        ]

    def test_data_source_role_read_as_absent(self) -> None:
        """GIVEN the role was read and does not exist WHEN checked THEN QS_ROLE_NOT_FOUND."""
        source = athena_source()
        absent = LiveResource(ref=ref(Kind.IAM_ROLE, QS_ROLE), exists=False)
        assert [f.code for f in live_findings(source, live_of(source), {QS_ROLE_ARN: absent})] == [
            "QS_ROLE_NOT_FOUND"
        ]

    def test_data_source_role_not_read_skips_role_rules(self) -> None:
        """GIVEN the role is absent from roles_by_arn or unreadable WHEN checked THEN none."""
        source = athena_source()
        failed = LiveResource(ref=ref(Kind.IAM_ROLE, QS_ROLE), exists=False, error="AccessDenied")
        assert live_findings(source, live_of(source), {}) == ()
        assert live_findings(source, live_of(source), {QS_ROLE_ARN: failed}) == ()

    def test_data_source_role_not_trusting_quicksight_live(self) -> None:
        """GIVEN the live role trusts only EC2 WHEN checked THEN QS_ROLE_NOT_TRUSTING_QUICKSIGHT."""
        source = athena_source()
        roles = {QS_ROLE_ARN: live_role(QS_ROLE, {"trust_policy": trust("ec2.amazonaws.com")})}
        assert [f.code for f in live_findings(source, live_of(source), roles)] == [
            "QS_ROLE_NOT_TRUSTING_QUICKSIGHT"
        ]

    def test_live_data_source_switched_to_foreign_role(self) -> None:
        """GIVEN the live data source uses a role in another account WHEN checked THEN
        QS_ROLE_WRONG_ACCOUNT, whatever the registry says."""
        source = athena_source()
        drifted = live_of(athena_source(f"arn:aws:iam::{OTHER}:role/x"))
        assert [f.code for f in live_findings(source, drifted, {})] == ["QS_ROLE_WRONG_ACCOUNT"]

    def test_live_s3_rules_use_managed_documents_from_facts(self) -> None:
        """GIVEN a live role whose only policy is a managed policy read by the collector
        WHEN checked THEN no S3 finding; without the document THEN the rules are skipped;
        with a document that grants nothing on the bucket THEN both S3 codes."""
        arn = f"arn:aws:iam::{ACCOUNT}:policy/read"
        state = {
            "trust_policy": trust("quicksight.amazonaws.com"),
            "inline_policies": {},
            "managed_policies": [arn],
        }
        source = s3_source()

        def check(facts: dict[str, Any]) -> set[str]:
            roles = {QS_ROLE_ARN: live_role(QS_ROLE, state, facts)}
            return {f.code for f in live_findings(source, live_of(source), roles)}

        assert check({MANAGED_POLICY_DOCUMENTS_FACT: {arn: S3_READ}}) == set()
        assert check({}) == set()
        nothing = policy(statement(Action="s3:GetObject", Resource="arn:aws:s3:::elsewhere/*"))
        assert check({MANAGED_POLICY_DOCUMENTS_FACT: {arn: nothing}}) == {
            "QS_S3_CANNOT_READ_MANIFEST",
            "QS_S3_CANNOT_READ_DATA",
        }

    def test_live_association_role_missing(self) -> None:
        """GIVEN a live association bound to a role known not to exist WHEN checked THEN
        CR_ROLE_NOT_FOUND."""
        association = entry(
            Kind.CLEANROOMS_CONFIGURED_TABLE_ASSOCIATION, "m/a", {"role_arn": CR_ROLE_ARN}
        )
        assert [
            f.code for f in live_findings(association, live_of(association), {CR_ROLE_ARN: None})
        ] == ["CR_ROLE_NOT_FOUND"]

    def test_missing_or_unreadable_resources_have_no_findings(self) -> None:
        """GIVEN a resource that is missing or unreadable WHEN checked THEN no findings."""
        source = athena_source()
        gone = LiveResource(ref=source.ref, exists=False)
        failed = LiveResource(ref=source.ref, exists=False, error="boom")
        assert live_findings(source, gone, {QS_ROLE_ARN: None}) == ()
        assert live_findings(source, failed, {QS_ROLE_ARN: None}) == ()

    def test_evaluate_combines_changes_and_findings(self) -> None:
        """GIVEN a live role that dropped its confused-deputy condition WHEN evaluated THEN the
        result is drifted with the condition removal and carries the finding."""
        resource = role(CR_ROLE, trust_policy=CR_SAFE_TRUST)
        result = evaluate(
            resource, live_of(resource, {"trust_policy": trust("cleanrooms.amazonaws.com")})
        )
        assert result.status is Status.DRIFTED
        assert [(c.path, str(c.op)) for c in result.changes] == [
            ("trust_policy.Statement[0].Condition", "remove")
        ]
        assert [f.code for f in result.findings] == ["CR_TRUST_NO_CONFUSED_DEPUTY"]
