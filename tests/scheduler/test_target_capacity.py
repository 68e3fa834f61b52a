"""Capacity per backup target: where a job writes, the limit rows, planning and claiming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from scheduler.dispatch import ClaimRefused, claim_job
from scheduler.models import BackupJob, Capacity, JobEvent
from scheduler.services import submit_jobs
from scheduler.services.capacity import job_target, target_limits
from scheduler.services.execution import execute_job
from tests.scheduler.factories import BackupJobFactory, add_readings, zone

pytestmark = pytest.mark.django_db

HOUR = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
NOW = HOUR + timedelta(seconds=30)
HOURS_NS = 3600 * 10**9


@pytest.fixture(autouse=True)
def roots(settings, tmp_path):
    source, target = tmp_path / "vms", tmp_path / "backups"
    source.mkdir()
    target.mkdir()
    settings.BACKUP_SOURCE_ROOTS = [source]
    settings.BACKUP_TARGET_ROOT = target
    settings.BACKUP_PLAN_REFRESH = False
    return source, target


@pytest.fixture
def no_enqueue(monkeypatch) -> None:
    monkeypatch.setattr("scheduler.dispatch.enqueue_jobs", lambda ids, **kw: None)


def nas_limit(target, n: int = 1) -> str:
    row = Capacity(key=str(target / "nas1"), max_concurrent=n)
    row.full_clean()
    row.save()
    return row.key


def test_a_job_s_target_is_its_resolved_output_directory_or_the_daemon(roots, settings) -> None:
    _, target = roots
    assert job_target("file", {}) == str(target.resolve())
    assert job_target("file", {"output_dir": "nas1/web"}) == str((target / "nas1/web").resolve())
    assert job_target("file", {"output_dir": str(target / "nas1" / ".." / "nas2")}) == str(target / "nas2")
    settings.HYPERSDK_URL = "https://admin:s3cret@HyperSDK.example:8443/"
    assert job_target("hypersdk", {}) == "https://hypersdk.example:8443"  # no credentials kept


def test_submission_stores_the_target(roots, no_enqueue) -> None:
    _, target = roots
    outcome = submit_jobs([{"vm_path": "a.img", "output_dir": "nas1"}])
    assert BackupJob.objects.get(pk=outcome.job_ids[0]).target == str(target / "nas1")


def test_a_limit_covers_its_directory_and_below_only(roots) -> None:
    _, target = roots
    key = nas_limit(target, 2)
    assert target_limits(str(target / "nas1")) == {key: 2}
    assert target_limits(str(target / "nas1" / "web")) == {key: 2}
    assert target_limits(str(target / "nas10")) == {}
    assert target_limits("") == {}


def test_capacity_keys_are_checked_and_normalised(roots) -> None:
    _, target = roots
    for key, message in [
        ("XX", "neither a zone code nor a target"),
        ("/etc", "outside the backup target root"),
        ("https://", "has no host"),
    ]:
        with pytest.raises(ValidationError, match=message):
            Capacity(key=key, max_concurrent=1).full_clean()
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        Capacity(key="DE", max_concurrent=0).full_clean()
    row = Capacity(key=f"{target}/nas1/../nas1/", max_concurrent=1)
    row.full_clean()
    assert row.key == str(target / "nas1")
    url = Capacity(key="HTTPS://user:pw@Daemon.example:8443/", max_concurrent=1)
    url.full_clean()
    assert url.key == "https://daemon.example:8443"


def test_a_worker_does_not_start_a_job_on_a_full_target_and_says_why_once(roots, no_enqueue) -> None:
    _, target = roots
    key = nas_limit(target)
    BackupJobFactory(zone=zone("DE"), status="running", target=str(target / "nas1" / "a"))
    job = BackupJobFactory(zone=zone("FR"), target=str(target / "nas1" / "b"))
    with pytest.raises(ClaimRefused, match=f"target {key} is at capacity"):
        claim_job(job.id, "w1")
    assert execute_job(job.id).startswith("not claimed")
    assert execute_job(job.id).startswith("not claimed")
    events = list(JobEvent.objects.filter(job=job).values_list("message", flat=True))
    assert events == [f"waiting for capacity: target {key} is at capacity (1 of 1 running)"]
    job.refresh_from_db()
    assert job.status == "pending"
    # Another target is not limited by it.
    other = BackupJobFactory(zone=zone("FR"), target=str(target / "nas2"))
    claim_job(other.id, "w2")


def test_planning_spreads_two_zones_jobs_over_their_shared_target(roots, no_enqueue) -> None:
    _, target = roots
    nas_limit(target)
    for code in ("DE", "FR"):  # both grids are cleanest at 21:00
        add_readings(
            zone(code),
            HOUR,
            [500, 100, 120, 500, 500, 500, 500],
            kind="forecast",
            issued_at=HOUR - timedelta(minutes=5),
        )

    def job(code: str) -> dict:
        metadata = {"carbon_aware": True, "carbon_zone": code, "carbon_max_delay": 4 * HOURS_NS}
        return {
            "vm_path": f"{code}.img",
            "output_dir": "nas1",
            "metadata": {**metadata, "expected_duration_hours": 1},
        }

    first = submit_jobs([job("DE")], now=NOW).job_ids[0]
    second = submit_jobs([job("FR")], now=NOW).job_ids[0]
    a, b = (BackupJob.objects.get(pk=pk) for pk in (first, second))
    assert a.planned_start == HOUR + timedelta(hours=1)
    assert b.planned_start == HOUR + timedelta(hours=2)  # 21:00 is taken on the NAS
    assert b.decision["strategy"] == "capacity"
    assert f"1 at once to {target / 'nas1'}" in b.decision["reason"]


def test_url_keys_are_normalised_and_bad_ones_refused_without_echoing_them(settings) -> None:
    for raw, expected in [
        ("https://HyperSDK.example:443/", "https://hypersdk.example"),  # the default port goes
        ("http://[::1]:8080/api/", "http://[::1]:8080/api"),  # IPv6 keeps its brackets
    ]:
        row = Capacity(key=raw, max_concurrent=1)
        row.full_clean()
        assert row.key == expected
    for raw in ("https://admin:s3cret@host:99999", "https://:8443", "http://admin:s3cret@host:abc"):
        with pytest.raises(ValidationError) as refused:
            Capacity(key=raw, max_concurrent=1).full_clean()
        assert "s3cret" not in str(refused.value) and "not a usable HyperSDK URL" in str(refused.value)
    settings.HYPERSDK_URL = "https://host:99999"
    assert job_target("hypersdk", {}) == ""  # no target limit, and submission still works


def test_the_smallest_of_two_rows_for_one_target_applies_and_nested_rows_both_apply(roots) -> None:
    _, target = roots
    Capacity.objects.create(key=str(target / "nas1"), max_concurrent=5)
    Capacity.objects.create(key=str(target / "nas1") + "/", max_concurrent=2)  # saved without clean
    Capacity.objects.create(key=str(target), max_concurrent=3)
    assert target_limits(str(target / "nas1" / "web")) == {str(target / "nas1"): 2, str(target): 3}


def test_path_limits_respect_case_as_the_disk_does(roots, no_enqueue) -> None:
    _, target = roots
    key = nas_limit(target)
    BackupJobFactory(status="running", target=str(target / "nas1" / "a"))
    other = BackupJobFactory(target=str(target / "NAS1" / "b"))
    claim_job(other.id, "w1")  # not under /nas1: free to start
    blocked = BackupJobFactory(target=str(target / "nas1" / "c"))
    with pytest.raises(ClaimRefused, match=f"target {key} is at capacity"):
        claim_job(blocked.id, "w2")


def test_a_job_stored_without_a_target_gets_one_at_claim_and_is_limited(roots, no_enqueue) -> None:
    _, target = roots
    nas_limit(target)
    BackupJobFactory(status="running", target=str(target / "nas1"))
    # As a worker of the previous release would have stored it: no target.
    job = BackupJobFactory(definition={"vm_path": "a.img", "output_dir": "nas1", "metadata": {}}, target="")
    with pytest.raises(ClaimRefused, match="at capacity"):
        claim_job(job.id, "w1")
    BackupJob.objects.filter(status="running").update(status="completed")
    claim_job(job.id, "w1")
    job.refresh_from_db()
    assert job.status == "running" and job.target == str(target / "nas1")


def test_planning_counts_another_zones_run_under_way_on_the_target(roots, no_enqueue) -> None:
    _, target = roots
    nas_limit(target)
    add_readings(
        zone("DE"),
        HOUR,
        [100, 300, 400, 500, 500, 500],
        kind="forecast",
        issued_at=HOUR - timedelta(minutes=5),
    )
    BackupJobFactory(
        zone=zone("FR"),
        status="running",
        started_at=NOW,
        expected_duration=timedelta(hours=1),
        target=str(target / "nas1"),
    )
    metadata = {
        "carbon_aware": True,
        "carbon_zone": "DE",
        "carbon_max_delay": 4 * HOURS_NS,
        "expected_duration_hours": 1,
    }
    job_id = submit_jobs([{"vm_path": "a.img", "output_dir": "nas1", "metadata": metadata}], now=NOW).job_ids[
        0
    ]
    job = BackupJob.objects.get(pk=job_id)
    # 20:00 is the cleanest, but the FR run holds the NAS until 21:00:30: the first free 5-min slot.
    assert (
        job.planned_start == HOUR + timedelta(hours=1, minutes=5) and job.decision["strategy"] == "capacity"
    )


def test_waiting_for_capacity_is_logged_once_per_reason(roots) -> None:
    from scheduler.services.execution import _note_waiting

    job = BackupJobFactory()
    _note_waiting(job.id, "waiting for capacity: target /x is at capacity (2 of 2 running)")
    _note_waiting(job.id, "waiting for capacity: target /x is at capacity (3 of 2 running)")
    _note_waiting(job.id, "waiting for capacity: zone DE is at capacity (4 running)")
    assert JobEvent.objects.filter(job=job).count() == 2


@pytest.mark.scaleout
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_once_never_both_start_on_a_full_target(roots) -> None:
    """PostgreSQL: the target's Capacity row is locked while a claim counts, so of two claims
    racing for a target that takes one, exactly one wins, round after round."""
    import threading

    from django.db import connection

    _, target = roots
    nas_limit(target)
    for _ in range(15):
        BackupJob.objects.filter(status="running").update(status="completed")
        jobs = [BackupJobFactory(target=str(target / "nas1" / name)) for name in ("a", "b")]
        barrier = threading.Barrier(2)
        won: list[str] = []

        def claim(job_id: str, barrier: threading.Barrier = barrier, won: list[str] = won) -> None:
            try:
                barrier.wait(5)
                claim_job(job_id, f"w-{job_id}")
                won.append(job_id)
            except ClaimRefused:
                pass
            finally:
                connection.close()

        threads = [threading.Thread(target=claim, args=(job.id,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(won) == 1, won
        assert BackupJob.objects.filter(status="running").count() == 1


def test_the_admin_refuses_a_bad_key_with_a_form_error_and_lists_what_each_row_limits(
    roots, admin_client
) -> None:
    _, target = roots
    page = admin_client.post("/admin/scheduler/capacity/add/", {"key": "/etc", "max_concurrent": 1})
    assert page.status_code == 200 and "outside the backup target root" in page.content.decode()
    assert not Capacity.objects.exists()
    for key in (str(target / "nas1"), "https://daemon.example", "DE"):
        admin_client.post("/admin/scheduler/capacity/add/", {"key": key, "max_concurrent": 2})
    listing = admin_client.get("/admin/scheduler/capacity/").content.decode()
    for text in ("backups written there or below", "jobs sent to that daemon", "a zone&#x27;s backups"):
        assert text in listing
