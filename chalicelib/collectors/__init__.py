"""Live readers (collectors): every read call of IAM, QuickSight and Clean Rooms."""

from __future__ import annotations

from chalicelib.collectors.base import Collector
from chalicelib.collectors.cleanrooms import CleanRoomsCollector
from chalicelib.collectors.iam import IamCollector
from chalicelib.collectors.quicksight import QuickSightCollector

__all__ = ["CleanRoomsCollector", "Collector", "IamCollector", "QuickSightCollector"]
