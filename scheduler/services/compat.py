"""The HyperSDK clients' advanced-scheduling reads, answered from what hyperweb really has.

HyperSDK's clients call `/schedules/queue`, `/schedules/retry`, `/schedules/timewindow` and
`/schedules/validate` (its daemon answers them with placeholders). hyperweb maps them onto its own
jobs: the queue is the waiting jobs in the order they will start, retries are jobs whose attempt
failed and come back (BACKUP_MAX_ATTEMPTS, exponential backoff), a job's "time window" is its
carbon-aware window [earliest_start, latest_start] with the planned start inside it, and validate
runs POST /schedules' own checks without storing. Shapes follow the clients' declared types, with
hyperweb's extra keys beside them. What has no honest counterpart (job dependencies, advanced
schedules with retry policies, time windows per weekday, priorities, conditions) is not here: the
views answer 501 for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from scheduler.models import BackupJob, BackupPolicy, JobEvent
from scheduler.services.jobs import format_ts
from scheduler.services.policies import InvalidDefinition, apply_policy_data, check_new_policy_id

LIST_LIMIT = 100  # jobs per list answer; `total` says how many there are
HISTORY_LIMIT = 20  # warning/error events per job in a retry answer


def _name(job: BackupJob) -> str:
    return job.name or (job.definition or {}).get("name") or job.vm_path


# -- GET /schedules/queue -----------------------------------------------------------------------


def queue_status() -> dict[str, Any]:
    """Jobs by state, and the waiting ones in the order they are due to start."""
    counts = dict.fromkeys(BackupJob.Status.values, 0)
    for row in BackupJob.objects.values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    waiting = BackupJob.objects.filter(status__in=BackupJob.WAITING).select_related("zone")
    queued = [
        {
            "job_id": job.id,
            "job_name": _name(job),
            "priority": 0,  # hyperweb has no priorities: the planned start orders the queue
            "added_at": format_ts(job.requested_at),
            "attempts": job.attempts,
            "state": job.status,
            "planned_start": format_ts(job.planned_start),
            "zone": job.zone.code if job.zone is not None else None,
        }
        for job in waiting.order_by("planned_start", "earliest_start", "requested_at", "pk")[:LIST_LIMIT]
    ]
    return {
        "queue_size": counts[BackupJob.Status.PENDING] + counts[BackupJob.Status.SCHEDULED],
        "running_jobs": counts[BackupJob.Status.RUNNING],
        "max_slots": int(settings.Q_CLUSTER["workers"]),
        "queued_jobs": queued,
        "jobs_by_state": counts,
        "timestamp": format_ts(timezone.now()),
    }


# -- GET /schedules/retry -----------------------------------------------------------------------


def retried_jobs() -> QuerySet[BackupJob]:
    """Jobs that failed an attempt and were (or will be) tried again, newest first."""
    return BackupJob.objects.filter(Q(next_attempt_at__isnull=False) | Q(attempts__gte=2)).order_by(
        "-updated_at", "pk"
    )


def retry_status(job: BackupJob) -> dict[str, Any]:
    history = JobEvent.objects.filter(job=job, level__in=(JobEvent.Level.WARNING, JobEvent.Level.ERROR))
    data: dict[str, Any] = {
        "job_id": job.id,
        "job_name": _name(job),
        "attempt": job.attempts,
        "max_attempts": job.max_attempts,
        "state": job.status,
        "history": [
            {"timestamp": format_ts(e.timestamp), "level": e.level, "message": e.message}
            for e in history.order_by("-timestamp", "-pk")[:HISTORY_LIMIT]
        ],
    }
    if job.error:
        data["last_error"] = job.error
    if job.status in BackupJob.WAITING and job.next_attempt_at is not None:
        data["next_retry"] = format_ts(job.next_attempt_at)
    return data


def retry_list() -> dict[str, Any]:
    jobs = retried_jobs()
    return {
        "jobs": [retry_status(job) for job in jobs[:LIST_LIMIT]],
        "total": jobs.count(),
        "timestamp": format_ts(timezone.now()),
    }


# -- GET /schedules/timewindow ------------------------------------------------------------------


def window_status(job: BackupJob, *, now: datetime | None = None) -> dict[str, Any]:
    """A job's carbon-aware window: it may start any time in [earliest_start, latest_start]."""
    now = now or timezone.now()
    waiting = job.status in BackupJob.WAITING
    in_window = waiting and job.earliest_start <= now <= job.latest_start
    if not waiting:
        message = f"the job is {job.status}: its window no longer applies"
    elif now < job.earliest_start:
        message = f"the window opens at {format_ts(job.earliest_start)}"
    elif now > job.latest_start:
        message = "the window has closed: the job is overdue and starts as soon as it can"
    elif job.planned_start and job.planned_start > now:
        message = f"within the window; planned to start at {format_ts(job.planned_start)}"
    else:
        message = "within the window; due to start now"
    window: dict[str, Any] = {
        "index": 0,
        "start_time": format_ts(job.earliest_start),
        "end_time": format_ts(job.latest_start),
        "days": [],  # one window per job, not a weekly pattern
        "timezone": "UTC",
        "active": in_window,
    }
    data: dict[str, Any] = {
        "job_id": job.id,
        "job_name": _name(job),
        "in_window": in_window,
        "message": message,
        "windows": [window],
        "state": job.status,
        "carbon_aware": job.carbon_aware,
        "zone": job.zone.code if job.zone is not None else None,
        "planned_start": format_ts(job.planned_start),
    }
    if waiting and job.planned_start is not None:
        window["next_start"] = format_ts(job.planned_start)
    if waiting and now < job.earliest_start:
        data["next_window_start"] = format_ts(job.earliest_start)
    return data


def window_list(*, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    jobs = BackupJob.objects.filter(status__in=BackupJob.WAITING).select_related("zone")
    ordered = jobs.order_by("planned_start", "earliest_start", "pk")
    return {
        "jobs": [window_status(job, now=now) for job in ordered[:LIST_LIMIT]],
        "total": jobs.count(),
        "timestamp": format_ts(now),
    }


# -- POST /schedules/validate -------------------------------------------------------------------


def validate_schedule(data: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """POST /schedules' checks on `data`, nothing stored: {valid, errors, message, ...}."""
    now = now or timezone.now()
    warnings = []
    if data.get("advanced_config"):
        warnings.append(
            "advanced_config (dependencies, retry policies, weekday windows, priorities) is not "
            "supported by hyperweb: POST /schedules ignores it"
        )
    try:
        if data.get("id"):
            check_new_policy_id(data["id"])
        policy = apply_policy_data(BackupPolicy(), data, partial=False, now=now)
    except InvalidDefinition as exc:
        return {"valid": False, "errors": [str(exc)], "warnings": warnings}
    return {
        "valid": True,
        "errors": [],
        "warnings": warnings,
        "message": "Schedule configuration is valid",
        "next_run": format_ts(policy.next_run_at),
        "carbon_aware": policy.carbon_aware,
        "zone": policy.zone.code if policy.zone is not None else None,
    }
