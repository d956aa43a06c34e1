"""render_html: the audit report as a self-contained, escaped HTML page (pure)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.audit.html import change_line, render_html, render_html_json
from chalicelib.audit.report import AuditReport
from chalicelib.models import (
    Change,
    Finding,
    Kind,
    Mode,
    Op,
    ResourceRef,
    ResourceResult,
    Severity,
    Status,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
DIGEST = "sha256:" + "ab" * 32
WHEN = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def ref(kind: Kind, ident: str) -> ResourceRef:
    return ResourceRef(kind, ident, ACCOUNT, REGION)


DRIFTED = ResourceResult(
    ref(Kind.IAM_ROLE, "dw-quicksight-athena"),
    Mode.ENFORCE,
    Status.DRIFTED,
    changes=(
        Change("max_session_duration", Op.CHANGE, 3600, 7200),
        Change("inline_policies.backdoor", Op.ADD, None, {"Statement": []}),
        Change("managed_policies", Op.REMOVE, ["arn:aws:iam::aws:policy/ReadOnly"], None),
    ),
    findings=(Finding("TRUST_WIDENED", Severity.HIGH, "trust policy lets any principal in"),),
)
MISSING = ResourceResult(
    ref(Kind.QUICKSIGHT_DATA_SOURCE, "dw-sales-athena"), Mode.ALERT, Status.MISSING
)
FAILED = ResourceResult(
    ref(Kind.CLEANROOMS_MEMBERSHIP, "m-1"),
    Mode.ALERT,
    Status.ERROR,
    error="AccessDenied reading the membership",
)
IN_SYNC_WITH_FINDING = ResourceResult(
    ref(Kind.IAM_ROLE, "dw-cleanrooms-read-data"),
    Mode.ENFORCE,
    Status.IN_SYNC,
    findings=(Finding("NO_CONFUSED_DEPUTY", Severity.MEDIUM, "no aws:SourceArn condition"),),
)
IN_SYNC = ResourceResult(
    ref(Kind.IAM_POLICY, "arn:aws:iam::1:policy/dw-x"), Mode.ENFORCE, Status.IN_SYNC
)


def report(*resources: ResourceResult) -> AuditReport:
    return AuditReport(WHEN, "s3://registry-bucket/registry", DIGEST, resources)


class _Text(HTMLParser):
    """Collects the text a person sees (not the style sheet), and the tags used.

    Element boundaries count as white space, as they do on screen for the table cells,
    cards and list items of the page.
    """

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)
        self.parts.append(" ")
        if tag in ("style", "title"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        self.parts.append(" ")
        if tag in ("style", "title"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def parse(page: str) -> _Text:
    parser = _Text()
    parser.feed(page)
    parser.close()
    return parser


def visible(page: str) -> str:
    return re.sub(r"\s+", " ", "".join(parse(page).parts))


FULL = render_html(report(DRIFTED, MISSING, FAILED, IN_SYNC_WITH_FINDING, IN_SYNC))


class TestContent:
    def test_page_is_a_complete_document(self) -> None:
        """GIVEN any report WHEN rendered THEN a full HTML5 document with a charset comes out."""
        assert FULL.startswith("<!DOCTYPE html>")
        assert '<meta charset="utf-8">' in FULL
        assert FULL.rstrip().endswith("</html>")

    def test_summary_counts_every_status_and_the_findings(self) -> None:
        """The summary shows one count per status and the number of findings by severity."""
        text = visible(FULL)
        assert "2 in sync" in text
        assert "1 drifted" in text
        assert "1 missing" in text
        assert "1 error" in text
        assert "2 findings" in text
        assert "1 high, 1 medium" in text

    def test_table_lists_every_resource_with_its_status(self) -> None:
        """Every resource, in sync or not, has a row with kind, id, account, region, mode."""
        table = FULL.split('<table id="resources">', 1)[1].split("</table>", 1)[0]
        rows = visible(table)
        for result in (DRIFTED, MISSING, FAILED, IN_SYNC_WITH_FINDING, IN_SYNC):
            assert result.ref.id in rows
        assert table.count("<tr>") == 6  # header + five resources
        assert "quicksight_data_source dw-sales-athena 123456789012 us-east-1 alert missing" in rows

    def test_drifted_resource_section_shows_a_unified_diff(self) -> None:
        """Each change is one line: ~ for a change, + for a live-only value, - for a lost one."""
        text = visible(FULL)
        assert "~ max_session_duration: 3600 → 7200" in text
        assert '+ inline_policies.backdoor: {"Statement": []}' in text
        assert '- managed_policies: ["arn:aws:iam::aws:policy/ReadOnly"]' in text

    def test_findings_show_severity_code_and_message(self) -> None:
        text = visible(FULL)
        assert "high TRUST_WIDENED trust policy lets any principal in" in text
        assert "medium NO_CONFUSED_DEPUTY no aws:SourceArn condition" in text

    def test_missing_and_error_resources_get_a_section(self) -> None:
        """A missing resource says so; a failed one shows its error."""
        assert 'class="resource missing"' in FULL
        assert "The resource does not exist." in visible(FULL)
        assert "AccessDenied reading the membership" in visible(FULL)

    def test_in_sync_resource_without_findings_gets_no_section(self) -> None:
        """Only drifted, missing, failed resources and those with findings get a section."""
        assert FULL.count('<section class="resource') == 4
        assert 'href="#r4"' not in FULL

    def test_sections_are_linked_from_the_table(self) -> None:
        anchors = set(re.findall(r'href="#(r\d+)"', FULL))
        ids = set(re.findall(r'<section class="resource [a-z_]+" id="(r\d+)"', FULL))
        assert anchors == ids == {"r0", "r1", "r2", "r3"}

    def test_generated_at_and_registry_digest_are_shown(self) -> None:
        text = visible(FULL)
        assert "2025-03-04T05:06:07Z" in text
        assert DIGEST in text
        assert "s3://registry-bucket/registry" in text

    def test_title_names_the_problems(self) -> None:
        assert "<title>driftwarden audit: 1 drifted, 1 missing, 1 error</title>" in FULL

    def test_all_in_sync_says_so(self) -> None:
        page = render_html(report(IN_SYNC))
        assert "<title>driftwarden audit: all in sync</title>" in page
        assert "All 1 resources are in sync, with no findings." in visible(page)

    def test_empty_registry_says_so(self) -> None:
        assert "The registry names no resources." in visible(render_html(report()))

    def test_json_shape_renders_the_same_page(self) -> None:
        """A cached report (its JSON read back from the history) renders identically."""
        full = report(DRIFTED, MISSING)
        assert render_html_json(full.to_json()) == render_html(full)


class TestSelfContained:
    def test_no_script_and_no_external_assets(self) -> None:
        """No JavaScript, no linked style sheets, images or fonts: one file works offline."""
        parsed = parse(FULL)
        assert not {"script", "link", "img", "iframe", "object"} & set(parsed.tags)
        external = [v for k, v in parsed.attrs if k in ("src", "href") and v and v[:1] != "#"]
        assert external == []
        assert "url(" not in FULL
        assert "@import" not in FULL


class TestEscaping:
    def test_markup_in_report_values_is_escaped(self) -> None:
        """GIVEN ids, paths, values and messages holding markup THEN none of it becomes a tag."""
        hostile = "<script>alert(1)</script>"
        result = ResourceResult(
            ref(Kind.IAM_ROLE, f'x"{hostile}'),
            Mode.ENFORCE,
            Status.DRIFTED,
            changes=(Change(f"tags.{hostile}", Op.CHANGE, hostile, "<b>&amp;</b>"),),
            findings=(Finding(hostile, Severity.CRITICAL, f"{hostile} & more"),),
            error=hostile,
        )
        page = render_html(report(result))
        assert "<script>" not in page
        assert "script" not in parse(page).tags
        text = visible(page)
        assert f"~ tags.{hostile}: {hostile} → <b>&amp;</b>" in text
        assert f'x"{hostile}' in text

    @settings(max_examples=200, deadline=None)
    @given(
        path=st.text(min_size=1, max_size=30),
        desired=st.text(max_size=30),
        live=st.text(max_size=30),
    )
    def test_any_text_round_trips_to_what_is_shown(
        self, path: str, desired: str, live: str
    ) -> None:
        """Whatever the strings, the page shows them verbatim and adds no element."""
        result = ResourceResult(
            ref(Kind.IAM_ROLE, "r"),
            Mode.ALERT,
            Status.DRIFTED,
            changes=(Change(path, Op.CHANGE, desired, live),),
        )
        page = render_html(report(result))
        plain = ResourceResult(
            ref(Kind.IAM_ROLE, "r"),
            Mode.ALERT,
            Status.DRIFTED,
            changes=(Change("p", Op.CHANGE, "a", "b"),),
        )
        assert parse(page).tags == parse(render_html(report(plain))).tags
        line = change_line({"path": path, "op": "change", "desired": desired, "live": live})
        assert f" {line} " in "".join(parse(page).parts)


class TestChangeLine:
    def test_non_string_values_are_compact_json(self) -> None:
        line = change_line(
            {
                "path": "trust_policy.Statement",
                "op": "change",
                "desired": {"b": 1, "a": [1]},
                "live": None,
            }
        )
        assert line == '~ trust_policy.Statement: {"a": [1], "b": 1} → null'

    def test_unknown_op_reads_as_a_change(self) -> None:
        assert change_line({"path": "p", "op": "weird", "desired": 1, "live": 2}) == "~ p: 1 → 2"
