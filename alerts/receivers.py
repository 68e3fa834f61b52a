"""The scheduler's signals, turned into alerts (connected in AlertsConfig.ready)."""

from __future__ import annotations

from typing import Any

from alerts.models import Kind
from alerts.services import job_alert
from scheduler.models import BackupJob
from scheduler.signals import backup_damaged, backup_failed, deadline_missed


def on_backup_failed(sender: Any, job: BackupJob, **kwargs: Any) -> None:
    job_alert(Kind.BACKUP_FAILED, job)


def on_deadline_missed(sender: Any, job: BackupJob, **kwargs: Any) -> None:
    job_alert(Kind.DEADLINE_MISSED, job, detail="It started after its latest allowed start.")


def on_backup_damaged(sender: Any, job: BackupJob, **kwargs: Any) -> None:
    job_alert(
        Kind.BACKUP_DAMAGED,
        job,
        detail="Its archive no longer matches the checksums in its manifest: do not rely on it.",
    )


def connect() -> None:
    backup_failed.connect(on_backup_failed, sender=BackupJob, dispatch_uid="alerts.backup_failed")
    deadline_missed.connect(on_deadline_missed, sender=BackupJob, dispatch_uid="alerts.deadline_missed")
    backup_damaged.connect(on_backup_damaged, sender=BackupJob, dispatch_uid="alerts.backup_damaged")
