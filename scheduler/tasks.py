"""django-q2 tasks: they take ids, re-fetch, are idempotent and only call services."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from scheduler.dispatch import dispatch_due as dispatch
from scheduler.dispatch import reap_stale_claims, start_timer
from scheduler.executors.file import cleanup_stale_temporaries
from scheduler.services.execution import execute_job, startup
from scheduler.services.lifecycle import plan_due_verifications
from scheduler.services.planning import replan_all
from scheduler.services.policies import fire_due_policies
from scheduler.services.retention import prune

log = logging.getLogger(__name__)


def run_job(job_id: str) -> str:
    """Claim and run one backup; a no-op unless this call wins the claim."""
    return execute_job(job_id)


def dispatch_due() -> dict:
    """The periodic tick: reap lost workers, fire due policies, hand due jobs to the workers."""
    now = timezone.now()
    reaped = reap_stale_claims(now)
    if reaped:
        cleanup_stale_temporaries(settings.BACKUP_TARGET_ROOT, older_than=settings.BACKUP_STALE_SECONDS)
    fired = fire_due_policies(now)
    dispatched = dispatch(now)
    return {"reaped": len(reaped), "policies_fired": len(fired), "dispatched": len(dispatched)}


def replan_waiting() -> dict:
    """Re-plan waiting carbon-aware jobs on the newest forecast (within their original windows)."""
    moved = replan_all()
    return {zone: len(ids) for zone, ids in moved.items()}


def lifecycle_tick() -> dict:
    """The periodic lifecycle work: plan due verifications (deferrable, into clean windows) and
    prune archives by retention."""
    planned = plan_due_verifications()
    pruned = prune()
    return {"verifications_planned": len(planned), "pruned": len(pruned.deleted), "kept": len(pruned.skipped)}


def on_worker_start(sender: object = None, proc_name: str = "", **kwargs: object) -> None:
    """django-q2 post_spawn: clean up after dead runs, re-dispatch due jobs, start the timer."""
    try:
        startup()
    except Exception:  # never keep a worker from starting
        log.exception("scheduler start-up work failed in %s", proc_name)
    start_timer(settings.BACKUP_TIMER_SECONDS)
