"""Running one claimed backup: executor, progress, heartbeats, cancel, timeout, retries, accounting."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from hyperweb.lib.durations import go_duration
from scheduler.dispatch import (
    ClaimRefused,
    claim_job,
    dispatch_due,
    reap_stale_claims,
    release_unclaimed,
    worker_name,
)
from scheduler.executors import (
    BackupError,
    BackupResult,
    BackupSpec,
    Cancelled,
    Executor,
    Progress,
    TransientBackupError,
    get_executor,
)
from scheduler.executors.file import cleanup_stale_temporaries
from scheduler.models import BackupJob, JobEvent
from scheduler.services.accounting import account_job
from scheduler.services.definitions import restore_secrets
from scheduler.services.jobs import format_ts, log_event
from scheduler.services.lifecycle import RunDone, run_lifecycle
from scheduler.signals import backup_failed, send_on_commit

log = logging.getLogger(__name__)

# Keys of the definition that BackupSpec carries itself; the rest travel in spec.options.
_SPEC_KEYS = {"id", "vm_path", "name", "output_dir", "format", "compress", "created_at"}


def build_spec(job: BackupJob) -> BackupSpec:
    definition = restore_secrets(job.definition or {}, job.secrets or {})
    target = definition.get("output_dir") or definition.get("output_path") or None
    compress = definition.get("compress")
    return BackupSpec(
        job_id=job.id,
        source=job.vm_path,
        target_dir=target,
        name=job.name or "",
        format=definition.get("format"),
        compress=True if compress is None else bool(compress),
        options={k: v for k, v in definition.items() if k not in _SPEC_KEYS},
    )


class RunMonitor:
    """The executor's callbacks: throttled progress writes, heartbeat, cancel and timeout checks.

    Every check is one conditional UPDATE of the heartbeat: if it changes no row, the job is no
    longer running for this worker (cancelled, or reaped and handed to another), so stop.
    """

    def __init__(self, job: BackupJob, worker: str, *, timeout: float, interval: float) -> None:
        self.job_id = job.id
        self.worker = worker
        self.started = time.monotonic()
        self.timeout = timeout
        self.interval = interval
        self.last_check = 0.0
        self.last_write = 0.0
        self.timed_out = False
        self.stopped = False
        self.export_method = job.definition.get("export_method") or job.executor

    def _mine(self) -> QuerySet[BackupJob]:
        return BackupJob.objects.filter(
            pk=self.job_id, status=BackupJob.Status.RUNNING, claimed_by=self.worker
        )

    def should_cancel(self) -> bool:
        if self.stopped or self.timed_out:
            return True
        elapsed = time.monotonic() - self.started
        if elapsed > self.timeout:
            self.timed_out = True
            return True
        if time.monotonic() - self.last_check >= self.interval:
            self.last_check = time.monotonic()
            if not self._mine().update(heartbeat_at=timezone.now()):
                self.stopped = True
        return self.stopped

    def report(self, progress: Progress) -> None:
        moment = time.monotonic()
        final = progress.phase in ("finalizing", "completed")
        if not final and moment - self.last_write < self.interval:
            return
        self.last_write = moment
        data = progress.as_contract()
        elapsed = moment - self.started
        fraction = progress.percent / 100.0
        remaining = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        data["current_step"] = progress.phase
        data["estimated_remaining"] = go_duration(remaining) if remaining is not None else ""
        data["export_method"] = self.export_method
        data["updated_at"] = format_ts(timezone.now())
        self._mine().update(progress=data, heartbeat_at=timezone.now(), updated_at=timezone.now())


def _result_json(job: BackupJob, result: BackupResult) -> dict[str, Any]:
    """A job's `result` as HyperSDK clients read it (duration in integer nanoseconds) plus the archive details."""
    return {
        "vm_name": job.name or job.vm_path.rstrip("/").rsplit("/", 1)[-1],
        "output_dir": str(_parent(result.archive_path)),
        "ovf_path": "",
        "total_size": int(result.archive_bytes),
        "duration": int(result.duration_s * 1e9),
        "success": True,
        "files": list(result.files),
        "output_files": [result.archive_path, result.manifest_path],
        "export_method": job.definition.get("export_method") or job.executor,
        "archive_path": result.archive_path,
        "manifest_path": result.manifest_path,
        "sha256": result.sha256,
        "source_bytes": int(result.total_bytes),
        **({"extra": result.extra} if result.extra else {}),
    }


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _finish(job_id: str, worker: str, **fields: Any) -> bool:
    fields.setdefault("updated_at", timezone.now())
    return bool(
        BackupJob.objects.filter(pk=job_id, status=BackupJob.Status.RUNNING, claimed_by=worker).update(
            **fields
        )
    )


