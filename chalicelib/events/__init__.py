"""CloudTrail event intake: parsing into notices and the route table (pure, stdlib-only)."""

from __future__ import annotations

from chalicelib.events.cloudtrail import parse_event
from chalicelib.events.routes import (
    MUTATING_EVENT_NAMES,
    ROUTES,
    Route,
    RouteResult,
    actor_matches,
    event_patterns,
    find_route,
    is_own_event,
    route,
)

__all__ = [
    "MUTATING_EVENT_NAMES",
    "ROUTES",
    "Route",
    "RouteResult",
    "actor_matches",
    "event_patterns",
    "find_route",
    "is_own_event",
    "parse_event",
    "route",
]
