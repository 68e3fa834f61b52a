"""Restores and verifications: runs of the backup machinery that read a completed backup.

Why runs of `BackupJob` (with `operation` = restore/verify and `subject` = the backup) rather than
a model of their own: claiming (exactly once, capacity), dispatch, heartbeats, cancel, timeouts,
retries of transient errors, progress, events, accounting and planning into a clean window all
work on `BackupJob` rows already; a second model would need each of them written again. A run of
either kind is listed and shown like any job, with its operation said.

- A restore runs at once unless asked to wait for a clean window (`defer`): someone is waiting.
  It first verifies the archive against its manifest; a mismatch fails the restore, writes
  nothing and marks the backup damaged.
- A verification re-reads every byte against the manifest. On demand it runs at once (or
  deferred); on schedule (`BACKUP_VERIFY_EVERY` per archive) it is planned into the cleanest
  window of the backup's zone. Its verdict is stored on the backup (`integrity`): "verified" or
  "damaged"; a damaged backup is announced with `scheduler.signals.backup_damaged` after commit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.roles import Someone, signed_in
from scheduler.executors.archive import (
    ArchiveMismatch,
    check_archive,
    read_manifest,
    restore_archive,
    restore_conflicts,
)
from scheduler.executors.base import BackupError, CancelFn, PathNotAllowed, ReportFn, resolve_inside
from scheduler.models import BackupJob
from scheduler.services.jobs import create_and_plan, format_ts, log_event
from scheduler.signals import backup_damaged

log = logging.getLogger(__name__)

Op = BackupJob.Operation
ACTIVE = (*BackupJob.WAITING, BackupJob.Status.RUNNING)


class LifecycleRefused(Exception):
    """A restore or verification that cannot be asked for; `status` is the HTTP status to answer
    and `field` the request field at fault (None: the backup's state)."""

    def __init__(self, message: str, *, status: int = 409, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


# --- asking ---------------------------------------------------------------------------------------


def _readable_backup(backup: BackupJob, what: str) -> tuple[Path, Path]:
    """The archive and manifest of a backup that can be read back, or LifecycleRefused."""
    label = backup.name or backup.pk
    if backup.operation != Op.BACKUP:
        raise LifecycleRefused(f"job {backup.pk} is a {backup.operation} run, not a backup")
    if backup.status != BackupJob.Status.COMPLETED:
        raise LifecycleRefused(f"only a completed backup can be {what}; {label} is {backup.status}")
    if backup.pruned_at is not None:
        raise LifecycleRefused(
            f"the archive of {label} was deleted by retention on {format_ts(backup.pruned_at)}"
        )
    result = backup.result or {}
    if not result.get("archive_path") or not result.get("manifest_path"):
        raise LifecycleRefused(
            f"{label} has no local archive with a manifest (executor {backup.executor}): "
            f"only file-executor backups can be {what} here"
        )
    archive, manifest = Path(result["archive_path"]), Path(result["manifest_path"])
    return archive, manifest


def resolve_restore_dest(target: str | None, backup: BackupJob) -> Path:
    """The restore folder: `target` relative to BACKUP_RESTORE_ROOT (or absolute inside it);
    empty means a folder named after the backup. Escapes (.., symlinks) raise LifecycleRefused."""
    root = Path(settings.BACKUP_RESTORE_ROOT)
    if target is None or not str(target).strip():
        target = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{backup.name or 'backup'}-{backup.pk}").strip(".-")[:120]
    target = str(target).strip()
    if "\x00" in target:
        raise LifecycleRefused("the folder name holds a NUL character", status=400, field="target")
    try:
        return resolve_inside(target, [root])
    except (PathNotAllowed, OSError, ValueError) as exc:
        raise LifecycleRefused(
            f"restores go inside BACKUP_RESTORE_ROOT ({root}): {exc}", status=400, field="target"
        ) from None


@dataclass
class RestorePlan:
    """What a restore of `backup` into `dest` would do (the page's confirmation shows it)."""

    backup: BackupJob
    dest: Path
    files: list[str]
    conflicts: list[str] = field(default_factory=list)
    total_bytes: int = 0


def plan_restore(backup: BackupJob, target: str | None) -> RestorePlan:
    archive, manifest_path = _readable_backup(backup, "restored")
    if backup.is_damaged:
        raise LifecycleRefused(
            f"{backup.name or backup.pk} is damaged ({backup.integrity_detail or 'its archive does not match its manifest'}): "
            "it cannot be restored safely"
        )
    if not archive.is_file() or not manifest_path.is_file():
        raise LifecycleRefused(
            f"the archive or manifest of {backup.name or backup.pk} is missing from {archive.parent}"
        )
    dest = resolve_restore_dest(target, backup)
    try:
        manifest = read_manifest(manifest_path)
    except ArchiveMismatch as exc:
        raise LifecycleRefused(str(exc)) from None
    return RestorePlan(
        backup,
        dest,
        [str(f["path"]) for f in manifest["files"]],
        restore_conflicts(manifest, dest) if dest.is_dir() else [],
        int(manifest.get("total_bytes") or 0),
    )


def request_restore(
    backup: BackupJob,
    *,
    target: str | None = None,
    overwrite: bool = False,
    defer: bool = False,
    user: Someone | None = None,
    now: datetime | None = None,
) -> BackupJob:
    """Store (and dispatch at once, unless `defer`) a restore of `backup` into a folder inside
    BACKUP_RESTORE_ROOT. Refuses (409, field `overwrite`) when files would be replaced unasked."""
    now = now or timezone.now()
    plan = plan_restore(backup, target)
    if plan.conflicts and not overwrite:
        shown = ", ".join(plan.conflicts[:3]) + (" ..." if len(plan.conflicts) > 3 else "")
        raise LifecycleRefused(
            f"{len(plan.conflicts)} file(s) already exist in {plan.dest} ({shown}); "
            "restore into another folder, or ask to overwrite them",
            status=409,
            field="overwrite",
        )
    busy = BackupJob.objects.filter(
        operation=Op.RESTORE, status__in=ACTIVE, definition__restore_to=str(plan.dest)
    ).values_list("pk", flat=True)
    if busy:
        raise LifecycleRefused(f"restore {busy[0]} into {plan.dest} has not finished yet", field="target")
    job = _run_for(backup, Op.RESTORE, user=user, now=now, defer=defer)
    job.definition.update(restore_to=str(plan.dest), overwrite=bool(overwrite))
    who = getattr(user, "username", "") or "system"
    with transaction.atomic():
        create_and_plan([job], now=now)
        log_event(
            backup.pk,
            f"restore {job.pk} into {plan.dest} asked by {who}"
            + (" (overwriting existing files)" if plan.conflicts else ""),
            now=now,
        )
    return job


def request_verification(
    backup: BackupJob,
    *,
    defer: bool = False,
    user: Someone | None = None,
    now: datetime | None = None,
    reason: str = "on demand",
) -> tuple[BackupJob, bool]:
    """A verification of `backup` (run at once unless `defer`); (run, created). A backup already
    waiting for or running a verification gets that one back instead of a second."""
    now = now or timezone.now()
    _readable_backup(backup, "verified")
    existing = (
        BackupJob.objects.filter(subject=backup, operation=Op.VERIFY, status__in=ACTIVE)
        .order_by("requested_at")
        .first()
    )
    if existing is not None:
        return existing, False
    job = _run_for(backup, Op.VERIFY, user=user, now=now, defer=defer)
    with transaction.atomic():
        create_and_plan([job], now=now)
        log_event(backup.pk, f"verification {job.pk} asked ({reason})", now=now)
    return job, True


def _run_for(
    backup: BackupJob, operation: str, *, user: Someone | None, now: datetime, defer: bool
) -> BackupJob:
    """An unsaved run of `operation` reading `backup`: same zone (for planning and accounting),
    same target (it reads there, so it counts against the target's capacity)."""
    result = backup.result or {}
    source_bytes = int(result.get("source_bytes") or result.get("total_size") or 0)
    ran = (backup.completed_at - backup.started_at) if backup.completed_at and backup.started_at else None
    duration = max(ran or timedelta(minutes=5), timedelta(minutes=1))
    aware = bool(defer and backup.zone_id)
    delay = timedelta(
        hours=settings.BACKUP_VERIFY_MAX_DELAY_HOURS
        if operation == Op.VERIFY
        else settings.BACKUP_DEFAULT_MAX_DELAY_HOURS
    )
    job = BackupJob(
        operation=operation,
        subject=backup,
        name=f"{operation} {backup.name or backup.pk}"[:255],
        vm_path=result["archive_path"],
        executor="file",
        target=backup.target,
        definition={
            "vm_path": result["archive_path"],
            "name": f"{operation} {backup.name or backup.pk}"[:255],
            "operation": operation,
            "subject": backup.pk,
            "manifest_path": result["manifest_path"],
            "metadata": {
                "carbon_aware": aware,
                **({"carbon_zone": backup.zone.code} if backup.zone is not None else {}),
            },
        },
        created_by=signed_in(user),
        owner=signed_in(user) or backup.owner,
        zone=backup.zone,
        carbon_aware=aware,
        requested_at=now,
        earliest_start=now,
        latest_start=now + (delay if aware else timedelta(0)),
        expected_duration=duration,
        data_size_gb=source_bytes / 1e9,
        max_attempts=settings.BACKUP_MAX_ATTEMPTS,
        status=BackupJob.Status.PENDING,
    )
    job.definition["id"] = job.id
    job.definition["created_at"] = format_ts(now)
    return job


def plan_due_verifications(now: datetime | None = None, *, limit: int = 200) -> list[str]:
    """Ask a deferred verification of every archive last verified (or, never verified, made)
    BACKUP_VERIFY_EVERY ago or more; returns the new runs' ids."""
    every = settings.BACKUP_VERIFY_EVERY
    if not every:
        return []
    now = now or timezone.now()
    limit_at = now - timedelta(seconds=every)
    due = (
        BackupJob.objects.select_related("zone")
        .filter(operation=Op.BACKUP, status=BackupJob.Status.COMPLETED, pruned_at__isnull=True)
        .exclude(integrity=BackupJob.Integrity.DAMAGED)
        .filter(Q(verified_at__lte=limit_at) | Q(verified_at__isnull=True, completed_at__lte=limit_at))
        .exclude(
            Exists(BackupJob.objects.filter(subject=OuterRef("pk"), operation=Op.VERIFY, status__in=ACTIVE))
        )
        .order_by("completed_at")
    )
    made = []
    for backup in due[:limit]:
        if not backup.has_archive:
            continue
        try:
            run, created = request_verification(
                backup, defer=True, now=now, reason=f"every {_every_text(every)}"
            )
        except LifecycleRefused as exc:
            log.info("no scheduled verification of %s: %s", backup.pk, exc)
            continue
        if created:
            made.append(run.pk)
    return made


def _every_text(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# --- running (called by scheduler.services.execution for a claimed run) ---------------------------


@dataclass
class RunDone:
    """What a finished restore or verification stores on its run, and what to do after."""

    result: dict[str, Any]
    bytes_written: int
    message: str
    level: str = "info"
    after: Callable[[], None] | None = None


def run_lifecycle(job: BackupJob, *, report: ReportFn, should_cancel: CancelFn) -> RunDone:
    """Run a claimed restore or verification; raises BackupError/Cancelled like an executor."""
    backup = BackupJob.objects.select_related("zone").filter(pk=job.subject_id).first()
    if backup is None:
        raise BackupError("the backup this run reads no longer exists")
    try:
        archive, manifest = _readable_backup(
            backup, "restored" if job.operation == Op.RESTORE else "verified"
        )
    except LifecycleRefused as exc:
        raise BackupError(str(exc)) from None
    if job.operation == Op.VERIFY:
        return _verify(job, backup, archive, manifest, report, should_cancel)
    if job.operation == Op.RESTORE:
        return _restore(job, backup, archive, manifest, report, should_cancel)
    raise BackupError(f"unknown operation {job.operation!r}")


def _verify(
    job: BackupJob,
    backup: BackupJob,
    archive: Path,
    manifest: Path,
    report: ReportFn,
    should_cancel: CancelFn,
) -> RunDone:
    check = check_archive(archive, manifest, report=report, should_cancel=should_cancel)
    result = {
        "operation": "verify",
        "backup_id": backup.pk,
        "archive_path": str(archive),
        "manifest_path": str(manifest),
        "verdict": "verified" if check.ok else "damaged",
        "problems": check.problems,
        "files": check.files,
        "archive_bytes": check.archive_bytes,
        "source_bytes": check.archive_bytes,  # what was read: the accounting's data size
        "success": True,
    }
    if check.ok:
        message = f"verified: {len(check.files)} file(s), {check.archive_bytes} bytes match the manifest"
        return RunDone(result, 0, message, after=lambda: mark_verified(backup.pk, job.pk))
    message = "verification failed, the backup is damaged: " + "; ".join(check.problems[:5])
    return RunDone(
        result, 0, message, "error", after=lambda: mark_damaged(backup.pk, check.problems, by=job.pk)
    )


def _restore(
    job: BackupJob,
    backup: BackupJob,
    archive: Path,
    manifest: Path,
    report: ReportFn,
    should_cancel: CancelFn,
) -> RunDone:
    definition = job.definition or {}
    try:
        dest = resolve_inside(definition.get("restore_to") or "", [settings.BACKUP_RESTORE_ROOT])
    except (PathNotAllowed, OSError, ValueError) as exc:
        raise PathNotAllowed(f"the restore folder is outside BACKUP_RESTORE_ROOT: {exc}") from None
    try:
        done = restore_archive(
            archive,
            manifest,
            dest,
            overwrite=bool(definition.get("overwrite")),
            report=report,
            should_cancel=should_cancel,
        )
    except ArchiveMismatch as exc:
        mark_damaged(backup.pk, exc.problems, by=job.pk)
        raise BackupError(f"{exc}; nothing was restored") from None
    result = {
        "operation": "restore",
        "backup_id": backup.pk,
        "archive_path": str(archive),
        "manifest_path": str(manifest),
        "restored_to": done.dest,
        "output_dir": done.dest,
        "files": done.files,
        "total_size": done.total_bytes,
        "source_bytes": done.total_bytes,
        "duration": int(done.duration_s * 1e9),
        "verified": True,
        "success": True,
    }
    message = f"restored {len(done.files)} file(s), {done.total_bytes} bytes, into {done.dest} (archive verified first)"

    def after() -> None:
        mark_verified(backup.pk, job.pk, quiet=True)
        log_event(backup.pk, f"restored into {done.dest} by run {job.pk}")

    return RunDone(result, done.total_bytes, message, after=after)


# --- the verdict on the backup --------------------------------------------------------------------


def mark_verified(backup_id: str, run_id: str, *, quiet: bool = False, now: datetime | None = None) -> None:
    """A run re-read the archive and it matched: the backup is verified (a backup marked damaged
    stays damaged unless a verification run says otherwise)."""
    now = now or timezone.now()
    rows = BackupJob.objects.filter(pk=backup_id)
    if quiet:
        rows = rows.exclude(integrity=BackupJob.Integrity.DAMAGED)
    if (
        rows.update(integrity=BackupJob.Integrity.VERIFIED, verified_at=now, integrity_detail="")
        and not quiet
    ):
        log_event(backup_id, f"verified by run {run_id}: the archive matches its manifest", now=now)


def mark_damaged(backup_id: str, problems: list[str], *, by: str, now: datetime | None = None) -> None:
    """The archive no longer matches its manifest: store it, log it, and announce it once committed."""
    now = now or timezone.now()
    detail = "; ".join(problems[:10])[:4000]
    with transaction.atomic():
        BackupJob.objects.filter(pk=backup_id).update(
            integrity=BackupJob.Integrity.DAMAGED, verified_at=now, integrity_detail=detail, updated_at=now
        )
        log_event(backup_id, f"DAMAGED (found by run {by}): {detail}", level="error", now=now)

        def announce() -> None:
            try:
                job = BackupJob.objects.select_related("zone").get(pk=backup_id)
                backup_damaged.send(sender=BackupJob, job=job)
            except Exception:  # a failing listener must not undo nor hide the verdict
                log.exception("a backup_damaged receiver failed for %s", backup_id)

        transaction.on_commit(announce)
