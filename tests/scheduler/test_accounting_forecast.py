"""A finished backup whose run lies after the last measured reading is accounted from the stored
forecast for its run (flagged forecast-based), and again from the measurements when they arrive.

The bug this guards: "Run now" at 07:19 UTC, last measured reading 07:00-07:15, a forecast for
07:15-07:30 stored: the backup was stored with no emissions, coverage 0 and yet `forecast_only`,
so reports showed it as 0 g until the next refresh re-accounted it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon import services
from carbon.intensity import StepSeries
from carbon.providers.base import Reading
from scheduler.accounting import account_run
from scheduler.models import BackupJob
from scheduler.services.accounting import account_job
from tests.scheduler.factories import BackupJobFactory, zone

T0 = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
STEP = timedelta(minutes=15)


def _steps(*steps: tuple[datetime, datetime, float]) -> StepSeries:
    return StepSeries.from_steps(steps)


# --- the pure accounting ------------------------------------------------------------------------


def test_a_run_priced_only_by_the_forecast_is_forecast_only_with_full_coverage() -> None:
    actual = _steps((T0, T0 + STEP, 50.0))
    forecast = _steps((T0 + STEP, T0 + 2 * STEP, 60.0))
    merged = _steps((T0, T0 + STEP, 50.0), (T0 + STEP, T0 + 2 * STEP, 60.0))
    start = T0 + timedelta(minutes=19)
    acc = account_run(
        merged, forecast=forecast, requested_at=start, started_at=start,
        completed_at=start + timedelta(minutes=2), data_gb=50,
    )
    assert actual.coverage(start, start + timedelta(minutes=2)) == 0.0
    assert acc.intensity_experienced == pytest.approx(60.0)
    assert acc.coverage == pytest.approx(1.0)
    assert acc.forecast_coverage == pytest.approx(1.0)
    assert acc.forecast_only is True and "forecast_only" in acc.flags
    assert acc.emissions_kg is not None and acc.emissions_kg > 0


def test_a_run_partly_on_the_forecast_is_flagged_partial_forecast_not_forecast_only() -> None:
    forecast = _steps((T0 + STEP, T0 + 2 * STEP, 60.0))
    merged = _steps((T0, T0 + STEP, 50.0), (T0 + STEP, T0 + 2 * STEP, 60.0))
    start = T0 + timedelta(minutes=10)
    acc = account_run(
        merged, forecast=forecast, requested_at=start, started_at=start,
        completed_at=start + timedelta(minutes=10), data_gb=50,
    )
    assert acc.intensity_experienced == pytest.approx(55.0)
    assert (acc.coverage, acc.forecast_coverage) == (pytest.approx(1.0), pytest.approx(0.5))
    assert acc.forecast_only is False and "forecast_only" not in acc.flags
    assert "partial_forecast" in acc.flags


def test_forecast_only_is_about_the_run_not_about_the_counterfactual() -> None:
    # Measured readings over the counterfactual (the request), none over the run: the run's
    # emissions still rest on the forecast alone.
    forecast = _steps((T0 + STEP, T0 + 2 * STEP, 60.0))
    merged = _steps((T0, T0 + STEP, 50.0), (T0 + STEP, T0 + 2 * STEP, 60.0))
    acc = account_run(
        merged, forecast=forecast, requested_at=T0, started_at=T0 + STEP,
        completed_at=T0 + STEP + timedelta(minutes=5), data_gb=50,
    )
    assert acc.forecast_only is True
    assert acc.counterfactual_forecast_coverage == pytest.approx(0.0)


# --- accounting a stored backup -----------------------------------------------------------------


def _fr_with_reading_and_forecast():
    fr = zone("FR")
    services.store_readings(fr, "csv", [Reading(start=T0, end=T0 + STEP, value=50.0)])
    services.store_readings(
        fr,
        "csv",
        [
            Reading(start=T0 + STEP, end=T0 + 2 * STEP, value=60.0, kind="forecast", issued_at=T0),
            Reading(start=T0 + 2 * STEP, end=T0 + 3 * STEP, value=70.0, kind="forecast", issued_at=T0),
        ],
    )
    return fr


def _run_now(fr, at: datetime) -> BackupJob:
    return BackupJobFactory(
        zone=fr,
        status=BackupJob.Status.COMPLETED,
        requested_at=at,
        started_at=at,
        completed_at=at + timedelta(seconds=40),
        data_size_gb=50,
    )


@pytest.mark.django_db
def test_a_backup_after_the_last_reading_is_accounted_from_the_stored_forecast() -> None:
    fr = _fr_with_reading_and_forecast()
    job = _run_now(fr, T0 + timedelta(minutes=19))
    account_job(job, now=job.completed_at)
    job.refresh_from_db()
    assert job.intensity_experienced == pytest.approx(60.0)
    assert job.emissions_kg is not None and job.emissions_kg > 0
    assert job.saving_kg == pytest.approx(0.0)  # run now: its counterfactual is itself
    assert job.forecast_only is True
    assert job.accounting["coverage"] == pytest.approx(1.0)
    assert job.accounting["forecast_coverage"] == pytest.approx(1.0)
    assert "forecast_only" in job.accounting["flags"] and "no_readings" not in job.accounting["flags"]


@pytest.mark.django_db(transaction=False)
def test_the_forecast_accounting_is_replaced_when_the_measurement_arrives(
    django_capture_on_commit_callbacks,
) -> None:
    fr = _fr_with_reading_and_forecast()
    job = _run_now(fr, T0 + timedelta(minutes=19))
    account_job(job, now=job.completed_at)
    with django_capture_on_commit_callbacks(execute=True):
        services.store_readings(fr, "csv", [Reading(start=T0 + STEP, end=T0 + 2 * STEP, value=55.0)])
    job.refresh_from_db()
    assert job.intensity_experienced == pytest.approx(55.0)
    assert job.forecast_only is False
    assert job.accounting["coverage"] == pytest.approx(1.0)
    assert job.accounting["forecast_coverage"] == pytest.approx(0.0)
    assert not {"forecast_only", "partial_forecast"} & set(job.accounting["flags"])


@pytest.mark.django_db
def test_a_backup_with_neither_reading_nor_forecast_gets_no_kg_and_no_forecast_flag() -> None:
    fr = zone("FR")
    services.store_readings(fr, "csv", [Reading(start=T0, end=T0 + STEP, value=50.0)])
    job = _run_now(fr, T0 + timedelta(minutes=19))
    account_job(job, now=job.completed_at)
    job.refresh_from_db()
    assert job.emissions_kg is None and job.intensity_experienced is None
    assert job.forecast_only is False
    assert job.accounting["coverage"] == 0.0
    assert "no_readings" in job.accounting["flags"] and "forecast_only" not in job.accounting["flags"]


# --- what the backup page says ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_backup_page_says_why_a_backup_is_not_accounted_yet(client, viewer_user) -> None:
    fr = zone("FR")
    job = _run_now(fr, T0 + timedelta(minutes=19))  # no reading, no forecast
    account_job(job, now=job.completed_at)
    client.force_login(viewer_user)
    page = " ".join(client.get(f"/backups/{job.pk}").content.decode().split())
    assert "Not accounted yet: no intensity data (measured or forecast) for its run in FR" in page
    assert "it will be accounted when readings arrive" in page
    assert "No accounting for this backup" not in page


@pytest.mark.django_db
def test_the_backup_page_labels_a_forecast_based_accounting(client, viewer_user) -> None:
    fr = _fr_with_reading_and_forecast()
    job = _run_now(fr, T0 + timedelta(minutes=19))
    account_job(job, now=job.completed_at)
    client.force_login(viewer_user)
    page = " ".join(client.get(f"/backups/{job.pk}").content.decode().split())
    assert "forecast only" in page
    assert "priced at the forecast for its run (100 %)" in page
