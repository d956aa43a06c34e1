"""Cloud Custodian as a contender: its own virtual environment (it pins its own boto3), the
policies that read what driftwarden compares, and its run against the latency proxy.

The ``iam-role`` policy makes Custodian read each role (ListRoles pages, then GetRole per role
for tags and the full record), its inline policy names (``has-inline-policy``:
ListRolePolicies per role) and its attached policies (``has-specific-managed-policy``:
ListAttachedRolePolicies per role). Custodian has no role filter that reads inline or managed
policy *documents*, so it reads less than driftwarden does. The ``quicksight-datasource``
policy lists the data sources and reads their tags (ListTagsForResource per data source).
Every filter matches every benchmark resource, so no resource drops out early.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".venv-c7n"
REQUIREMENTS = ROOT / "bench" / "requirements-c7n.txt"
STAMP = VENV / ".installed"

POLICIES = """\
policies:
  - name: bench-iam-role
    resource: iam-role
    filters:
      - type: value
        key: AssumeRolePolicyDocument
        value: present
      - type: has-inline-policy
        value: true
      - type: has-specific-managed-policy
        key: PolicyArn
        op: glob
        value: "arn:aws:iam::*:policy/*"
  - name: bench-quicksight-datasource
    resource: quicksight-datasource
"""


def custodian_exe() -> Path:
    return VENV / "bin" / "custodian"


def ensure_venv(install: bool, python: str = sys.executable) -> tuple[Path | None, str]:
    """The ``custodian`` executable, installing c7n into ``bench/.venv-c7n`` if asked.

    Returns
    -------
    tuple
        ``(path, "")`` when Custodian can run, else ``(None, reason)``.
    """
    exe = custodian_exe()
    if STAMP.exists() and exe.exists():
        return exe, ""
    if not install:
        return None, "bench/.venv-c7n is not installed (run `make bench` once to install c7n)"
    try:
        subprocess.run([python, "-m", "venv", str(VENV)], check=True, capture_output=True)
        subprocess.run(
            [
                str(VENV / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "-r",
                str(REQUIREMENTS),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
        detail = getattr(err, "stderr", "") or str(err)
        return None, f"installing c7n failed: {str(detail).strip()[-400:]}"
    STAMP.write_text("c7n\n")
    return exe, ""


def version() -> str:
    """The installed c7n version (empty when unknown)."""
    python = VENV / "bin" / "python"
    try:
        out = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('c7n'))"],
            check=True,
            capture_output=True,
            text=True,
        )
    except (subprocess.CalledProcessError, OSError):
        return ""
    return out.stdout.strip()


def write_policy(directory: Path) -> Path:
    path = directory / "custodian-policy.yml"
    path.write_text(POLICIES)
    return path


def command(policy: Path, output_dir: Path, region: str) -> list[str]:
    """The ``custodian run`` command line (no cache, so every run reads AWS)."""
    return [
        str(custodian_exe()),
        "run",
        "--cache-period",
        "0",
        "--region",
        region,
        "-s",
        str(output_dir),
        str(policy),
    ]


def results(output_dir: Path) -> dict[str, Any]:
    """Resources matched and Custodian's own execution time, from its output directory."""
    matched: dict[str, int] = {}
    duration = 0.0
    for name in ("bench-iam-role", "bench-quicksight-datasource"):
        resources = output_dir / name / "resources.json"
        metadata = output_dir / name / "metadata.json"
        if resources.exists():
            matched[name] = len(json.loads(resources.read_text()))
        if metadata.exists():
            meta = json.loads(metadata.read_text())
            duration += float(meta.get("execution", {}).get("duration") or 0.0)
    return {"matched": matched, "custodian_duration_s": duration}
