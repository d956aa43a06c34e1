"""Remediation: the pure planner and safety rules (re-exported here), executors and journal.

Importing this package stays free of boto3/botocore; ``executors`` and ``journal`` import
botocore and are imported explicitly.
"""

from __future__ import annotations

from chalicelib.remediation.planner import PlanStep, plan_revert, undo_plan
from chalicelib.remediation.safety import Guard, Verdict, decide

__all__ = ["Guard", "PlanStep", "Verdict", "decide", "plan_revert", "undo_plan"]
