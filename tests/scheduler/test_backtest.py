"""The backtest replay (scheduler.backtest) and `manage.py backtest`."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from carbon.intensity import StepSeries
from scheduler.backtest import BacktestConfig, parse_duration, parse_forecast, run_backtest

T0 = datetime(2024, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)
DATA = Path(__file__).resolve().parents[2] / "data" / "grid"


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


def hourly(values: list[float], start: datetime = T0, step: timedelta = H) -> StepSeries:
    return StepSeries.from_steps((start + i * step, start + (i + 1) * step, v) for i, v in enumerate(values))


def one_job(**kw) -> BacktestConfig:
    """A single job submitted at T0 (``end`` just after it)."""
    return BacktestConfig(**{"start": T0, "end": T0 + timedelta(minutes=1), **kw})


def test_it_replans_a_waiting_job_when_a_newer_forecast_corrects_the_first():
    # Actual: the clean hour is 03:00 (100). The forecast issued at 00:00 is wrong: it promises
    # 50 at 02:00. The one issued at 01:00 is right. Job: 1 h, may start up to 3 h later.
    actual = hourly([300, 300, 300, 100, 300, 300])
    wrong = hourly([300, 300, 50, 300, 300, 300])

    def forecasts(issue: datetime) -> StepSeries:
        return wrong if issue == T0 else actual

    cfg = one_job(duration=H, max_delay=3 * H, every=H)
    once = run_backtest(actual, replace(cfg, replan=False), forecasts=forecasts).policies["hyperweb"]
    assert once.mean_intensity == pytest.approx(300.0)  # went at 02:00 on the wrong forecast
    assert once.mean_delay_min == pytest.approx(120.0)
    again = run_backtest(actual, cfg, forecasts=forecasts).policies["hyperweb"]
    assert again.mean_intensity == pytest.approx(100.0)  # re-planned at 01:00 onto 03:00
    assert again.mean_delay_min == pytest.approx(180.0)
    assert again.share_of_optimum == pytest.approx(1.0)


def test_it_never_starts_a_replanned_job_before_the_replan_time():
    # Half-hour steps. The forecast at 00:00 says 02:00 is best; the one at 01:00 reveals that
    # 00:30 was the cleanest (50), too late to use: the job starts at 01:00 (200), the best
    # start left, not in the past. The optimum (perfect foresight from 00:00) takes 00:30.
    half = timedelta(minutes=30)
    actual = hourly([300, 50, 200, 200, 300, 300, 300, 300, 300, 300], step=half)
    first = hourly([300, 300, 300, 300, 100, 300, 300, 300, 300, 300], step=half)

    def forecasts(issue: datetime) -> StepSeries:
        return first if issue == T0 else actual

    cfg = one_job(duration=half, max_delay=3 * H, every=H)
    p = run_backtest(actual, cfg, forecasts=forecasts).policies
    assert p["optimum"].mean_delay_min == pytest.approx(30.0)
    assert p["hyperweb"].mean_delay_min == pytest.approx(60.0)
    assert p["hyperweb"].mean_intensity == pytest.approx(200.0)


def test_it_starts_a_job_whose_planned_start_is_the_replan_time():
    # Planned at 00:00 for 01:00; the forecast issued at 01:00 prefers 02:00, but at 01:00 the
    # job is due: it starts then (the product dispatches it; only waiting jobs are re-planned).
    actual = hourly([300, 200, 100, 300, 300, 300])
    first = hourly([300, 100, 300, 300, 300, 300])

    def forecasts(issue: datetime) -> StepSeries:
        return first if issue == T0 else actual

    p = run_backtest(actual, one_job(duration=H, max_delay=3 * H), forecasts=forecasts).policies
    assert p["hyperweb"].mean_delay_min == pytest.approx(60.0)
    assert p["hyperweb"].mean_intensity == pytest.approx(200.0)


def test_it_replans_at_the_configured_interval():
    # Re-planning only every 2 h: the correction issued at 01:00 is never used (the job is due at
    # 02:00, the next re-plan time, and starts then on the wrong plan).
    actual = hourly([300, 300, 300, 100, 300, 300])
    wrong = hourly([300, 300, 50, 300, 300, 300])

    def forecasts(issue: datetime) -> StepSeries:
        return wrong if issue == T0 else actual

    cfg = one_job(duration=H, max_delay=3 * H, replan_every=2 * H)
    assert run_backtest(actual, cfg, forecasts=forecasts).policies["hyperweb"].mean_intensity == 300.0


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


def test_it_matches_the_reference_optimum_for_de_2020():
    out = StringIO()
    call_command(
        "backtest",
        "--csv",
        str(DATA / "de_2020_ci.csv.gz"),
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
    assert data["policies"]["optimum"]["saving_pct"] == pytest.approx(6.5, abs=0.1)  # data/grid/README.md
    assert data["policies"]["hyperweb"]["share_of_optimum"] >= 0.99
    assert set(data["policies"]) == {"run_now", "hypersdk", "hyperweb", "optimum"}


def test_it_prints_a_table(tmp_path):
    path = tmp_path / "ci.csv"
    series = three_hour_cycle(days=20)
    rows = "".join(f"{s:%Y-%m-%d %H:%M:%S},{v}\n" for s, _, v in series.steps())
    path.write_text("Time,Carbon Intensity\n" + rows)
    out = StringIO()
    call_command(
        "backtest", "--csv", str(path), "--duration", "1h", "--max-delay", "2h", "--every", "1h", stdout=out
    )
    text = out.getvalue()
    # The default start leaves the model 15 days of history: days 15-20, less the last 3 h.
    assert text.startswith("118 jobs of 1 h, start up to 2 h later, one every 1 h, 2024-03-16T00:00:00Z")
    hyperweb = next(line for line in text.splitlines() if line.startswith("hyperweb"))
    assert "1.00" in hyperweb  # share of optimum
    assert hyperweb.split()[-3:] == ["0.0%", "0.00%", "+0%"]  # made worse, lost, worst job
    # The product's re-plan cadence: CARBON_REFRESH_MINUTES (15 by default).
    assert "re-planned every 15 min on the newest forecast" in text


def test_it_decides_once_with_no_replan(tmp_path):
    path = tmp_path / "ci.csv"
    rows = "".join(f"{s:%Y-%m-%d %H:%M:%S},{v}\n" for s, _, v in three_hour_cycle(days=20).steps())
    path.write_text("Time,Carbon Intensity\n" + rows)
    out = StringIO()
    args = ["--csv", str(path), "--duration", "1h", "--max-delay", "2h", "--forecast", "model", "--json"]
    call_command("backtest", *args, "--no-replan", stdout=out)
    data = json.loads(out.getvalue())
    assert data["replan"] is False and data["replan_every_min"] is None
    out = StringIO()
    call_command("backtest", *args, "--replan-every", "30m", stdout=out)
    data = json.loads(out.getvalue())
    assert data["replan"] is True and data["replan_every_min"] == 30
    assert data["policies"]["hyperweb"]["share_of_optimum"] == pytest.approx(1.0)


def test_it_rejects_a_cut_short_gzip_file_with_exit_status_2(tmp_path):
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes((DATA / "fr_2020_ci.csv.gz").read_bytes()[:5000])
    with pytest.raises(CommandError) as err:
        call_command(
            "backtest", "--csv", str(cut), "--duration", "1h", "--max-delay", "2h", stdout=StringIO()
        )
    assert err.value.returncode == 2
    assert "gzip data is damaged or cut short" in str(err.value)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--csv", "/nonexistent/ci.csv"], "no such file"),
        (["--duration", "2x"], "bad duration"),
        (["--forecast", "psychic"], "bad forecast"),
        (["--start", "yesterday"], "not a date"),
        (["--risk", "reckless"], "unknown risk setting 'reckless'"),
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


def test_it_follows_the_products_refresh_setting_by_default(tmp_path, settings):
    settings.CARBON_REFRESH_MINUTES = 45
    path = tmp_path / "ci.csv"
    rows = "".join(f"{s:%Y-%m-%d %H:%M:%S},{v}\n" for s, _, v in three_hour_cycle(days=20).steps())
    path.write_text("Time,Carbon Intensity\n" + rows)
    out = StringIO()
    call_command("backtest", "--csv", str(path), "--forecast", "model", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["replan_every_min"] == 45
    assert data["risk"] == "balanced"  # BACKUP_RISK's default
    hyperweb = data["policies"]["hyperweb"]
    assert {"jobs_made_worse_pct", "emissions_lost_pct", "worst_job_pct"} <= hyperweb.keys()


def test_it_counts_a_job_over_a_hole_as_no_data(tmp_path):
    # 20 days of hourly data with a 6-hour hole on day 17: the file's row before the hole covers
    # its own hour, not the hole, so runs over the hole are not covered.
    series = three_hour_cycle(days=20)
    hole = (T0 + timedelta(days=17, hours=6), T0 + timedelta(days=17, hours=12))
    kept = [(s, e, v) for s, e, v in series.steps() if not hole[0] <= s < hole[1]]
    path = tmp_path / "ci.csv"
    path.write_text("Time,Carbon Intensity\n" + "".join(f"{s:%Y-%m-%d %H:%M:%S},{v}\n" for s, _, v in kept))
    out = StringIO()
    call_command(
        "backtest",
        "--csv",
        str(path),
        "--duration",
        "1h",
        "--max-delay",
        "2h",
        "--every",
        "1h",
        "--json",
        stdout=out,
    )
    data = json.loads(out.getvalue())
    # A run may start up to 2 h after submission and lasts 1 h: the submissions from 04:00 to
    # 11:00 might choose a run in the hole (06:00-12:00): 8 jobs left out.
    assert data["no_data_jobs"] == 8
    assert data["jobs"] == 118 - 8


def test_it_averages_a_finer_resolution_onto_the_models_grid():
    # 30-min data, then 15-min data: the grid (30 min, the most common step) holds the mean of
    # both quarter-hours, not one of them.
    half, quarter = timedelta(minutes=30), timedelta(minutes=15)
    steps = [(T0 + i * half, T0 + (i + 1) * half, 100.0) for i in range(100)]
    t = T0 + 100 * half
    steps += [(t + i * quarter, t + (i + 1) * quarter, 100.0 if i % 2 else 300.0) for i in range(40)]
    from scheduler.backtest import _Grid

    grid = _Grid(StepSeries.from_steps(steps))
    assert grid.step == 1800
    assert grid.values[:100] == [100.0] * 100
    assert grid.values[100:120] == [200.0] * 20


def test_it_reports_jobs_made_worse_by_waiting():
    # The forecast promises 50 at 02:00 every time; actually 02:00 is 400. Jobs submitted at
    # 00:00 wait for it (worse: 400 vs 300, +33 %); the run-now and optimum never are.
    actual = hourly([300, 300, 400, 100, 300, 300])
    wrong = hourly([300, 300, 50, 300, 300, 300])
    cfg = one_job(duration=H, max_delay=2 * H, replan=False)
    p = run_backtest(actual, cfg, forecasts=lambda issue: wrong).policies
    assert p["hyperweb"].worse_share_pct == pytest.approx(100.0)
    assert p["hyperweb"].lost_pct == pytest.approx(100 / 300 * 100)
    assert p["hyperweb"].worst_pct == pytest.approx(100 / 3)
    assert p["run_now"].worse_share_pct == 0 and p["optimum"].worse_share_pct == 0


def random_walk(days: int, seed: int = 1) -> StepSeries:
    """Hourly intensity wandering between 50 and 400 (no daily shape: the forecast is unsure)."""
    rng = random.Random(seed)
    value, steps = 200.0, []
    for i in range(days * 24):
        value = min(400.0, max(50.0, value + rng.gauss(0, 15)))
        steps.append((T0 + i * H, T0 + (i + 1) * H, value))
    return StepSeries.from_steps(steps)


def test_the_risk_settings_trade_saving_for_fewer_jobs_made_worse():
    # A forecast off by a random walk reaching 60 % at 24 h, the error learned from its own past
    # issues: the more cautious the setting, the fewer jobs end dirtier than starting at once.
    series = random_walk(30)
    run = {
        risk: run_backtest(
            series, config(forecast="noisy:60", risk=risk, max_delay=4 * H, end=T0 + timedelta(days=26))
        ).policies["hyperweb"]
        for risk in ("greedy", "balanced", "cautious")
    }
    greedy, balanced, cautious = run["greedy"], run["balanced"], run["cautious"]
    assert greedy.worse_share_pct > balanced.worse_share_pct > cautious.worse_share_pct > 0
    assert greedy.saving_pct > balanced.saving_pct > cautious.saving_pct > 0
    # An exact forecast: no error learned, every setting finds the optimum.
    for risk in ("greedy", "balanced", "cautious"):
        exact = run_backtest(
            series, config(forecast="noisy:0", risk=risk, max_delay=4 * H, end=T0 + timedelta(days=26))
        )
        assert exact.policies["hyperweb"].share_of_optimum == pytest.approx(1.0)
        assert exact.policies["hyperweb"].worse_share_pct == 0
