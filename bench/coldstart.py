"""Cold start: ``python -X importtime`` of the Lambda module against ``import boto3`` alone.

The import time of a module is the cumulative column of its own top-level line (it includes
everything it imports that the interpreter had not imported yet at start-up). Each command
runs ``repeats`` times in a fresh interpreter, the two alternating; the ratio uses the fastest
run of each (the least disturbed by other work on the machine), and the medians are kept too.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_LINE_RE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def parse_importtime(text: str) -> list[tuple[int, int, str]]:
    """``(depth, cumulative_us, module)`` for each line of ``-X importtime`` output."""
    rows = []
    for line in text.splitlines():
        match = _LINE_RE.match(line)
        if match:
            _self_us, cumulative, indent, name = match.groups()
            rows.append(((len(indent) - 1) // 2, int(cumulative), name))
    return rows


def cumulative_us(rows: list[tuple[int, int, str]], module: str) -> int:
    """The cumulative import time of the top-level ``module`` (0 if it was not imported)."""
    return next((c for depth, c, name in rows if depth == 0 and name == module), 0)


def children(rows: list[tuple[int, int, str]], module: str) -> list[tuple[str, int]]:
    """The direct imports of the top-level ``module``, slowest first."""
    found: list[tuple[str, int]] = []
    pending: list[tuple[str, int]] = []
    for depth, cumulative, name in rows:
        if depth == 1:
            pending.append((name, cumulative))
        elif depth == 0:
            if name == module:
                found = pending
                break
            pending = []
    return sorted(found, key=lambda item: -item[1])


def importtime(module: str, env: dict[str, str], python: str = sys.executable) -> str:
    done = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stderr


def measure(env: dict[str, str], repeats: int = 5, python: str = sys.executable) -> dict[str, Any]:
    """Import times of ``app`` and ``boto3`` (fastest and median), their ratio and app's
    slowest imports."""
    app_runs: list[int] = []
    boto_runs: list[int] = []
    slowest: list[tuple[str, int]] = []
    for _ in range(repeats):
        rows = parse_importtime(importtime("app", env, python))
        app_runs.append(cumulative_us(rows, "app"))
        slowest = children(rows, "app")
        boto_runs.append(cumulative_us(parse_importtime(importtime("boto3", env, python)), "boto3"))
    app_ms = min(app_runs) / 1000
    boto_ms = min(boto_runs) / 1000
    return {
        "repeats": repeats,
        "import_app_ms": app_ms,
        "import_boto3_ms": boto_ms,
        "import_app_median_ms": statistics.median(app_runs) / 1000,
        "import_boto3_median_ms": statistics.median(boto_runs) / 1000,
        "ratio": app_ms / boto_ms if boto_ms else None,
        "app_runs_ms": [r / 1000 for r in app_runs],
        "boto3_runs_ms": [r / 1000 for r in boto_runs],
        "app_slowest_imports_ms": [(name, us / 1000) for name, us in slowest[:8]],
    }
