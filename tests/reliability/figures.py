"""The figures the reliability suites report, and where they go.

Each test adds what it observed, through its ``CaseFigures``, to one ``Figures`` object per
pytest session (kept in the config stash, see ``conftest.py``). When ``RELIABILITY_JSON``
names a file, the session writes the figures there at the end; ``reliability/run.py`` reads
that file and prints the table. Without the variable (``make test``) nothing is written.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.models import NotificationRecord

#: Where the session writes its figures (set by reliability/run.py).
OUTPUT_ENV = "RELIABILITY_JSON"

#: How many examples of each fuzz shape make up an example list in the JSON (for reproduction).
SAMPLES_KEPT = 5


COUNTERS = (
    "forbidden_writes",
    "notifications_expected",
    "notifications_delivered",
    "notifications_reported_failed",
    "notifications_lost",
    "events_fuzzed",
    "events_end_to_end",
    "crashes",
    "wrong_routes",
    "fuzz_writes",
    "fuzz_forbidden_writes",
)


@dataclass
class Figures:
    """Counters of one pytest session over tests/reliability, kept per test.

    Counters of a test that is a known bug (a strict xfail) are reported apart, so the bars
    speak for the behaviour that is claimed to work, and the known bugs show what they cost.

    Counters
    --------
    forbidden_writes
        Write calls (IAM, QuickSight, Clean Rooms) made where the case allowed none.
    notifications_expected, notifications_delivered, notifications_reported_failed
        Per channel and alert: what a case needed delivered, what its receiver (SQS queue on
        the SNS topic, Slack stand-in) got, and what the outcome reported as ``failed``.
    notifications_lost
        Alerts that needed a channel and got neither a delivery nor a ``failed`` record, plus
        ``sent`` records whose message never reached the receiver.
    events_fuzzed, events_end_to_end
        Fuzzed events handled in all, and of those, end to end against moto.
    crashes
        Exceptions that escaped ``Responder.handle_event`` (or outcomes not JSON-renderable).
    wrong_routes
        Resources an event was routed to that the route table does not allow for it.
    fuzz_writes, fuzz_forbidden_writes
        Write calls made while fuzzing, and those made where none were allowed.
    """

    outcomes: dict[str, str] = field(default_factory=dict)
    counters: dict[str, Counter[str]] = field(default_factory=dict)
    decisions: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def case(self, nodeid: str) -> CaseFigures:
        """The figures of one test."""
        return CaseFigures(self, nodeid)

    def add(self, nodeid: str, **counts: int) -> None:
        unknown = set(counts) - set(COUNTERS)
        if unknown:
            raise ValueError(f"unknown counters {sorted(unknown)}")
        with self._lock:
            self.counters.setdefault(nodeid, Counter()).update(counts)

    def record_outcome(self, nodeid: str, outcome: str) -> None:
        """Keep the worst outcome seen for a test (setup, call and teardown report apart)."""
        rank = ["passed", "skipped", "xfailed", "xpassed", "failed", "error"]
        previous = self.outcomes.get(nodeid)
        if previous is None or rank.index(outcome) > rank.index(previous):
            self.outcomes[nodeid] = outcome

    def totals(self, known_bugs: bool) -> Counter[str]:
        """Counters summed over the tests that are (or are not) known bugs."""
        total: Counter[str] = Counter(dict.fromkeys(COUNTERS, 0))
        for nodeid, counts in self.counters.items():
            if (self.outcomes.get(nodeid) == "xfailed") is known_bugs:
                total.update(counts)
        return total

    def to_json(self) -> dict[str, Any]:
        outcomes = Counter(self.outcomes.values())
        claimed, bugs = self.totals(known_bugs=False), self.totals(known_bugs=True)
        return {
            "cases": {
                "run": len(self.outcomes),
                "passed": outcomes["passed"],
                "failed": outcomes["failed"] + outcomes["error"] + outcomes["xpassed"],
                "xfailed": outcomes["xfailed"],
                "skipped": outcomes["skipped"],
                "known_bugs": sorted(n for n, o in self.outcomes.items() if o == "xfailed"),
                "not_passed": sorted(
                    n for n, o in self.outcomes.items() if o not in {"passed", "xfailed"}
                ),
            },
            "writes_where_none_allowed": claimed["forbidden_writes"]
            + claimed["fuzz_forbidden_writes"],
            "notifications": {
                "expected": claimed["notifications_expected"],
                "delivered": claimed["notifications_delivered"],
                "reported_failed": claimed["notifications_reported_failed"],
                "lost": claimed["notifications_lost"],
            },
            "fuzz": {
                "events": claimed["events_fuzzed"],
                "end_to_end": claimed["events_end_to_end"],
                "crashes": claimed["crashes"],
                "wrong_routes": claimed["wrong_routes"],
                "writes": claimed["fuzz_writes"],
                "forbidden_writes": claimed["fuzz_forbidden_writes"],
                "decisions": dict(sorted(self.decisions.items())),
                "examples": self.examples,
            },
            "known_bugs": {name: count for name, count in sorted(bugs.items()) if count},
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")


@dataclass(frozen=True)
class CaseFigures:
    """What one test adds to the session's figures."""

    figures: Figures
    nodeid: str

    def writes_where_forbidden(self, writes: Iterable[str]) -> list[str]:
        """Count write calls made where the case allowed none; returns them (to assert on)."""
        made = list(writes)
        self.figures.add(self.nodeid, forbidden_writes=len(made))
        return made

    def notifications(
        self,
        records: Iterable[NotificationRecord],
        delivered: Mapping[str, int],
        expected: Mapping[str, int],
    ) -> int:
        """Account for one case's notifications; returns how many were lost.

        Parameters
        ----------
        records
            Every ``NotificationRecord`` the case's outcomes carry.
        delivered
            Channel -> messages its receiver got.
        expected
            Channel -> alerts that had to reach it (a delivery or a reported failure).
        """
        sent: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        for record in records:
            if record.status == "sent":
                sent[record.channel] += 1
            elif record.status == "failed":
                failed[record.channel] += 1
        lost = 0
        for channel, want in expected.items():
            got = delivered.get(channel, 0)
            lost += max(0, sent[channel] - got) + max(0, want - got - failed[channel])
        self.figures.add(
            self.nodeid,
            notifications_expected=sum(expected.values()),
            notifications_delivered=sum(delivered.get(c, 0) for c in expected),
            notifications_reported_failed=sum(failed[c] for c in expected),
            notifications_lost=lost,
        )
        return lost

    def fuzzed(self, stats: Any, end_to_end: bool) -> None:
        """Add one fuzz run's ``FuzzStats`` (see ``tests/reliability/fuzz.py``)."""
        self.figures.add(
            self.nodeid,
            events_fuzzed=stats.events,
            events_end_to_end=stats.events if end_to_end else 0,
            crashes=stats.crashes,
            wrong_routes=stats.wrong_routes,
            fuzz_writes=stats.writes,
            fuzz_forbidden_writes=stats.forbidden_writes,
        )
        with self.figures._lock:
            self.figures.decisions.update(stats.decisions)
            for kind, found in stats.examples.items():
                kept = self.figures.examples.setdefault(kind, [])
                kept.extend(found[: max(0, SAMPLES_KEPT - len(kept))])


def output_path() -> Path | None:
    """The file named by ``RELIABILITY_JSON``, or None."""
    value = os.environ.get(OUTPUT_ENV, "").strip()
    return Path(value) if value else None
