"""The planner: when should a backup start? Pure logic, no ORM, no settings.

Callers (``scheduler.services`` and the tasks) build a :class:`~carbon.intensity.StepSeries` for a
zone (actual readings before now, the latest forecast after) and pass plain values in; the
planner returns :class:`Decision` values that they store and show.

One job, :func:`plan_job`, in these steps:

1. The candidate starts are ``[lo, latest]`` with ``lo = max(earliest, now)``: never before the
   job's earliest start, never in the past, never after its latest start. If ``lo > latest`` the
   latest start has already passed: the job starts at once (strategy ``overdue``).
2. "Now" is the run starting at ``lo``. Its mean over the whole run is computed if the series
   covers that run (``min_coverage``); otherwise the "now" figure is unknown (None).
3. With a threshold: if the run starting now averages at or below it, start now
   (``threshold_now``). This is HyperSDK's rule made duration-aware: the whole run counts, not
   the instant.
4. Otherwise the best window: the start in ``[lo, latest]`` whose mean over the *whole* run is
   lowest (``StepSeries.best_window``; ties go to the earliest start). If that is not strictly
   better than starting now, start now, so the plan is never worse than "now" on the series it
   used and a job is never delayed for nothing (``best_window`` either way).
5. If no start in the window is covered by the series (no forecast at all, or it ends too
   early): start at once (``no_forecast``), or at ``fallback_start`` clamped into the window
   (``fallback_time``), and say why.

Many jobs under a capacity per zone or target are planned by :func:`scheduler.fleet.plan_fleet`
(same types, same Decision; its steps and guarantees are documented there).

:func:`replan` re-plans jobs that have not started yet against a newer series, within their
original windows, and reports which decisions changed; a small hysteresis keeps a job on its
current start unless the new best is clearly better. With a capacity it hands the waiting jobs
to ``plan_fleet``; without, it re-plans each with :func:`plan_job`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from carbon.intensity import StepSeries, Window
from scheduler.fleet import plan_fleet
from scheduler.plan_types import (
    STRATEGIES,
    Decision,
    PlanRequest,
    ReplanResult,
    fmt_duration,
    fmt_span,
    iso,
    overdue_reason,
    saving_pct,
    series_summary,
    threshold_reason,
)

# The shared types and helpers live in scheduler.plan_types; re-exported here, where callers have
# always imported them from.
__all__ = [
    "STRATEGIES",
    "Decision",
    "PlanRequest",
    "ReplanResult",
    "fmt_duration",
    "fmt_span",
    "iso",
    "overdue_reason",
    "plan_job",
    "plan_job_start",
    "replan",
    "replan_start",
    "saving_pct",
    "series_summary",
    "threshold_reason",
]

# A later start must beat "now" by more than this (relative) to be worth a delay: float noise in
# prefix integrals must not postpone a job for a 1e-12 "saving".
_GAIN_RTOL = 1e-9


def _request_inputs(req: PlanRequest, now: datetime) -> dict[str, Any]:
    return {
        "now": iso(now),
        "earliest": iso(req.earliest),
        "latest": iso(req.latest),
        "duration_s": req.duration.total_seconds(),
        "threshold": req.threshold,
    }


# -- one job ------------------------------------------------------------------------------------


def plan_job(
    series: StepSeries | None,
    req: PlanRequest,
    *,
    now: datetime,
    fallback_start: datetime | None = None,
    min_coverage: float = 1.0,
    sources: Iterable[str] = (),
) -> Decision:
    """Plan one job on ``series`` (see the module docstring for the steps and guarantees).

    ``min_coverage``: the fraction of a run the series must cover for that start to count (1.0:
    fully covered). ``sources`` only goes into ``inputs`` (e.g. {"electricitymaps", "forecaster"}).
    """
    d = req.duration
    strategy, start, expected, now_value, best = _decide(
        series, req, now=now, fallback_start=fallback_start, min_coverage=min_coverage
    )
    lo = max(req.earliest, now)
    hi = req.latest
    inputs = {**_request_inputs(req, now), **series_summary(series, sources)}
    has_data = series is not None and len(series) > 0
    dur = fmt_duration(d)

    def decide(start: datetime, expected: float | None, reason: str, strategy: str) -> Decision:
        return Decision(
            key=req.key,
            start=start,
            end=start + d,
            expected_intensity=expected,
            now_intensity=now_value,
            expected_saving_pct=saving_pct(now_value, expected),
            reason=reason,
            strategy=strategy,
            inputs=inputs,
        )

    if strategy == "overdue":
        return decide(lo, now_value, overdue_reason(hi, now_value), strategy)
    if strategy == "threshold_now":
        assert req.threshold is not None and now_value is not None  # the threshold rule applied
        return decide(lo, now_value, threshold_reason(dur, now_value, req.threshold), strategy)
    if best is None:
        span = fmt_span(lo, hi + d, lo)
        why = "No forecast" if not has_data else "The forecast does not cover"
        if strategy == "fallback_time":
            return decide(
                start,
                None,
                f"{why} for {span}: starting at the fallback time {iso(start)}.",
                strategy,
            )
        return decide(lo, None, f"{why} for {span}: starting at once.", strategy)

    above = ""
    if req.threshold is not None and now_value is not None:
        above = f" (above the {req.threshold:.0f} g/kWh threshold)"
    if strategy == "now":
        assert now_value is not None  # "now" is known and no later start is cleaner
        return decide(
            lo,
            now_value,
            f"Starting now: the {dur} run starting now averages {now_value:.0f} g/kWh{above} "
            f"and no later start before {iso(hi)} is cleaner.",
            "best_window",
        )
    span = fmt_span(best.start, best.end, lo)
    if now_value is not None:
        pct = saving_pct(now_value, best.mean)
        less = f": {pct:.0f}% less" if pct is not None else ""  # None: "now" is 0 (or below)
        reason = (
            f"Best {dur} window {span} averages {best.mean:.0f} g/kWh vs {now_value:.0f} "
            f"starting now{above}{less}."
        )
    else:
        reason = (
            f"Best {dur} window {span} averages {best.mean:.0f} g/kWh "
            "(the run starting now is not covered by the forecast)."
        )
    return decide(best.start, best.mean, reason, "best_window")


def _decide(
    series: StepSeries | None,
    req: PlanRequest,
    *,
    now: datetime,
    fallback_start: datetime | None = None,
    min_coverage: float = 1.0,
) -> tuple[str, datetime, float | None, float | None, Window | None]:
    """plan_job's choice without its texts: (how, start, expected intensity, "now"'s intensity,
    the best window). ``how`` is plan_job's strategy, except that ``best_window`` is told apart
    as ``now`` (no later start is cleaner) or ``later``."""
    d = req.duration
    if d <= timedelta(0):
        raise ValueError(f"duration must be positive, got {d}")
    if req.latest < req.earliest:
        raise ValueError("latest is before earliest")
    lo = max(req.earliest, now)
    hi = req.latest
    has_data = series is not None and len(series) > 0

    now_value = None
    if series is not None and has_data and series.coverage(lo, lo + d) >= min_coverage * (1 - 1e-9):
        now_value = series.mean(lo, lo + d)

    if lo > hi:
        return "overdue", lo, now_value, now_value, None
    if req.threshold is not None and now_value is not None and now_value <= req.threshold:
        return "threshold_now", lo, now_value, now_value, None
    best = (
        series.best_window(d, lo, hi, min_coverage=min_coverage) if series is not None and has_data else None
    )
    if best is None:
        if fallback_start is not None:
            return "fallback_time", min(max(fallback_start, lo), hi), None, now_value, None
        return "no_forecast", lo, None, now_value, None
    if now_value is not None and best.mean >= now_value * (1 - _GAIN_RTOL) - 1e-12:
        return "now", lo, now_value, now_value, best
    return "later", best.start, best.mean, now_value, best


# -- re-planning ----------------------------------------------------------------------------------


def replan(
    requests: Iterable[PlanRequest],
    previous: Mapping[str, Decision],
    series_by_group: Mapping[str, StepSeries] | StepSeries | None,
    *,
    now: datetime,
    capacity: Mapping[str, int] | int | None = None,
    min_gain_pct: float = 1.0,
    slot: timedelta = timedelta(minutes=5),
    sources: Iterable[str] = (),
) -> ReplanResult:
    """Plan again, on a newer series, the jobs whose planned start is still in the future.

    Windows are the ORIGINAL ``[earliest, latest]`` of each request (never widened because time
    passed). Jobs already started (previous start <= now) keep their decision and, with capacity,
    occupy it. A job keeps its current start unless a new start is more than ``min_gain_pct`` %
    cleaner on the new series (hysteresis: a forecast wobble must not move jobs back and forth).
    A series per group (mapping) or one series for all. Returns all decisions and the changed keys.
    """
    reqs = list(requests)

    def series_for(group: str) -> StepSeries | None:
        if isinstance(series_by_group, StepSeries) or series_by_group is None:
            return series_by_group
        return series_by_group.get(group)

    pending: list[PlanRequest] = []
    decisions: dict[str, Decision] = {}
    busy: list[tuple[str, datetime, datetime]] = []
    for r in reqs:
        prev = previous.get(r.key)
        if prev is not None and prev.start <= now:
            decisions[r.key] = prev
            busy.append((r.group, prev.start, prev.end))
        else:
            pending.append(r)

    if capacity is not None:
        groups = {r.group for r in pending}
        new = plan_fleet(
            {g: s for g in groups if (s := series_for(g)) is not None},
            pending,
            capacity,
            now=now,
            slot=slot,
            busy=[b for b in busy if b[0] in groups],
            prefer={r.key: previous[r.key].start for r in pending if r.key in previous},
            prefer_gain_pct=min_gain_pct,
            sources_by_group={g: sources for g in groups},
        )
    else:
        new = {}
        for r in pending:
            series = series_for(r.group)
            d = plan_job(series, r, now=now, sources=sources)
            prev = previous.get(r.key)
            if (
                prev is not None
                and prev.start != d.start
                and series is not None  # _keep is False without one
                and _keep(prev, d, r, series, now, min_gain_pct)
            ):
                d = _kept(prev, d, r, series, now)
            new[r.key] = d

    changed = []
    for r in pending:
        d = new[r.key]
        decisions[r.key] = d
        prev = previous.get(r.key)
        if prev is None or prev.start != d.start:
            changed.append(r.key)
    return ReplanResult(decisions=decisions, changed=changed)


def plan_job_start(
    series: StepSeries | None, req: PlanRequest, *, now: datetime, min_coverage: float = 1.0
) -> datetime:
    """``plan_job(series, req, now=now, min_coverage=...).start``, without building the decision
    and its texts."""
    return _decide(series, req, now=now, min_coverage=min_coverage)[1]


def replan_start(
    series: StepSeries | None,
    req: PlanRequest,
    previous_start: datetime,
    *,
    now: datetime,
    min_gain_pct: float = 1.0,
) -> datetime:
    """The start ``replan([req], {req.key: previous}, series, now=now, min_gain_pct=...)`` gives
    one job whose previous decision starts at ``previous_start`` (no capacity), without building
    the decision and its texts: a backtest re-plans its waiting jobs thousands of times. A test
    compares the two."""
    if previous_start <= now:
        return previous_start  # started: kept
    how, start, expected, _, _ = _decide(series, req, now=now)
    if (
        previous_start != start
        and series is not None
        and _keeps(previous_start, how, expected, req, series, now, min_gain_pct)
    ):
        return previous_start
    return start


def _keep(
    prev: Decision, new: Decision, r: PlanRequest, series: StepSeries | None, now: datetime, gain: float
) -> bool:
    """Whether the previous start is still allowed and the new one is not clearly better."""
    return _keeps(prev.start, new.strategy, new.expected_intensity, r, series, now, gain)


def _keeps(
    prev_start: datetime,
    strategy: str,
    expected: float | None,
    r: PlanRequest,
    series: StepSeries | None,
    now: datetime,
    gain: float,
) -> bool:
    """_keep on the previous start and the new decision's strategy and expected intensity."""
    if prev_start < max(r.earliest, now) or prev_start > r.latest or expected is None:
        return False
    if strategy == "threshold_now":
        return False  # the threshold rule says "go now": honour it
    if series is None or series.coverage(prev_start, prev_start + r.duration) < 1 - 1e-9:
        return False
    old = series.mean(prev_start, prev_start + r.duration)
    return old is not None and expected >= old * (1 - gain / 100.0)


def _kept(prev: Decision, new: Decision, r: PlanRequest, series: StepSeries, now: datetime) -> Decision:
    old = series.mean(prev.start, prev.start + r.duration)
    return replace(
        new,
        start=prev.start,
        end=prev.start + r.duration,
        expected_intensity=old,
        expected_saving_pct=saving_pct(new.now_intensity, old),
        reason=(
            f"Re-planned on a newer forecast: keeping {fmt_span(prev.start, prev.start + r.duration, now)}, "
            f"now expected {old:.0f} g/kWh (the best alternative, {new.expected_intensity:.0f}, "
            "is not clearly better)."
        ),
        strategy="best_window",
    )
