"""Scheduler test fixtures (the lifecycle ones: real roots under tmp_path, no broker)."""

from tests.scheduler.lifecycle import enqueued, roots  # noqa: F401
