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
    series: StepSeries | None,
    *,
    duration: timedelta,
    flexibility: timedelta,
    every: timedelta,
    max_starts: int = 5000,
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
    times: list[datetime] = []
    t = first
    while t + flexibility + duration <= last:
        times.append(t)
        t += step
    # coverage(), mean() and best_window() of the same intervals, the same floats (figures and
    # best_means take them in epoch seconds, as those methods convert them), in three batches.
    starts = [t.timestamp() for t in times]
    spans = [(a, (t + flexibility + duration).timestamp()) for t, a in zip(times, starts, strict=True)]
    covered = [n for n, (coverage, _) in enumerate(series.figures(spans)) if coverage >= 1 - 1e-9]
    now_means = series.figures([(starts[n], (times[n] + duration).timestamp()) for n in covered])
    bests = series.best_means(duration, [(starts[n], (times[n] + flexibility).timestamp()) for n in covered])
    percents: list[float] = []
    used: list[datetime] = []
    for n, (_, now_mean), best in zip(covered, now_means, bests, strict=True):
        if now_mean and best is not None:
            percents.append(max(0.0, 100.0 * (now_mean - best) / now_mean))
            used.append(times[n])
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
