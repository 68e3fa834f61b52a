"""Shared fixtures. Scale-out tests need PostgreSQL and Redis; .ci/run provides them."""

from __future__ import annotations

import os

SCALEOUT = bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config, items):
    # Scale-out tests run in .ci/run's second pass (DATABASE_URL + REDIS_URL); on the embedded
    # SQLite pass they are deselected, and the count is printed so nothing hides silently.
    if SCALEOUT:
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("scaleout") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
