"""The counterfactual starts at the job's earliest allowed start: a caller-imposed wait
(metadata.not_before) is not credited as hyperweb's saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon.intensity import StepSeries
from scheduler.accounting import account_run
from scheduler.models import BackupJob
from scheduler.services import account_job, submit_jobs
from tests.scheduler.factories import add_readings, zone

HOUR = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
HOURS_NS = 3600 * 10**9


def test_it_starts_the_counterfactual_at_the_earliest_allowed_start() -> None:
    # Requested 20:00 but not before 22:00; ran 23:00-24:00. Hourly 800, 700, 300, 100.
    series = StepSeries.from_steps(
        (HOUR + timedelta(hours=i), HOUR + timedelta(hours=i + 1), v)
        for i, v in enumerate([800, 700, 300, 100])
    )
    acc = account_run(
        series,
        requested_at=HOUR,
        earliest_start=HOUR + timedelta(hours=2),
        started_at=HOUR + timedelta(hours=3),
        completed_at=HOUR + timedelta(hours=4),
        data_gb=0,
    )
    assert acc.counterfactual_start == HOUR + timedelta(hours=2)
    assert acc.counterfactual_intensity == pytest.approx(300.0)  # not 800, the request hour
    assert acc.saving_kg == pytest.approx(acc.energy_kwh * (300 - 100) / 1000)
    # An earliest start before the request (never for real jobs) changes nothing.
    early = account_run(
        series,
        requested_at=HOUR,
        earliest_start=HOUR - timedelta(hours=1),
        started_at=HOUR + timedelta(hours=3),
        completed_at=HOUR + timedelta(hours=4),
        data_gb=0,
    )
    assert early.counterfactual_start == HOUR and early.counterfactual_intensity == pytest.approx(800.0)


@pytest.mark.django_db
def test_it_does_not_credit_a_not_before_delay_as_a_saving(settings, tmp_path) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    settings.BACKUP_TARGET_ROOT = tmp_path / "backups"
    de = zone("DE")
    add_readings(de, HOUR, [800.0, 700.0, 300.0, 100.0, 100.0])
    not_before = HOUR + timedelta(hours=2)
    definition = {
        "vm_path": "vm1.img",
        "metadata": {
            "carbon_aware": True,
            "carbon_zone": "DE",
            "carbon_max_delay": 2 * HOURS_NS,
            "not_before": not_before.isoformat(),
        },
    }
    outcome = submit_jobs([definition], now=HOUR)
    job = BackupJob.objects.select_related("zone").get(pk=outcome.job_ids[0])
    assert job.requested_at == HOUR and job.earliest_start == not_before
    BackupJob.objects.filter(pk=job.pk).update(
        status="completed", started_at=HOUR + timedelta(hours=3), completed_at=HOUR + timedelta(hours=4)
    )
    job.refresh_from_db()
    account_job(job, now=HOUR + timedelta(hours=5))
    job.refresh_from_db()
    # Against 22:00-23:00 (300), where the caller allowed it to start; not 20:00-21:00 (800).
    assert job.counterfactual_intensity == pytest.approx(300.0)
    assert job.intensity_experienced == pytest.approx(100.0)
    assert job.saving_kg == pytest.approx(job.energy_kwh * 200 / 1000)
    assert job.accounting["counterfactual_start"] == not_before.isoformat()
