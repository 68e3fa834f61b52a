"""Intensity maths against a brute-force reference.

The reference works in exact integers: steps start and end on whole minutes and carry integer
values, so the integral of a run is an integer (value x minutes) and its mean an exact Fraction.
On that grid every breakpoint, every "start + duration meets a breakpoint" point and every
coverage-threshold crossing (thresholds are whole minutes) is a whole minute, so trying every
minute between earliest and latest is an exhaustive search. Means of runs up to 240 minutes
differ by at least 1/240**2, far above the implementation's tie tolerance, so the comparison
can be exact about *which* start wins, ties to the earliest included.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon import intensity
from carbon.intensity import (
    CAR_G_CO2_PER_KM,
    TREE_KG_CO2_PER_YEAR,
    StepSeries,
    Window,
    emissions_kg,
    energy_kwh,
    equivalents,
    quality,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
MIN = timedelta(minutes=1)
H = timedelta(hours=1)


def at(minutes: float) -> datetime:
    return T0 + minutes * MIN


# -- reference ---------------------------------------------------------------------------------

# A step in whole minutes from T0: (start, end, value)
Steps = list[tuple[int, int, int]]


def ref_integral(steps: Steps, a: int, b: int) -> tuple[int, int]:
    """(value x minutes, covered minutes) of [a, b], by summing overlaps from scratch."""
    total = covered = 0
    for s, e, v in steps:
        overlap = min(b, e) - max(a, s)
        if overlap > 0:
            total += v * overlap
            covered += overlap
    return total, covered


def ref_best(
    steps: Steps, duration: int, earliest: int, latest: int, need: int
) -> tuple[int, Fraction] | None:
    """Earliest whole-minute start with the lowest exact mean among runs covered >= need minutes."""
    best: tuple[int, Fraction] | None = None
    for start in range(earliest, latest + 1):
        total, covered = ref_integral(steps, start, start + duration)
        if covered == 0 or covered < need:
            continue
        m = Fraction(total, covered)
        if best is None or m < best[1]:
            best = (start, m)
    return best


def series(steps: Steps) -> StepSeries:
    return StepSeries.from_steps((at(s), at(e), v) for s, e, v in steps)


@st.composite
def step_lists(draw: st.DrawFn, max_steps: int = 12) -> Steps:
    """Uneven steps (1..90 minutes), often contiguous, sometimes with gaps, integer values."""
    n = draw(st.integers(min_value=1, max_value=max_steps))
    t = draw(st.integers(min_value=-30, max_value=30))
    out: Steps = []
    for _ in range(n):
        t += draw(st.sampled_from([0, 0, 0, 0, 1, 7, 45]))  # mostly contiguous
        length = draw(st.integers(min_value=1, max_value=90))
        value = draw(st.integers(min_value=0, max_value=1000))
        out.append((t, t + length, value))
        t += length
    return out


@st.composite
def window_problems(draw: st.DrawFn) -> tuple[Steps, int, int, int, int]:
    steps = draw(step_lists())
    lo, hi = steps[0][0], steps[-1][1]
    duration = draw(st.integers(min_value=1, max_value=240))
    earliest = draw(st.integers(min_value=lo - 60, max_value=hi + 10))
    latest = earliest + draw(st.integers(min_value=0, max_value=hi - lo + 60))
    need = draw(st.one_of(st.just(duration), st.integers(min_value=1, max_value=duration)))
    return steps, duration, earliest, latest, need


# -- mean and coverage ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(steps=step_lists(), a=st.integers(-120, 1400), length=st.integers(1, 600), sec=st.integers(0, 59))
def test_it_matches_the_reference_mean_and_coverage(steps: Steps, a: int, length: int, sec: int) -> None:
    # Shift both ends by the same sub-minute offset so partial overlaps are weighted mid-step.
    s = series(steps)
    start, end = at(a) + timedelta(seconds=sec), at(a + length) + timedelta(seconds=sec)
    # Reference in seconds: scale the minute steps by 60.
    secs = [(st_ * 60, e * 60, v) for st_, e, v in steps]
    total, covered = ref_integral(secs, a * 60 + sec, (a + length) * 60 + sec)
    assert s.coverage(start, end) == pytest.approx(covered / (length * 60), abs=1e-12)
    if covered == 0:
        assert s.mean(start, end) is None
    else:
        assert s.mean(start, end) == pytest.approx(total / covered, rel=1e-12)


@settings(max_examples=300, deadline=None)
@given(
    steps=step_lists(),
    spans=st.lists(st.tuples(st.integers(-120, 1400), st.integers(0, 600), st.integers(0, 59)), max_size=8),
)
def test_figures_are_coverage_and_mean_bit_for_bit(steps: Steps, spans: list[tuple[int, int, int]]) -> None:
    """figures(), the backtest's batch of runs in epoch seconds, answers what coverage() and
    mean() answer for the same intervals, as exact floats (zero-length and empty ones too)."""
    s = series(steps)
    intervals = [
        (at(a) + timedelta(seconds=sec), at(a + length) + timedelta(seconds=sec)) for a, length, sec in spans
    ]
    got = s.figures([(a.timestamp(), b.timestamp()) for a, b in intervals])
    assert got == [(s.coverage(a, b), s.mean(a, b)) for a, b in intervals]
    with pytest.raises(ValueError):
        s.figures([(at(1).timestamp(), at(0).timestamp())])


def test_it_weights_partial_overlaps_by_time() -> None:
    s = series([(0, 60, 300), (60, 120, 100)])
    # 15 minutes at 300 and 45 at 100.
    assert s.mean(at(45), at(105)) == pytest.approx((15 * 300 + 45 * 100) / 60)


def test_it_excludes_gaps_from_the_mean_and_reports_coverage() -> None:
    s = series([(0, 60, 300), (120, 180, 100)])
    assert s.mean(at(0), at(180)) == pytest.approx(200)
    assert s.coverage(at(0), at(180)) == pytest.approx(2 / 3)
    assert s.mean(at(60), at(120)) is None
    assert s.coverage(at(60), at(120)) == 0.0
    assert s.coverage(at(-60), at(0)) == 0.0


def test_it_treats_steps_as_half_open_for_instants() -> None:
    s = series([(0, 60, 300), (60, 120, 100)])
    assert s.value_at(at(60)) == 100
    assert s.mean(at(60), at(60)) == 100
    assert s.value_at(at(120)) is None
    assert s.mean(at(120), at(120)) is None


def test_it_reports_its_extent_and_steps() -> None:
    s = series([(60, 120, 100), (0, 60, 300)])  # out of order on purpose: from_steps sorts
    assert len(s) == 2
    assert s.first_start == at(0)
    assert s.last_end == at(120)
    assert s.steps() == [(at(0), at(60), 300.0), (at(60), at(120), 100.0)]
    empty = StepSeries([], [], [])
    assert len(empty) == 0 and empty.first_start is None and empty.last_end is None
    assert empty.mean(at(0), at(10)) is None


def test_it_rejects_overlapping_or_empty_steps() -> None:
    with pytest.raises(ValueError):
        series([(0, 60, 1), (30, 90, 2)])
    with pytest.raises(ValueError):
        series([(0, 0, 1)])
    with pytest.raises(ValueError):
        StepSeries([0.0], [1.0, 2.0], [1.0])


def test_it_rejects_naive_datetimes() -> None:
    s = series([(0, 60, 1)])
    naive = datetime(2026, 3, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        s.mean(naive, at(10))
    with pytest.raises(ValueError, match="timezone-aware"):
        s.coverage(at(0), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        s.best_window(H, naive, at(10))
    with pytest.raises(ValueError, match="timezone-aware"):
        StepSeries.from_steps([(naive, naive + H, 1.0)])


# -- best window ---------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=window_problems())
def test_it_finds_the_same_best_window_as_brute_force(problem: tuple[Steps, int, int, int, int]) -> None:
    steps, duration, earliest, latest, need = problem
    s = series(steps)
    got = s.best_window(duration * MIN, at(earliest), at(latest), min_coverage=need / duration)
    want = ref_best(steps, duration, earliest, latest, need)
    if want is None:
        assert got is None
        return
    assert got is not None
    want_start, want_mean = want
    # Coverage crossings are computed in floats, so allow sub-millisecond noise on the start.
    assert abs((got.start - at(want_start)).total_seconds()) < 1e-3
    assert got.mean == pytest.approx(float(want_mean), rel=1e-9, abs=1e-9)
    assert got.end - got.start == duration * MIN
    assert got.coverage >= need / duration - 1e-6


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    problem=window_problems(),
    until=st.integers(min_value=0, max_value=600),
    latests=st.lists(st.integers(min_value=-5, max_value=700), min_size=1, max_size=8),
    seconds=st.integers(min_value=0, max_value=59),
)
def test_best_windows_from_one_scan_are_best_window_s_answers_bit_for_bit(
    problem: tuple[Steps, int, int, int, int], until: int, latests: list[int], seconds: int
) -> None:
    """One scan to `until` answers best_window for every latest: on candidates, between them
    (whole and odd seconds), at `until` and past it, with gaps and partial coverage."""
    steps, duration, earliest, _, need = problem
    s = series(steps)
    d, start = duration * MIN, at(earliest)
    table = s.best_windows_from(d, start, start + until * MIN, min_coverage=need / duration)
    for late in [0, until, *latests]:
        latest = start + late * MIN + (timedelta(seconds=seconds) if late % 3 == 0 else timedelta(0))
        if latest < start:
            with pytest.raises(ValueError):
                table.window(latest)
            continue
        assert table.window(latest) == s.best_window(d, start, latest, min_coverage=need / duration), late


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=step_lists(),
    duration=st.integers(1, 240),
    spans=st.lists(
        st.tuples(st.integers(-60, 700), st.integers(0, 400), st.sampled_from([0, 0, 0, 1, 30])), max_size=12
    ),
    near=st.booleans(),
)
def test_best_means_are_best_window_s_means_bit_for_bit(
    steps: Steps, duration: int, spans: list[tuple[int, int, int]], near: bool
) -> None:
    """best_means answers best_window's mean (None where it has no answer) for every span: on the
    knots and off them (odd seconds), over gaps, past the data, with ties and near-ties (values
    whose means differ only by rounding)."""
    if near:
        steps = [(a, b, 0.1 * (v % 3)) for a, b, v in steps]  # type: ignore[misc]
    s = series(steps)
    d = duration * MIN
    bounds = [
        (at(a) + timedelta(seconds=sec), at(a + length) + timedelta(seconds=sec)) for a, length, sec in spans
    ]
    got = s.best_means(d, [(a.timestamp(), b.timestamp()) for a, b in bounds])
    windows = [s.best_window(d, a, b) for a, b in bounds]
    want = [None if w is None else w.mean for w in windows]
    assert got == want
    assert repr(got) == repr(want)


def test_best_means_lets_the_scan_answer_where_rounding_moves_its_first_candidates() -> None:
    """From a = 0.1 s with d = 3 s, the scan's right-hand pointer starts past the knot at
    3.1 (= 0.1 + 3 rounded), whose knot - d is 0.10000000000000009 > a: the scan never visits it,
    so best_means must not either (it asks the scan)."""
    knot = 0.1 + 3.0
    assert knot - 3.0 > 0.1
    s = StepSeries([-10.0, 0.1, knot], [0.1, knot, 20.0], [7.0, 5.0, 1.0])
    with mock.patch.object(intensity, "_scan", wraps=intensity._scan) as scan:
        got = s.best_means(timedelta(seconds=3), [(0.1, 0.1), (0.1, knot), (knot - 3.0, knot)])
    assert scan.call_count == 2
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    want = [
        s.best_window(timedelta(seconds=3), epoch + timedelta(seconds=0.1), epoch + timedelta(seconds=b))
        for b in (0.1, knot)
    ]
    assert got[:2] == [w.mean if w is not None else None for w in want]


def test_best_means_rejects_what_best_window_rejects() -> None:
    s = series([(0, 600, 1)])
    assert s.best_means(timedelta(0), []) == []
    with pytest.raises(ValueError):
        s.best_means(timedelta(0), [(at(0).timestamp(), at(60).timestamp())])
    with pytest.raises(ValueError):
        s.best_means(H, [(at(60).timestamp(), at(0).timestamp())])
    assert StepSeries([], [], []).best_means(H, [(at(0).timestamp(), at(60).timestamp())]) == [None]


@settings(max_examples=200, deadline=None)
@given(
    steps=step_lists(),
    duration=st.integers(1, 240),
    offset=st.integers(-60, 600),
    span=st.integers(0, 900),
    jitter=st.integers(1, 59),
)
def test_it_beats_every_start_on_a_fine_grid_with_unaligned_bounds(
    steps: Steps, duration: int, offset: int, span: int, jitter: int
) -> None:
    # Earliest/latest off the minute grid: no grid start (every 15 s, plus each breakpoint and
    # breakpoint - duration inside the range) may beat the answer, and the answer's own mean
    # must be what mean() says for its run.
    s = series(steps)
    a = offset * 60 + jitter
    b = a + span * 60 + jitter
    d = duration * 60
    got = s.best_window(timedelta(seconds=d), T0 + timedelta(seconds=a), T0 + timedelta(seconds=b))
    secs = [(x * 60, y * 60, v) for x, y, v in steps]
    points = {a, b, *range(a, b + 1, 15)}
    for x, y, _ in secs:
        points |= {p for p in (x, y, x - d, y - d) if a <= p <= b}
    candidates = []
    for p in sorted(points):
        total, covered = ref_integral(secs, p, p + d)
        if covered == d:
            candidates.append((p, Fraction(total, covered)))
    if not candidates:
        assert got is None
        return
    assert got is not None
    assert a <= (got.start - T0).total_seconds() <= b
    assert s.coverage(got.start, got.end) == pytest.approx(1.0)
    assert got.mean == pytest.approx(s.mean(got.start, got.end), rel=1e-12)
    best = min(m for _, m in candidates)
    assert got.mean <= float(best) * (1 + 1e-9) + 1e-9
    first_best = min(p for p, m in candidates if m == best)
    assert (got.start - T0).total_seconds() <= first_best + 1e-6


def test_it_breaks_ties_towards_the_earliest_start() -> None:
    flat = series([(0, 600, 250)])
    w = flat.best_window(H, at(30), at(400))
    assert w == Window(start=at(30), end=at(90), mean=250.0, coverage=1.0)
    # Two equally good valleys: the first wins.
    valleys = series([(0, 60, 500), (60, 120, 100), (120, 180, 500), (180, 240, 100), (240, 300, 500)])
    w = valleys.best_window(H, at(0), at(240))
    assert w is not None and w.start == at(60) and w.mean == 100.0


def test_it_finds_the_optimum_between_uneven_steps() -> None:
    # The cheapest 60-minute run straddles two cheap steps of different lengths.
    s = series([(0, 50, 400), (50, 75, 80), (75, 110, 90), (110, 200, 500)])
    w = s.best_window(H, at(0), at(140))
    assert w is not None
    assert w.start == at(50)
    assert w.mean == pytest.approx((25 * 80 + 35 * 90) / 60)


def test_it_handles_earliest_equal_to_latest() -> None:
    s = series([(0, 60, 300), (60, 120, 100)])
    w = s.best_window(timedelta(minutes=30), at(45), at(45))
    assert w is not None and w.start == at(45)
    assert w.mean == pytest.approx((15 * 300 + 15 * 100) / 30)


def test_it_returns_none_when_the_run_is_longer_than_the_data() -> None:
    s = series([(0, 60, 300), (60, 120, 100)])
    assert s.best_window(3 * H, at(0), at(60)) is None
    # ...unless partial coverage is allowed: 2 h of data in a 3 h run is 2/3 covered.
    w = s.best_window(3 * H, at(0), at(60), min_coverage=2 / 3)
    assert w is not None and w.start == at(0) and w.coverage == pytest.approx(2 / 3)
    assert w.mean == pytest.approx(200)
    # At 60 % a later start qualifies too, and sliding to the exact 60 % boundary (12 minutes
    # later, 108 covered minutes) drops some of the dear first step: (48*300 + 60*100) / 108.
    w = s.best_window(3 * H, at(0), at(60), min_coverage=0.6)
    assert w is not None and w.start == at(12) and w.coverage == pytest.approx(0.6)
    assert w.mean == pytest.approx((48 * 300 + 60 * 100) / 108)


def test_it_skips_windows_that_span_a_gap_unless_allowed() -> None:
    s = series([(0, 60, 300), (60, 120, 10), (150, 300, 200)])
    w = s.best_window(H, at(0), at(240))
    assert w is not None and w.start == at(60) and w.mean == 10
    # From 00:30 every 2 h run up to 02:30 spans the gap, so the first one that qualifies is
    # the one at 02:30, dear as it is.
    w = s.best_window(2 * H, at(30), at(180))
    assert w is not None and w.start == at(150) and w.mean == 200
    # Allow a 30-minute gap in a 2 h run (75 %): [60, 180] = 60 min at 10 + 30 min at 200.
    w = s.best_window(2 * H, at(30), at(180), min_coverage=0.75)
    assert w is not None and w.start == at(60)
    assert w.mean == pytest.approx((60 * 10 + 30 * 200) / 90)


def test_it_returns_none_without_data() -> None:
    assert StepSeries([], [], []).best_window(H, at(0), at(60)) is None
    assert series([(0, 60, 1)]).best_window(H, at(500), at(600)) is None


def test_it_rejects_bad_window_arguments() -> None:
    s = series([(0, 600, 1)])
    with pytest.raises(ValueError):
        s.best_window(timedelta(0), at(0), at(60))
    with pytest.raises(ValueError):
        s.best_window(H, at(60), at(0))
    with pytest.raises(ValueError):
        s.best_window(H, at(0), at(60), min_coverage=0.0)
    with pytest.raises(ValueError):
        s.best_window(H, at(0), at(60), min_coverage=1.5)


# -- quality, energy, emissions, equivalents -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0, "excellent"),
        (99.99, "excellent"),
        (100, "good"),
        (199.99, "good"),
        (200, "moderate"),
        (399.99, "moderate"),
        (400, "poor"),
        (599.99, "poor"),
        (600, "very poor"),
        (1200, "very poor"),
    ],
)
def test_it_labels_quality_with_strict_upper_bounds(value: float, label: str) -> None:
    assert quality(value) == label


def test_it_computes_energy_with_the_default_model() -> None:
    # 500 GB -> 100 W base + 50 W/TB * 0.5 TB = 125 W; for 2 h that is 250 Wh = 0.25 kWh.
    assert energy_kwh(500, 2) == pytest.approx(0.25)
    # PUE 1.5 scales the whole draw: 0.375 kWh.
    assert energy_kwh(500, 2, pue=1.5) == pytest.approx(0.375)
    # Custom model: 200 W + 10 W/TB * 2 TB = 220 W for 30 min = 0.11 kWh.
    assert energy_kwh(2000, 0.5, base_watts=200, watts_per_tb=10) == pytest.approx(0.11)
    assert energy_kwh(0, 0) == 0.0
    with pytest.raises(ValueError):
        energy_kwh(-1, 1)
    with pytest.raises(ValueError):
        energy_kwh(1, 1, pue=0.9)


def test_it_computes_emissions_in_kilograms() -> None:
    # 0.25 kWh at 400 g/kWh = 100 g = 0.1 kg.
    assert emissions_kg(0.25, 400) == pytest.approx(0.1)
    assert emissions_kg(energy_kwh(500, 2), 400) == pytest.approx(0.1)
    assert emissions_kg(0, 400) == 0.0


def test_it_states_equivalents_with_their_constants() -> None:
    eq = equivalents(10.0)
    # ~251 g/km (EPA: 8,887 g per gallon at 22 mpg) and ~21.8 kg per tree-year (48 lb).
    assert CAR_G_CO2_PER_KM == pytest.approx(251.0, abs=0.5)
    assert 21.0 <= TREE_KG_CO2_PER_YEAR <= 25.0
    assert eq["km_driving"] == pytest.approx(10_000 / CAR_G_CO2_PER_KM)
    assert eq["km_driving"] == pytest.approx(39.84, abs=0.01)
    assert eq["tree_years"] == pytest.approx(10 / TREE_KG_CO2_PER_YEAR)
    assert eq["car_g_co2_per_km"] == CAR_G_CO2_PER_KM
    assert eq["tree_kg_co2_per_year"] == TREE_KG_CO2_PER_YEAR
    assert "EPA" in eq["note"]


@settings(max_examples=150, deadline=None)
@given(
    steps=step_lists(),
    values=st.lists(st.floats(0, 2000, allow_nan=False), min_size=12, max_size=12),
    duration=st.integers(60, 240 * 60),
    offset=st.integers(-3600, 36_000),
    span=st.integers(0, 54_000),
    min_coverage=st.floats(0.05, 1.0),
)
def test_it_is_never_beaten_with_real_valued_data_and_partial_coverage(
    steps: Steps, values: list[float], duration: int, offset: int, span: int, min_coverage: float
) -> None:
    # Arbitrary float values, second-resolution bounds and thresholds: exact ties are no longer
    # meaningful, so check the weaker properties -- the answer qualifies, its mean is the mean of
    # its run, and no start on a 30-second grid (plus every breakpoint) that qualifies beats it.
    s = StepSeries.from_steps((at(a), at(b), v) for (a, b, _), v in zip(steps, values, strict=False))
    earliest, latest = T0 + timedelta(seconds=offset), T0 + timedelta(seconds=offset + span)
    d = timedelta(seconds=duration)
    got = s.best_window(d, earliest, latest, min_coverage=min_coverage)
    points = {earliest, latest, *(earliest + timedelta(seconds=k) for k in range(0, span + 1, 30))}
    for a, b, _ in steps:
        points |= {p for p in (at(a), at(b), at(a) - d, at(b) - d) if earliest <= p <= latest}
    qualifying = [p for p in points if s.coverage(p, p + d) >= min_coverage]
    if got is None:
        assert not qualifying
        return
    assert earliest <= got.start <= latest
    assert s.coverage(got.start, got.end) >= min_coverage - 1e-6
    assert got.mean == pytest.approx(s.mean(got.start, got.end), rel=1e-6, abs=1e-6)
    for p in qualifying:
        assert got.mean <= s.mean(p, p + d) + 1e-6


@settings(max_examples=500, deadline=None)
@given(
    m1=st.one_of(st.floats(-1e12, 1e12), st.sampled_from([-1.0, 0.0, 1.0, 2.0, 313.7])),
    m2=st.floats(-1e12, 1e12),
)
def test_the_tie_bar_never_falls_as_the_mean_rises(m1: float, m2: float) -> None:
    """best_means relies on it: the lowest bar of some means is the bar of the lowest one
    (neighbouring floats included)."""
    for low, high in [sorted((m1, m2)), (m1, math.nextafter(m1, math.inf))]:
        assert intensity._bar(low) <= intensity._bar(high)
