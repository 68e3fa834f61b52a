"""Model rules: wire status, ordering, the window constraint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from scheduler.models import BackupJob
from tests.scheduler.factories import BackupJobFactory

pytestmark = pytest.mark.django_db


def test_it_shows_a_scheduled_job_as_pending_on_the_wire() -> None:
    assert BackupJobFactory(status="scheduled").wire_status == "pending"
    assert BackupJobFactory(status="running").wire_status == "running"


def test_it_lists_newest_requests_first() -> None:
    now = timezone.now()
    old = BackupJobFactory(requested_at=now - timedelta(hours=1))
    new = BackupJobFactory(requested_at=now)
    assert list(BackupJob.objects.all()) == [new, old]


def test_it_refuses_a_window_whose_deadline_precedes_its_start() -> None:
    now = timezone.now()
    with pytest.raises(IntegrityError):
        BackupJobFactory(earliest_start=now, latest_start=now - timedelta(minutes=1))


def test_it_gives_every_job_a_uuid_unless_the_caller_chose_an_id() -> None:
    assert len(BackupJobFactory().id) == 36
    assert BackupJobFactory(id="nightly-web-1").id == "nightly-web-1"


def test_it_shows_jobs_in_the_admin_without_their_secrets(admin_client) -> None:
    job = BackupJobFactory(secrets={"vcenter.password": "s3cret"})
    assert admin_client.get("/admin/scheduler/backupjob/").status_code == 200
    page = admin_client.get(f"/admin/scheduler/backupjob/{job.pk}/change/")
    assert page.status_code == 200 and b"s3cret" not in page.content
    assert admin_client.get("/admin/scheduler/backuppolicy/").status_code == 200


@pytest.mark.django_db
def test_only_an_operator_may_cancel_and_only_a_waiting_or_running_job(operator_user, viewer_user) -> None:
    from scheduler.services import can_cancel

    for status in BackupJob.Status.values:
        job = BackupJobFactory.build(status=status)
        waiting_or_running = status in ("pending", "scheduled", "running")
        assert job.is_cancellable is waiting_or_running, status
        assert can_cancel(operator_user, job) is waiting_or_running, status
        assert can_cancel(viewer_user, job) is False, status


def test_a_decisions_estimate_prices_the_run_with_the_accounting_energy_model(monkeypatch) -> None:
    from scheduler.accounting import EnergyModel
    from scheduler.services import decision_estimate

    monkeypatch.setattr("carbon.services.energy_model", lambda: EnergyModel(1000.0, 0.0, 2.0))
    job = BackupJob(data_size_gb=500.0, expected_duration=timedelta(hours=1))
    estimate = decision_estimate(job, {"now_intensity": 400.0, "expected_intensity": 100.0})
    assert estimate.kwh == pytest.approx(2.0)  # 1 kW x 1 h x PUE 2
    assert estimate.now_kg == pytest.approx(0.8) and estimate.chosen_kg == pytest.approx(0.2)
    assert decision_estimate(job, {}).now_kg is None
