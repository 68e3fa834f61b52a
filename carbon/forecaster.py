"""The built-in forecaster: the next hours of carbon intensity from a zone's own history.

Used for zones whose provider gives no forecast (Electricity Maps' free tier, CSV data). Pure
module: it sees a :class:`~carbon.intensity.StepSeries` of past readings and returns forecast
steps; ``carbon.services`` stores them labelled as the forecaster's.

What the planner needs from a forecast is the *shape* over the next hours (which start is
cleaner than which), more than the absolute level. The model, per future step at lead ``h``:

    forecast(t + h) = profile(t + h) + anomaly(t) * decay ** h

- ``profile(x)``: the typical value at x's time of day, a weighted blend of the same time of
  day on each of the last ``days`` days (recent days weigh more, ``day_weight ** k``) and the same
  time one week earlier (weekly rhythm: weekends are cleaner on most grids), each smoothed over
  the neighbouring ~20 minutes so one noisy reading does not make a fake dip;
- ``anomaly(t)``: how far the latest observed level (mean of the last hour) sits above or below
  the profile at that time. Weather (wind, cloud) keeps a grid above or below its usual curve for
  hours, so the anomaly persists, fading with lead time (``decay`` per hour).

It uses only data strictly before ``now``: values are read from the history through intervals
that end at or before ``now``. Gaps in the history are skipped (a day with no data at that time
drops out of the blend); with no history at all the forecast is empty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from carbon.intensity import StepSeries

__all__ = ["DEFAULT_PARAMS", "GridModel", "forecast_from_grid", "forecast_from_history", "history_grid"]

DAY_S = 86400.0

# Chosen with the window-ranking backtest (scheduler/backtest.py) on the 2020 DE/FR data; the
# figures, and what else was tried, are in docs/BENCHMARKS.md. Results move little for
# moderate changes of any one value (a broad optimum, not a knife edge).
DEFAULT_PARAMS: dict[str, float] = {
    "days": 14,  # days of history in the daily profile
    "day_weight": 0.85,  # weight of day k back: day_weight ** (k - 1)
    "week_weight": 2.0,  # weight of the same time last week, relative to yesterday's 1.0
    "smooth_min": 20,  # +- minutes averaged around each same-time value (1 step on 15/30-min data)
    "level_steps_h": 1.0,  # hours averaged for the current level
    "decay_per_h": 0.97,  # share of the current anomaly that survives each hour of lead time
}


def history_grid(history: StepSeries, end: float, step: float, count: int) -> list[float | None]:
    """``count`` regular values of ``history`` on ``[end - count*step, end)`` (None in gaps)."""
    out: list[float | None] = []
    for i in range(count, 0, -1):
        a = datetime.fromtimestamp(end - i * step, tz=UTC)
        b = datetime.fromtimestamp(end - (i - 1) * step, tz=UTC)
        out.append(history.mean(a, b) if history.coverage(a, b) >= 0.5 else None)
    return out


def _infer_step(history: StepSeries, now: datetime) -> float:
    """The most common step length among the last readings before ``now`` (15 min if unknown)."""
    lengths: dict[float, int] = {}
    seen = 0
    for s, e, _ in reversed(history.steps()):
        if s >= now:
            continue
        lengths[(e - s).total_seconds()] = lengths.get((e - s).total_seconds(), 0) + 1
        seen += 1
        if seen == 50:
            break
    if not lengths:
        return 900.0
    return max(lengths, key=lambda k: (lengths[k], -k))


def forecast_from_history(
    history: StepSeries,
    now: datetime,
    hours: int = 72,
    step: timedelta | None = None,
    params: dict[str, float] | None = None,
) -> list[tuple[datetime, datetime, float]]:
    """Forecast steps ``(start, end, value)`` covering ``[now', now' + hours)`` from ``history``.

    ``now'`` is ``now`` rounded down to the step grid (epoch-aligned), so the first step contains
    ``now``; only history before ``now'`` is read. ``step`` defaults to the history's own step.
    Returns [] if the history has nothing in the last day before ``now``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    p = {**DEFAULT_PARAMS, **(params or {})}
    step_s = step.total_seconds() if step is not None else _infer_step(history, now)
    if step_s <= 0 or DAY_S % step_s:
        raise ValueError(f"step must divide a day, got {step_s} s")
    t0 = math.floor(now.timestamp() / step_s) * step_s
    per_day = int(DAY_S / step_s)
    need = per_day * max(int(p["days"]), 7) + per_day + 2
    grid = history_grid(history, t0, step_s, need)
    values = forecast_from_grid(grid, per_day, math.ceil(hours * 3600 / step_s), p)
    return [
        (
            datetime.fromtimestamp(t0 + i * step_s, tz=UTC),
            datetime.fromtimestamp(t0 + (i + 1) * step_s, tz=UTC),
            v,
        )
        for i, v in enumerate(values)
    ]


def forecast_from_grid(
    grid: Sequence[float | None], per_day: int, horizon: int, params: dict[str, float] | None = None
) -> list[float]:
    """The model on a regular grid: ``grid[-1]`` is the step just before now; returns ``horizon``
    values for the steps from now on. ``per_day`` steps make a day. [] if the last day of the grid
    holds no value (too little recent history to say anything)."""
    p = {**DEFAULT_PARAMS, **(params or {})}
    if not any(v is not None for v in grid[-per_day:]):
        return []
    sm = _smooth_steps(p, per_day)
    # Each smoothed value is asked for by several (position, day) pairs: all of them are computed
    # once, up front (the same arithmetic in the same order: the forecast is bit for bit what it
    # was). Positions outside [-sm, n + sm) have no known value in their window.
    n = len(grid)
    return _forecast(grid, [_smoothed(grid, j, sm, n) for j in range(-sm, n + sm)], per_day, horizon, p)


