"""One accounted-backups query: the savings page, the overview's month and the ESG report (page,
summary CSV, per-backup CSV) count and sum the same backups. Restores and verifications are
accounted runs but not backups: in none of those figures, and listed on the ESG report's own line;
a backup without readings is counted everywhere and adds no kg."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from reports import queries
from reports.esg import loader
from reports.esg.periods import year_period
from reports.esg.value import Scope
from tests.reports.conftest import NOW, T0

YEAR = year_period(2026)  # A, B, C (July) and D (1 October): everything the fixture accounted
H = timedelta(hours=1)


@pytest.fixture
def with_runs(esg_fixture):
    """The ESG fixture, plus a restore and a verification of A (accounted, in DE's readings) and a
    backup whose run no reading covers (DE, 1 August)."""
    from scheduler.models import BackupJob
    from scheduler.services.accounting import account_job
    from tests.scheduler.factories import BackupJobFactory, zone

    de = zone("DE")
    done = BackupJob.Status.COMPLETED
    a = BackupJob.objects.get(pk=esg_fixture.a)
    restore = BackupJobFactory(
        name="restore-a", operation=BackupJob.Operation.RESTORE, subject=a, zone=de, status=done,
        data_size_gb=1000, requested_at=T0, started_at=T0, completed_at=T0 + 2 * H,
    )  # fmt: skip
    verify = BackupJobFactory(
        name="verify-a", operation=BackupJob.Operation.VERIFY, subject=a, zone=de, status=done,
        data_size_gb=1000, requested_at=T0 + H, started_at=T0 + 2 * H, completed_at=T0 + 3 * H,
    )  # fmt: skip
    august = datetime(2026, 8, 1, tzinfo=UTC)
    dark = BackupJobFactory(
        name="vm-dark", zone=de, status=done, data_size_gb=500,
        requested_at=august, started_at=august, completed_at=august + H,
    )  # fmt: skip
    for job in (restore, verify, dark):
        assert account_job(BackupJob.objects.select_related("zone").get(pk=job.pk), now=NOW) is not None
    dark.refresh_from_db()
    assert dark.energy_kwh and dark.emissions_kg is None  # accounted, without readings
    return esg_fixture


def test_the_savings_page_and_the_esg_report_count_and_sum_the_same_backups(
    with_runs, client, viewer_user, settings
) -> None:
    client.force_login(viewer_user)
    overall = client.get(reverse("savings")).context["overall"]
    report = loader.build(YEAR, Scope(), now=NOW)
    t = report.totals

    # 4 accounted backups with readings + 1 without; the restore and the verification are neither.
    assert overall.runs == report.backups == 5
    assert overall.average_runs == t.backups == 5
    assert t.without_readings == 1
    assert overall.emitted_kg == pytest.approx(t.emissions_kg, abs=1e-12)
    assert overall.counterfactual_kg == pytest.approx(t.counterfactual_kg, abs=1e-12)
    assert overall.avoided_kg == pytest.approx(t.avoided_kg, abs=1e-12)
    assert overall.data_gb == pytest.approx(t.data_gb)
    assert overall.made_worse_runs == t.made_worse
    assert overall.lost_kg == pytest.approx(t.lost_kg, abs=1e-12)
    assert overall.simulated_runs == t.simulated and overall.stale_runs == t.stale
    # The savings page's monthly table sums to the same figures.
    months = queries.of_signal(queries.by_period(queries.accounted_jobs(), "month"), queries.AVERAGE)
    assert sum(m["runs"] for m in months) == t.backups
    assert [(m["period"].strftime("%Y-%m"), m["runs"]) for m in months] == [
        (key, f.backups) for key, f in report.by_month
    ]
    # The overview's "this month" is the same query from the first of the month on.
    assert queries.month_totals(datetime(2026, 7, 20, tzinfo=UTC)).runs == 5
    assert queries.month_totals(datetime(2026, 8, 20, tzinfo=UTC)).runs == 2  # the dark one and D


def test_restores_and_verifications_are_labelled_apart_in_the_report(with_runs, viewer_api) -> None:
    from scheduler.models import BackupJob

    report = loader.build(YEAR, Scope(), now=NOW)
    runs = report.lifecycle
    assert (runs.restores, runs.verifications) == (1, 1)
    lifecycle = BackupJob.objects.accounted_lifecycle_runs()
    assert runs.energy_kwh == pytest.approx(sum(j.energy_kwh for j in lifecycle))
    assert runs.emissions_kg == pytest.approx(sum(j.emissions_kg for j in lifecycle)) and runs.emissions_kg > 0
    assert report.unaccounted_runs == 1  # E failed; accounted restores are not "unaccounted"

    # The per-backup CSV lists backups only, and adds up to the summary's totals.
    body = b"".join(viewer_api.get("/reports/esg.csv?period=2026").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sorted(r["name"] for r in rows) == ["vm-a", "vm-b", "vm-c", "vm-d", "vm-dark"]
    summary = b"".join(viewer_api.get("/reports/esg-summary.csv?period=2026").streaming_content).decode()
    values = {(r["section"], r["metric"]): r["value"] for r in csv.DictReader(io.StringIO(summary))}
    assert values[("header", "restore_runs")] == "1" and values[("header", "verify_runs")] == "1"
    assert float(values[("header", "restore_verify_energy_kwh")]) == pytest.approx(runs.energy_kwh)
    assert float(values[("header", "restore_verify_emissions_kg")]) == pytest.approx(runs.emissions_kg)
    assert values[("totals", "backups")] == "5"
    assert float(values[("totals", "emissions, location-based")]) == pytest.approx(report.totals.emissions_kg)
    assert sum(float(r["emissions_kg"] or 0) for r in rows) == pytest.approx(report.totals.emissions_kg)
