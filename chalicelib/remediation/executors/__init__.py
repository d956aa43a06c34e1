"""Executors: the only writes to IAM, QuickSight and Clean Rooms (one module per service)."""

from __future__ import annotations

from chalicelib.remediation.executors.base import Executor, PartialRemediationError
from chalicelib.remediation.executors.cleanrooms import CleanRoomsExecutor
from chalicelib.remediation.executors.iam import IamExecutor
from chalicelib.remediation.executors.quicksight import QuickSightExecutor

__all__ = [
    "CleanRoomsExecutor",
    "Executor",
    "IamExecutor",
    "PartialRemediationError",
    "QuickSightExecutor",
]
