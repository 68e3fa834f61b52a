"""Per-run accounting, against hand-computed figures (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon.intensity import StepSeries
from scheduler.accounting import EnergyModel, account_run

T0 = datetime(2020, 1, 1, tzinfo=UTC)


def series(values: list[float], step_minutes: int = 60) -> StepSeries:
    step = timedelta(minutes=step_minutes)
    return StepSeries.from_steps((T0 + i * step, T0 + (i + 1) * step, v) for i, v in enumerate(values))


def test_it_accounts_a_delayed_run_against_starting_when_requested() -> None:
    # Requested at 00:00, ran 02:30-04:30 (2 h) with 1000 GB: power = 100 + 50 = 150 W -> 0.3 kWh.
    # Experienced: half an hour at 300, an hour at 100, half an hour at 200 -> (150+100+100)/2 = 175.
    # Counterfactual 00:00-02:00: 400 and 500 -> 450.
    s = series([400, 500, 300, 100, 200])
    acc = account_run(
        s,
        requested_at=T0,
        started_at=T0 + timedelta(hours=2, minutes=30),
        completed_at=T0 + timedelta(hours=4, minutes=30),
        data_gb=1000,
    )
    assert acc.duration_hours == pytest.approx(2.0)
    assert acc.energy_kwh == pytest.approx(0.3)
    assert acc.intensity_experienced == pytest.approx(175.0)
    assert acc.emissions_kg == pytest.approx(0.3 * 175 / 1000)
    assert acc.counterfactual_intensity == pytest.approx(450.0)
    assert acc.counterfactual_kg == pytest.approx(0.3 * 450 / 1000)
    assert acc.saving_kg == pytest.approx(0.3 * (450 - 175) / 1000)
    assert acc.saving_pct == pytest.approx(100 * 275 / 450)
    assert acc.flags == []


def test_it_reports_a_negative_saving_when_waiting_made_it_worse() -> None:
    s = series([100, 500])
    acc = account_run(
        s,
        requested_at=T0,
        started_at=T0 + timedelta(hours=1),
        completed_at=T0 + timedelta(hours=2),
        data_gb=0,
    )
    assert acc.energy_kwh == pytest.approx(0.1)
    assert acc.saving_kg == pytest.approx(0.1 * (100 - 500) / 1000)


def test_it_applies_the_pue_and_per_tb_power() -> None:
    s = series([200])
    acc = account_run(
        s,
        requested_at=T0,
        started_at=T0,
        completed_at=T0 + timedelta(minutes=30),
        data_gb=2000,
        model=EnergyModel(base_watts=100, watts_per_tb=50, pue=1.5),
    )
    # (100 + 100) W x 0.5 h x 1.5 = 150 Wh
    assert acc.energy_kwh == pytest.approx(0.15)
    assert acc.emissions_kg == pytest.approx(0.15 * 200 / 1000)


def test_it_flags_simulated_stale_and_partial_readings() -> None:
    s = series([300])  # covers 00:00-01:00 only
    acc = account_run(
        s,
        requested_at=T0,
        started_at=T0 + timedelta(minutes=30),
        completed_at=T0 + timedelta(minutes=90),
        data_gb=10,
        simulated=True,
        stale=True,
        forecast=s,  # the one step is a forecast: nothing measured over the run
    )
    assert acc.intensity_experienced == pytest.approx(300.0)  # only the covered half counts
    assert acc.coverage == pytest.approx(0.5)
    assert {"simulated", "stale", "forecast_only", "partial_coverage"} <= set(acc.flags)


def test_it_reports_no_emissions_rather_than_a_guess_without_readings() -> None:
    acc = account_run(
        StepSeries([], [], []),
        requested_at=T0,
        started_at=T0,
        completed_at=T0 + timedelta(hours=1),
        data_gb=10,
    )
    assert acc.energy_kwh > 0
    assert acc.intensity_experienced is None and acc.emissions_kg is None and acc.saving_kg is None
    assert "no_readings" in acc.flags


def test_it_refuses_a_run_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError):
        account_run(
            series([1]), requested_at=T0, started_at=T0 + timedelta(hours=1), completed_at=T0, data_gb=1
        )
