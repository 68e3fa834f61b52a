"""A backup that finished before its period's reading was stored is accounted when it arrives.

The step in progress has no actual reading until the next refresh stores it, so a run that ends
inside it is first accounted with `no_readings`; storing the reading must account it again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon import services
from carbon.providers.base import Reading
from scheduler.models import BackupJob
from scheduler.services.accounting import account_job
from tests.scheduler.factories import BackupJobFactory, zone

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
STEP = timedelta(minutes=15)


def test_it_accounts_a_finished_backup_once_its_missing_reading_is_stored(django_capture_on_commit_callbacks):
    de = zone("DE")
    job = BackupJobFactory(
        zone=de,
        status=BackupJob.Status.COMPLETED,
        requested_at=T0,
        started_at=T0,
        completed_at=T0 + timedelta(minutes=10),
        data_size_gb=10,
    )
    account_job(job, now=T0 + timedelta(minutes=11))
    job.refresh_from_db()
    assert job.emissions_kg is None and "no_readings" in job.accounting["flags"]

    with django_capture_on_commit_callbacks(execute=True):
        services.store_readings(de, "csv", [Reading(start=T0, end=T0 + STEP, value=400.0)])

    job.refresh_from_db()
    assert job.intensity_experienced == pytest.approx(400.0)
    assert job.emissions_kg is not None and job.emissions_kg > 0
    assert "no_readings" not in job.accounting["flags"]


def test_it_leaves_backups_outside_the_new_readings_alone(django_capture_on_commit_callbacks):
    de = zone("DE")
    job = BackupJobFactory(
        zone=de,
        status=BackupJob.Status.COMPLETED,
        requested_at=T0,
        started_at=T0,
        completed_at=T0 + timedelta(minutes=10),
        data_size_gb=10,
    )
    account_job(job, now=T0 + timedelta(minutes=11))
    before = BackupJob.objects.get(pk=job.pk).accounting

    with django_capture_on_commit_callbacks(execute=True):
        services.store_readings(de, "csv", [Reading(start=T0 + 4 * STEP, end=T0 + 5 * STEP, value=400.0)])

    assert BackupJob.objects.get(pk=job.pk).accounting == before
