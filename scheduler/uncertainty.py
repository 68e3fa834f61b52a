"""How wrong can the forecast be? Forecast error by lead time, and planning against it. Pure.

The planner ranks starts by their forecast mean. A forecast is least sure far ahead, and what
makes a job dirtier by waiting is the forecast being too optimistic about a later run compared
with the run starting now. So the error that matters is the error of the *change* from now:

    D(tau) = ((actual - forecast)(the hour around t + tau) - (actual - forecast)(the hour from t))
             / actual(the hour from t)

for a forecast issued at ``t`` (an hour's mean: the scale of a backup run, and one noisy reading
does not count as a forecast error). A
positive D means the point ``tau`` ahead turned out dirtier, relative to "now", than forecast.
:func:`learn_errors` collects D by lead (one value per past issue and lead step) from the zone's
own recent history: the forecasts as issued (with their issue time) and what happened.

Planning against it: :meth:`ErrorProfile.pessimistic` adds to each forecast step ``tau`` ahead
its upper ``q``-quantile of D times the current level. The planner then runs unchanged on that
series: a later start must beat "now" by more than the error the forecast usually makes at that
lead, so a wait is only chosen when the expected saving outweighs the risk; near starts carry a
small penalty and far ones a larger one, so between "now" and a far, uncertain minimum a nearer,
surer start can win (a hedge). As the job waits and is re-planned, the leads shrink, the
penalties with them, and the decision is taken again on the newer forecast.

Risk settings (the quantile planned against): ``greedy`` plans on the forecast as it is (the
planner before this module), ``balanced`` (the default) against the 75th percentile of the
error, ``cautious`` the 90th. Their measured trade-off (share of the optimum vs jobs made worse)
is in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from carbon.intensity import StepSeries

__all__ = [
    "DEFAULT_RISK",
    "RISK_LEVELS",
    "RISK_QUANTILE",
    "ErrorProfile",
    "Sureness",
    "issue_errors",
    "learn_errors",
    "profile_from_errors",
    "risk_quantile",
]

RISK_LEVELS = ("cautious", "balanced", "greedy")
DEFAULT_RISK = "balanced"
RISK_QUANTILE: dict[str, float | None] = {"cautious": 0.9, "balanced": 0.75, "greedy": None}
LIKELY_Q = 0.5  # "likely saving": the median error
WORST_Q = 0.9  # "at worst": the 90th percentile
NOW_SPAN = timedelta(hours=1)  # "now" in D: the first hour after the issue
MIN_ISSUES = 24  # fewer past issues than this at a lead: no profile there (plan on the forecast)


def risk_quantile(risk: str) -> float | None:
    """The quantile a risk setting plans against (None: the forecast as it is)."""
    if risk not in RISK_QUANTILE:
        raise ValueError(f"unknown risk setting {risk!r}: use one of {', '.join(RISK_LEVELS)}")
    return RISK_QUANTILE[risk]


@dataclass(frozen=True)
class Sureness:
    """How sure a plan is: the saving of the chosen start over "now" on the forecast, with the
    median error (``likely_pct``) and the 90th-percentile error (``worst_pct``; negative: the
    run may emit that much more than starting now)."""

    forecast_pct: float
    likely_pct: float
    worst_pct: float
    issues: int

    def text(self) -> str:
        worst = (
            f"at worst {-self.worst_pct:+.0f} %"
            if self.worst_pct < 0
            else f"at worst {self.worst_pct:.0f} % saved"
        )
        return f"likely saving {self.likely_pct:.0f} %, {worst} (forecast error learned from {self.issues} issues)"

    def to_dict(self) -> dict[str, float | int]:
        return {
            "forecast_saving_pct": round(self.forecast_pct, 2),
            "likely_saving_pct": round(self.likely_pct, 2),
            "worst_saving_pct": round(self.worst_pct, 2),
            "worst_more_pct": round(max(0.0, -self.worst_pct), 2),  # the worst case, % more CO2
            "error_issues": self.issues,
        }


@dataclass(frozen=True)
class ErrorProfile:
    """Sorted D values per lead step (``step_s`` seconds per step; lead 0 is the issue's step)."""

    step_s: float
    samples: tuple[tuple[float, ...], ...]
    issues: int
    _tables: dict[float, list[float]] = field(default_factory=dict, compare=False, repr=False)

    def quantile(self, lead_s: float, q: float) -> float:
        """The ``q``-quantile of D at ``lead_s`` seconds ahead (0 if unknown there); leads beyond
        the learned ones use the last learned lead."""
        table = self._table(q)
        if not table:
            return 0.0
        return table[min(max(0, int(lead_s // self.step_s)), len(table) - 1)]

    def _table(self, q: float) -> list[float]:
        """The ``q``-quantile at every learned lead (computed once per q)."""
        table = self._tables.get(q)
        if table is None:
            table = []
            for xs in self.samples:
                if len(xs) < MIN_ISSUES:
                    table.append(0.0)
                    continue
                pos = q * (len(xs) - 1)
                i = int(pos)
                table.append(xs[-1] if i + 1 >= len(xs) else xs[i] + (pos - i) * (xs[i + 1] - xs[i]))
            self._tables[q] = table
        return table

    def pessimistic(self, series: StepSeries, now: datetime, q: float | None) -> StepSeries:
        """``series`` with every step from ``now`` on raised by its lead's ``q``-quantile of D
        times the current level (the mean of the next hour on ``series``); steps before now are
        left alone. ``q`` None, or no level: ``series`` itself."""
        if q is None or not self.samples or not len(series):
            return series
        level = series.mean(now, now + NOW_SPAN)
        if level is None or level <= 0:
            return series
        t = now.timestamp()
        # Epoch arrays, not datetimes: the backtest builds one of these per re-plan time.
        starts: list[float] = []
        ends: list[float] = []
        values: list[float] = []
        for a, e, v in zip(series._starts, series._ends, series._values, strict=True):  # noqa: SLF001
            if e <= t:
                starts.append(a)
                ends.append(e)
                values.append(v)
                continue
            if a < t:
                starts.append(a)
                ends.append(t)
                values.append(v)
                a = t
            # Split long steps on the profile's grid so the penalty follows the lead.
            while a < e - 1e-9:
                b = min(e, (math.floor((a - t) / self.step_s + 1e-9) + 1) * self.step_s + t)
                starts.append(a)
                ends.append(b)
                values.append(max(0.0, v + self.quantile(a - t, q) * level))
                a = b
        return StepSeries(starts, ends, values)

    def sureness(
        self, series: StepSeries, now: datetime, start: datetime, duration: timedelta
    ) -> Sureness | None:
        """How sure "start at ``start`` rather than at ``now``" is (None without the figures)."""
        fc_now = series.mean(now, now + duration)
        fc_at = series.mean(start, start + duration)
        if not self.samples or fc_now is None or fc_at is None or fc_now <= 0:
            return None
        level = series.mean(now, now + NOW_SPAN) or fc_now

        def saving(q: float) -> float:
            pen_now = self._run_penalty(0.0, duration, q)
            pen_at = self._run_penalty((start - now).total_seconds(), duration, q)
            return (fc_now + pen_now * level - (fc_at + pen_at * level)) / fc_now * 100

        return Sureness(
            forecast_pct=(fc_now - fc_at) / fc_now * 100,
            likely_pct=saving(LIKELY_Q),
            worst_pct=saving(WORST_Q),
            issues=self.issues,
        )

    def _run_penalty(self, lead_s: float, duration: timedelta, q: float) -> float:
        n = max(1, round(duration.total_seconds() / self.step_s))
        return sum(self.quantile(lead_s + k * self.step_s, q) for k in range(n)) / n


def issue_errors(
    fc: Sequence[float | None], act: Sequence[float | None], step_s: float
) -> list[float | None] | None:
    """D by lead step for one past issue: ``fc`` its forecast and ``act`` what happened, on the
    same regular grid of ``step_s`` seconds from the issue time on (None where unknown). None if
    the first hour is not known on both sides."""
    now_n = max(1, round(NOW_SPAN.total_seconds() / step_s))
    f0 = [v for v in fc[:now_n] if v is not None]
    a0 = [v for v in act[:now_n] if v is not None]
    if len(f0) < now_n or len(a0) < now_n:
        return None
    base_f, base_a = sum(f0) / now_n, sum(a0) / now_n
    if base_a <= 0:
        return None
    off = base_a - base_f
    # The error of the hour centred on each lead (a run's scale, not one noisy reading; centred so
    # a run's penalties line up with its own hours), less "now"'s.
    errs = [(a - f) if a is not None and f is not None else None for f, a in zip(fc, act, strict=False)]
    half = now_n // 2
    out: list[float | None] = []
    for k in range(len(errs) - (now_n - half) + 1):
        window = errs[max(0, k - half) : k - half + now_n]
        if any(e is None for e in window):
            out.append(None)
        else:
            out.append((sum(window) / len(window) - off) / base_a)  # type: ignore[arg-type]
    return out


def profile_from_errors(vectors: Iterable[Sequence[float | None] | None], step_s: float) -> ErrorProfile:
    """An :class:`ErrorProfile` from :func:`issue_errors` vectors (None: a skipped issue)."""
    per_lead: list[list[float]] = []
    issues = 0
    for vec in vectors:
        if vec is None:
            continue
        issues += 1
        for k, x in enumerate(vec):
            if x is None:
                continue
            while len(per_lead) <= k:
                per_lead.append([])
            per_lead[k].append(x)
    return ErrorProfile(step_s, tuple(tuple(sorted(xs)) for xs in per_lead), issues)


def learn_errors(
    pairs: Iterable[tuple[Sequence[float | None], Sequence[float | None]]], step_s: float
) -> ErrorProfile:
    """An :class:`ErrorProfile` from past issues: each pair is (forecast, actual) on the same
    regular grid of ``step_s`` seconds, from the issue time on (None where unknown). Issues whose
    first hour is not known on both sides are skipped."""
    return profile_from_errors((issue_errors(fc, act, step_s) for fc, act in pairs), step_s)
