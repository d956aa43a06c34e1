"""Call counts computed rather than measured: the floor as real AWS would page it, and the
per-resource readers at sizes the time budget skips (checked against measured counts at the
sizes that ran)."""

from __future__ import annotations

import math


def floor_paging(roles: int, data_sources: int) -> dict[str, int]:
    """Calls of the floor as real AWS would page it.

    GAAD with the ``Role`` and ``LocalManagedPolicy`` filters returns the roles and the
    customer-managed policies (3 items per benchmark role); its page holds 100 items by default
    and 1,000 at most. ListRoles: the same page sizes. ListDataSources: 100 at most.
    """
    items = roles * 3
    qs_pages = max(1, math.ceil(data_sources / 100))
    at_max = math.ceil(items / 1000) + math.ceil(roles / 1000) + qs_pages
    by_default = math.ceil(items / 100) + math.ceil(roles / 100) + qs_pages
    return {
        "max_page_size": at_max,
        "default_page_size": by_default,
        "max_page_size_with_permissions": at_max + data_sources,
    }


def naive_calls(roles: int, data_sources: int) -> int:
    """Calls of the naive reader against moto (ListRoles pages of 100, one ListDataSources)."""
    return 9 * roles + max(1, math.ceil(roles / 100)) + 1 + data_sources


def custodian_calls(roles: int, data_sources: int) -> int:
    """Calls of the Custodian policies against moto (STS, ListRoles pages of 100, 3 per role,
    one ListDataSources, one ListTagsForResource per data source)."""
    return 1 + max(1, math.ceil(roles / 100)) + 3 * roles + 1 + data_sources
