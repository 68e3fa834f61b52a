"""The built-in forecaster: sees only the past, follows daily patterns, fades the current anomaly."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from carbon.forecaster import forecast_from_grid, forecast_from_history
from carbon.intensity import StepSeries

T0 = datetime(2024, 3, 1, tzinfo=UTC)
Q = timedelta(minutes=15)
NOW = T0 + timedelta(days=16, hours=9)


def daily(value_at, days: int = 20, step: timedelta = Q) -> StepSeries:
    n = int(days * 86400 / step.total_seconds())
    return StepSeries.from_steps(
        (T0 + i * step, T0 + (i + 1) * step, value_at(T0 + i * step)) for i in range(n)
    )


def pattern(t: datetime) -> float:
    hour = t.hour + t.minute / 60
    return 300 + 100 * math.sin(hour / 24 * 2 * math.pi)


def wobbly(t: datetime) -> float:
    # A daily shape, a weekly one, and a deterministic "weather" term: nothing repeats exactly.
    day = (t - T0).total_seconds() / 86400
    return pattern(t) + 30 * math.sin(day * 2 * math.pi / 7) + 25 * math.sin(day * 5.3)


def test_it_uses_no_data_at_or_after_now():
    history = daily(wobbly)
    before = forecast_from_history(history, NOW, hours=48)
    changed = StepSeries.from_steps((s, e, v if s < NOW else v * 3 + 1000) for s, e, v in history.steps())
    after = forecast_from_history(changed, NOW, hours=48)
    assert after == before
    truncated = StepSeries.from_steps(step for step in history.steps() if step[0] < NOW)
    assert forecast_from_history(truncated, NOW, hours=48) == before


def test_it_reproduces_a_repeating_daily_pattern():
    history = daily(pattern)
    fc = forecast_from_history(history, NOW, hours=24)
    assert len(fc) == 96
    assert fc[0][0] == NOW and fc[-1][1] == NOW + timedelta(hours=24)
    for start, _end, value in fc:
        assert abs(value - pattern(start)) < 2.0  # only the +-1 step smoothing differs


def test_it_carries_the_current_anomaly_and_fades_it_with_lead_time():
    def jump(t: datetime) -> float:
        return pattern(t) + (80 if NOW - timedelta(hours=3) <= t < NOW else 0)

    fc = forecast_from_history(daily(jump), NOW, hours=72)
    excess = [value - pattern(start) for start, _, value in fc]
    assert 70 < excess[0] <= 80
    assert excess[0] > excess[4 * 12] > excess[4 * 48] > 0  # still there, fading


def test_it_starts_on_the_step_containing_now_and_uses_the_history_step():
    history = daily(pattern, step=timedelta(minutes=30))
    fc = forecast_from_history(history, NOW + timedelta(minutes=10), hours=2)
    assert [(s, e) for s, e, _ in fc][:2] == [
        (NOW, NOW + timedelta(minutes=30)),
        (NOW + timedelta(minutes=30), NOW + timedelta(hours=1)),
    ]
    assert len(fc) == 4


def test_it_says_nothing_without_recent_history():
    old = StepSeries.from_steps([(T0, T0 + Q, 100.0)])
    assert forecast_from_history(old, T0 + timedelta(days=3)) == []
    assert forecast_from_grid([None] * 96, 96, 10) == []


def test_it_refuses_a_naive_now():
    with pytest.raises(ValueError):
        forecast_from_history(daily(pattern), datetime(2024, 3, 10, 12), hours=1)


@pytest.mark.parametrize("per_day", [96, 288, 24])  # smoothing of 1, 4 and 0 steps either side
def test_a_grid_model_forecasts_every_slice_bit_for_bit_as_forecast_from_grid(per_day: int) -> None:
    """The backtest's shared smoothing (GridModel) gives exactly forecast_from_grid's numbers for
    any slice: near the grid's start (cut windows), across gaps, and long enough for every day."""
    import random

    from carbon.forecaster import GridModel

    rng = random.Random(per_day)
    n = per_day * 20
    values: list[float | None] = [
        None
        if rng.random() < 0.05 or 5 * per_day <= i < 5 * per_day + per_day // 3
        else 200 + 150 * rng.random()
        for i in range(n)
    ]
    model = GridModel(values, per_day)
    need = per_day * 15 + 2
    ends = [1, 2, 3, 5, per_day // 2, per_day + 1, 3 * per_day, need - 1, need, need + 1, n - 1, n]
    ends += [rng.randrange(1, n + 1) for _ in range(20)]
    for i in ends:
        expected = forecast_from_grid(values[max(0, i - need) : i], per_day, per_day * 3)
        assert model.forecast(i, need, per_day * 3) == expected, i
    assert model.forecast(6 * per_day, need, 10) != []
    assert GridModel([None] * per_day, per_day).forecast(per_day, need, 10) == []


def _reference_forecast(grid: list[float | None], per_day: int, horizon: int) -> list[float]:
    """forecast_from_grid as first written: one position at a time (kept to hold the faster
    code to the same numbers)."""
    from carbon.forecaster import DEFAULT_PARAMS

    p = DEFAULT_PARAMS
    if not any(v is not None for v in grid[-per_day:]):
        return []
    n = len(grid)
    hour_steps = per_day / 24.0
    sm = round(p["smooth_min"] / 60.0 * hour_steps)
    level_n = max(1, round(p["level_steps_h"] * hour_steps))
    decay_step = p["decay_per_h"] ** (1.0 / hour_steps)

    def smoothed(j: int) -> float | None:
        lo, hi = max(j - sm, 0), min(j + sm + 1, n)
        known = [v for v in grid[lo:hi] if v is not None] if lo < hi else []
        return sum(known, 0.0) / len(known) if known else None

    def same_time(i: int) -> float | None:
        total = wsum = 0.0
        for k in range(1, int(p["days"]) + 1):
            v = smoothed(i - k * per_day)
            if v is not None:
                total += p["day_weight"] ** (k - 1) * v
                wsum += p["day_weight"] ** (k - 1)
        v = smoothed(i - 7 * per_day)
        if v is not None and p["week_weight"] > 0:
            total += p["week_weight"] * v
            wsum += p["week_weight"]
        return total / wsum if wsum else None

    recent = [v for v in grid[-level_n:] if v is not None] or [
        next(v for v in reversed(grid) if v is not None)
    ]
    level = sum(recent) / len(recent)
    anchor = [a for a in (same_time(n - 1 - i) for i in range(level_n)) if a is not None]
    anchor_mean = sum(anchor) / len(anchor) if anchor else level
    out, fade = [], 1.0
    for h in range(horizon):
        fade *= decay_step
        base = same_time(n + h)
        out.append(max(0.0, (base if base is not None else anchor_mean) + (level - anchor_mean) * fade))
    return out


@pytest.mark.parametrize("per_day", [96, 288, 24])
def test_the_forecast_is_bit_for_bit_the_straightforward_model(per_day: int) -> None:
    """forecast_from_grid (all positions of a day at once) against the model computed one
    position at a time: the same floats, on grids with gaps, short and long, any horizon."""
    import random

    rng = random.Random(per_day + 1)
    for length in (per_day, per_day + 5, 3 * per_day, 8 * per_day + 3, 16 * per_day):
        values: list[float | None] = [
            None
            if rng.random() < 0.1 or (length // 3 <= i < length // 3 + per_day // 4)
            else 50 + 400 * rng.random()
            for i in range(length)
        ]
        values[-1] = 100.0  # a recent value: the model says something
        for horizon in (1, 7, per_day, 3 * per_day):
            assert forecast_from_grid(values, per_day, horizon) == _reference_forecast(
                values, per_day, horizon
            )
