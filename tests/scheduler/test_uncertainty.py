"""Forecast error by lead time and planning against it (scheduler.uncertainty)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon.intensity import StepSeries
from scheduler.planner import PlanRequest, plan_job
from scheduler.uncertainty import (
    RISK_LEVELS,
    ErrorProfile,
    RiskRule,
    choose,
    issue_errors,
    learn_errors,
    profile_from_errors,
    risk_rule,
)

T0 = datetime(2024, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)
STEP = 3600.0


def hourly(values: list[float]) -> StepSeries:
    return StepSeries.from_steps((T0 + i * H, T0 + (i + 1) * H, v) for i, v in enumerate(values))


def test_it_measures_the_error_of_the_change_from_now_by_lead():
    # Forecast flat 100; actual 100 now, then 110, 90: D = +10 %, -10 % (relative to now).
    d = issue_errors([100.0, 100.0, 100.0], [100.0, 110.0, 90.0], STEP)
    assert d == pytest.approx([0.0, 0.10, -0.10])
    # A forecast wrong by the same amount everywhere has no error in the change from now.
    assert issue_errors([50.0, 60.0, 70.0], [100.0, 110.0, 120.0], STEP) == pytest.approx([0.0, 0.0, 0.0])
    # The first hour unknown: the issue cannot be used.
    assert issue_errors([None, 1.0], [1.0, 1.0], STEP) is None


def _reference_issue_errors(
    fc: list[float | None], act: list[float | None], step_s: float
) -> list[float | None] | None:
    """issue_errors one lead at a time, every window clipped to the grid (the code it replaced)."""
    now_n = max(1, round(3600.0 / step_s))
    f0 = [v for v in fc[:now_n] if v is not None]
    a0 = [v for v in act[:now_n] if v is not None]
    if len(f0) < now_n or len(a0) < now_n:
        return None
    base_f, base_a = sum(f0) / now_n, sum(a0) / now_n
    if base_a <= 0:
        return None
    off = base_a - base_f
    errs = [(a - f) if a is not None and f is not None else None for f, a in zip(fc, act, strict=False)]
    half = now_n // 2
    out: list[float | None] = []
    for k in range(len(errs) - (now_n - half) + 1):
        window = errs[max(0, k - half) : min(len(errs), k - half + now_n)]
        if any(e is None for e in window):
            out.append(None)
        else:
            out.append((sum(window) / len(window) - off) / base_a)  # type: ignore[arg-type]
    return out


values = st.lists(st.floats(min_value=-50, max_value=900, allow_nan=False), max_size=40)
holes = st.sets(st.integers(0, 39), max_size=4)


@settings(max_examples=400, deadline=None)
@given(fc=values, act=values, fc_holes=holes, act_holes=holes, step_s=st.sampled_from([300.0, 900.0, 3600.0, 7200.0]))
def test_issue_errors_are_the_one_lead_at_a_time_errors_bit_for_bit(fc, act, fc_holes, act_holes, step_s):
    fc_: list[float | None] = [None if i in fc_holes else v for i, v in enumerate(fc)]
    act_: list[float | None] = [None if i in act_holes else v for i, v in enumerate(act)]
    assert issue_errors(fc_, act_, step_s) == _reference_issue_errors(fc_, act_, step_s)


def test_it_learns_quantiles_by_lead_and_needs_enough_issues():
    # 40 issues whose lead-2 error is 0, 1, ..., 39 %.
    pairs = [([100.0, 100.0, 100.0], [100.0, 100.0, 100.0 + i]) for i in range(40)]
    profile = learn_errors(pairs, STEP)
    assert profile.issues == 40
    assert profile.quantile(2 * STEP, 0.5) == pytest.approx(0.195)
    assert profile.quantile(2 * STEP, 0.9) == pytest.approx(0.351)
    assert profile.quantile(0, 0.9) == 0.0
    assert profile.quantile(10 * STEP, 0.9) == pytest.approx(0.351)  # beyond: the last lead learned
    few = learn_errors(pairs[:5], STEP)
    assert few.quantile(2 * STEP, 0.9) == 0.0  # too few issues to say: plan on the forecast


def profile_with_errors(errors_by_lead: dict[int, list[float]], leads: int = 8) -> ErrorProfile:
    """Past issues of a flat 100 forecast whose actual was 100 + e at lead k (e % from the list
    for lead k, cycling through it; 0 at the other leads)."""
    n = max((len(v) for v in errors_by_lead.values()), default=0)
    pairs = []
    for i in range(n * math.ceil(60 / n) if n else 60):  # whole cycles: the lists' own shares
        act = [100.0] * leads
        for k, errs in errors_by_lead.items():
            act[k] = 100.0 + errs[i % len(errs)]
        pairs.append(([100.0] * leads, act))
    return learn_errors(pairs, STEP)


def rule_start(profile: ErrorProfile, fc: StepSeries, rule: RiskRule | None, latest_h: int = 6) -> datetime:
    if rule is None:  # greedy: the forecast as it is
        return plan_job(
            fc, PlanRequest(key="j", earliest=T0, latest=T0 + latest_h * H, duration=H), now=T0
        ).start
    pick = choose(profile.assess(fc, T0, T0, T0 + latest_h * H, H), rule)
    assert pick is not None
    return pick.start


def test_it_measures_the_error_of_a_whole_run_against_nows_run():
    # Lead 2 turned out 10 % dirtier than forecast (relative to now) in every issue.
    profile = profile_with_errors({2: [10.0]})
    assert profile.run_errors(1, 0, 2).quantile(0.5) == pytest.approx(0.10)
    assert profile.run_errors(2, 0, 1).quantile(0.5) == pytest.approx(0.05)  # a 2 h run from lead 1
    assert profile.run_errors(2, 0, 0).xs == (0.0,) * 60  # "now" against itself
    assert profile.run_errors(1, 0, 99).quantile(0.5) == 0.0  # beyond the learned leads: the last
    assert learn_errors([([100.0] * 3, [100.0] * 3)] * 5, STEP).run_errors(1, 0, 2).xs == ()  # too few


def test_a_clean_looking_far_window_with_a_large_error_is_not_chosen_under_cautious():
    # 8 % less in 5 hours; there the forecast has been anywhere from 20 % too optimistic to 20 %
    # too pessimistic (a 30 % chance of ending dirtier than now).
    profile = profile_with_errors({5: [float(e) for e in range(-20, 21)]})
    fc = hourly([100, 100, 100, 100, 100, 92, 100, 100])
    assert rule_start(profile, fc, risk_rule("greedy")) == T0 + 5 * H
    assert rule_start(profile, fc, risk_rule("cautious")) == T0  # start now
    cands = profile.assess(fc, T0, T0, T0 + 6 * H, H)
    far = next(c for c in cands if c.start == T0 + 5 * H)
    assert far.forecast_pct == pytest.approx(8.0)
    assert far.worse_prob == pytest.approx(12 / 41)  # errors of +9 .. +20 %
    assert far.expected_pct == pytest.approx(8.0)  # the error's mean is 0


def test_a_certain_gain_is_taken_by_every_setting():
    # The forecast has never been wrong: a 3 % dip is a 3 % saving.
    profile = profile_with_errors({})
    fc = hourly([100, 100, 100, 97, 100, 100, 100, 100])
    for risk in RISK_LEVELS:
        assert rule_start(profile, fc, risk_rule(risk)) == T0 + 3 * H


def test_a_gain_the_forecast_usually_overstates_is_discounted():
    # At lead 3 the actual always came 6 % dirtier than forecast: a 5 % dip there is a 1 % loss.
    profile = profile_with_errors({3: [6.0]})
    fc = hourly([100, 100, 100, 95, 100, 100, 100, 100])
    cands = profile.assess(fc, T0, T0, T0 + 6 * H, H)
    at3 = next(c for c in cands if c.start == T0 + 3 * H)
    assert at3.expected_pct == pytest.approx(-1.0) and at3.worse_prob == 1.0
    assert rule_start(profile, fc, risk_rule("balanced")) == T0


def test_the_hedge_takes_the_earlier_of_two_close_windows():
    # 10 % less in 1 hour, 11 % less in 5 hours; the error band (inter-quartile range) at both
    # leads is 4 points wide, the gap between them 1 point: a close call.
    errs = [float(e) for e in range(-4, 5)]
    profile = profile_with_errors({1: errs, 5: errs})
    fc = hourly([100, 90, 100, 100, 100, 89, 100, 100])
    assert rule_start(profile, fc, RiskRule(max_worse=0.5, hedge=0.0)) == T0 + 5 * H  # the best
    assert rule_start(profile, fc, RiskRule(max_worse=0.5, hedge=0.5)) == T0 + 1 * H  # the hedge
    # Not a close call: 20 % less in 5 hours is taken even with the hedge.
    fc2 = hourly([100, 90, 100, 100, 100, 80, 100, 100])
    assert rule_start(profile, fc2, RiskRule(max_worse=0.5, hedge=0.5)) == T0 + 5 * H


def test_a_wait_must_beat_now_by_a_share_of_the_best_starts_error_band():
    # 8 % less in 3 hours, where the forecast's error band (inter-quartile range) is 12 points:
    # balanced asks for half a band (6 points) and waits; cautious asks for more and starts now.
    profile = profile_with_errors({3: [float(e) for e in range(-10, 11, 2)]})
    fc = hourly([100, 100, 100, 92, 100, 100, 100, 100])
    at3 = next(c for c in profile.assess(fc, T0, T0, T0 + 6 * H, H) if c.start == T0 + 3 * H)
    assert at3.band_pct == pytest.approx(12.0) and at3.expected_pct == pytest.approx(8.0)
    assert rule_start(profile, fc, risk_rule("balanced")) == T0 + 3 * H
    assert rule_start(profile, fc, risk_rule("cautious")) == T0


def test_a_gamble_on_the_best_start_is_not_traded_for_a_smaller_later_one():
    # The forecast's best start (12 % less in 5 hours) is a gamble: its error band is 40 points.
    # A surer 3 % dip in 1 hour would only send the job waiting, and the re-plans would then
    # chase the forecast's best as usual: the rule starts now instead.
    profile = profile_with_errors({5: [float(e) for e in range(-40, 41)]})
    fc = hourly([100, 97, 100, 100, 100, 88, 100, 100])
    assert rule_start(profile, fc, risk_rule("greedy")) == T0 + 5 * H
    assert rule_start(profile, fc, risk_rule("balanced")) == T0
    # A limit on the chance of ending dirtier alone (the 5 h start: 35 %) would have waited 1 h.
    assert rule_start(profile, fc, RiskRule(max_worse=0.25)) == T0 + 1 * H


def test_with_a_perfect_forecast_every_setting_picks_the_optimum():
    values = [100 + 40 * math.sin(i / 3) + (i * 37 % 11) for i in range(30)]
    profile = profile_with_errors({}, leads=30)
    fc = hourly(values)
    for latest_h in (4, 8, 20):
        best = fc.best_window(H, T0, T0 + latest_h * H)
        assert best is not None
        for risk in RISK_LEVELS:
            assert rule_start(profile, fc, risk_rule(risk), latest_h) == best.start


def test_the_plan_says_how_sure_it_is():
    profile = profile_with_errors({3: [float(e) for e in range(0, 11)]})  # 0 .. 10 % too optimistic
    fc = hourly([100, 100, 100, 80, 100, 100])
    sure = profile.sureness(fc, T0, T0 + 3 * H, H)
    assert sure is not None
    assert sure.forecast_pct == pytest.approx(20.0)
    assert sure.likely_pct == pytest.approx(15.0)  # the median error, 5 %, taken off
    assert sure.worst_pct == pytest.approx(11.0)  # the 90th percentile, 9 %
    assert "likely saving 15 %" in sure.text() and "at worst 11 % saved" in sure.text()


def test_it_names_the_risk_settings():
    assert risk_rule("greedy") is None
    cautious, balanced = risk_rule("cautious"), risk_rule("balanced")
    assert cautious is not None and balanced is not None
    assert 0 < balanced.hedge < cautious.hedge  # cautious asks a wait for a larger margin
    with pytest.raises(ValueError, match="unknown risk setting 'reckless'"):
        risk_rule("reckless")


@settings(max_examples=200, deadline=None)
@given(
    errors=st.dictionaries(
        st.integers(0, 7), st.lists(st.integers(-30, 30).map(float), min_size=1, max_size=9), max_size=4
    ),
    values=st.lists(st.integers(0, 300).map(float), min_size=8, max_size=8),
    max_worse=st.sampled_from([-0.1, 0.0, 0.1, 0.25, 0.5, 1.0]),
    min_expected=st.sampled_from([-5.0, 0.0, 2.0]),
    hedge=st.sampled_from([0.0, 0.5, 2.0]),
    latest_q=st.integers(-1, 30),
    hours=st.integers(1, 2),
)
def test_choose_start_is_choose_on_the_candidates(
    errors, values, max_worse, min_expected, hedge, latest_q, hours
):
    """Runs.choose_start (the backtest's path) picks the start choose() picks from the same
    runs' candidates, for any rule and latest start (before, inside and after the runs)."""
    profile = profile_with_errors(errors)
    runs = profile.runs(hourly(values), T0, T0, T0 + 6 * H, hours * H)
    rule = RiskRule(max_worse=max_worse, min_expected_pct=min_expected, hedge=hedge)
    latest = T0 + latest_q * timedelta(minutes=15)
    for cut in (latest, None):
        pick = choose(runs.candidates(), rule, latest=cut)
        assert runs.choose_start(rule, latest=cut) == (pick.start if pick is not None else None)


def test_a_profile_reuses_an_earlier_profile_s_run_means_for_the_same_vectors():
    # Yesterday's profile and today's share most vectors (the same objects): today's run
    # errors are those of a profile learned afresh, and the shared vectors' means are reused.
    vectors = [
        tuple(None if (i + k) % 17 == 0 else ((i * 7 + k * 3) % 11 - 5) / 100 for k in range(12))
        for i in range(60)
    ]
    yesterday = profile_from_errors(vectors[:50], STEP)
    for lead in range(12):
        yesterday.run_errors(2, 0, lead)
    today = profile_from_errors(vectors[10:] + [None], STEP, previous=yesterday)
    fresh = profile_from_errors([tuple(v) for v in map(list, vectors[10:])], STEP)
    for steps in (2, 3):
        for lead in range(12):
            assert today.run_errors(steps, 0, lead) == fresh.run_errors(steps, 0, lead)
    assert today._means[2][0] is yesterday._means[2][10]  # reused, not recomputed
    assert fresh._means[2][0] is not yesterday._means[2][10]


def _reference_runs(
    profile: ErrorProfile, series: StepSeries, now: datetime, lo: datetime, hi: datetime, d: timedelta
):
    """ErrorProfile.runs' starts as first written: one datetime at a time."""
    steps = max(1, round(d.total_seconds() / profile.step_s))
    ref = max(0, round((lo - now).total_seconds() / profile.step_s))
    out: list = []
    k = 0
    while True:
        s = lo + timedelta(seconds=k * profile.step_s)
        if s > hi:
            if out and out[-1][0] < hi:
                s = hi
            else:
                break
        if series.coverage(s, s + d) >= 1 - 1e-9:
            lead = round((s - now).total_seconds() / profile.step_s)
            out.append((s, series.mean(s, s + d), profile.run_errors(steps, ref, lead)))
        if s >= hi:
            break
        k += 1
    return tuple(out)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(1, 300).map(float)), min_size=4, max_size=12),
    lo_min=st.integers(0, 120),
    span_min=st.integers(-30, 8 * 60),
    d_min=st.integers(1, 150),
    micro=st.sampled_from([0, 1, 500_000]),
)
def test_runs_are_the_straightforward_starts_whole_seconds_or_not(values, lo_min, span_min, d_min, micro):
    """runs() (epoch seconds when every time is whole) gives the starts, forecast means and run
    errors of the one-datetime-at-a-time loop: grid starts, the latest start off the grid, gaps,
    and times with microseconds (the datetime path)."""
    profile = profile_with_errors({1: [5.0, -5.0, 10.0], 3: [-8.0, 2.0]}, leads=12)
    series = StepSeries.from_steps(
        (T0 + i * H, T0 + (i + 1) * H, v) for i, v in enumerate(values) if v is not None
    )
    if not len(series):
        return
    minute = timedelta(minutes=1)
    lo = T0 + lo_min * minute + timedelta(microseconds=micro)
    hi, d = lo + span_min * minute, d_min * minute
    got = profile.runs(series, T0, lo, hi, d)
    if got.runs:
        assert got.runs == _reference_runs(profile, series, T0, lo, hi, d)
