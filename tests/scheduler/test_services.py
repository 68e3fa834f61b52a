"""Submitting, planning, re-planning, cancelling and showing jobs (services, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.models import BackupJob, Capacity, JobDecision
from scheduler.services import cancel_jobs, job_to_hypersdk_json, replan_zone, submit_jobs
from tests.scheduler.factories import BackupJobFactory, add_readings, zone

pytestmark = pytest.mark.django_db

HOUR = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
NOW = HOUR + timedelta(seconds=30)  # off the planner's slot grid, as real submissions are
HOURS_NS = 3600 * 10**9


@pytest.fixture(autouse=True)
def _no_provider_calls(settings, tmp_path) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    settings.BACKUP_TARGET_ROOT = tmp_path / "backups"


@pytest.fixture
def no_enqueue(monkeypatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr("scheduler.dispatch.enqueue_jobs", lambda ids, **kw: calls.append(list(ids)))
    return calls


def forecast(values: list[float], *, start: datetime = HOUR, code: str = "DE") -> None:
    add_readings(zone(code), start, values, kind="forecast", issued_at=start - timedelta(minutes=5))


def carbon_job(**meta) -> dict:
    metadata = {"carbon_aware": True, "carbon_zone": "DE", "carbon_max_delay": 4 * HOURS_NS}
    metadata.update(meta)
    return {"vm_path": "vm1.img", "name": "vm1", "metadata": metadata}


def test_it_dispatches_a_job_that_is_not_carbon_aware_at_once(
    django_capture_on_commit_callbacks, no_enqueue
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        outcome = submit_jobs([{"vm_path": "a.img"}], now=NOW)
    job = BackupJob.objects.get(pk=outcome.job_ids[0])
    assert job.status == "pending" and job.planned_start == NOW
    assert no_enqueue == [[job.id]]


def test_it_plans_a_carbon_aware_job_into_the_cleanest_whole_run_window(no_enqueue) -> None:
    # 2 h run, may wait 4 h: 20-22 averages 450, 22-24 averages 150 -> start 22:00.
    forecast([500, 400, 100, 200, 600, 600, 600])
    outcome = submit_jobs([carbon_job(expected_duration_hours=2)], now=NOW)
    assert outcome.accepted == 1 and outcome.errors == []
    job = BackupJob.objects.get(pk=outcome.job_ids[0])
    assert job.planned_start == HOUR + timedelta(hours=2)
    assert job.status == "scheduled"
    assert job.latest_start == NOW + timedelta(hours=4)
    md = job.definition["metadata"]
    assert md["carbon_planned_start"] == "2026-03-01T22:00:00Z"
    # The run starting now (20:00:30-22:00:30): 3570 s at 500, 3600 s at 400, 30 s at 100.
    assert md["carbon_intensity_at_submit"] == pytest.approx((500 * 3570 + 400 * 3600 + 100 * 30) / 7200)
    assert md["carbon_reason"]
    assert job.decisions.count() == 1
    assert job_to_hypersdk_json(job)["status"] == "pending"  # waiting is "pending" on the wire
    assert no_enqueue == []


def test_it_starts_at_once_and_says_why_without_a_forecast(no_enqueue) -> None:
    outcome = submit_jobs([carbon_job()], now=NOW)
    job = BackupJob.objects.get(pk=outcome.job_ids[0])
    assert job.planned_start == NOW
    assert job.decision["strategy"] == "no_forecast"
    assert "forecast" in job.definition["metadata"]["carbon_reason"]


def test_it_spreads_jobs_so_the_zone_capacity_is_never_exceeded(no_enqueue) -> None:
    Capacity.objects.create(key="DE", max_concurrent=1)
    forecast([500, 100, 120, 500, 500, 500, 500])
    outcome = submit_jobs(
        [carbon_job(expected_duration_hours=1), carbon_job(expected_duration_hours=1)], now=NOW
    )
    starts = sorted(BackupJob.objects.filter(pk__in=outcome.job_ids).values_list("planned_start", flat=True))
    assert starts == [HOUR + timedelta(hours=1), HOUR + timedelta(hours=2)]


def test_it_rejects_definitions_it_cannot_run_and_duplicate_ids(no_enqueue) -> None:
    BackupJobFactory(id="taken")
    outcome = submit_jobs(
        [
            {"vm_path": "a", "id": "taken"},
            {"vm_path": "a", "id": "new"},
            {"vm_path": "a", "id": "new"},
            {"vm_path": "a", "metadata": {"carbon_aware": True, "carbon_zone": "XX"}},
        ],
        now=NOW,
    )
    assert outcome.job_ids == ["new"]
    assert outcome.rejected == 3 and not outcome.malformed
    assert "already exists" in outcome.errors[0] and "already exists" in outcome.errors[1]
    assert "XX" in outcome.errors[2]


def test_it_stores_nothing_when_a_definition_is_malformed(no_enqueue) -> None:
    outcome = submit_jobs(
        [{"vm_path": "a"}, {"name": "no path"}, {"vm_path": "a", "format": "zip"}, "not an object"],
        now=NOW,
        prefix="jobs",
    )
    assert outcome.job_ids == [] and not BackupJob.objects.exists()
    assert set(outcome.malformed) == {"jobs[1].vm_path", "jobs[2].format", "jobs[3]"}
    assert "vm_path is required" in outcome.errors[0]


def test_it_never_stores_or_echoes_the_vcenter_password(no_enqueue) -> None:
    outcome = submit_jobs(
        [{"vm_path": "a", "vcenter": {"server": "vc", "username": "u", "password": "s3cret"}}], now=NOW
    )
    job = BackupJob.objects.get(pk=outcome.job_ids[0])
    assert "s3cret" not in str(job.definition)
    assert "s3cret" not in str(job_to_hypersdk_json(job))
    assert job.secrets == {"vcenter.password": "s3cret"}


def test_it_reads_carbon_max_delay_as_nanoseconds(no_enqueue) -> None:
    outcome = submit_jobs([carbon_job(carbon_max_delay=int(1.5 * 3600 * 1e9))], now=NOW)
    job = BackupJob.objects.get(pk=outcome.job_ids[0])
    assert job.latest_start - job.earliest_start == timedelta(hours=1, minutes=30)


def test_it_replans_waiting_jobs_within_their_original_window_on_a_newer_forecast(no_enqueue) -> None:
    forecast([500, 400, 100, 200, 600, 600, 600])
    job_id = submit_jobs([carbon_job(expected_duration_hours=1)], now=NOW).job_ids[0]
    assert BackupJob.objects.get(pk=job_id).planned_start == HOUR + timedelta(hours=2)
    # A newer forecast says 23:00 is far cleaner; 01:00 (outside the 4 h window) cleaner still.
    later = NOW + timedelta(minutes=30)
    add_readings(zone("DE"), HOUR, [500, 400, 300, 20, 500, 1], kind="forecast", issued_at=later)
    moved = replan_zone(zone("DE"), now=later)
    job = BackupJob.objects.get(pk=job_id)
    assert moved == [job_id]
    assert job.planned_start == HOUR + timedelta(hours=3)
    assert JobDecision.objects.filter(job=job).count() == 2
    assert job.decision["trigger"] == "newer forecast"


def test_it_cancels_waiting_and_running_jobs_but_not_finished_ones() -> None:
    waiting = BackupJobFactory(status="scheduled")
    running = BackupJobFactory(status="running")
    done = BackupJobFactory(status="completed")
    outcome = cancel_jobs([waiting.id, running.id, done.id, "nope"])
    assert outcome.cancelled == [waiting.id, running.id]
    assert outcome.failed == [done.id, "nope"]
    assert "completed" in outcome.errors[done.id] and outcome.errors["nope"] == "job not found"
    assert BackupJob.objects.get(pk=running.id).status == "cancelled"


def test_it_shows_a_job_as_the_hypersdk_clients_expect() -> None:
    job = BackupJobFactory(definition={"vm_path": "x.img", "format": "qcow2"}, status="running", progress={})
    data = job_to_hypersdk_json(job)
    assert data["definition"]["vm_path"] == "x.img" and data["definition"]["id"] == job.id
    assert data["status"] == "running"
    assert data["updated_at"].endswith("Z")
    assert data["progress"]["phase"]
    assert "result" not in data and "error" not in data


def test_it_writes_a_jobs_remaining_time_as_the_same_go_duration_as_the_uptime() -> None:
    from hyperweb.api.timestamps import go_duration
    from scheduler.services.jobs import job_eta

    job = BackupJobFactory(
        status="scheduled",
        planned_start=NOW + timedelta(minutes=2),
        expected_duration=timedelta(seconds=3725.9),
    )
    eta, remaining = job_eta(job, now=NOW)
    assert remaining == go_duration(eta["estimated_remaining_seconds"]) == "1h4m5s"
    assert go_duration(-3) == "0s"


def test_it_finds_jobs_by_wire_status_where_pending_includes_the_scheduled_ones() -> None:
    from scheduler.services import query_jobs

    waiting = BackupJobFactory(status="scheduled", requested_at=NOW)
    runnable = BackupJobFactory(status="pending", requested_at=NOW + timedelta(seconds=1))
    BackupJobFactory(status="completed")
    assert list(query_jobs(None, ["pending"])) == [runnable, waiting]
    assert list(query_jobs([waiting.id], None)) == [waiting]
    assert list(query_jobs(None, ["scheduled"])) == [waiting]


def test_it_records_which_signal_a_jobs_accounted_intensities_are() -> None:
    from carbon.models import CarbonReading
    from scheduler.services import account_job

    de = zone("DE")
    CarbonReading.objects.bulk_create(
        CarbonReading(
            zone=de,
            start=HOUR + timedelta(hours=i),
            end=HOUR + timedelta(hours=i + 1),
            value=value,
            kind="actual",
            source="watttime",
            signal="marginal",
        )
        for i, value in enumerate([700.0, 500.0, 600.0])
    )
    job = BackupJobFactory(
        zone=de,
        status="completed",
        requested_at=HOUR,
        started_at=HOUR + timedelta(hours=1),
        completed_at=HOUR + timedelta(hours=2),
        data_size_gb=100,
    )
    account_job(job, now=HOUR + timedelta(hours=3))
    job.refresh_from_db()
    assert job.accounting["signal"] == "marginal" and job.intensity_experienced == 500.0
    assert job_to_hypersdk_json(job)["carbon"]["signal"] == "marginal"
