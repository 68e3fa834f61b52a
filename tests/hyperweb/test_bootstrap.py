"""`manage.py bootstrap`: what `make run` calls before serving; running it again keeps everything."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_q.models import Schedule

from accounts.roles import role_of
from carbon.models import CarbonReading
from scheduler.models import BackupPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_dirs(settings, tmp_path):
    settings.BACKUP_SOURCE_ROOTS = [tmp_path / "vms"]
    settings.BACKUP_TARGET_ROOT = tmp_path / "backups"
    settings.CARBON_DEMO_DAYS = 2
    return tmp_path


def run(**options) -> str:
    out = io.StringIO()
    call_command("bootstrap", stdout=out, **options)
    return out.getvalue()


def test_it_creates_the_admin_with_a_password_printed_once(data_dirs, monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    first = run()
    password = first.split("password: ")[1].split()[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password(password) and role_of(admin) == "admin"
    second = run()
    assert password not in second and "exists" in second
    admin.refresh_from_db()
    assert admin.check_password(password)


def test_it_takes_the_password_from_the_environment_without_echoing_it(data_dirs, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-Long-secret-42")
    output = run()
    assert "a-Long-secret-42" not in output
    assert get_user_model().objects.get(username="admin").check_password("a-Long-secret-42")


def test_it_loads_demo_data_vms_policy_and_schedules_once(data_dirs):
    run()
    readings = CarbonReading.objects.count()
    assert readings > 12 * 2 * 96  # two days of 15-minute history for every zone, and forecasts
    assert CarbonReading.objects.exclude(source="simulated").count() == 0
    images = sorted(p.name for p in (data_dirs / "vms").iterdir())
    assert "web-01.qcow2" in images
    policy = BackupPolicy.objects.get(name="Nightly demo VMs")
    assert policy.enabled and policy.zone.code == "DE" and policy.next_run_at is not None
    # Its demo backups count as its runs (the policy page listed 3 runs beside "Runs 0").
    runs = policy.jobs.filter(operation="backup").count()
    assert runs == 3 and policy.run_count == runs and policy.last_run_at is not None
    schedules = set(Schedule.objects.values_list("name", flat=True))

    run()
    assert CarbonReading.objects.count() == readings
    assert BackupPolicy.objects.filter(name="Nightly demo VMs").count() == 1
    assert set(Schedule.objects.values_list("name", flat=True)) == schedules
    assert Schedule.objects.count() == len(schedules)
    assert {"carbon.refresh_all_zones", "scheduler.dispatch_due"} <= schedules


def test_it_skips_the_demo_with_no_demo(data_dirs):
    run(no_demo=True)
    assert CarbonReading.objects.count() == 0
    assert not BackupPolicy.objects.exists()
    assert Schedule.objects.filter(name="carbon.refresh_all_zones").exists()
