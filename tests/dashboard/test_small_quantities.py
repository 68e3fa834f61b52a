"""Small quantities are written honestly and the same way everywhere: below 0.01 g (or 0.01 Wh)
a value that is not zero reads "< 0.01 g", never "0.00", "≈ 0" beside "0.00255 g"; on pages a
value keeps its unit on its line (a no-break space)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from carbon.models import Zone
from hyperweb.lib import units
from tests.dashboard.conftest import completed_job

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("kg", "text"),
    [
        (0, "0 g"),
        (8.5e-7, "< 0.01 g"),
        (2.55e-6, "< 0.01 g"),
        (9.99e-6, "< 0.01 g"),
        (1e-5, "0.01 g"),
        (1.23e-5, "0.0123 g"),
        (-3e-7, "> -0.01 g"),
        (0.5, "500 g"),
    ],
)
def test_co2_below_a_hundredth_of_a_gram_reads_less_than_it(kg: float, text: str) -> None:
    assert units.co2(kg) == text


@pytest.mark.parametrize(("kwh", "text"), [(0, "0 Wh"), (2.34e-6, "< 0.01 Wh"), (1.05e-4, "0.105 Wh")])
def test_energy_below_a_hundredth_of_a_watt_hour_reads_less_than_it(kwh: float, text: str) -> None:
    assert units.energy(kwh) == text


def test_the_backup_list_keeps_each_value_with_its_unit(viewer: Client) -> None:
    de = Zone.objects.get(code="DE")
    completed_job(de, when=datetime.now(UTC), emitted=8.5e-7, counterfactual=8.5e-7)
    completed_job(de, when=datetime.now(UTC) - timedelta(hours=1), emitted=8.5e-7, counterfactual=8.6e-7)
    body = viewer.get("/backups").content.decode()
    assert f'<td class="num">&lt;{NBSP}0.01{NBSP}g</td>' in body  # emitted, and the tiny avoided
    assert f'<td class="num">0{NBSP}g</td>' in body  # exactly nothing avoided
    assert "≈" not in body


def test_the_savings_totals_and_rows_agree(viewer: Client) -> None:
    de = Zone.objects.get(code="DE")
    for hours in range(3):
        completed_job(de, when=datetime.now(UTC) - timedelta(hours=hours), emitted=8.5e-7, counterfactual=8.5e-7)
    body = viewer.get("/savings").content.decode()
    assert f'<div class="number">&lt;{NBSP}0.01{NBSP}g</div>' in body  # the total, 0.00255 g
    assert "0.00255\u00a0g" not in body and "0.00255 g" not in body and "≈" not in body


def test_the_report_writes_per_backup_figures_with_the_formatter(viewer: Client) -> None:
    de = Zone.objects.get(code="DE")
    for minutes in range(3):
        completed_job(
            de, when=datetime.now(UTC) - timedelta(minutes=minutes), emitted=8.5e-7, counterfactual=8.5e-7
        )
    body = viewer.get("/reports").content.decode()
    assert "Operational, per backup" in body
    row = body.split("Operational, per backup", 1)[1].split("</tr>", 1)[0]
    assert f"&lt;{NBSP}0.01{NBSP}g CO2e" in row, row
    assert "0.00 gCO2e" not in body
