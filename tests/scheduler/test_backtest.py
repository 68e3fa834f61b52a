"""The backtest replay (scheduler.backtest) and `manage.py backtest`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from carbon.intensity import StepSeries
from scheduler.backtest import BacktestConfig, parse_duration, parse_forecast, run_backtest

T0 = datetime(2024, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def three_hour_cycle(days: int = 20) -> StepSeries:
    """Hourly 300, 100, 200, 300, 100, 200, ... (also a daily pattern: 24 = 8 x 3)."""
    cycle = (300.0, 100.0, 200.0)
    return StepSeries.from_steps((T0 + i * H, T0 + (i + 1) * H, cycle[i % 3]) for i in range(days * 24))


def config(**kw) -> BacktestConfig:
    base = {
        "duration": H,
        "max_delay": 2 * H,
        "every": H,
        "start": T0 + timedelta(days=16),
        "end": T0 + timedelta(days=18),
    }
    return BacktestConfig(**{**base, **kw})


def test_it_replays_a_hand_checkable_series():
    result = run_backtest(three_hour_cycle(), config())
    p = result.policies
    assert result.jobs == 48
    # Every 3-hour span holds one 100 hour: the optimum always finds it; "now" averages 200.
    assert p["run_now"].mean_intensity == pytest.approx(200.0)
    assert p["optimum"].mean_intensity == pytest.approx(100.0)
    assert p["optimum"].saving_pct == pytest.approx(50.0)
    # HyperSDK: at 300 it waits one hour for the 100 point; at 100 or 200 it runs now.
    assert p["hypersdk"].mean_intensity == pytest.approx((100 + 100 + 200) / 3)
    assert p["hyperweb"].saving_pct == pytest.approx(50.0)
    assert p["hyperweb"].share_of_optimum == pytest.approx(1.0)
    # 100 GB with the default energy model: 105 W for 1 h.
    assert result.energy_kwh_per_job == pytest.approx(0.105)
    assert p["run_now"].emissions_kg == pytest.approx(48 * 0.105 * 200 / 1000)


def test_it_plans_as_well_as_the_optimum_with_the_model_on_a_repeating_series():
    # The forecaster sees only the past, and the past repeats: its forecast is exact.
    result = run_backtest(three_hour_cycle(), config(forecast="model"))
    assert result.policies["hyperweb"].share_of_optimum == pytest.approx(1.0)


def test_it_adds_seeded_noise_growing_with_lead_time():
    series = three_hour_cycle()
    exact = run_backtest(series, config(forecast="noisy:0"))
    assert exact.policies["hyperweb"].share_of_optimum == pytest.approx(1.0)
    a = run_backtest(series, config(forecast="noisy:80", seed=3))
    b = run_backtest(series, config(forecast="noisy:80", seed=3))
    assert a.to_dict() == b.to_dict()
    assert a.policies["hyperweb"].saving_pct <= exact.policies["hyperweb"].saving_pct


def test_it_parses_durations_and_forecasts():
    assert parse_duration("2h") == 2 * H
    assert parse_duration("90m") == parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("1d") == 24 * H
    assert parse_forecast("noisy:12.5") == ("noisy", 12.5)
    for bad in ("", "2x", "h", "0h"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError):
        parse_forecast("psychic")


@pytest.mark.skipif(not (DATA / "de_2020_ci.csv").exists(), reason="shared data not present")
def test_it_matches_the_reference_optimum_for_de_2020():
    out = StringIO()
    call_command(
        "backtest",
        "--csv",
        str(DATA / "de_2020_ci.csv"),
        "--duration",
        "2h",
        "--max-delay",
        "4h",
        "--start",
        "2020-01-01",
        "--end",
        "2020-12-31",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    data = json.loads(out.getvalue())
    assert data["jobs"] == 366 * 48
    assert data["policies"]["optimum"]["saving_pct"] == pytest.approx(6.5, abs=0.1)  # shared/data/README.md
    assert data["policies"]["hyperweb"]["share_of_optimum"] >= 0.99
    assert set(data["policies"]) == {"run_now", "hypersdk", "hyperweb", "optimum"}


def test_it_prints_a_table(tmp_path):
    path = tmp_path / "ci.csv"
    series = three_hour_cycle(days=10)
    rows = "".join(f"{s:%Y-%m-%d %H:%M:%S},{v}\n" for s, _, v in series.steps())
    path.write_text("Time,Carbon Intensity\n" + rows)
    out = StringIO()
    call_command(
        "backtest", "--csv", str(path), "--duration", "1h", "--max-delay", "2h", "--every", "1h", stdout=out
    )
    text = out.getvalue()
    assert text.startswith("70 jobs of 1 h, start up to 2 h later, one every 1 h")
    hyperweb = next(line for line in text.splitlines() if line.startswith("hyperweb"))
    assert "1.00" in hyperweb  # share of optimum


@pytest.mark.parametrize(
    "args, message",
    [
        (["--csv", "/nonexistent/ci.csv"], "no such file"),
        (["--duration", "2x"], "bad duration"),
        (["--forecast", "psychic"], "bad forecast"),
        (["--start", "yesterday"], "not a date"),
    ],
)
def test_it_rejects_bad_input_with_exit_status_2(tmp_path, args, message):
    path = tmp_path / "ci.csv"
    path.write_text("Time,Carbon Intensity\n2020-01-01 00:00:00,100\n2020-01-01 01:00:00,100\n")
    full = ["--csv", str(path), *args] if args[0] != "--csv" else args
    with pytest.raises(CommandError) as err:
        call_command("backtest", *full, stdout=StringIO())
    assert err.value.returncode == 2
    assert message in str(err.value)
