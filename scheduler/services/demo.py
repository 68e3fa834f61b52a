"""The demo's backups: a few real runs of the demo policy, so a fresh `make run` shows restorable,
verified backups and a retention preview (the `bootstrap` command calls it).

It runs jobs through execution, which runs lifecycle operations, so it sits above both.
"""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from scheduler.models import BackupJob, BackupPolicy
from scheduler.services.definitions import parse_definition
from scheduler.services.execution import execute_job
from scheduler.services.jobs import build_job, create_and_plan
from scheduler.services.lifecycle import request_verification

Op = BackupJob.Operation


def demo_lifecycle(policy: BackupPolicy, *, count: int = 3) -> list[str]:
    """For a fresh demo: `count` completed backups of the policy's VM made by the file executor,
    the newest verified, and a retention rule (keep the last 2) whose preview deletes one.
    Does nothing if the policy already has a completed backup. Returns the backups' ids."""
    done = BackupJob.objects.filter(policy=policy, operation=Op.BACKUP, status=BackupJob.Status.COMPLETED)
    if done.exists():
        return []
    made = []
    for _ in range(count):
        now = timezone.now()
        template = {**(policy.job_template or {}), "metadata": {"carbon_aware": False}}
        template.pop("id", None)
        job = build_job(
            parse_definition(template, now=now, submitted=False),
            None,
            now=now,
            zone=policy.zone,
            policy=policy,
        )
        create_and_plan([job], now=now)
        if execute_job(job.pk) == "completed":
            made.append(job.pk)
    if made:
        run, _ = request_verification(BackupJob.objects.get(pk=made[-1]), reason="demo")
        execute_job(run.pk)
        # The policy's own counters agree with the runs listed under it ("Runs 0" beside 3 runs).
        type(policy).objects.filter(pk=policy.pk).update(
            run_count=F("run_count") + len(made), last_run_at=timezone.now()
        )
        if policy.keep_last is None:
            type(policy).objects.filter(pk=policy.pk).update(keep_last=2)
    return made
