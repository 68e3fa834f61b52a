"""Backtest: replay a year of real intensity and compare scheduling policies. Pure module.

A job of fixed length is submitted at every ``every`` step; each policy decides when it starts
(no later than ``max_delay`` after submission); the job's emissions are the mean ACTUAL intensity
over its run times its energy. Policies:

- ``run_now``: start on submission (the baseline, the counterfactual of every saving);
- ``hypersdk``: the original HyperSDK rule: run now if the current intensity is at or below
  200 g/kWh; else start at the first forecast point within the next 4 h (and within the job's
  max delay) at or below 200; else run now. It ignores the run's duration. The current
  intensity is the actual reading (a provider reports it); only the look-ahead is forecast;
- ``hyperweb``: what the product does. At submission, :func:`scheduler.planner.plan_job` on the
  forecast issued then. Then, while the job has not started, it is RE-PLANNED at every later
  re-plan time (``replan_every``: the product's ``CARBON_REFRESH_MINUTES``, 15 min by default)
  with :func:`scheduler.planner.replan` on the newest forecast, within its ORIGINAL window
  ``[submission, submission + max_delay]`` and with the product's hysteresis
  (``replan_min_gain_pct``, 1 % like ``scheduler.services.planning.REPLAN_MIN_GAIN_PCT``). The
  job starts when its planned start arrives: a planned start at or before the next re-plan time
  is final (never moved into the past; a start equal to the re-plan time starts then), as in the
  product, where a job due before the next refresh is dispatched at its start.
  One job at a time and no capacity limit, so ``replan`` re-plans it with ``plan_job``; the
  product's ``plan_fleet`` applies the same rule and hysteresis on a 5-minute slot grid. The
  replay calls their text-free forms, ``plan_job_start`` and ``replan_start`` (the same starts,
  without building each decision's reason and inputs; a test compares them).
  ``replan=False`` (``--no-replan``) decides once at submission, for comparison;
  Risk (``risk``, the product's BACKUP_RISK by default in ``manage.py backtest``): with a model or
  noisy forecast and a setting other than ``greedy``, the start at submission is the risk rule's
  (:func:`scheduler.uncertainty.choose` on :meth:`~scheduler.uncertainty.ErrorProfile.assess`;
  the replay calls ``Runs.choose_start``, the same start without building every candidate),
  with the error profile learned, as the product does, from the replay's own past issues (the
  last ``error_days`` whose 26 h are observed, relearned daily); a job it sends waiting is
  re-planned as above, on the forecast as it is; ``greedy`` plans on the forecast as it is;
- ``optimum``: the best start with perfect foresight (``StepSeries.best_window`` on the actual
  data): the physical limit.

Forecasts (what ``hyperweb`` and ``hypersdk`` see at decision time):

- ``perfect``: the actual data;
- ``model``: :mod:`carbon.forecaster` fed only the data before the forecast's issue time. A
  forecast is issued every ``refresh`` (1 h: the product's model forecast is issued on the hour,
  ``carbon.services.modelled.model_issue_time``) and reused by the decisions until the next one;
  the actual data is put on the model's regular grid by time-weighted means (a file whose
  resolution changes is averaged, a hole stays a gap);
- ``noisy:PCT``: the actual data times ``(1 + e)``, where ``e`` is a seeded random walk over lead
  time whose standard deviation reaches PCT % at 24 h (errors grow with lead time and are
  correlated over time, as real forecast errors are), reissued every ``refresh``.

With ``perfect`` there is nothing to re-plan: the best start in the original window is still the
best in what is left of it, so re-planning cannot move it (and is skipped).

Submissions start ``HISTORY`` (15 days) after the data by default, so the model has the history
it reads. A submission one of whose possible runs falls in a hole of the data is not replayed
and is counted as "no data" (``BacktestResult.no_data``): its optimum is not knowable.

Regret (every policy): the share of jobs whose run emitted more than starting at submission,
the emissions lost on them (% of run_now's total) and the worst single job (see PolicyResult).

Energy: every job moves ``data_gb`` (100 GB) with the default energy model (100 W + 50 W/TB,
PUE 1.0, so 0.105 kW); the saving percentages do not depend on it, only the kg do.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from carbon.forecaster import DEFAULT_PARAMS, GridModel
from carbon.intensity import BestWindows, StepSeries, Window, energy_kwh
from hyperweb.lib import durations
from hyperweb.lib.timefmt import format_utc
from scheduler.planner import PlanRequest, plan_job_start, replan_start
from scheduler.uncertainty import (
    DEFAULT_RISK,
    ErrorProfile,
    RiskRule,
    Runs,
    issue_errors,
    profile_from_errors,
    risk_rule,
)

__all__ = [
    "POLICIES",
    "BacktestConfig",
    "BacktestResult",
    "PolicyResult",
    "format_table",
    "parse_duration",
    "parse_forecast",
    "run_backtest",
]

POLICIES = ("run_now", "hypersdk", "hyperweb", "optimum")
HYPERSDK_THRESHOLD = 200.0  # g/kWh, the original default
HYPERSDK_LOOKAHEAD = timedelta(hours=4)  # the original looked at the next 4 h of forecast
# What the model reads before its first forecast (its daily profile days, at least a week, + 1):
# the default first submission leaves it that much history (carbon.services.modelled.LOOKBACK).
HISTORY = timedelta(days=max(int(DEFAULT_PARAMS["days"]), 7) + 1)


def parse_duration(text: str) -> timedelta:
    """A job length or step (> 0) in hyperweb's grammar (hyperweb.lib.durations: ``2h``, ``90min``,
    ``1h30m``, ``1d``; a bare number is hours)."""
    return durations.parse_duration(text, positive=True)


def parse_forecast(text: str) -> tuple[str, float]:
    """``perfect`` | ``model`` | ``noisy:PCT`` -> (kind, pct)."""
    if text in ("perfect", "model"):
        return text, 0.0
    if text.startswith("noisy:"):
        try:
            pct = float(text[6:])
        except ValueError:
            pct = -1.0
        if pct >= 0 and math.isfinite(pct):
            return "noisy", pct
    raise ValueError(f"bad forecast {text!r}: use perfect, model or noisy:PCT (e.g. noisy:10)")


@dataclass(frozen=True)
class BacktestConfig:
    duration: timedelta
    max_delay: timedelta
    every: timedelta = timedelta(minutes=30)
    start: datetime | None = None  # first submission (default: HISTORY after the data starts)
    end: datetime | None = None  # submissions before this (default: as late as the data allows)
    forecast: str = "perfect"
    seed: int = 0
    data_gb: float = 100.0
    refresh: timedelta = timedelta(hours=1)  # how often model/noisy forecasts are reissued
    forecast_params: dict[str, float] | None = None  # overrides of carbon.forecaster.DEFAULT_PARAMS (model)
    # Re-plan waiting jobs on newer forecasts (the product does); False: decide once at submission.
    replan: bool = True
    # How often a waiting job is re-planned: the product re-plans every CARBON_REFRESH_MINUTES
    # (15 min by default; `manage.py backtest` passes the setting). None: at every forecast issue.
    replan_every: timedelta | None = timedelta(minutes=15)
    replan_min_gain_pct: float = 1.0  # the product's hysteresis (services.planning)
    # How much forecast risk hyperweb takes (scheduler.uncertainty): cautious | balanced | greedy.
    risk: str = DEFAULT_RISK
    # Days of past forecast issues its error profile is learned from, relearned every day.
    error_days: float = 14.0
    # The rule instead of the risk setting's own (experiments and the benchmark's curve).
    rule: RiskRule | None = None


@dataclass(frozen=True)
class PolicyResult:
    """One policy's figures. Regret: a job is "made worse" when its run's mean actual intensity
    is above the run starting at submission (run_now's); ``lost_pct`` is the emissions those jobs
    lost, summed, as % of run_now's total; ``worst_pct`` the worst single job, % above its own
    run-now emissions (0 if no job was made worse)."""

    name: str
    emissions_kg: float
    mean_intensity: float  # g/kWh, mean over all jobs' runs
    saving_pct: float  # against run_now
    mean_delay_min: float
    share_of_optimum: float | None = None
    worse_share_pct: float = 0.0  # % of jobs made worse than starting at submission
    lost_pct: float = 0.0  # emissions lost on them, % of run_now's emissions
    worst_pct: float = 0.0  # the worst job, % above its run-now emissions

    def to_dict(self) -> dict[str, Any]:
        out = {
            "emissions_kg": round(self.emissions_kg, 4),
            "saving_pct": round(self.saving_pct, 3),
            "mean_intensity": round(self.mean_intensity, 3),
            "mean_delay_min": round(self.mean_delay_min, 1),
            "jobs_made_worse_pct": round(self.worse_share_pct, 3),
            "emissions_lost_pct": round(self.lost_pct, 3),
            "worst_job_pct": round(self.worst_pct, 2),
        }
        if self.share_of_optimum is not None:
            out["share_of_optimum"] = round(self.share_of_optimum, 4)
        return out


@dataclass(frozen=True)
class BacktestResult:
    config: BacktestConfig
    jobs: int
    first_submit: datetime
    last_submit: datetime
    energy_kwh_per_job: float
    policies: dict[str, PolicyResult] = field(default_factory=dict)
    # Submissions in [start, end) left out because the data does not cover a run they might
    # choose (a hole in the file): counted, not replayed ("no data").
    no_data: int = 0

    def to_dict(self) -> dict[str, Any]:
        c = self.config
        return {
            "duration_h": c.duration.total_seconds() / 3600,
            "max_delay_h": c.max_delay.total_seconds() / 3600,
            "every_min": c.every.total_seconds() / 60,
            "forecast": c.forecast,
            "replan": c.replan,
            "replan_every_min": _replan_every(c).total_seconds() / 60 if c.replan else None,
            "risk": c.risk,
            "seed": c.seed,
            "jobs": self.jobs,
            "no_data_jobs": self.no_data,
            "first_submit": _iso(self.first_submit),
            "last_submit": _iso(self.last_submit),
            "data_gb": c.data_gb,
            "energy_kwh_per_job": round(self.energy_kwh_per_job, 6),
            "energy_model": "100 W + 50 W per TB, PUE 1.0 (hyperweb default)",
            "policies": {name: p.to_dict() for name, p in self.policies.items()},
        }


def _iso(value: datetime) -> str:
    return format_utc(value, "seconds")


class _Grid:
    """The actual data on its own regular step, for fast forecaster input (None in gaps)."""

    def __init__(self, actual: StepSeries) -> None:
        steps = actual.steps()
        lengths: dict[float, int] = {}
        for s, e, _ in steps[:200]:
            lengths[(e - s).total_seconds()] = lengths.get((e - s).total_seconds(), 0) + 1
        self.step = max(lengths, key=lambda k: (lengths[k], -k))
        self.t0 = math.floor(steps[0][0].timestamp() / self.step) * self.step
        n = math.ceil((steps[-1][1].timestamp() - self.t0) / self.step)
        # Each cell is the time-weighted mean of the readings overlapping it (finer readings are
        # averaged, a coarser one fills every cell it spans); a cell less than half covered is a
        # gap (None), as in carbon.forecaster.history_grid.
        total = [0.0] * n
        covered = [0.0] * n
        for s, e, v in steps:
            a, b = s.timestamp() - self.t0, e.timestamp() - self.t0
            i = max(0, math.floor(a / self.step))
            while i < n and i * self.step < b:
                part = min(b, (i + 1) * self.step) - max(a, i * self.step)
                if part > 0:
                    total[i] += v * part
                    covered[i] += part
                i += 1
        self.values: list[float | None] = [
            total[i] / covered[i] if covered[i] >= self.step / 2 else None for i in range(n)
        ]
        self.per_day = round(86400 / self.step)
        self._models: dict[tuple[tuple[str, float], ...], GridModel] = {}

    def model(self, params: dict[str, float]) -> GridModel:
        """The forecaster over this grid with these parameters (built once per grid)."""
        key = tuple(sorted(params.items()))
        got = self._models.get(key)
        if got is None:
            got = self._models[key] = GridModel(self.values, self.per_day, params)
        return got

    def index(self, t: float) -> int:
        return math.floor((t - self.t0) / self.step + 1e-9)


def run_backtest(
    actual: StepSeries,
    config: BacktestConfig,
    *,
    progress: Callable[[int, int], None] | None = None,
    forecasts: Callable[[datetime], StepSeries] | None = None,
    issue_cache: dict[float, list[float | None]] | None = None,
) -> BacktestResult:
    """Replay ``actual`` with ``config``; ``progress(done, total)`` is called now and then.

    ``forecasts``, if given, replaces ``config.forecast``: called with an issue time (a multiple
    of ``config.refresh``), it returns the forecast issued then (for tests and experiments).
    ``issue_cache``: model/noisy forecast issues by issue time, shared between replays of the SAME
    data, forecast and parameters (e.g. the risk settings of one case; a benchmark's speed-up:
    the forecasts are most of a replay's time and do not depend on the job or the risk); it is
    filled and never pruned, so its owner bounds it.
    """
    if len(actual) == 0:
        raise ValueError("no data")
    kind, pct = ("custom", 0.0) if forecasts is not None else parse_forecast(config.forecast)
    rule = config.rule if config.rule is not None else risk_rule(config.risk)
    d, maxd, every = config.duration, config.max_delay, config.every
    if d <= timedelta(0) or maxd < timedelta(0) or every <= timedelta(0):
        raise ValueError("duration and every must be positive, max delay not negative")
    first, last = actual.first_start, actual.last_end
    assert first is not None and last is not None  # not empty (checked above)
    start = config.start or first + HISTORY
    end = config.end or last - maxd - d + timedelta(seconds=1)
    e_s = every.total_seconds()
    ts = math.ceil(max(start, first).timestamp() / e_s) * e_s
    horizon = maxd + d
    submits: list[datetime] = []
    no_data = 0
    while ts < end.timestamp():
        when = datetime.fromtimestamp(ts, tz=UTC)
        # Only jobs whose every possible run is fully in the data: the optimum must be knowable.
        if actual.coverage(when, when + horizon) >= 1 - 1e-9:
            submits.append(when)
        else:
            no_data += 1
        ts += e_s
    if not submits:
        raise ValueError("no job fits between --start/--end in the data (check the period and the data)")

    grid = _Grid(actual) if kind in ("model", "noisy") else None
    kwh = energy_kwh(config.data_gb, d.total_seconds() / 3600)
    lookahead = min(HYPERSDK_LOOKAHEAD, maxd)
    sums = {p: 0.0 for p in POLICIES}
    delays = {p: 0.0 for p in POLICIES}
    worse = {p: 0 for p in POLICIES}
    lost = {p: 0.0 for p in POLICIES}
    worst = {p: 0.0 for p in POLICIES}
    # Forecasts by issue time: a job is re-planned on the issues of its whole window, and the
    # next jobs need the same issues, so each is computed once (older ones are dropped).
    issued: dict[float, tuple[StepSeries, list[tuple[datetime, float]]]] = {}
    refresh_s = config.refresh.total_seconds()
    replan_s = _replan_every(config).total_seconds()
    if refresh_s <= 0 or replan_s <= 0:
        raise ValueError("refresh and replan_every must be positive")
    # Long enough for every run a job waiting at that issue may still choose.
    span = horizon + config.refresh + timedelta(seconds=grid.step if grid else 0)

    def forecast_at(when: datetime) -> tuple[StepSeries, list[tuple[datetime, float]]]:
        """The newest forecast issued at or before ``when`` (fed only data before its issue)."""
        issue = math.floor(when.timestamp() / refresh_s) * refresh_s
        if grid is not None:
            issue = math.floor(issue / grid.step) * grid.step
        got = issued.get(issue)
        if got is None:
            if forecasts is not None:
                series = forecasts(datetime.fromtimestamp(issue, tz=UTC))
                got = (series, [(s, v) for s, _, v in series.steps()])
            else:
                assert grid is not None  # model and noisy forecasts have one
                present = {k: v for k, v in enumerate(issue_values(issue)) if v is not None}
                ks = list(present)
                series = _Shared.of(
                    StepSeries(
                        [issue + k * grid.step for k in ks],
                        [issue + (k + 1) * grid.step for k in ks],
                        [present[k] for k in ks],
                    ),
                    until=datetime.fromtimestamp(issue + refresh_s, tz=UTC) + maxd,
                )
                # HyperSDK's look-ahead points (only the first hours are ever read).
                near = [k for k in ks if k * grid.step <= lookahead.total_seconds() + refresh_s]
                got = (
                    series,
                    [(datetime.fromtimestamp(issue + k * grid.step, tz=UTC), present[k]) for k in near],
                )
            issued[issue] = got
        return got

    # The forecast error profile (model and noisy forecasts, a risk other than greedy): learned
    # from the issues of the last ``error_days`` whose whole span is observed, once a day.
    shared = issue_cache is not None
    learned: dict[float, list[float | None]] = issue_cache if issue_cache is not None else {}
    errors: dict[float, tuple[float | None, ...] | None] = {}  # D by lead per past issue (issue_errors)
    profile: ErrorProfile | None = None
    profile_day = -1
    assessed: dict[float, Runs] = {}
    steps_ahead = math.ceil(span.total_seconds() / grid.step) + 1 if grid is not None else 0

    def issue_values(issue: float) -> list[float | None]:
        """An issue's forecast on the grid (shared by the decisions and the error learning)."""
        assert grid is not None  # model and noisy forecasts have one
        got = learned.get(issue)
        if got is None or len(got) < steps_ahead:
            learned[issue] = got = _issue_values(kind, pct, grid, issue, span, config)
        return got[:steps_ahead] if len(got) > steps_ahead else got

    def learn(now: float) -> ErrorProfile:
        assert grid is not None  # an error profile is learned only with one
        last = math.floor((now - steps_ahead * grid.step) / refresh_s) * refresh_s
        first = last - config.error_days * 86400
        if not shared:
            for old in [k for k in learned if k < first]:
                del learned[old]  # never needed again: the decisions are past it too
        vectors = []
        issue = math.ceil(first / refresh_s) * refresh_s
        while issue <= last:
            if issue in errors:
                vec = errors[issue]
            else:
                i0 = grid.index(issue)
                got = issue_errors(issue_values(issue), grid.values[i0 : i0 + steps_ahead], grid.step)
                # A tuple: the next profiles hold this very object, so they reuse its run means.
                errors[issue] = vec = tuple(got) if got is not None else None
            vectors.append(vec)
            issue += refresh_s
        for old in [k for k in errors if k < first]:
            del errors[old]
        return profile_from_errors(vectors, grid.step, previous=profile)

    def risk_start(when: datetime, latest: datetime) -> datetime:
        """The risk rule's start at ``when`` for a job that may start until ``latest`` (the
        product's rule, scheduler.uncertainty.choose, on the newest forecast; the assessment of
        every start is the same for every job deciding then, so computed once per time)."""
        assert profile is not None and rule is not None
        key = when.timestamp()
        got = assessed.get(key)
        if got is None:
            assessed[key] = got = profile.runs(forecast_at(when)[0], when, when, when + maxd, d)
        # choose() on got.candidates() (profile.assess), without building every candidate.
        pick = got.choose_start(rule, latest=latest)
        return pick if pick is not None else when

    actual_points = None
    for n_done, t in enumerate(submits):
        if progress is not None and n_done % 500 == 0:
            progress(n_done, len(submits))
        # Jobs are replayed in submission order: issues before this one's are never needed again.
        for old in [k for k in issued if k < t.timestamp() - refresh_s - (grid.step if grid else 0)]:
            del issued[old]
        for old in [k for k in assessed if k < t.timestamp()]:
            del assessed[old]
        keep_from = t.timestamp() - config.error_days * 86400 - span.total_seconds() - 2 * refresh_s
        for old in [k for k in learned if k < keep_from] if not shared else ():
            del learned[old]
        if rule is not None and grid is not None and int(t.timestamp() // 86400) != profile_day:
            profile_day = int(t.timestamp() // 86400)
            profile = learn(t.timestamp())
        req = PlanRequest(key="bt", earliest=t, latest=t + maxd, duration=d)
        now_mean = actual.mean(t, t + d)
        best = actual.best_window(d, t, t + maxd)
        assert now_mean is not None and best is not None  # every run of a job is in the data
        if kind == "perfect":
            fc = actual
            if actual_points is None:
                actual_points = [(s, v) for s, _, v in actual.steps()]
                point_starts = [s for s, _ in actual_points]
            points = _points_between(actual_points, point_starts, t, t + lookahead)
        else:
            fc, pts = forecast_at(t)
            points = [(s, v) for s, v in pts if t < s <= t + lookahead]
        if profile is not None and kind != "perfect":
            # The risk rule decides at submission; a job it sends waiting is then re-planned on
            # the forecast as it is, with the hysteresis (a waiting job's regret is against its
            # run at submission, which a re-decision against the run at the re-plan time does
            # not protect: measured worse, docs/BENCHMARKS.md).
            first = risk_start(t, t + maxd)
            hw = _plan_plain(fc, req, t, config, replan_s, forecast_at, kind, first=first)
        else:
            hw = _plan_plain(fc, req, t, config, replan_s, forecast_at, kind)

        current = actual.value_at(t)
        hs = t
        if current is not None and current > HYPERSDK_THRESHOLD:
            for s, v in points:
                if v <= HYPERSDK_THRESHOLD:
                    hs = s
                    break
        starts = {"run_now": t, "hypersdk": hs, "hyperweb": hw, "optimum": best.start}
        for p, s in starts.items():
            m = now_mean if s == t else actual.mean(s, s + d)
            assert m is not None  # every run of a job is in the data
            sums[p] += m
            delays[p] += (s - t).total_seconds() / 60
            if m > now_mean * (1 + 1e-9):
                worse[p] += 1
                lost[p] += m - now_mean
                if now_mean > 0:
                    worst[p] = max(worst[p], (m / now_mean - 1) * 100)
    if progress is not None:
        progress(len(submits), len(submits))

    n = len(submits)
    base = sums["run_now"]
    opt_saving = (1 - sums["optimum"] / base) * 100 if base else 0.0
    policies = {}
    for p in POLICIES:
        saving = (1 - sums[p] / base) * 100 if base else 0.0
        share = None
        if p in ("hyperweb", "hypersdk") and opt_saving > 0:
            share = saving / opt_saving
        policies[p] = PolicyResult(
            name=p,
            emissions_kg=sums[p] * kwh / 1000.0,
            mean_intensity=sums[p] / n,
            saving_pct=saving,
            mean_delay_min=delays[p] / n,
            share_of_optimum=share,
            worse_share_pct=worse[p] / n * 100,
            lost_pct=lost[p] / base * 100 if base else 0.0,
            worst_pct=worst[p],
        )
    return BacktestResult(config, n, submits[0], submits[-1], kwh, policies, no_data)


def _plan_plain(
    fc: StepSeries,
    req: PlanRequest,
    t: datetime,
    config: BacktestConfig,
    replan_s: float,
    forecast_at: Callable[[datetime], tuple[StepSeries, list[tuple[datetime, float]]]],
    kind: str,
    *,
    first: datetime | None = None,
) -> datetime:
    """The planner on the forecast as it is (greedy, or no error profile yet): ``plan_job`` at
    submission (or ``first``, the risk rule's start), then ``replan`` with the hysteresis at
    every re-plan time while the job waits."""
    # Only the start of a decision is carried from one re-plan to the next (replan keeps or
    # moves a job by its previous start alone), so the text-free planner (planner.replan_start,
    # the start replan gives; plan_job's own start at submission) is used.
    start = first if first is not None else plan_job_start(fc, req, now=t)
    if config.replan and kind != "perfect":
        # Re-plan at every re-plan time while the job still waits. A planned start at or
        # before the next re-plan time is reached first: the job starts then.
        r = datetime.fromtimestamp((math.floor(t.timestamp() / replan_s) + 1) * replan_s, tz=UTC)
        while start > r:
            start = replan_start(
                forecast_at(r)[0], req, start, now=r, min_gain_pct=config.replan_min_gain_pct
            )
            r += timedelta(seconds=replan_s)
    return start


class _Shared(StepSeries):
    """A forecast every job waiting at a re-plan time is planned on: each job's best window, from
    that time to its own latest start, is read from one scan per (duration, earliest) up to
    ``until`` (StepSeries.best_windows_from: bit for bit best_window's answers), instead of one
    scan per job. With a 24 h wait, 48 jobs wait at each re-plan time; the first job planned
    from a time scans on its own (often the only one with a short wait)."""

    __slots__ = ("_tables", "_until")

    _tables: dict[tuple[timedelta, datetime, float], BestWindows | None]
    _until: datetime

    @classmethod
    def of(cls, series: StepSeries, *, until: datetime) -> _Shared:
        shared = cls.__new__(cls)
        for name in StepSeries.__slots__:
            setattr(shared, name, getattr(series, name))
        shared._tables = {}
        shared._until = until
        return shared

    def best_window(
        self, duration: timedelta, earliest: datetime, latest: datetime, *, min_coverage: float = 1.0
    ) -> Window | None:
        if not earliest <= latest <= self._until:
            return super().best_window(duration, earliest, latest, min_coverage=min_coverage)
        key = (duration, earliest, min_coverage)
        table = self._tables.get(key)
        if table is None:
            if key not in self._tables:  # the first job planned from there: one scan of its own
                self._tables[key] = None
                return super().best_window(duration, earliest, latest, min_coverage=min_coverage)
            table = self._tables[key] = self.best_windows_from(
                duration, earliest, self._until, min_coverage=min_coverage
            )
        return table.window(latest)


def _replan_every(config: BacktestConfig) -> timedelta:
    return config.replan_every if config.replan_every is not None else config.refresh


def _points_between(
    points: list[tuple[datetime, float]], starts: list[datetime], a: datetime, b: datetime
) -> list[tuple[datetime, float]]:
    """Points whose start is in ``(a, b]``."""
    i = bisect_right(starts, a)
    j = bisect_right(starts, b)
    return points[i:j]


def _issue_forecast(
    kind: str, pct: float, grid: _Grid, issue: float, horizon: timedelta, config: BacktestConfig
) -> list[tuple[datetime, datetime, float]]:
    """Forecast steps from ``issue`` covering ``horizon``, on the data's own step."""
    values = _issue_values(kind, pct, grid, issue, horizon, config)
    return [
        (
            datetime.fromtimestamp(issue + k * grid.step, tz=UTC),
            datetime.fromtimestamp(issue + (k + 1) * grid.step, tz=UTC),
            v,
        )
        for k, v in enumerate(values)
        if v is not None
    ]


def _issue_values(
    kind: str, pct: float, grid: _Grid, issue: float, horizon: timedelta, config: BacktestConfig
) -> list[float | None]:
    """The forecast issued at ``issue``, one value per grid step from it (None: no value)."""
    steps_ahead = math.ceil(horizon.total_seconds() / grid.step) + 1
    i0 = grid.index(issue)
    out: list[float | None]
    if kind == "model":
        params = {**DEFAULT_PARAMS, **(config.forecast_params or {})}
        need = grid.per_day * (max(int(params["days"]), 7) + 1) + 2
        # forecast_from_grid on the history strictly before the issue time, grid.values[i0 - need
        # : i0], with the smoothing shared by every issue of this grid (bit for bit the same).
        out = list(grid.model(params).forecast(i0, need, steps_ahead))
    else:
        rng = random.Random(f"{config.seed}:{issue}")
        sigma = pct / 100.0 / math.sqrt(grid.per_day)  # random-walk sd reaches pct at 24 h
        err = 0.0
        out = []
        for k in range(steps_ahead):
            err += rng.gauss(0.0, sigma)
            v = grid.values[i0 + k] if i0 + k < len(grid.values) else None
            out.append(max(0.0, v * (1 + err)) if v is not None else None)
    return out + [None] * (steps_ahead - len(out))


def format_table(result: BacktestResult) -> str:
    """The human table: one line per policy."""
    c = result.config
    lines = [
        f"{result.jobs} jobs of {_h(c.duration)}, start up to {_h(c.max_delay)} later, one every {_h(c.every)}, "
        f"{_iso(result.first_submit)} .. {_iso(result.last_submit)}; forecast: {c.forecast}; "
        f"{c.data_gb:g} GB each = {result.energy_kwh_per_job:.3f} kWh",
        "The planner's jobs are "
        + (
            f"re-planned every {_h(_replan_every(c))} on the newest forecast while they wait."
            if c.replan
            else "decided once at submission (--no-replan)."
        ),
        "",
        f"{'policy':<10} {'emissions kg':>13} {'mean g/kWh':>11} {'saving':>8} {'of optimum':>11} "
        f"{'mean delay':>11} {'made worse':>11} {'lost':>7} {'worst job':>10}",
    ]
    for p in result.policies.values():
        share = f"{p.share_of_optimum:.2f}" if p.share_of_optimum is not None else ""
        lines.append(
            f"{p.name:<10} {p.emissions_kg:>13.2f} {p.mean_intensity:>11.1f} {p.saving_pct:>7.2f}% "
            f"{share:>11} {p.mean_delay_min:>8.0f} min {p.worse_share_pct:>10.1f}% {p.lost_pct:>6.2f}% "
            f"{p.worst_pct:>+9.0f}%"
        )
    lines += [
        "",
        "made worse: jobs whose run emitted more than starting at submission would have; lost: the "
        "emissions lost on them, % of run_now's; worst job: % above its own run-now emissions.",
    ]
    if result.no_data:
        lines.append(
            f"{result.no_data} submissions not replayed (no data): a run they might choose falls in a "
            "hole of the data."
        )
    return "\n".join(lines)


def _h(d: timedelta) -> str:
    s = d.total_seconds()
    if s % 3600 == 0:
        return f"{s / 3600:g} h"
    return f"{s / 60:g} min"