def execute_job(
    job_id: str, *, worker: str | None = None, executor: Executor | None = None, wait: bool = True
) -> str:
    """Claim and run one job; return what happened ("completed", "failed", "retrying", ...).

    Safe to call any number of times for the same job, from any process: only the caller whose
    claim changes the row runs it (dispatch.claim_job).
    """
    worker = worker or worker_name()
    try:
        claim_job(job_id, worker)
    except ClaimRefused as exc:
        log.info("job %s not claimed by %s: %s", job_id, worker, exc)
        release_unclaimed(job_id)
        if exc.capacity:
            _note_waiting(job_id, f"waiting for capacity: {exc}")
        return f"not claimed: {exc}"
    job = BackupJob.objects.get(pk=job_id)
    log_event(job_id, f"started by {worker} (attempt {job.attempts} of {job.max_attempts})")
    monitor = RunMonitor(
        job, worker, timeout=settings.BACKUP_JOB_TIMEOUT_SECONDS, interval=settings.BACKUP_HEARTBEAT_SECONDS
    )
    done = None
    try:
        if job.operation != BackupJob.Operation.BACKUP:
            done = run_lifecycle(job, report=monitor.report, should_cancel=monitor.should_cancel)
        else:
            executor = executor or get_executor(job.executor)
            result = executor.run(
                build_spec(job),
                report=monitor.report,
                should_cancel=monitor.should_cancel,
                source_roots=list(settings.BACKUP_SOURCE_ROOTS),
                target_root=settings.BACKUP_TARGET_ROOT,
            )
    except Cancelled:
        outcome = _on_cancelled(job, worker, monitor)
    except TransientBackupError as exc:
        outcome = _on_transient(job, worker, str(exc))
    except BackupError as exc:
        outcome = _on_failed(job, worker, str(exc))
    except Exception as exc:  # a bug or an unexpected environment: fail the job, keep the worker
        log.exception("job %s crashed", job_id)
        outcome = _on_failed(job, worker, f"internal error: {type(exc).__name__}: {exc}")
    else:
        outcome = _on_completed(job, worker, result) if done is None else _on_run_completed(job, worker, done)
    _dispatch_freed_capacity()
    return outcome


def _on_completed(job: BackupJob, worker: str, result: BackupResult) -> str:
    now = timezone.now()
    data = _result_json(job, result)
    if not _finish(
        job.id,
        worker,
        status=BackupJob.Status.COMPLETED,
        completed_at=now,
        result=data,
        bytes_written=result.archive_bytes,
        claimed_by="",
    ):
        log_event(
            job.id,
            f"backup written to {result.archive_path}, but the job was no longer ours",
            level="warning",
        )
        return "lost"
    log_event(
        job.id,
        f"completed: {result.archive_path} ({result.archive_bytes} bytes, sha256 {result.sha256[:12]})",
    )

    try:
        account_job(BackupJob.objects.select_related("zone").get(pk=job.id), now=now)
    except Exception:  # accounting must never turn a good backup into a failed one
        log.exception("accounting failed for job %s", job.id)
    return "completed"


def _on_run_completed(job: BackupJob, worker: str, done: RunDone) -> str:
    """A restore or verification finished (scheduler.services.lifecycle.RunDone)."""
    now = timezone.now()
    if not _finish(
        job.id,
        worker,
        status=BackupJob.Status.COMPLETED,
        completed_at=now,
        result=done.result,
        bytes_written=done.bytes_written,
        claimed_by="",
    ):
        log_event(job.id, f"{done.message}, but the run was no longer ours", level="warning")
        return "lost"
    log_event(job.id, done.message, level=done.level)
    if done.after is not None:
        try:
            done.after()
        except Exception:
            log.exception("recording the outcome of %s %s failed", job.operation, job.id)

    try:
        account_job(BackupJob.objects.select_related("zone").get(pk=job.id), now=now)
    except Exception:
        log.exception("accounting failed for job %s", job.id)
    return "completed"


