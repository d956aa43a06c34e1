"""The driftwarden benchmark: sweep, per-event and cold-start cost against moto on loopback.

Run it with ``make bench`` (or ``python -m bench --help``); see bench/README.md for the method.
"""

from __future__ import annotations
