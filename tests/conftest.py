"""Shared fixtures: one moto server on loopback for the session, reset before each test."""

from __future__ import annotations

import io
import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
ACCOUNT = "123456789012"
REGION = "us-east-1"

# Fake credentials and fast-failing retries for everything that runs in the test process.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ["AWS_DEFAULT_REGION"] = REGION
os.environ["AWS_REGION"] = REGION
os.environ["DRIFTWARDEN_MAX_ATTEMPTS"] = "2"
os.environ.pop("AWS_PROFILE", None)
os.environ["POWERTOOLS_SERVICE_NAME"] = "driftwarden"
os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "Driftwarden"
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
for _name in list(os.environ):
    if _name.startswith("DRIFTWARDEN_") and _name != "DRIFTWARDEN_MAX_ATTEMPTS":
        del os.environ[_name]


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 for the whole session; boto3 talks real HTTP to it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A clean emulated account: resets moto and points boto3 at it via AWS_ENDPOINT_URL."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request) as response:
        response.read()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    yield moto_endpoint


@pytest.fixture
def session(aws: str) -> boto3.Session:
    """A boto3 session for the emulated account (clients pick up AWS_ENDPOINT_URL)."""
    return boto3.Session(region_name=REGION)


@dataclass
class CliRun:
    """The result of one ``driftwarden`` invocation through ``cli.main``."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(*argv: str) -> CliRun:
    """Run the CLI in-process exactly as the console script does, capturing its output."""
    from chalicelib.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return CliRun(code, out.getvalue(), err.getvalue())


@pytest.fixture
def seeded(session: boto3.Session) -> Path:
    """An emulated account created from the sample registry in ``policies/``; returns its path."""
    from chalicelib.local.seed import seed_account
    from chalicelib.models import AccountContext
    from chalicelib.registry.loader import load_directory

    registry = load_directory(ROOT / "policies")
    seed_account(
        registry.resolve(AccountContext(ACCOUNT, REGION)),
        session.client("iam"),
        session.client("quicksight"),
    )
    return ROOT / "policies"
