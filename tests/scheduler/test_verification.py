"""Verifying archives against their manifests: on demand, on schedule, and what a damaged one does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduler.models import BackupJob
from scheduler.services.execution import execute_job
from scheduler.services.lifecycle import plan_due_verifications, request_verification
from scheduler.signals import backup_damaged
from tests.scheduler.factories import add_readings, zone
from tests.scheduler.lifecycle import make_backup

pytestmark = pytest.mark.django_db


@pytest.fixture
def damaged_signals():
    heard: list[BackupJob] = []

    def receiver(sender, job, **kwargs) -> None:
        heard.append(job)

    backup_damaged.connect(receiver)
    yield heard
    backup_damaged.disconnect(receiver)


def flip_one_byte(path: str, at: float = 0.5) -> None:
    data = bytearray(open(path, "rb").read())
    data[int(len(data) * at)] ^= 0x40
    open(path, "wb").write(bytes(data))


def test_it_verifies_an_intact_archive(roots, damaged_signals) -> None:
    backup = make_backup(roots)
    run, created = request_verification(backup)
    assert created and run.operation == "verify"
    assert execute_job(run.pk) == "completed"
    run.refresh_from_db()
    backup.refresh_from_db()
    assert run.result["verdict"] == "verified" and run.result["problems"] == []
    assert run.energy_kwh is not None, "a verification is accounted"
    assert backup.integrity == "verified" and backup.verified_at is not None
    assert damaged_signals == []


def test_it_marks_the_backup_damaged_when_one_byte_of_the_archive_changes(
    roots, damaged_signals, operator_api, django_capture_on_commit_callbacks
) -> None:
    backup = make_backup(roots)
    flip_one_byte(backup.result["archive_path"])
    run, _ = request_verification(backup)
    with django_capture_on_commit_callbacks(execute=True):
        assert execute_job(run.pk) == "completed"
    run.refresh_from_db()
    backup.refresh_from_db()
    assert run.result["verdict"] == "damaged"
    assert any("archive sha256" in p for p in run.result["problems"])
    assert backup.integrity == "damaged" and "archive sha256" in backup.integrity_detail
    assert [job.pk for job in damaged_signals] == [backup.pk], "backup_damaged is sent once, for the backup"
    assert damaged_signals[0].integrity == "damaged", "receivers see the stored state"
    assert backup.events.filter(level="error", message__contains="DAMAGED").exists()
    # ... and it is shown so everywhere the backup is shown
    api = operator_api.get(f"/jobs/{backup.pk}").json()
    assert api["integrity"]["state"] == "damaged" and api["integrity"]["restorable"] is False
    listing = operator_api.get("/jobs/query?status=completed").json()["jobs"]
    assert next(j for j in listing if j["id"] == backup.pk)["integrity"]["state"] == "damaged"


def test_it_shows_a_damaged_backup_on_its_page_in_the_list_and_in_the_command(roots, operator_user) -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.test import Client

    backup = make_backup(roots)
    flip_one_byte(backup.result["archive_path"], at=0.9)
    run, _ = request_verification(backup)
    execute_job(run.pk)
    client = Client()
    client.force_login(operator_user)
    assert "badge damaged" in client.get(f"/backups/{backup.pk}").content.decode()
    assert 'id="restore-link"' not in client.get(f"/backups/{backup.pk}").content.decode()
    assert "badge damaged" in client.get("/backups").content.decode()
    out = StringIO()
    call_command("backup", "show", backup.pk, stdout=out)
    assert "integrity: DAMAGED" in out.getvalue()


def test_it_gives_back_the_waiting_verification_instead_of_a_second(roots) -> None:
    backup = make_backup(roots)
    first, created = request_verification(backup)
    again, created_again = request_verification(backup)
    assert created and not created_again and again.pk == first.pk


def test_it_plans_due_verifications_into_a_clean_window_of_the_backups_zone(roots, settings) -> None:
    settings.BACKUP_VERIFY_EVERY = 7 * 86400
    settings.BACKUP_VERIFY_MAX_DELAY_HOURS = 6
    backup = make_backup(roots)
    de = zone("DE")
    BackupJob.objects.filter(pk=backup.pk).update(zone=de)
    now = timezone.now()
    assert plan_due_verifications(now) == [], "a fresh archive is not due yet"
    later = now + timedelta(days=7, minutes=1)
    hour = later.replace(minute=0, second=0, microsecond=0)
    # dirty now, clean three hours later: the verification waits for the clean hours
    add_readings(de, hour, [500, 500, 500, 50, 50, 500, 500, 500, 500], kind="forecast", issued_at=hour)
    made = plan_due_verifications(later)
    assert len(made) == 1
    run = BackupJob.objects.get(pk=made[0])
    assert run.operation == "verify" and run.carbon_aware and run.status == "scheduled"
    assert run.planned_start >= hour + timedelta(hours=3) - timedelta(minutes=1)
    assert run.latest_start == later + timedelta(hours=6)
    assert plan_due_verifications(later) == [], "one waiting verification per archive"


def test_it_never_plans_verifications_when_turned_off(roots, settings) -> None:
    settings.BACKUP_VERIFY_EVERY = 0
    make_backup(roots)
    assert plan_due_verifications(timezone.now() + timedelta(days=365)) == []


def test_it_lists_only_damaged_archives_or_only_one_kind_of_run_when_asked(roots, operator_user) -> None:
    from django.test import Client

    good, bad = make_backup(roots, "good"), make_backup(roots, "bad")
    flip_one_byte(bad.result["archive_path"])
    execute_job(request_verification(bad)[0].pk)
    client = Client()
    client.force_login(operator_user)
    damaged = client.get("/backups?integrity=damaged").content.decode()
    assert f'data-job="{bad.pk}"' in damaged and f'data-job="{good.pk}"' not in damaged
    runs = client.get("/backups?operation=verify").content.decode()
    assert runs.count('<tr data-job="') == 1 and "badge op" in runs
    assert client.get("/backups?operation=nonsense").status_code == 200


def test_it_plans_a_due_verification_even_while_a_restore_of_the_backup_waits(roots, settings) -> None:
    from scheduler.services.lifecycle import request_restore

    settings.BACKUP_VERIFY_EVERY = 3600
    backup = make_backup(roots)
    first, _ = request_verification(backup)
    execute_job(first.pk)
    request_restore(BackupJob.objects.get(pk=backup.pk), target="waiting")  # stays pending here
    assert len(plan_due_verifications(timezone.now() + timedelta(hours=2))) == 1
