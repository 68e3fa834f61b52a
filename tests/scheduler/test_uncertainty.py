"""Forecast error by lead time and planning against it (scheduler.uncertainty)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon.intensity import StepSeries
from scheduler.planner import PlanRequest, plan_job
from scheduler.uncertainty import (
    RISK_QUANTILE,
    issue_errors,
    learn_errors,
    risk_quantile,
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


def test_a_cautious_plan_does_not_wait_for_a_dip_smaller_than_the_usual_error():
    # The forecast promises 5 % less in 3 hours; this forecast is often 10 % too optimistic there.
    pairs = [([100.0] * 6, [100.0, 100.0, 103.0, 100.0 + (i % 11), 100.0, 100.0]) for i in range(60)]
    profile = learn_errors(pairs, STEP)
    fc = hourly([100, 100, 100, 95, 100, 100])
    req = PlanRequest(key="j", earliest=T0, latest=T0 + 4 * H, duration=H)

    greedy = plan_job(profile.pessimistic(fc, T0, risk_quantile("greedy")), req, now=T0)
    assert greedy.start == T0 + 3 * H  # the forecast as it is: wait for the dip
    cautious = plan_job(profile.pessimistic(fc, T0, risk_quantile("cautious")), req, now=T0)
    assert cautious.start == T0  # 5 % < the 90th percentile of the error at 3 h: start now

    sure = profile.sureness(fc, T0, T0 + 3 * H, H)
    assert sure is not None
    assert sure.forecast_pct == pytest.approx(5.0)
    assert sure.worst_pct < 0 < sure.likely_pct
    assert "likely saving" in sure.text() and "at worst +" in sure.text()


def test_a_big_dip_is_worth_the_wait_even_for_a_cautious_plan():
    pairs = [([100.0] * 6, [100.0, 100.0, 100.0, 100.0 + (i % 11), 100.0, 100.0]) for i in range(60)]
    profile = learn_errors(pairs, STEP)
    fc = hourly([100, 100, 100, 60, 100, 100])
    req = PlanRequest(key="j", earliest=T0, latest=T0 + 4 * H, duration=H)
    assert plan_job(profile.pessimistic(fc, T0, RISK_QUANTILE["cautious"]), req, now=T0).start == T0 + 3 * H


def test_it_names_the_risk_settings():
    assert risk_quantile("greedy") is None
    assert 0.5 < risk_quantile("balanced") < risk_quantile("cautious") < 1
    with pytest.raises(ValueError, match="unknown risk setting 'reckless'"):
        risk_quantile("reckless")
