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
