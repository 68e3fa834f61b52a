"""The scheduler's worker schedules (registered with the others by hyperweb.schedules.register_all)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from hyperweb.schedules import CRON, MINUTES, Periodic, contributes

DISPATCH_SCHEDULE = "scheduler.dispatch_due"
REPLAN_SCHEDULE = "scheduler.replan_waiting"
LIFECYCLE_SCHEDULE = "scheduler.lifecycle"


def _dispatch_cron(seconds: int) -> str:
    # croniter's optional sixth field is seconds; django-q2's scheduler itself wakes about every
    # 30 s; the per-worker dispatch timer (dispatch.start_timer) gives the second-level precision.
    if seconds < 60:
        return f"* * * * * */{seconds}"
    return f"*/{max(1, seconds // 60)} * * * *"


@contributes
def scheduler_schedules(now: datetime) -> list[Periodic]:
    """Dispatch due jobs every BACKUP_DISPATCH_SECONDS, re-plan waiting jobs after each zone refresh
    (CARBON_REFRESH_MINUTES), verify and prune every BACKUP_LIFECYCLE_MINUTES."""
    return [
        Periodic(
            DISPATCH_SCHEDULE,
            "scheduler.tasks.dispatch_due",
            CRON,
            cron=_dispatch_cron(settings.BACKUP_DISPATCH_SECONDS),
        ),
        Periodic(
            REPLAN_SCHEDULE,
            "scheduler.tasks.replan_waiting",
            MINUTES,
            minutes=settings.CARBON_REFRESH_MINUTES,
        ),
        Periodic(
            LIFECYCLE_SCHEDULE,
            "scheduler.tasks.lifecycle_tick",
            MINUTES,
            minutes=settings.BACKUP_LIFECYCLE_MINUTES,
        ),
    ]
