"""The audit endpoint through chalice.test.Client against moto's server: JSON, HTML, one
resource, the cached sweep report, and the 404s."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest
from chalice.test import Client

import app as chalice_app
from chalicelib import service
from tests.conftest import ACCOUNT
from tests.fakes import create_bucket, reset_emulator

AUDIT_KEYS = {"generated_at", "registry", "summary", "resources"}


@pytest.fixture(autouse=True)
def _leave_emulator_clean(moto_endpoint: str) -> Iterator[None]:
    yield
    reset_emulator(moto_endpoint)


@pytest.fixture
def client(
    monkeypatch: pytest.MonkeyPatch, seeded: Path, session: boto3.Session
) -> Iterator[Client]:
    reports = create_bucket(session)
    monkeypatch.setenv("DRIFTWARDEN_REGISTRY", str(seeded))
    monkeypatch.setenv("DRIFTWARDEN_REPORTS", f"s3://{reports}/reports")
    service.reset()
    with Client(chalice_app.app, stage_name="test") as test_client:
        yield test_client
    service.reset()


def _drift(session: boto3.Session) -> None:
    session.client("iam").detach_role_policy(
        RoleName="dw-quicksight-athena",
        PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/dw-athena-results-bucket",
    )


def test_full_report_is_the_audit_json(client: Client, session: boto3.Session) -> None:
    """GIVEN one drifted role WHEN GET /audit THEN the JSON is the `audit --json` shape with it."""
    _drift(session)
    response = client.http.get("/audit")
    assert response.status_code == 200
    body = json.loads(response.body)
    assert set(body) == AUDIT_KEYS
    assert body["summary"] == {"in_sync": 8, "drifted": 1, "missing": 0, "error": 0}
    drifted = [r for r in body["resources"] if r["status"] == "drifted"]
    assert [(r["kind"], r["id"]) for r in drifted] == [("iam_role", "dw-quicksight-athena")]


def test_one_resource(client: Client) -> None:
    response = client.http.get("/audit/quicksight_data_source/dw-sales-athena")
    assert response.status_code == 200
    body = json.loads(response.body)
    assert [(r["kind"], r["id"], r["status"]) for r in body["resources"]] == [
        ("quicksight_data_source", "dw-sales-athena", "in_sync")
    ]


def test_policy_arn_id_is_url_encoded(client: Client) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/dw-athena-results-bucket"
    response = client.http.get(f"/audit/iam_policy/{quote(arn, safe='')}")
    assert response.status_code == 200
    assert json.loads(response.body)["resources"][0]["id"] == arn


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/audit/no_such_kind/x", "unknown kind"),
        ("/audit/iam_role/not-in-registry", "not in the registry"),
    ],
)
def test_unknown_kind_or_id_is_404_with_a_message(client: Client, path: str, fragment: str) -> None:
    response = client.http.get(path)
    assert response.status_code == 404
    assert fragment in json.loads(response.body)["Message"]


def test_unknown_route_is_404(client: Client) -> None:
    assert client.http.get("/nothing-here").status_code in (403, 404)


def test_html_by_query_or_accept_header(client: Client, session: boto3.Session) -> None:
    """GIVEN drift WHEN the page is asked for THEN a self-contained HTML report names it."""
    _drift(session)
    for response in (
        client.http.get("/audit?format=html"),
        client.http.get("/audit", headers={"Accept": "text/html"}),
    ):
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        page = response.body.decode()
        assert "<html" in page.lower()
        assert "dw-quicksight-athena" in page
        assert "managed_policies" in page


def test_cached_report_is_the_last_sweep(client: Client, session: boto3.Session) -> None:
    """GIVEN no sweep yet WHEN ?cached=1 THEN 404; AFTER the scheduled sweep THEN its report."""
    assert client.http.get("/audit?cached=1").status_code == 404
    _drift(session)
    swept = client.lambda_.invoke(
        "sweep",
        client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        ),
    ).payload
    assert swept["summary"]["drifted"] == 1
    cached = client.http.get("/audit?cached=1")
    assert cached.status_code == 200
    body = json.loads(cached.body)
    assert body["generated_at"] == swept["generated_at"]
    assert body["summary"]["drifted"] == 1
    one = client.http.get("/audit/iam_role/dw-quicksight-athena?cached=1")
    assert [r["status"] for r in json.loads(one.body)["resources"]] == ["drifted"]
