"""Claiming, running, cancelling, retrying and reaping jobs in-process (no cluster)."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from scheduler.dispatch import ClaimRefused, claim_job, reap_stale_claims, select_due
from scheduler.executors import BackupResult, Cancelled, Progress, TransientBackupError
from scheduler.executors.file import FileExecutor, verify
from scheduler.models import BackupJob, Capacity
from scheduler.services import cancel_jobs
from scheduler.services.execution import execute_job
from tests.scheduler.factories import BackupJobFactory, add_readings, zone


@pytest.fixture(autouse=True)
def roots(settings, tmp_path) -> tuple[Path, Path]:
    source, target = tmp_path / "vms", tmp_path / "backups"
    source.mkdir()
    settings.BACKUP_SOURCE_ROOTS = [source]
    settings.BACKUP_TARGET_ROOT = target
    settings.BACKUP_HEARTBEAT_SECONDS = 0.05
    settings.BACKUP_RETRY_BACKOFF_SECONDS = 60
    settings.BACKUP_PLAN_REFRESH = False
    return source, target


@pytest.fixture
def no_enqueue(monkeypatch) -> None:
    monkeypatch.setattr("scheduler.dispatch.enqueue_jobs", lambda ids, **kw: None)
    monkeypatch.setattr("scheduler.services.execution.dispatch_due", lambda *a, **kw: [])


class SlowExecutor:
    """Reports progress and honours should_cancel, like the real ones, for `steps` x 20 ms."""

    name = "slow"

    def __init__(self, steps: int = 500, error: Exception | None = None) -> None:
        self.steps = steps
        self.error = error
        self.started = threading.Event()

    def run(self, spec, *, report, should_cancel, source_roots, target_root) -> BackupResult:
        self.started.set()
        if self.error:
            raise self.error
        for i in range(self.steps):
            report(Progress("archiving", i, self.steps))
            if should_cancel():
                raise Cancelled("stopped")
            time.sleep(0.02)  # the simulated work: the timeout and cancel tests need a backup that lasts
        return BackupResult("/t/a.tar.gz", "/t/a.manifest.json", 10, 5, ["a"], "ab" * 32, 0.1)


@pytest.mark.django_db
def test_it_claims_a_due_job_once_and_refuses_a_second_claim() -> None:
    job = BackupJobFactory()
    claim_job(job.id, "w1")
    with pytest.raises(ClaimRefused):
        claim_job(job.id, "w2")
    job.refresh_from_db()
    assert (job.status, job.claimed_by, job.attempts) == ("running", "w1", 1)


@pytest.mark.django_db
def test_it_does_not_claim_a_job_before_its_planned_start() -> None:
    job = BackupJobFactory(status="scheduled", planned_start=timezone.now() + timedelta(hours=1))
    with pytest.raises(ClaimRefused, match="not due"):
        claim_job(job.id, "w1")


@pytest.mark.django_db
def test_it_does_not_start_more_backups_than_the_zone_capacity() -> None:
    Capacity.objects.create(key="DE", max_concurrent=1)
    BackupJobFactory(zone=zone("DE"), status="running")
    job = BackupJobFactory(zone=zone("DE"))
    with pytest.raises(ClaimRefused, match="capacity"):
        claim_job(job.id, "w1")


@pytest.mark.django_db
def test_it_selects_each_due_job_for_dispatch_once() -> None:
    due = BackupJobFactory()
    BackupJobFactory(status="scheduled", planned_start=timezone.now() + timedelta(hours=2))
    assert select_due() == [due.id]
    assert select_due() == []
    assert select_due(force=True) == [due.id]


@pytest.mark.django_db
def test_it_runs_a_real_file_backup_and_accounts_for_it(roots, no_enqueue) -> None:
    source, target = roots
    (source / "web.img").write_bytes(b"disk" * 50_000)
    start = timezone.now() - timedelta(hours=1)
    add_readings(zone("DE"), start, [300, 300, 300])
    job = BackupJobFactory(vm_path="web.img", zone=zone("DE"))
    assert execute_job(job.id) == "completed"
    job.refresh_from_db()
    assert job.status == "completed" and job.result["success"] is True
    assert verify(job.result["archive_path"], job.result["manifest_path"])
    assert job.result["duration"] >= 0 and isinstance(job.result["duration"], int)
    assert job.intensity_experienced == pytest.approx(300)
    assert job.energy_kwh > 0 and job.emissions_kg == pytest.approx(job.energy_kwh * 0.3)
    assert job.saving_kg == pytest.approx(0)  # it ran when requested
    assert job.events.filter(message__startswith="completed").exists()


@pytest.mark.django_db
def test_it_refuses_a_path_outside_the_roots(roots, no_enqueue, tmp_path) -> None:
    (tmp_path / "secret.img").write_bytes(b"x")
    job = BackupJobFactory(vm_path=str(tmp_path / "secret.img"))
    assert execute_job(job.id) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "outside the allowed roots" in job.error
    assert not any(roots[1].rglob("*.tar*")) if roots[1].exists() else True


@pytest.mark.django_db
def test_it_retries_a_transient_failure_with_backoff_then_gives_up(no_enqueue) -> None:
    job = BackupJobFactory(max_attempts=2)
    before = timezone.now()
    assert execute_job(job.id, executor=SlowExecutor(error=TransientBackupError("remote 503"))) == "retrying"
    job.refresh_from_db()
    assert job.status == "pending" and job.attempts == 1 and "503" in job.error
    assert job.planned_start >= before + timedelta(seconds=60)
    BackupJob.objects.filter(pk=job.pk).update(planned_start=timezone.now())
    assert execute_job(job.id, executor=SlowExecutor(error=TransientBackupError("remote 503"))) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "gave up after 2 attempts" in job.error


@pytest.mark.django_db
def test_it_fails_a_job_that_runs_past_its_timeout(settings, no_enqueue) -> None:
    settings.BACKUP_JOB_TIMEOUT_SECONDS = 0.2
    job = BackupJobFactory()
    assert execute_job(job.id, executor=SlowExecutor()) == "timed out"
    job.refresh_from_db()
    assert job.status == "failed" and job.error.startswith("timed out after")


@pytest.mark.django_db(transaction=True)
def test_it_stops_a_running_backup_when_it_is_cancelled(no_enqueue) -> None:
    job = BackupJobFactory()
    executor = SlowExecutor()
    outcome: list[str] = []

    def work() -> None:
        try:
            outcome.append(execute_job(job.id, executor=executor))
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    assert executor.started.wait(10)  # claimed and running: the executor checks should_cancel each step
    assert cancel_jobs([job.id]).cancelled == [job.id]
    thread.join(5)
    assert outcome == ["cancelled"]
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert job.events.filter(message__contains="stopped by cancel").exists()


@pytest.mark.django_db
def test_it_retries_a_job_whose_worker_was_lost_then_fails_it_with_the_reason(settings) -> None:
    settings.BACKUP_STALE_SECONDS = 60
    old = timezone.now() - timedelta(minutes=5)
    retry = BackupJobFactory(
        status="running", claimed_by="host:1", heartbeat_at=old, attempts=1, max_attempts=3
    )
    last = BackupJobFactory(
        status="running", claimed_by="host:2", heartbeat_at=old, attempts=3, max_attempts=3
    )
    alive = BackupJobFactory(status="running", claimed_by="host:3", heartbeat_at=timezone.now(), attempts=1)
    assert sorted(reap_stale_claims()) == sorted([retry.id, last.id])
    retry.refresh_from_db(), last.refresh_from_db(), alive.refresh_from_db()
    assert retry.status == "pending" and "worker lost" in retry.error and retry.claimed_by == ""
    assert last.status == "failed" and "worker lost" in last.error and "gave up" in last.error
    assert alive.status == "running"


@pytest.mark.django_db(transaction=True)
def test_it_stops_a_real_file_backup_on_cancel_and_removes_its_partial_output(
    settings, roots, no_enqueue
) -> None:
    source, target = roots
    (source / "big.img").write_bytes(os.urandom(8_000_000))
    job = BackupJobFactory(vm_path="big.img")
    outcome: list[str] = []
    writing, cancelled = threading.Event(), threading.Event()
    settings.BACKUP_HEARTBEAT_SECONDS = 0  # the worker reads the row at every check

    class HeldFileExecutor(FileExecutor):
        """The real file executor, held at its first progress report with bytes written until the
        cancel is committed, so the cancel always lands mid-backup however fast or loaded the
        machine is."""

        def run(self, spec, *, report, **kwargs):
            def held_report(progress: Progress) -> None:
                report(progress)
                if progress.bytes_done > 0 and not writing.is_set():
                    writing.set()  # stored: the temporary is being written
                    assert cancelled.wait(20), "the test never cancelled the job"

            return super().run(spec, report=held_report, **kwargs)

    # Asks should_cancel before every chunk: the chunk after the held report sees the cancel.
    executor = HeldFileExecutor(
        chunk_size=64 * 1024, report_interval=0, report_step_pct=0, cancel_check_interval=0
    )

    def work() -> None:
        try:
            outcome.append(execute_job(job.id, executor=executor))
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    assert writing.wait(20), "the backup never started writing"
    assert any(target.rglob(".*.tmp-*")), "the backup should be writing its temporary"
    assert cancel_jobs([job.id]).cancelled == [job.id]
    cancelled.set()
    thread.join(10)
    assert outcome == ["cancelled"]
    assert list(target.rglob("*")) == [p for p in target.rglob("*") if p.is_dir()]  # no file at all
