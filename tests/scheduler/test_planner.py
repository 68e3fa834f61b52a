"""The single-job planner and re-planning: examples, then properties against brute force."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from carbon.intensity import StepSeries
from scheduler.planner import Decision, PlanRequest, plan_job, plan_job_start, replan, replan_start

T0 = datetime(2024, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)


def hourly(values: list[float], start: datetime = T0) -> StepSeries:
    return StepSeries.from_steps((start + i * H, start + (i + 1) * H, v) for i, v in enumerate(values))


def req(
    earliest: datetime = T0, latest: datetime = T0 + 4 * H, duration: timedelta = 2 * H, **kw
) -> PlanRequest:
    return PlanRequest(key=kw.pop("key", "j1"), earliest=earliest, latest=latest, duration=duration, **kw)


# A dirty evening followed by a clean night: 340, 340, 300, 212, 212, 212, 340 ...
EVENING = hourly([340, 340, 300, 212, 212, 212, 340, 340])


def test_it_picks_the_window_with_the_lowest_mean_over_the_whole_run():
    d = plan_job(EVENING, req(), now=T0)
    assert d.start == T0 + 3 * H
    assert d.end == T0 + 5 * H
    assert d.strategy == "best_window"
    assert d.expected_intensity == 212
    assert d.now_intensity == 340
    assert round(d.expected_saving_pct) == 38
    assert d.reason == "Best 2 h window 03:00-05:00 UTC averages 212 g/kWh vs 340 starting now: 38% less."


def test_it_judges_the_whole_run_not_the_first_instant():
    # Starting at 01:00 begins on the cheapest hour but runs into a spike; 03:00 is better overall.
    series = hourly([500, 100, 900, 250, 250, 300])
    d = plan_job(series, req(latest=T0 + 3 * H), now=T0)
    assert d.start == T0 + 3 * H
    assert d.expected_intensity == 250


def test_it_starts_now_when_the_run_starting_now_is_at_or_below_the_threshold():
    series = hourly([200, 200, 50, 50, 50, 50])
    d = plan_job(series, req(threshold=200), now=T0)
    assert d.start == T0
    assert d.strategy == "threshold_now"
    assert "at or below the 200 g/kWh threshold" in d.reason


def test_it_uses_the_best_window_when_now_is_above_the_threshold():
    d = plan_job(EVENING, req(threshold=300), now=T0)
    assert d.start == T0 + 3 * H
    assert "above the 300 g/kWh threshold" in d.reason


def test_it_never_starts_in_the_past_or_before_earliest():
    series = hourly([100, 100, 500, 500, 500, 500, 500, 500])
    d = plan_job(series, req(earliest=T0 - 2 * H), now=T0 + 2 * H)
    assert d.start == T0 + 2 * H
    assert d.strategy == "best_window"
    assert d.reason.startswith("Starting now")


def test_it_starts_at_once_without_a_forecast_and_says_why():
    d = plan_job(None, req(), now=T0 + 30 * timedelta(minutes=1))
    assert d.start == T0 + timedelta(minutes=30)
    assert d.strategy == "no_forecast"
    assert d.expected_intensity is None
    assert "No forecast" in d.reason


def test_it_starts_at_the_fallback_time_clamped_into_the_window():
    empty = StepSeries([], [], [])
    d = plan_job(empty, req(), now=T0, fallback_start=T0 + 2 * H)
    assert (d.start, d.strategy) == (T0 + 2 * H, "fallback_time")
    late = plan_job(empty, req(), now=T0, fallback_start=T0 + 10 * H)
    assert late.start == T0 + 4 * H  # never after latest


def test_it_says_when_the_forecast_does_not_cover_the_window():
    d = plan_job(hourly([100, 100], start=T0 + 20 * H), req(), now=T0)
    assert d.strategy == "no_forecast"
    assert "does not cover" in d.reason


def test_it_starts_at_once_when_the_latest_start_has_passed():
    d = plan_job(EVENING, req(latest=T0 + H), now=T0 + 2 * H)
    assert (d.start, d.strategy) == (T0 + 2 * H, "overdue")


def test_it_puts_the_date_in_the_reason_for_another_day():
    series = hourly([400] * 26 + [100, 100, 400])
    d = plan_job(series, req(latest=T0 + 27 * H), now=T0)
    assert "2024-03-02 02:00-04:00 UTC" in d.reason


def test_it_serialises_to_json_with_utc_z_times():
    d = plan_job(EVENING, req(), now=T0, sources=["csv"])
    data = json.loads(json.dumps(d.to_dict()))
    assert data["start"] == "2024-03-01T03:00:00Z"
    assert data["inputs"]["series_first"] == "2024-03-01T00:00:00Z"
    assert data["inputs"]["points"] == 8
    assert data["inputs"]["sources"] == ["csv"]


def test_it_replans_pending_jobs_within_their_original_windows():
    first = plan_job(EVENING, req(key="a"), now=T0)
    assert first.start == T0 + 3 * H
    # A newer forecast: the clean spell now comes earlier.
    newer = hourly([340, 100, 100, 400, 400, 400, 400, 400])
    result = replan([req(key="a")], {"a": first}, newer, now=T0 + timedelta(minutes=30))
    d = result.decisions["a"]
    assert result.changed == ["a"]
    assert d.start == T0 + H
    assert d.inputs["earliest"] == "2024-03-01T00:00:00Z"  # the original window


def test_it_keeps_started_jobs_and_small_improvements_when_replanning():
    a = plan_job(EVENING, req(key="a"), now=T0)
    started = Decision("b", T0, T0 + 2 * H, 340, 340, 0.0, "x", "best_window", {})
    slightly = hourly([340, 340, 300, 212, 212, 209, 340, 340])  # 0.7% better one hour later
    result = replan([req(key="a"), req(key="b")], {"a": a, "b": started}, slightly, now=T0 + H)
    assert result.changed == []
    assert result.decisions["a"].start == T0 + 3 * H
    assert "keeping" in result.decisions["a"].reason
    assert result.decisions["b"] is started


def test_it_replans_a_fleet_against_capacity_counting_running_jobs():
    running = Decision("r", T0, T0 + 4 * H, 300, 300, 0.0, "x", "best_window", {})
    pending = req(key="p", latest=T0 + 5 * H)
    result = replan(
        [pending, req(key="r", group="")],
        {"r": running},
        {"": EVENING},
        now=T0 + H,
        capacity=1,
    )
    # 03:00 is cleanest but the running job holds the only slot until 04:00.
    assert result.decisions["p"].start == T0 + 4 * H
    assert result.changed == ["p"]


# -- properties against brute force ------------------------------------------------------------

QUARTER = timedelta(minutes=15)


@st.composite
def situations(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    values = draw(st.lists(st.integers(min_value=0, max_value=800), min_size=n, max_size=n))
    series = StepSeries.from_steps(
        (T0 + i * QUARTER, T0 + (i + 1) * QUARTER, float(v)) for i, v in enumerate(values)
    )
    minute = timedelta(minutes=1)
    earliest = T0 + draw(st.integers(min_value=-60, max_value=n * 15)) * minute
    latest = earliest + draw(st.integers(min_value=0, max_value=8 * 60)) * minute
    duration = draw(st.integers(min_value=1, max_value=4 * 60)) * minute
    now = T0 + draw(st.integers(min_value=-60, max_value=n * 15)) * minute
    threshold = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=800).map(float)))
    return series, PlanRequest("k", earliest, latest, duration, threshold), now


def brute_best(series: StepSeries, r: PlanRequest, lo: datetime) -> float | None:
    """Lowest mean over fully covered runs starting on any minute in [lo, latest]."""
    best = None
    t = lo
    while t <= r.latest:
        if series.coverage(t, t + r.duration) >= 1 - 1e-9:
            m = series.mean(t, t + r.duration)
            best = m if best is None else min(best, m)
        t += timedelta(minutes=1)
    return best


@settings(max_examples=150, deadline=None)
@given(situations())
def test_it_stays_in_the_window_and_is_never_worse_than_now_or_brute_force(case):
    series, r, now = case
    d = plan_job(series, r, now=now)
    lo = max(r.earliest, now)
    if lo > r.latest:
        assert d.start == lo and d.strategy == "overdue"
        return
    assert lo <= d.start <= r.latest
    assert d.end == d.start + r.duration
    if d.expected_intensity is not None:
        assert abs(d.expected_intensity - series.mean(d.start, d.end)) < 1e-6
    if d.now_intensity is not None:
        assert d.expected_intensity <= d.now_intensity + 1e-9
    brute = brute_best(series, r, lo)
    if brute is None:
        assert d.strategy in ("no_forecast", "threshold_now") or d.expected_intensity is not None
    elif d.strategy == "best_window":
        assert d.expected_intensity <= brute + 1e-6


@settings(max_examples=100, deadline=None)
@given(situations())
def test_it_follows_the_threshold_rule(case):
    series, r, now = case
    d = plan_job(series, r, now=now)
    lo = max(r.earliest, now)
    if lo > r.latest or r.threshold is None:
        return
    now_run = series.mean(lo, lo + r.duration) if series.coverage(lo, lo + r.duration) >= 1 - 1e-9 else None
    if now_run is not None and now_run <= r.threshold:
        assert d.start == lo and d.strategy == "threshold_now"
    else:
        assert d.strategy != "threshold_now"


@settings(max_examples=300, deadline=None)
@given(
    situations(),
    st.integers(min_value=-60, max_value=10 * 60),
    st.integers(min_value=-60, max_value=60),
    st.sampled_from([0.0, 1.0, 5.0]),
)
def test_the_text_free_planner_gives_plan_job_s_and_replan_s_starts(case, previous, later, gain):
    """plan_job_start and replan_start (the backtest's hot path) answer the start plan_job and
    replan answer, for any previous start (past, kept, moved), with a threshold or without."""
    series, r, now = case
    assert plan_job_start(series, r, now=now) == plan_job(series, r, now=now).start
    assert plan_job_start(None, r, now=now) == plan_job(None, r, now=now).start
    prev_start = T0 + previous * timedelta(minutes=1)
    prev = Decision(r.key, prev_start, prev_start + r.duration, None, None, None, "", "best_window")
    at = now + later * timedelta(minutes=1)
    for on in (series, None):
        expected = replan([r], {r.key: prev}, on, now=at, min_gain_pct=gain).decisions[r.key].start
        assert replan_start(on, r, prev_start, now=at, min_gain_pct=gain) == expected
