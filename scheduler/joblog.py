"""A job's event log (JobEvent rows, also logged) and its timestamps' wire format.

A leaf of the scheduler: dispatch, planning, execution and the job services all write events, so
none of them needs another for it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from hyperweb.lib.timefmt import format_utc
from scheduler.models import JobEvent

# The logger these lines always had (they were written from scheduler.services.jobs).
log = logging.getLogger("scheduler.services.jobs")


def format_ts(value: datetime | None) -> str | None:
    """UTC, `Z` suffix, at most 6 fractional digits (docs/API.md, "Conventions"); None stays None."""
    return None if value is None else format_utc(value)


def log_event(job_id: str, message: str, *, level: str = "info", now: datetime | None = None) -> None:
    JobEvent.objects.create(job_id=job_id, timestamp=now or timezone.now(), level=level, message=message)
    log.log(logging.WARNING if level in ("warning", "error") else logging.INFO, "job %s: %s", job_id, message)
