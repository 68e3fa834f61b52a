"""End to end: a backup that fails for good, run by the real file executor through the django-q2
task path, alerts by email (real SMTP server) and by a signed webhook (real HTTP receiver).

Transactional: the scheduler sends its signals on commit, and django-q2's sync mode (its own
test mode: each enqueued task runs at once, in this process) runs the backup and the deliveries
as the workers would.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.models import Alert, Delivery
from scheduler.executors import TransientBackupError
from scheduler.models import BackupJob
from scheduler.services import submit_jobs
from tests.scheduler.factories import BackupJobFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def roots(settings, tmp_path: Path) -> Path:
    vms = tmp_path / "vms"
    vms.mkdir()
    settings.BACKUP_SOURCE_ROOTS = [vms]
    settings.BACKUP_TARGET_ROOT = tmp_path / "backups"
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_TIMER_SECONDS = 0
    return vms


def test_a_backup_that_fails_for_good_emails_and_posts_a_signed_webhook(
    roots, workers_inline, smtp_server, receiver, webhook, subscriber
) -> None:
    # The source is not there: the file executor refuses it, which no retry can mend.
    outcome = submit_jobs([{"vm_path": "gone.qcow2", "name": "web-01"}])

    job = BackupJob.objects.get(pk=outcome.job_ids[0])
    assert job.status == "failed" and job.attempts == 1
    alert = Alert.objects.get(kind="backup_failed")
    assert alert.job_id == job.id and alert.key == f"backup_failed:{job.id}"

    recipients, _, message = smtp_server.wait()
    assert recipients == ["olga@example.test"]
    assert message["Subject"] == "[hyperweb] Backup failed: web-01"
    assert job.id in message.get_payload() and "gone.qcow2" in message.get_payload()

    got = receiver.wait()
    assert got.signature_ok
    assert got.json()["event"] == "backup_failed"
    assert got.json()["data"]["job_id"] == job.id and got.json()["data"]["status"] == "failed"
    assert set(Delivery.objects.values_list("channel", "status")) == {
        ("email", "delivered"),
        ("webhook", "delivered"),
    }


class FlakyExecutor:
    """Fails every run with a transient error (a disk that keeps filling up)."""

    def run(self, spec, **kwargs):
        raise TransientBackupError("no space left on device")


def test_only_the_last_attempt_of_a_retried_backup_alerts(roots, workers_inline, receiver, webhook) -> None:
    from scheduler.services.execution import execute_job

    past = timezone.now() - timedelta(minutes=1)
    job = BackupJobFactory(
        max_attempts=2, planned_start=past, requested_at=past, latest_start=past + timedelta(hours=1)
    )

    assert execute_job(job.id, executor=FlakyExecutor()) == "retrying"
    assert not Alert.objects.exists()
    BackupJob.objects.filter(pk=job.id).update(planned_start=past)
    assert execute_job(job.id, executor=FlakyExecutor()) == "failed"

    got = receiver.wait()
    assert got.signature_ok and got.json()["data"]["attempts"] == 2
    assert "gave up after 2 attempts" in got.json()["data"]["error"]


def test_a_worker_lost_on_the_last_attempt_alerts(workers_inline, receiver, webhook) -> None:
    from scheduler.dispatch import reap_stale_claims

    silent = timezone.now() - timedelta(hours=1)
    job = BackupJobFactory(
        status="running",
        attempts=3,
        max_attempts=3,
        heartbeat_at=silent,
        started_at=silent,
        claimed_by="gone:1",
    )

    assert reap_stale_claims() == [job.id]

    got = receiver.wait()
    assert got.json()["event"] == "backup_failed" and "worker lost" in got.json()["data"]["error"]


def test_a_backup_started_after_its_deadline_alerts_once(roots, workers_inline, receiver, webhook) -> None:
    from scheduler.dispatch import claim_job

    late = timezone.now() - timedelta(minutes=10)
    job = BackupJobFactory(requested_at=late, planned_start=late)  # latest start = 10 min ago

    claim_job(job.id, "w:1")

    got = receiver.wait()
    assert got.json()["event"] == "deadline_missed" and got.json()["data"]["job_id"] == job.id
    assert Alert.objects.filter(kind="deadline_missed").count() == 1


def test_a_backup_started_on_time_does_not(roots, workers_inline, receiver, webhook) -> None:
    from scheduler.dispatch import claim_job

    job = BackupJobFactory(requested_at=timezone.now() - timedelta(seconds=20))

    claim_job(job.id, "w:1")

    assert not Alert.objects.exists()
