"""The ESG report says how much of its energy rests on provider estimates (issue 16)."""

from __future__ import annotations

import csv
import io

import pytest

from reports.esg.csv import summary_csv
from tests.reports.test_value import report, row


def test_it_reports_the_energy_resting_on_estimates():
    rows = [row(1, flags=("estimated",)), row(2), row(3, flags=("partial_coverage", "estimated")), row(4)]
    totals = report(rows).totals
    assert totals.estimated == 2
    assert totals.estimated_kwh == pytest.approx(2 * 0.105)
    assert totals.estimated_energy_percent == pytest.approx(50.0)


def test_a_report_on_measured_data_only_says_none_rests_on_estimates():
    totals = report([row(1), row(2)]).totals
    assert (totals.estimated, totals.estimated_kwh, totals.estimated_energy_percent) == (0, 0.0, 0.0)


def test_the_summary_csv_carries_the_estimated_share():
    text = "".join(summary_csv(report([row(1, flags=("estimated",)), row(2)])))
    lines = [line for line in csv.reader(io.StringIO(text)) if len(line) > 3 and "estimates" in line[2]]
    assert [(line[2], line[3]) for line in lines if line[0] == "totals"] == [
        ("backups on provider estimates (not yet measured)", "1"),
        ("energy accounted on provider estimates", "0.105"),
        ("share of energy accounted on provider estimates", "50"),
    ]
