"""Fixtures of the reliability suites: the session's figures, a clean emulator after each test,
the journal bucket, the SNS inbox and the Slack stand-in."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import boto3
import pytest

from chalicelib.local.slack_server import SlackStandIn
from tests.fakes import SnsInbox, create_bucket, reset_emulator
from tests.reliability.figures import CaseFigures, Figures, output_path

FIGURES = pytest.StashKey[Figures]()


def session_figures(config: pytest.Config) -> Figures:
    """The one ``Figures`` of this pytest session (created on first use)."""
    if FIGURES not in config.stash:
        config.stash[FIGURES] = Figures()
    return config.stash[FIGURES]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Record each reliability test's outcome (only tests under this folder reach here); as
    the outermost wrapper it sees the report after the xfail plugin has marked it."""
    report: pytest.TestReport = yield
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            outcome = "xpassed" if report.passed else "xfailed"
        else:
            outcome = report.outcome
    elif report.failed:
        outcome = "error"
    elif report.skipped:
        outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
    else:
        outcome = "passed"
    session_figures(item.config).record_outcome(report.nodeid, outcome)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the figures where ``RELIABILITY_JSON`` says (nothing when unset)."""
    path = output_path()
    if path is not None and FIGURES in session.config.stash:
        session.config.stash[FIGURES].write(path)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> CaseFigures:
    """This test's share of the session's figures, to add what it observed."""
    return session_figures(request.config).case(request.node.nodeid)


@pytest.fixture(autouse=True, scope="module")
def _leave_emulator_clean(moto_endpoint: str) -> Iterator[None]:
    """Wipe moto after each module (its state is process-wide; see ``reset_emulator``).
    Every test that uses the emulator starts from a reset one (the ``aws`` fixture), so one
    reset at the end of the module is enough and saves half a second a test."""
    yield
    reset_emulator(moto_endpoint)


@pytest.fixture
def journal(session: boto3.Session) -> str:
    """An ``s3://`` journal location in a fresh versioned bucket."""
    return f"s3://{create_bucket(session)}/journal"


@pytest.fixture
def inbox(session: boto3.Session) -> SnsInbox:
    """An SNS topic with an SQS queue subscribed: what on-call would receive."""
    return SnsInbox(session)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """The loopback Slack stand-in (webhook and Web API)."""
    with SlackStandIn() as stand_in:
        yield stand_in
