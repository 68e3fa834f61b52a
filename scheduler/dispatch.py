"""Claiming work without locks: which jobs are due, who runs them, and what a lost worker leaves.

Every step is a conditional UPDATE whose row count says who won, so any number of web processes
and worker clusters on any number of machines can race safely:
- dispatching marks a due job `dispatched_at` (PostgreSQL: a batch selected with
  `FOR UPDATE SKIP LOCKED`; SQLite: one conditional update per row) before enqueueing it;
- a worker proceeds only if its `status in (pending, scheduled) -> running` update changed
  exactly one row; a duplicate queue message (or a second cluster) changes none and stops;
- a running job whose heartbeat stopped is reaped by the same kind of update.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Collection
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from carbon.models import Zone
from scheduler.joblog import log_event
from scheduler.models import BackupJob
from scheduler.signals import DEADLINE_GRACE, backup_failed, deadline_missed, send_on_commit

log = logging.getLogger(__name__)

RUN_TASK = "scheduler.tasks.run_job"


def worker_name() -> str:
    """host:pid, unique among live workers; stored as `claimed_by`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _due(now: datetime, *, force: bool) -> Q:
    due = Q(status__in=BackupJob.WAITING, planned_start__lte=now)
    if not force:
        stale = now - timedelta(seconds=settings.BACKUP_REDISPATCH_SECONDS)
        due &= Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale)
    return due


