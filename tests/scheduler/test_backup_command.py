"""`manage.py backup submit|list|show|cancel|plan`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from scheduler.models import BackupJob
from tests.scheduler.factories import BackupJobFactory, add_readings, zone

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path, monkeypatch) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    monkeypatch.setattr("scheduler.dispatch.enqueue_jobs", lambda ids, **kw: None)


def run(*args: str) -> str:
    out = StringIO()
    call_command("backup", *args, stdout=out)
    return out.getvalue()


def test_it_submits_lists_shows_and_cancels() -> None:
    out = run(
        "submit",
        "web.img",
        "--name",
        "web",
        "--not-before",
        (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    )
    job_id = out.split()[0]
    assert BackupJob.objects.get(pk=job_id).status == "scheduled"
    assert job_id in run("list")
    shown = run("show", job_id)
    assert "planned_start" in shown
    assert f"target: {BackupJob.objects.get(pk=job_id).target}" in shown  # where it will write
    assert json.loads(run("show", job_id, "--json"))["definition"]["vm_path"] == "web.img"
    assert f"{job_id} cancelled" in run("cancel", job_id)
    assert BackupJob.objects.get(pk=job_id).status == "cancelled"


def test_it_plans_without_submitting() -> None:
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    add_readings(zone("DE"), hour, [500])
    add_readings(
        zone("DE"), hour + timedelta(hours=1), [500, 50, 500, 500, 500, 500], kind="forecast", issued_at=now
    )
    out = run("plan", "web.img", "--zone", "DE", "--max-delay", "4h", "--duration", "1h")
    assert f"would start {(hour + timedelta(hours=2)).isoformat().replace('+00:00', 'Z')}" in out
    assert "nothing was submitted" in out
    assert not BackupJob.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (("submit", "", "--now"), "vm_path is required"),
        (("submit", "a.img", "--zone", "XX"), "unknown carbon_zone"),
        (("submit", "a.img", "--zone", "DE", "--max-delay", "soon"), "not a duration"),
        (("show", "nope"), "no job"),
    ],
)
def test_it_fails_with_one_line_and_status_2(args, message) -> None:
    with pytest.raises(CommandError, match=message) as info:
        run(*args)
    assert info.value.returncode == 2 and "\n" not in str(info.value)


def test_it_refuses_to_cancel_a_finished_job() -> None:
    job = BackupJobFactory(status="completed")
    with pytest.raises(CommandError, match="only pending or running"):
        run("cancel", job.id)


def test_show_prints_quantities_through_the_one_formatter() -> None:
    """g / kg / t by size (never "saving -0.000000 kg"), decimal bytes, "read" and "written" named."""
    job = BackupJobFactory(
        status="completed",
        data_size_gb=0.315,
        bytes_written=300_100_000,
        energy_kwh=0.105,
        emissions_kg=0.0347,
        saving_kg=-0.0000001,
    )
    shown = run("show", str(job.pk))
    assert "emissions: 34.7 g CO2 (saving > -0.01 g vs starting when requested)" in shown, shown
    assert "data: 315 MB read, 300 MB written (archive)" in shown, shown
    assert "energy: 105 Wh" in shown, shown
    assert "0.000000" not in shown and "-0.00" not in shown  # a bound ("> -0.01 g"), not a rounded pseudo-zero
    big = BackupJobFactory(status="completed", data_size_gb=2500, energy_kwh=1500, emissions_kg=1234.5, saving_kg=200.0)
    shown = run("show", str(big.pk))
    assert "emissions: 1.23 t CO2 (saving 200 kg vs starting when requested)" in shown, shown
    assert "data: 2.50 TB read" in shown and "energy: 1.50 MWh" in shown, shown
