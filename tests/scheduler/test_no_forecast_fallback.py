"""BACKUP_NO_FORECAST_FALLBACK: a carbon-aware job with no forecast starts at a set time, or at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.models import BackupJob, Capacity
from scheduler.services import submit_jobs
from scheduler.services.planning import fallback_start
from tests.scheduler.factories import add_readings, zone

pytestmark = pytest.mark.django_db

HOUR = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
NOW = HOUR + timedelta(seconds=30)
HOURS_NS = 3600 * 10**9


@pytest.fixture(autouse=True)
def _no_provider_calls(settings, tmp_path, monkeypatch) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    settings.BACKUP_TARGET_ROOT = tmp_path / "backups"
    monkeypatch.setattr("scheduler.dispatch.enqueue_jobs", lambda ids, **kw: None)


def carbon_job(max_delay_h: float = 4, **meta) -> dict:
    metadata = {"carbon_aware": True, "carbon_zone": "DE", "carbon_max_delay": int(max_delay_h * HOURS_NS)}
    return {"vm_path": "vm1.img", "name": "vm1", "metadata": {**metadata, **meta}}


def submit(*jobs: dict) -> list[BackupJob]:
    outcome = submit_jobs(list(jobs), now=NOW)
    assert outcome.errors == []
    return [BackupJob.objects.get(pk=job_id) for job_id in outcome.job_ids]


def test_it_starts_a_job_without_a_forecast_at_the_next_fallback_time(settings):
    settings.BACKUP_NO_FORECAST_FALLBACK = "22:30"
    (job,) = submit(carbon_job())
    assert job.planned_start == datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    assert job.status == "scheduled"
    assert job.decision["strategy"] == "fallback_time"
    reason = job.definition["metadata"]["carbon_reason"]
    assert "No forecast" in reason and "fallback time 2026-03-01T22:30:00Z" in reason
    assert "BACKUP_NO_FORECAST_FALLBACK=22:30" in reason
    assert job.decision["inputs"]["earliest"] == "2026-03-01T20:00:30Z"  # the job's own window


def test_it_starts_at_once_without_the_setting(settings):
    settings.BACKUP_NO_FORECAST_FALLBACK = ""
    (job,) = submit(carbon_job())
    assert job.planned_start == NOW
    assert job.decision["strategy"] == "no_forecast" and "No forecast" in job.decision["reason"]


def test_it_clamps_the_fallback_time_into_the_window(settings):
    settings.BACKUP_NO_FORECAST_FALLBACK = "02:00"  # tomorrow 02:00, after the latest start 00:00:30
    (job,) = submit(carbon_job())
    assert job.planned_start == NOW + timedelta(hours=4) == job.latest_start
    assert job.decision["strategy"] == "fallback_time"
    assert "after the latest start" in job.decision["reason"]


def test_it_keeps_capacity_at_the_fallback_time(settings):
    settings.BACKUP_NO_FORECAST_FALLBACK = "21:00"
    Capacity.objects.create(key="DE", max_concurrent=1)
    first, second = submit(carbon_job(), carbon_job())
    starts = sorted([first.planned_start, second.planned_start])
    assert starts == [datetime(2026, 3, 1, 21, tzinfo=UTC), datetime(2026, 3, 1, 22, tzinfo=UTC)]
    later = max([first, second], key=lambda j: j.planned_start)
    assert later.decision["strategy"] == "fallback_time" and "is full" in later.decision["reason"]


def test_it_plans_on_the_forecast_when_there_is_one(settings):
    settings.BACKUP_NO_FORECAST_FALLBACK = "23:00"
    add_readings(zone("DE"), HOUR, [500, 400, 100, 200, 600, 600, 600], kind="forecast", issued_at=HOUR)
    (job,) = submit(carbon_job(expected_duration_hours=2))
    assert job.planned_start == HOUR + timedelta(hours=2)
    assert job.decision["strategy"] == "best_window"


def test_it_finds_the_next_fallback_time_from_the_earliest_possible_start():
    at = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    day = timedelta(days=1)
    assert fallback_start(at, at + day, now=at, at="02:00") == datetime(2026, 3, 2, 2, tzinfo=UTC)
    assert fallback_start(at, at + day, now=at, at="23:00") == at
    # A window that opens later: the next such time from its opening, not from now.
    assert fallback_start(at + day, at + 2 * day, now=at, at="22:00") == datetime(2026, 3, 3, 22, tzinfo=UTC)
    assert fallback_start(at, at + day, now=at, at="") is None
