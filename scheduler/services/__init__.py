"""Scheduler operations shared by the API, the dashboard, the commands and the workers.

One function per operation; the submodules group them (definitions, jobs, planning, execution,
accounting, policies). Import from here.
"""

from __future__ import annotations

from django.conf import settings

from scheduler.services.accounting import account_job
from scheduler.services.capacity import capacity_for
from scheduler.services.definitions import InvalidDefinition, parse_definition
from scheduler.services.jobs import (
    CancelOutcome,
    SubmitOutcome,
    cancel_jobs,
    format_ts,
    job_progress,
    job_to_hypersdk_json,
    log_event,
    query_jobs,
    submit_jobs,
)
from scheduler.services.planning import preview_plan, replan_all, replan_zone
from scheduler.services.policies import (
    fire_due_policies,
    policy_to_json,
    run_policy,
    save_policy,
    set_enabled,
    upcoming_firings,
)

__all__ = [
    "CancelOutcome",
    "InvalidDefinition",
    "SubmitOutcome",
    "account_job",
    "cancel_jobs",
    "capacity_for",
    "fire_due_policies",
    "format_ts",
    "job_progress",
    "job_to_hypersdk_json",
    "log_event",
    "parse_definition",
    "policy_to_json",
    "preview_plan",
    "query_jobs",
    "register_schedules",
    "replan_all",
    "replan_zone",
    "run_policy",
    "upcoming_firings",
    "save_policy",
    "set_enabled",
    "submit_jobs",
]

DISPATCH_SCHEDULE = "scheduler.dispatch_due"
REPLAN_SCHEDULE = "scheduler.replan_waiting"
LIFECYCLE_SCHEDULE = "scheduler.lifecycle"


def _dispatch_cron(seconds: int) -> str:
    # croniter's optional sixth field is seconds; django-q2's scheduler itself wakes about every
    # 30 s; the per-worker dispatch timer (dispatch.start_timer) gives the second-level precision.
    if seconds < 60:
        return f"* * * * * */{seconds}"
    return f"*/{max(1, seconds // 60)} * * * *"


def register_schedules() -> None:
    """Create or update the scheduler's django-q2 schedules by name (idempotent), and clean up
    temporaries left by backups that died with their worker."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=DISPATCH_SCHEDULE,
        defaults={
            "func": "scheduler.tasks.dispatch_due",
            "schedule_type": Schedule.CRON,
            "cron": _dispatch_cron(settings.BACKUP_DISPATCH_SECONDS),
            "repeats": -1,
        },
    )
    Schedule.objects.update_or_create(
        name=REPLAN_SCHEDULE,
        defaults={
            "func": "scheduler.tasks.replan_waiting",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.CARBON_REFRESH_MINUTES,
            "repeats": -1,
        },
    )
    Schedule.objects.update_or_create(
        name=LIFECYCLE_SCHEDULE,
        defaults={
            "func": "scheduler.tasks.lifecycle_tick",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.BACKUP_LIFECYCLE_MINUTES,
            "repeats": -1,
        },
    )
    from scheduler.executors.file import cleanup_stale_temporaries

    cleanup_stale_temporaries(settings.BACKUP_TARGET_ROOT, older_than=settings.BACKUP_STALE_SECONDS)
