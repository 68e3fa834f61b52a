"""The PDF: its text carries the header, totals and method; its pages render to images."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reports.esg import loader, pdf
from reports.esg.periods import quarter_period
from reports.esg.value import Scope
from tests.reports.conftest import NOW

# pdftotext and pdftoppm come from poppler-utils (make test installs it): no skip when missing.


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_it_prints_header_totals_and_methodology(esg_fixture, settings, tmp_path) -> None:
    settings.REPORT_ORGANISATION = "Acme Backup GmbH"
    settings.REPORT_SITE_SCOPE = "FR=hosted"
    data = pdf.render_pdf(loader.build(quarter_period(2026, 3), Scope(), keep_rows=pdf.PDF_ROWS, now=NOW))
    assert data.startswith(b"%PDF-")
    text = " ".join(pdf_text(data, tmp_path).split())
    for expected in (
        "Backup emissions report",
        "Acme Backup GmbH",
        "2026-Q3",
        "2026-07-01 00:00Z (included) to 2026-10-01 00:00Z (excluded)",
        "Backups accounted 3",
        "All dates and times in this report are UTC.",
        "Data backed up (read from the sources)",
        "Data written (archives)",
        "1.00 kWh",
        "95.0 g CO2e",
        "110 g CO2e",
        "15.0 g CO2e",
        "avoided emissions, not an inventory reduction",
        "Deadline misses 1",
        "Methodology",
        "Power = 100 W + 50 W per TB of data",
        "PUE 1",
        "time-weighted mean",
        "Scope 3",
        "Page 1 of",
        "vm-a",
    ):
        assert expected in text, expected


def test_it_renders_every_page_to_an_image(esg_fixture, tmp_path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.render_pdf(loader.build(quarter_period(2026, 3), Scope(), now=NOW)))
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True, capture_output=True
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    assert all(p.stat().st_size > 1000 for p in pages)


def test_it_says_so_when_the_period_is_empty_and_labels_simulated_data(db, tmp_path) -> None:
    empty = pdf.render_pdf(loader.build(quarter_period(2026, 1), Scope(), now=NOW))
    assert "This period is empty" in pdf_text(empty, tmp_path)


def test_it_labels_simulated_figures(esg_fixture) -> None:
    from scheduler.models import BackupJob

    BackupJob.objects.filter(pk=esg_fixture.a).update(simulated=True)
    html = pdf.render_html(loader.build(quarter_period(2026, 3), Scope(), now=NOW))
    assert "Simulated data:" in html
    assert "1 of 3 backups" in html
    assert "(includes simulated data)" in html  # the charts' titles


def test_it_draws_vector_charts(esg_fixture) -> None:
    html = pdf.render_html(loader.build(quarter_period(2026, 3), Scope(), now=NOW))
    assert html.count("<svg") == 2 and "<polyline" in html and "<img" not in html
