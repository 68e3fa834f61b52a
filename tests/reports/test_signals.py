"""Average and marginal signals are never added together: the inventory sums average-signal
backups only, marginal-signal ones (WattTime MOER) are reported apart, per signal reconciled."""

from __future__ import annotations

import csv
import io
import math
import subprocess

import pytest

from reports.esg import loader
from reports.esg.csv import rows_csv, summary_csv
from reports.esg.method import MARGINAL_LABEL
from reports.esg.pdf import render_html
from reports.esg.periods import quarter_period
from reports.esg.value import Scope
from tests.reports.conftest import MARGINAL_ZONE, NOW

Q3 = quarter_period(2026, 3)
SUMMED = ("energy_kwh", "emissions_kg", "counterfactual_kg", "avoided_kg", "data_gb")


def test_it_keeps_marginal_backups_out_of_the_totals_and_in_their_own_section(mixed_fixture) -> None:
    report = loader.build(Q3, Scope(), now=NOW)
    t, m = report.totals, report.marginal.totals
    # The average totals are exactly the base fixture's (A, B, C); M is not in them.
    assert t.backups == 3 and report.backups == 4 and report.has_marginal
    assert t.energy_kwh == pytest.approx(1.0) and t.emissions_kg == pytest.approx(0.095)
    assert t.counterfactual_kg == pytest.approx(0.11) and t.avoided_kg == pytest.approx(0.015)
    assert m.backups == 1 and m.energy_kwh == pytest.approx(0.15)
    assert m.emissions_kg == pytest.approx(0.075) and m.counterfactual_kg == pytest.approx(0.105)
    assert m.avoided_kg == pytest.approx(0.03) and m.mean_intensity == pytest.approx(500.0)
    # Breakdowns carry the signal by section: the marginal zone is in no average breakdown.
    assert [key for key, _ in report.by_zone] == ["DE", "FR"]
    assert [key for key, _ in report.marginal.by_zone] == [MARGINAL_ZONE]
    assert [key for key, _ in report.marginal.by_month] == ["2026-07"]
    assert sum(f.backups for _, f in report.by_day) == 3
    assert report.sci.g_per_backup == pytest.approx(95.0 / 3)
    zones = {z.code: z for z in report.header.zones}
    assert zones[MARGINAL_ZONE].signals == ("marginal",) and zones["DE"].signals == ("average",)


def test_it_writes_the_signal_of_every_row_and_reconciles_per_signal(mixed_fixture) -> None:
    report = loader.build(Q3, Scope(), now=NOW)
    rows = list(
        csv.DictReader(
            io.StringIO("".join(rows_csv(loader.iter_rows(Q3, Scope()), supplier_factor=None, site_scope={})))
        )
    )
    assert {r["name"]: r["signal"] for r in rows} == {
        "vm-a": "average",  # no signal recorded: read as average
        "vm-b": "average",
        "vm-c": "average",
        "vm-m": "marginal",
    }
    for signal, figures in (("average", report.totals), ("marginal", report.marginal.totals)):
        own = [r for r in rows if r["signal"] == signal]
        assert len(own) == figures.backups
        for column in SUMMED:
            assert math.fsum(float(r[column]) for r in own) == getattr(figures, column)


def test_it_puts_marginal_figures_on_rows_of_their_own_in_the_summary(mixed_fixture) -> None:
    report = loader.build(Q3, Scope(), keep_rows=0, now=NOW)
    lines = list(csv.reader(io.StringIO("".join(summary_csv(report)))))
    values = {(s, k, metric): v for s, k, metric, v, _ in lines[1:]}
    assert values[("totals", "", "backups")] == "3"
    assert float(values[("totals", "", "emissions, location-based")]) == pytest.approx(0.095)
    assert values[("marginal_totals", "", "backups")] == "1"
    assert float(values[("marginal_totals", "", "emissions, location-based")]) == pytest.approx(0.075)
    assert float(values[("marginal_zone_totals", MARGINAL_ZONE, "energy")]) == pytest.approx(0.15)
    assert ("zone_totals", MARGINAL_ZONE, "energy") not in values
    assert values[("header", "", "marginal_backups")] == "1"
    assert values[("zone", MARGINAL_ZONE, "signal")] == "marginal"


