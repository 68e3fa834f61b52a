"""The per-backup and summary CSVs: they parse back, reconcile to the totals, and are inert."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime, timedelta

import pytest

from reports.esg import loader
from reports.esg.csv import CSV_COLUMNS, HEADER, neutralise, rows_csv, summary_csv
from reports.esg.periods import quarter_period
from reports.esg.value import BackupRow, Scope
from tests.reports.conftest import NOW

Q3 = quarter_period(2026, 3)


def parse(lines) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("".join(lines))))


def test_it_writes_one_parsable_row_per_backup_that_adds_up_to_the_totals(esg_fixture) -> None:
    rows = parse(rows_csv(loader.iter_rows(Q3, Scope()), supplier_factor=None, site_scope={}))
    report = loader.build(Q3, Scope(), now=NOW)
    assert len(rows) == report.totals.backups == 3
    assert list(rows[0]) == HEADER == [name for name, _ in CSV_COLUMNS]
    for column, attr in (
        ("energy_kwh", "energy_kwh"),
        ("emissions_kg", "emissions_kg"),
        ("counterfactual_kg", "counterfactual_kg"),
        ("avoided_kg", "avoided_kg"),
        ("data_gb", "data_gb"),
    ):
        # full-precision numbers: the column's exact sum is the report's total, bit for bit
        assert math.fsum(float(r[column]) for r in rows) == getattr(report.totals, attr)
    a = next(r for r in rows if r["name"] == "vm-a")
    assert a["requested_at"] == "2026-07-01T00:00:00Z" and a["started_at"] == "2026-07-01T01:00:00Z"
    assert float(a["emissions_kg"]) == pytest.approx(0.045)
    assert (a["shifted"], a["deadline_missed"], a["simulated"], a["sources"]) == ("1", "0", "0", "csv")
    assert a["site_scope"] == "scope2" and a["market_kg"] == ""


def test_it_neutralises_cells_a_spreadsheet_would_run() -> None:
    for bad in ('=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"):
        assert neutralise(bad) == "'" + bad
    assert neutralise("vm-1") == "vm-1"
    t = datetime(2026, 7, 1, tzinfo=UTC)
    evil = BackupRow(
        id="=1+1",
        name='=cmd|" /C calc"!A0',
        zone="DE",
        policy_id=None,
        policy="@evil",
        requested_at=t,
        earliest_start=t,
        latest_start=t,
        planned_start=t,
        started_at=t,
        completed_at=t + timedelta(hours=1),
        data_gb=1.0,
        bytes_written=None,
        energy_kwh=0.1,
        intensity_experienced=500.0,
        emissions_kg=0.05,
        counterfactual_intensity=100.0,
        counterfactual_kg=0.01,
        avoided_kg=-0.04,
        flags=("-partial",),
    )
    (parsed,) = parse(rows_csv([evil], supplier_factor=None, site_scope={}))
    assert parsed["backup_id"] == "'=1+1"
    assert parsed["name"] == '\'=cmd|" /C calc"!A0'
    assert parsed["policy"] == "'@evil" and parsed["flags"] == "'-partial"
    assert parsed["avoided_kg"] == "-0.04"  # our own numbers stay numbers


def test_it_streams_lazily(esg_fixture) -> None:
    consumed = []

    def rows():
        for row in loader.iter_rows(Q3, Scope()):
            consumed.append(row)
            yield row

    lines = rows_csv(rows(), supplier_factor=None, site_scope={})
    next(lines)  # the header needs no row
    assert consumed == []
    next(lines)
    assert len(consumed) == 1


def test_it_writes_a_summary_that_parses_back(esg_fixture, settings) -> None:
    settings.REPORT_SUPPLIER_FACTOR = 250.0
    report = loader.build(Q3, Scope(), keep_rows=0, now=NOW)
    lines = list(csv.reader(io.StringIO("".join(summary_csv(report)))))
    assert lines[0] == ["section", "key", "metric", "value", "unit"]
    values = {(s, k, m): v for s, k, m, v, _ in lines[1:]}
    assert values[("header", "", "period")] == "2026-Q3"
    assert float(values[("totals", "", "emissions, location-based")]) == pytest.approx(0.095)
    assert float(values[("totals", "", "emissions, market-based")]) == pytest.approx(0.25)
    assert float(values[("totals", "", "avoided emissions, not an inventory reduction")]) == pytest.approx(
        0.015
    )
    assert float(values[("zone_totals", "DE", "energy")]) == pytest.approx(0.4)
    assert values[("zone", "DE", "providers")] == "csv"
    assert values[("header", "", "energy_base_watts")] == "100"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (-4.235164736271502e-22, "0"),  # an avoided kg that is zero up to float noise
        (-7.37e-17, "0"),
        (0.1 + 0.2, "0.3"),
        (0.045, "0.045"),
        (9.9e-05, "0.000099"),  # never an exponent
        (-0.015, "-0.015"),
        (3000.0, "3000"),
        (1.23456789012, "1.23456789"),
        (7, "7"),
        (None, ""),
    ],
)
def test_it_writes_numbers_without_float_noise(value, cell) -> None:
    from reports.esg.csv import _number

    assert _number(value) == cell
