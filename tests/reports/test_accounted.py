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


@pytest.fixture
def with_a_dark_zone(with_runs):
    """with_runs, plus a NL backup (1 July) whose run neither a reading nor a forecast covers:
    NL's only backup, not accounted yet."""
    from scheduler.models import BackupJob
    from scheduler.services.accounting import account_job
    from tests.scheduler.factories import BackupJobFactory, zone

    nl = zone("NL")
    dark = BackupJobFactory(
        name="vm-nl", zone=nl, status=BackupJob.Status.COMPLETED, data_size_gb=700,
        requested_at=T0, started_at=T0, completed_at=T0 + H,
    )  # fmt: skip
    account_job(BackupJob.objects.select_related("zone").get(pk=dark.pk), now=NOW)
    dark.refresh_from_db()
    assert dark.energy_kwh and dark.emissions_kg is None
    return with_runs


def test_a_zone_with_no_accounted_backup_is_not_accounted_rather_than_0_g_everywhere(
    with_a_dark_zone, client, viewer_user, viewer_api, tmp_path
) -> None:
    from reports.esg import pdf
    from tests.reports.test_pdf import pdf_text

    report = loader.build(YEAR, Scope(), now=NOW, keep_rows=pdf.PDF_ROWS)
    zones = dict(report.by_zone)
    assert (zones["NL"].backups, zones["NL"].without_readings, zones["NL"].accounted) == (1, 1, 0)
    assert (zones["DE"].accounted, zones["DE"].without_readings) == (3, 1)

    # The PDF (and the page's preview, the same template): NL is "not accounted", never 0 g.
    text = " ".join(pdf_text(pdf.render_pdf(report), tmp_path).split())
    assert "NL 1 " in text
    nl_row = text[text.index("NL 1 ") :][:120]
    assert "not accounted (1)" in nl_row and "0 g" not in nl_row
    assert "2 backups not accounted yet" in text  # the totals say how many are left out

    # The summary CSV: NL's kg are empty (unknown), not 0, and the count says why.
    summary = b"".join(viewer_api.get("/reports/esg-summary.csv?period=2026").streaming_content).decode()
    lines = list(csv.DictReader(io.StringIO(summary)))
    nl = {r["metric"]: r["value"] for r in lines if (r["section"], r["key"]) == ("zone_totals", "NL")}
    assert nl["emissions, location-based"] == ""
    assert nl["backups not accounted yet (no intensity data for their run; no kg counted)"] == "1"

    # The savings page and the overview say so too.
    client.force_login(viewer_user)
    savings = client.get(reverse("savings")).content.decode()
    assert "2 of 6 backups are not accounted yet" in savings
    nl_cells = savings[savings.index('href="/zones/NL"') :][:400]
    assert "not accounted (1)" in nl_cells and "0 g" not in nl_cells
    month = queries.month_totals(datetime(2026, 7, 20, tzinfo=UTC))
    assert (month.runs, month.without_readings) == (6, 2)


def test_per_tb_and_per_backup_use_the_same_backups_above_and_below_the_line(
    with_a_dark_zone, viewer_api
) -> None:
    report = loader.build(YEAR, Scope(), now=NOW)
    body = b"".join(viewer_api.get("/reports/esg.csv?period=2026").streaming_content).decode()
    rows = [r for r in csv.DictReader(io.StringIO(body)) if r["signal"] == "average"]
    with_kg = [r for r in rows if r["emissions_kg"]]
    assert len(rows) == 6 and len(with_kg) == 4
    grams = 1000 * sum(float(r["emissions_kg"]) for r in with_kg)
    tb = sum(float(r["data_gb"]) for r in with_kg) / 1000
    assert report.sci.g_per_tb == pytest.approx(grams / tb)
    assert report.sci.g_per_backup == pytest.approx(grams / len(with_kg))
    assert (report.sci.backups, report.sci.unaccounted) == (4, 2)
    summary = b"".join(viewer_api.get("/reports/esg-summary.csv?period=2026").streaming_content).decode()
    sci = {r["metric"]: r for r in csv.DictReader(io.StringIO(summary)) if r["section"] == "sci"}
    assert float(sci["operational per TB"]["value"]) == pytest.approx(grams / tb)
    assert "4 backups with emissions" in sci["operational per TB"]["unit"]