def select_due(now: datetime | None = None, *, limit: int = 500, force: bool = False) -> list[str]:
    """Mark and return the ids of due jobs not yet handed to a worker (earliest first).

    `force` also returns jobs already dispatched (after a cluster restart their queue messages
    may be gone); running them twice is impossible anyway, since the claim decides.
    """
    now = now or timezone.now()
    query = BackupJob.objects.filter(_due(now, force=force)).order_by("planned_start", "pk")
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            ids = list(query.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
            if ids:
                BackupJob.objects.filter(pk__in=ids).update(dispatched_at=now)
        return ids
    ids = []
    for pk, previous in query.values_list("pk", "dispatched_at")[:limit]:
        if BackupJob.objects.filter(pk=pk, dispatched_at=previous).update(dispatched_at=now):
            ids.append(pk)
    return ids


def enqueue_jobs(job_ids: list[str], *, mark: bool = True) -> None:
    """Hand jobs to the worker cluster (one `run_job` task each)."""
    if mark and job_ids:
        BackupJob.objects.filter(pk__in=job_ids).update(dispatched_at=timezone.now())
    for job_id in job_ids:
        async_task(RUN_TASK, job_id, task_name=f"backup-{job_id}"[:100], group="backups")


def dispatch_due(now: datetime | None = None, *, force: bool = False) -> list[str]:
    ids = select_due(now, force=force)
    if ids:
        enqueue_jobs(ids, mark=False)
    return ids


class ClaimRefused(Exception):
    """Why a worker did not get a job (not an error: another worker or a later time will).

    ``capacity``: refused because a zone or target limit is reached (the job waits for a run to
    end, which dispatches it again).
    """

    def __init__(self, message: str, *, capacity: bool = False) -> None:
        super().__init__(message)
        self.capacity = capacity


def claim_job(job_id: str, worker: str, *, now: datetime | None = None) -> None:
    """Atomically move a due job to `running` for `worker`, or raise ClaimRefused.

    Capacity (at most N running per zone, and per backup target with a Capacity row) is checked
    inside the same transaction, with the zone row and the target's Capacity rows locked on
    PostgreSQL; on SQLite the immediate transaction serialises writers.
    """
    # Imported here (import order, not a cycle): importing scheduler.services.capacity first runs
    # the scheduler.services package, which imports execution, which imports this module.
    from scheduler.services.capacity import capacity_for, running_on_target, stored_target, target_limits

    now = now or timezone.now()
    with transaction.atomic():
        row = (
            BackupJob.objects.filter(pk=job_id)
            .values(
                "status",
                "planned_start",
                "zone_id",
                "target",
                "executor",
                "definition",
                "latest_start",
                "attempts",
            )
            .first()
        )
        if row is None:
            raise ClaimRefused("job does not exist")
        if row["status"] not in BackupJob.WAITING:
            raise ClaimRefused(f"job is {row['status']}")
        if row["planned_start"] is None or row["planned_start"] > now:
            raise ClaimRefused("job is not due yet")
        if row["zone_id"] is not None:
            zone = (
                Zone.objects.select_for_update()
                .filter(pk=row["zone_id"])
                .values_list("code", flat=True)
                .first()
            )
            running = BackupJob.objects.filter(
                zone_id=row["zone_id"], status=BackupJob.Status.RUNNING
            ).count()
            if zone is not None and running >= capacity_for(zone):
                raise ClaimRefused(f"zone {zone} is at capacity ({running} running)", capacity=True)
        target = row["target"] or stored_target(job_id, row["executor"], row["definition"])
        for key, limit in target_limits(target, lock=True).items():
            running = running_on_target(key)
            if running >= limit:
                raise ClaimRefused(
                    f"target {key} is at capacity ({running} of {limit} running)", capacity=True
                )
        changed = BackupJob.objects.filter(
            pk=job_id, status__in=BackupJob.WAITING, planned_start__lte=now
        ).update(
            status=BackupJob.Status.RUNNING,
            claimed_by=worker,
            started_at=now,
            heartbeat_at=now,
            completed_at=None,
            attempts=F("attempts") + 1,
            progress={"phase": "starting"},
            error="",
            updated_at=now,
        )
    if changed != 1:
        raise ClaimRefused("another worker claimed it first")
    if row["attempts"] == 0 and now > row["latest_start"] + DEADLINE_GRACE:
        # Its first start came too late (a retry's later start is not a new miss).
        send_on_commit(deadline_missed, job_id)


def release_unclaimed(job_id: str) -> None:
    """A job this worker could not start yet is dispatched again by the next dispatcher run."""
    BackupJob.objects.filter(pk=job_id, status__in=BackupJob.WAITING).update(dispatched_at=None)


def _dead_here(worker: str) -> bool:
    """True when `worker` (host:pid) names a process of this host that no longer exists."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def reap_stale_claims(now: datetime | None = None, *, lost: Collection[str] = ()) -> list[str]:
    """Running jobs whose worker is gone: retried, or failed after the last attempt.

    A worker is gone when its heartbeat is older than BACKUP_STALE_SECONDS, or at once when it
    was a process of this host that no longer exists (killed, out of memory), or is one of `lost`
    (worker ids a stopping cluster has just killed): no need to wait.
    """
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.BACKUP_STALE_SECONDS)
    reaped = []
    running = BackupJob.objects.filter(status=BackupJob.Status.RUNNING).values_list(
        "pk", "heartbeat_at", "claimed_by", "attempts", "max_attempts"
    )
    for pk, heartbeat, worker, attempts, max_attempts in running:
        if heartbeat is not None and heartbeat >= limit and worker not in lost and not _dead_here(worker):
            continue
        since = heartbeat.isoformat() if heartbeat else "its start"
        reason = f"worker lost: no heartbeat from {worker or 'its worker'} since {since}"
        still = BackupJob.objects.filter(pk=pk, status=BackupJob.Status.RUNNING, heartbeat_at=heartbeat)
        if attempts < max_attempts:
            changed = still.update(
                status=BackupJob.Status.PENDING,
                planned_start=now,
                next_attempt_at=now,
                dispatched_at=None,
                claimed_by="",
                error=f"{reason}; retrying (attempt {attempts + 1} of {max_attempts})",
                updated_at=now,
            )
            message = f"{reason}; the backup will be retried"
        else:
            changed = still.update(
                status=BackupJob.Status.FAILED,
                completed_at=now,
                claimed_by="",
                error=f"{reason}; gave up after {attempts} attempts",
                updated_at=now,
            )
            message = f"{reason}; failed after {attempts} attempts"
        if changed:
            reaped.append(pk)
            log_event(pk, message, level="error", now=now)
            if attempts >= max_attempts:
                send_on_commit(backup_failed, pk)
    return reaped


_timer_lock = threading.Lock()
_timer: threading.Thread | None = None


def start_timer(interval: float) -> bool:
    """Start this process's dispatch timer (once): every `interval` s, hand due jobs to workers.

    django-q2's scheduler wakes only about every 30 s; this small daemon thread, started in each
    worker process, is what makes a job planned for 22:07:13 start within about a second of it
    without holding a worker while it waits. It dies with its process, so a stopping cluster is
    never delayed by it; the conditional updates make several timers (and clusters) harmless.
    """
    global _timer
    if interval <= 0:
        return False
    with _timer_lock:
        if _timer is not None and _timer.is_alive():
            return False
        _timer = threading.Thread(
            target=_tick_forever, args=(interval,), name="hyperweb-dispatch", daemon=True
        )
        _timer.start()
    return True


def _tick_forever(interval: float) -> None:
    last_reap = 0.0
    while True:
        time.sleep(interval)
        try:
            if time.monotonic() - last_reap >= 5 * interval:
                last_reap = time.monotonic()
                reap_stale_claims()
            dispatch_due()
        except Exception:  # a database or broker hiccup: try again next tick
            log.exception("dispatch timer tick failed")
            connection.close()