def _smooth_steps(p: dict[str, float], per_day: int) -> int:
    return round(p["smooth_min"] / 60.0 * (per_day / 24.0))


class GridModel:
    """The model over one long regular grid, forecasting from any position of it: what the
    backtest does at every hourly issue. ``forecast(i, need, horizon)`` is bit for bit
    ``forecast_from_grid(values[max(0, i - need) : i], per_day, horizon, params)``, but each
    smoothed value is computed once for the whole grid instead of once per issue (consecutive
    issues share all but a few hours of their history): only the ``sm`` positions at either edge
    of a slice, whose windows the slice cuts, are computed per forecast.
    """

    def __init__(self, values: Sequence[float | None], per_day: int, params: dict[str, float] | None = None):
        self.values = values
        self.per_day = per_day
        self.params = {**DEFAULT_PARAMS, **(params or {})}
        self.sm = sm = _smooth_steps(self.params, per_day)
        n = len(values)
        # Unclipped windows only: a position whose window the grid's own ends cut is always
        # computed from its slice (where it is cut the same way or not at all).
        self._inner = [_smoothed(values, j, sm, n) if sm <= j < n - sm else None for j in range(n)]

    def forecast(self, i: int, need: int, horizon: int) -> list[float]:
        lo = max(0, i - need)
        grid = self.values[lo:i]
        if not any(v is not None for v in grid[-self.per_day :]):
            return []
        n, sm = len(grid), self.sm
        if n <= 2 * sm:
            smoothed_at = [_smoothed(grid, j, sm, n) for j in range(-sm, n + sm)]
        else:
            # Local j in [sm, n - sm) is absolute lo + j, whose window lies inside the slice.
            smoothed_at = [_smoothed(grid, j, sm, n) for j in range(-sm, sm)]
            smoothed_at += self._inner[lo + sm : i - sm]
            smoothed_at += [_smoothed(grid, j, sm, n) for j in range(n - sm, n + sm)]
        return _forecast(grid, smoothed_at, self.per_day, horizon, self.params)


def _forecast(
    grid: Sequence[float | None],
    smoothed_at: list[float | None],
    per_day: int,
    horizon: int,
    p: dict[str, float],
) -> list[float]:
    """forecast_from_grid given the smoothed values of positions -sm .. n + sm - 1."""
    n = len(grid)
    days = int(p["days"])
    dw = p["day_weight"]
    ww = p["week_weight"]
    hour_steps = per_day / 24.0
    sm = _smooth_steps(p, per_day)
    level_n = max(1, round(p["level_steps_h"] * hour_steps))
    decay_step = p["decay_per_h"] ** (1.0 / hour_steps)
    known_lo, known_hi = -sm, n + sm
    day_weights = [(k * per_day, dw ** (k - 1)) for k in range(1, days + 1)]

    terms = [*day_weights, (7 * per_day, ww)] if ww > 0 else day_weights

    def same_times(first: int, count: int) -> list[float | None]:
        """Profile values at grid positions ``first`` .. ``first + count - 1`` (may be >= n:
        the future) from earlier days: per position, the weighted mean of the known smoothed
        values one, two, ... ``days`` days and a week before, added in that order (all the
        positions together, one day at a time)."""
        totals = [0.0] * count
        wsums = [0.0] * count
        for back, w in terms:
            j0 = first - back  # the position the first one reads
            a, b = max(0, known_lo - j0), min(count, known_hi - j0)
            if a >= b:
                continue  # no known position (and a slice with a negative end would wrap)
            for h, v in zip(range(a, b), smoothed_at[j0 + a + sm : j0 + b + sm], strict=True):
                if v is not None:
                    totals[h] += w * v
                    wsums[h] += w
        return [total / wsum if wsum else None for total, wsum in zip(totals, wsums, strict=True)]

    recent = [v for v in grid[-level_n:] if v is not None]
    if not recent:
        recent = [next(v for v in reversed(grid) if v is not None)]
    level = sum(recent) / len(recent)
    anchor = same_times(n - level_n, level_n)[::-1]  # positions n - 1, n - 2, ..., n - level_n
    anchor_known = [a for a in anchor if a is not None]
    anchor_mean = sum(anchor_known) / len(anchor_known) if anchor_known else level
    anomaly = level - anchor_mean

    out: list[float] = []
    fade = 1.0
    for base in same_times(n, horizon):
        fade *= decay_step
        if base is None:
            base = anchor_mean
        out.append(max(0.0, base + anomaly * fade))
    return out


def _smoothed(grid: Sequence[float | None], j: int, sm: int, n: int) -> float | None:
    """Mean of the known values in ``grid[j - sm : j + sm + 1]`` that lie in the past (< n)."""
    lo, hi = max(j - sm, 0), min(j + sm + 1, n)
    if lo >= hi:
        return None
    known = [v for v in grid[lo:hi] if v is not None]
    return sum(known, 0.0) / len(known) if known else None
