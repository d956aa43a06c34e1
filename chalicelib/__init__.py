"""driftwarden: holds IAM roles, QuickSight data sources and Clean Rooms to a desired state."""

from __future__ import annotations

__version__ = "0.1.0"
