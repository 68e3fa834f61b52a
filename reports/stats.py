"""What-if statistics (pure: no ORM, no figures): over a stored intensity series, the saving the
best start within the flexibility would have given at each request time, and its distribution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from carbon.intensity import StepSeries


@dataclass(frozen=True)
class WhatIf:
    """Per request time, the saving the best start within the flexibility would have given."""

    percents: list[float]
    starts: int
    first: datetime | None
    last: datetime | None
    median: float | None
    p25: float | None
    p75: float | None
    p90: float | None
    share_above_5: float | None  # fraction of request times that would have saved more than 5 %


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    pos = (len(sorted_values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def whatif_distribution(
    series: StepSeries | None, *, duration: timedelta, flexibility: timedelta, every: timedelta, max_starts: int = 5000
) -> WhatIf:
    """For request times every `every` over the series: saving of the best start (perfect
    foresight, StepSeries.best_window) against starting at once. Only request times whose whole
    possible run is covered by data count, so no saving rests on a gap."""
    empty = WhatIf([], 0, None, None, None, None, None, None, None)
    if series is None or not len(series):
        return empty
    first, last = series.first_start, series.last_end
    if first is None or last is None:  # cannot happen after the len() check; for the type checker
        return empty
    span = (last - first) - duration - flexibility
    if span <= timedelta(0):
        return empty
    step = max(every, span / max_starts)
    percents: list[float] = []
    used: list[datetime] = []
    t = first
    while t + flexibility + duration <= last:
        if series.coverage(t, t + flexibility + duration) >= 1 - 1e-9:
            now_mean = series.mean(t, t + duration)
            best = series.best_window(duration, t, t + flexibility)
            if now_mean and best is not None:
                percents.append(max(0.0, 100.0 * (now_mean - best.mean) / now_mean))
                used.append(t)
        t += step
    if not percents:
        return empty
    ordered = sorted(percents)
    return WhatIf(
        percents=percents,
        starts=len(percents),
        first=used[0],
        last=used[-1],
        median=_quantile(ordered, 0.5),
        p25=_quantile(ordered, 0.25),
        p75=_quantile(ordered, 0.75),
        p90=_quantile(ordered, 0.9),
        share_above_5=sum(1 for p in percents if p > 5.0) / len(percents),
    )