def _on_cancelled(job: BackupJob, worker: str, monitor: RunMonitor) -> str:
    now = timezone.now()
    if monitor.timed_out:
        reason = f"timed out after {settings.BACKUP_JOB_TIMEOUT_SECONDS} s; partial output removed"
        if _finish(
            job.id, worker, status=BackupJob.Status.FAILED, completed_at=now, error=reason, claimed_by=""
        ):
            log_event(job.id, reason, level="error")
            send_on_commit(backup_failed, job.id)
        return "timed out"
    status = BackupJob.objects.filter(pk=job.id).values_list("status", flat=True).first()
    if status == BackupJob.Status.CANCELLED:
        log_event(job.id, "stopped by cancel; partial output removed", level="warning")
        return "cancelled"
    # Executor cancelled although the row is still ours (it asked nobody): treat as a failure.
    if _finish(
        job.id, worker, status=BackupJob.Status.FAILED, completed_at=now, error="stopped", claimed_by=""
    ):
        log_event(job.id, "stopped unexpectedly", level="error")
        send_on_commit(backup_failed, job.id)
        return "failed"
    log_event(job.id, f"{worker} stopped: the job is no longer claimed by it", level="warning")
    return "lost"


def backoff(attempt: int) -> timedelta:
    """Exponential backoff: base, 2 x base, 4 x base, ... capped at one hour."""
    return timedelta(seconds=min(3600, settings.BACKUP_RETRY_BACKOFF_SECONDS * 2 ** max(0, attempt - 1)))


def _on_transient(job: BackupJob, worker: str, message: str) -> str:
    now = timezone.now()
    attempts = BackupJob.objects.filter(pk=job.id).values_list("attempts", flat=True).first() or job.attempts
    if attempts >= job.max_attempts:
        return _on_failed(job, worker, f"{message} (gave up after {attempts} attempts)")
    retry_at = now + backoff(attempts)
    if _finish(
        job.id,
        worker,
        status=BackupJob.Status.PENDING,
        planned_start=retry_at,
        next_attempt_at=retry_at,
        dispatched_at=None,
        claimed_by="",
        error=message,
        progress={"phase": "retrying"},
    ):
        log_event(job.id, f"transient failure: {message}; retry at {format_ts(retry_at)}", level="warning")
    return "retrying"


def _on_failed(job: BackupJob, worker: str, message: str) -> str:
    now = timezone.now()
    if _finish(
        job.id, worker, status=BackupJob.Status.FAILED, completed_at=now, error=message, claimed_by=""
    ):
        log_event(job.id, f"failed: {message}", level="error")
        send_on_commit(backup_failed, job.id)
    return "failed"


def _note_waiting(job_id: str, message: str) -> None:
    """Say in the job's log why a due job has not started, once per reason (not at every dispatch
    tick, nor when only the count of runs in the way changes)."""
    last = (
        JobEvent.objects.filter(job_id=job_id).order_by("-timestamp", "-pk").values_list("message", flat=True)
    )
    if (last.first() or "").rpartition(" (")[0] != message.rpartition(" (")[0]:
        log_event(job_id, message)


def _dispatch_freed_capacity() -> None:
    # A finished run frees a capacity slot: jobs waiting for it need not wait for the next tick.
    try:
        dispatch_due()
    except Exception:
        log.exception("dispatch after a run failed; the scheduled dispatcher will retry")


def startup(now: datetime | None = None) -> list[str]:
    """Worker start-up: remove temporaries of runs that died, hand due jobs to the cluster."""
    for root in (settings.BACKUP_TARGET_ROOT, settings.BACKUP_RESTORE_ROOT):  # backups, restores
        try:
            cleanup_stale_temporaries(root, older_than=settings.BACKUP_STALE_SECONDS)
        except OSError:
            log.exception("could not clean stale temporaries under %s", root)

    reap_stale_claims(now)
    # Queue messages may have been lost with the previous cluster: dispatch everything due again
    # (the claim makes a duplicate harmless).
    return dispatch_due(now, force=True)
