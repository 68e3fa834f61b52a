"""reports.stats.whatif_distribution against its original per-request-time loop, float for float.

The original asked best_window for every request time (one scan each); whatif_distribution now
asks StepSeries.best_means for all of them at once. The answers must be the same floats: the
reference below is the original loop, kept verbatim, and every comparison is on the whole WhatIf
by == and by repr (which tells every float apart, -0.0 from 0.0 included).
"""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon import intensity
from carbon.intensity import StepSeries
from reports.stats import WhatIf, _quantile, whatif_distribution

T0 = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
DATA = Path(__file__).resolve().parents[2] / "data" / "grid"


def reference_whatif(
    series: StepSeries | None,
    *,
    duration: timedelta,
    flexibility: timedelta,
    every: timedelta,
    max_starts: int = 5000,
) -> WhatIf:
    """whatif_distribution as it was: one coverage, mean and best_window per request time."""
    empty = WhatIf([], 0, None, None, None, None, None, None, None)
    if series is None or not len(series):
        return empty
    first, last = series.first_start, series.last_end
    assert first is not None and last is not None
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


def assert_same(series: StepSeries | None, **kwargs: object) -> WhatIf:
    got = whatif_distribution(series, **kwargs)  # type: ignore[arg-type]
    want = reference_whatif(series, **kwargs)  # type: ignore[arg-type]
    assert got == want
    assert repr(got) == repr(want)
    return got


@st.composite
def whatif_problems(draw: st.DrawFn) -> tuple[StepSeries, dict[str, object]]:
    """A series and whatif_distribution's arguments.

    Series: regular 5/15/60-minute steps, with or without gaps, or irregular ones (odd seconds
    and fractions), starting on a whole second or not; values repeated from a few (ties, and
    near-ties from rounding), flat, or any (negative and zero included). Arguments: half the time
    whole multiples of the step, else any whole or fractional number of seconds."""
    kind = draw(st.sampled_from(["regular", "gaps", "irregular"]))
    n = draw(st.integers(min_value=1, max_value=120))
    pick = draw(st.sampled_from(["ties", "flat", "any"]))
    flat = draw(st.sampled_from([0.0, 1.0, 313.7, -2.5]))
    values = {
        "ties": st.sampled_from([0.0, 100.0, 100.0, 250.0, -40.0, 0.1, 0.2, 0.3]),
        "flat": st.just(flat),
        "any": st.floats(min_value=-1000.0, max_value=1000.0, allow_nan=False, allow_infinity=False),
    }[pick]
    step = float(draw(st.sampled_from([300, 900, 3600])))
    t = T0 + draw(st.sampled_from([0.0, 0.0, 7.0, 0.25, 123.456789]))
    starts: list[float] = []
    ends: list[float] = []
    vals: list[float] = []
    for _ in range(n):
        if kind == "regular":
            length = step
        elif kind == "gaps":
            length = step
            t += step * draw(st.sampled_from([0, 0, 0, 1, 3]))
        else:
            length = draw(st.one_of(st.integers(1, 7200).map(float), st.floats(0.5, 7200.0)))
            t += draw(st.sampled_from([0.0, 0.0, 0.0, 1.0, 0.3, 600.0]))
        starts.append(t)
        ends.append(t + length)
        vals.append(draw(values))
        t += length
    if draw(st.booleans()):  # on the knots (of regular series): the fast path
        seconds = st.integers(1, 48).map(lambda k: step * k)
        max_starts = st.just(5000)
    else:  # anywhere, off the knots: the scan, or the fast path where it happens to fit
        seconds = st.one_of(st.integers(1, 6 * 3600).map(float), st.floats(1e-6, 6 * 3600.0))
        max_starts = st.sampled_from([5000, 40, 3])
    arguments: dict[str, object] = {
        "duration": timedelta(seconds=draw(seconds)),
        "flexibility": timedelta(seconds=draw(st.one_of(st.just(0.0), seconds))),
        "every": timedelta(seconds=draw(seconds)),
        "max_starts": draw(max_starts),
    }
    return StepSeries(starts, ends, vals), arguments


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=whatif_problems())
def test_it_answers_what_the_original_loop_answered(problem: tuple[StepSeries, dict[str, object]]) -> None:
    series, arguments = problem
    assert_same(series, **arguments)


def test_it_answers_nothing_without_data_or_room() -> None:
    empty = WhatIf([], 0, None, None, None, None, None, None, None)
    kwargs = {
        "duration": timedelta(hours=2),
        "flexibility": timedelta(hours=4),
        "every": timedelta(minutes=30),
    }
    assert whatif_distribution(None, **kwargs) == empty  # type: ignore[arg-type]
    assert whatif_distribution(StepSeries([], [], []), **kwargs) == empty  # type: ignore[arg-type]
    assert assert_same(StepSeries([T0], [T0 + 3600], [1.0]), **kwargs) == empty


def test_it_rejects_what_best_window_rejects() -> None:
    s = StepSeries([T0 + 300 * i for i in range(100)], [T0 + 300 * (i + 1) for i in range(100)], [1.0] * 100)
    every = timedelta(minutes=30)
    for duration, flexibility in [
        (timedelta(0), timedelta(hours=1)),
        (timedelta(hours=2), timedelta(hours=-1)),
    ]:
        with pytest.raises(ValueError):
            reference_whatif(s, duration=duration, flexibility=flexibility, every=every)
        with pytest.raises(ValueError):
            whatif_distribution(s, duration=duration, flexibility=flexibility, every=every)


def de_2020(days: int) -> StepSeries:
    """The first `days` days of 2020 in the repository's DE data (15-minute steps)."""
    start = datetime(2020, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=days)
    starts: list[float] = []
    values: list[float] = []
    with gzip.open(DATA / "de_2020_ci.csv.gz", "rt", newline="") as f:
        for row in csv.DictReader(f):
            when = datetime.fromisoformat(row["Time"]).replace(tzinfo=UTC)
            if start <= when < end:
                starts.append(when.timestamp())
                values.append(float(row["Carbon Intensity"]))
    return StepSeries(starts, [s + 900.0 for s in starts], values)


@pytest.mark.parametrize(("hours", "wait"), [(2.0, 4.0), (0.5, 24.0), (8.0, 2.0)])
def test_real_data_takes_the_fast_path_with_the_same_answer(hours: float, wait: float) -> None:
    """90 days of real 15-minute data: the same WhatIf, and no request time needs the scan."""
    series = de_2020(90)
    kwargs = {
        "duration": timedelta(hours=hours),
        "flexibility": timedelta(hours=wait),
        "every": timedelta(minutes=30),
    }
    with mock.patch.object(intensity, "_scan", wraps=intensity._scan) as scan:
        got = whatif_distribution(series, **kwargs)  # type: ignore[arg-type]
    assert scan.call_count == 0
    assert got.starts > 4000
    want = reference_whatif(series, **kwargs)  # type: ignore[arg-type]
    assert got == want
    assert repr(got) == repr(want)