def test_it_writes_no_marginal_rows_when_there_are_none(esg_fixture) -> None:
    report = loader.build(Q3, Scope(), keep_rows=0, now=NOW)
    text = "".join(summary_csv(report))
    assert not report.has_marginal and "marginal_totals" not in text
    assert MARGINAL_LABEL not in render_html(report).split("Methodology")[0]


def test_it_labels_the_marginal_section_in_the_pdf(mixed_fixture) -> None:
    html = render_html(loader.build(Q3, Scope(), now=NOW)).replace("\xa0", " ")  # quantities keep their unit on the line
    before_method = html.split("<h2>Methodology</h2>")[0]
    assert "Marginal emissions" in before_method and MARGINAL_LABEL[0].upper() + MARGINAL_LABEL[1:] in html
    assert "1 of 4 backups" in before_method and "75.0 g CO2e (marginal)" in before_method
    assert "30.0 g CO2e (marginal)" in before_method
    assert "Totals (average signal: the location-based inventory)" in before_method
    assert "95.0 g CO2e" in before_method


def test_it_reads_a_missing_signal_as_average_and_refuses_an_unknown_one() -> None:
    from reports.esg.value import signal_of

    assert signal_of(None) == signal_of("") == signal_of("average") == "average"
    assert signal_of("marginal") == "marginal"
    with pytest.raises(ValueError, match="unknown signal"):
        signal_of("moer")


def test_it_keeps_the_dashboard_totals_apart_per_signal(mixed_fixture) -> None:
    from reports import queries as charts

    jobs = charts.accounted_jobs()
    totals = charts.totals(jobs)
    assert totals.runs == 5 and totals.average_runs == 4  # D (Oct 1) is accounted too
    assert totals.marginal is not None and totals.marginal.runs == 1
    assert totals.marginal.emitted_kg == pytest.approx(0.075)
    assert totals.marginal.avoided_kg == pytest.approx(0.03)
    d_kg = jobs.get(name="vm-d").emissions_kg
    assert totals.emitted_kg == pytest.approx(0.095 + d_kg)
    months = charts.by_period(jobs, "month")
    assert {(m["period"].month, m["signal"]): m["runs"] for m in months} == {
        (7, "average"): 3,
        (7, "marginal"): 1,
        (10, "average"): 1,
    }
    zones = {(z["zone__code"], z["signal"]): z["emitted"] for z in charts.by_zone(jobs)}
    assert zones[(MARGINAL_ZONE, "marginal")] == pytest.approx(0.075)
    assert (MARGINAL_ZONE, "average") not in zones


def test_it_has_no_marginal_totals_when_every_job_is_average(esg_fixture) -> None:
    from reports import queries as charts

    assert charts.totals(charts.accounted_jobs()).marginal is None


def test_it_prints_the_marginal_section_apart_in_the_pdf(mixed_fixture, tmp_path) -> None:
    from reports.esg import pdf
    from tests.reports.test_pdf import pdf_text

    data = pdf.render_pdf(loader.build(Q3, Scope(), keep_rows=pdf.PDF_ROWS, now=NOW))
    text = " ".join(pdf_text(data, tmp_path).split())
    totals, rest = text.split("Marginal emissions Marginal emissions (WattTime MOER)")
    assert "95.0 g CO2e" in totals and "75.0 g" not in totals
    assert "75.0 g CO2e (marginal)" in rest and "30.0 g CO2e (marginal)" in rest
    path = tmp_path / "report.pdf"
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "page")], check=True)
    assert sorted(p.name for p in tmp_path.glob("page*.png"))
