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

Deciding with it (:meth:`ErrorProfile.assess`, :func:`choose`). For a job of duration ``d``,
the error that matters for a start ``s`` is the error of its whole run against "now"'s run,
E(s) = mean D over [s, s + d) - mean D over [now, now + d), one value per past issue
(:meth:`ErrorProfile.run_errors`: the joint per-issue errors, not per-lead quantiles averaged,
which overstate a run's error). For every candidate start (the profile's step, e.g. 15 min) the
forecast's saving ``g`` (a share of the level), then:

- the expected saving, ``g - mean(E)`` (the forecast's usual bias at that lead taken off);
- the chance of ending dirtier than "now", ``P(E > g)``;
- the error band, the inter-quartile range of E.

A risk setting's :class:`RiskRule` finds the start with the best expected saving and takes the
earliest start whose expected saving is within ``hedge`` error bands of it ("now" included, with
a saving of 0): a job waits only when the best start beats "now" by more than that share of its
own error band. That is the decision that matters: a waiting job is re-planned on each newer
forecast and so chases the forecast's best start whatever start it was sent waiting for, so the
risk to weigh is the best start's, not a surer but smaller one's (a limit on the chance of
ending dirtier, ``max_worse``, which admits only the sure starts and then waits for the best of
those, was measured below the hedge's curve on the training slice: docs/BENCHMARKS.md). The
planner then ranks the job's starts so that the chosen one comes first (capacity permitting;
else the nearest free start).

It decides a job's start at submission. A job it sends waiting is then re-planned on the
forecast as it is, with the product's hysteresis, as the leads shrink: its regret is against
its run at submission, which is gone; re-deciding against the run at each re-plan time (which
sends a job that lost its window off at once), or keeping the plan unless a move is likely to
pay, were both measured worse (docs/BENCHMARKS.md).

Risk settings: ``greedy`` plans on the forecast as it is (the planner before this module),
``balanced`` (the default) waits when the best start beats "now" by more than half its error
band, ``cautious`` by more than 0.9 of it. The parameters were tuned on a training slice of the
backtest (January-February 2020) and are reported on the held-out rest of 2020: their measured
trade-off (share of the optimum vs jobs made worse) is in docs/BENCHMARKS.md.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from itertools import zip_longest

from carbon.intensity import StepSeries

__all__ = [
    "DEFAULT_RISK",
    "RISK_LEVELS",
    "RISK_RULES",
    "Candidate",
    "ErrorProfile",
    "RiskRule",
    "RunErrors",
    "Runs",
    "Sureness",
    "choose",
    "issue_errors",
    "learn_errors",
    "profile_from_errors",
    "risk_rule",
]

RISK_LEVELS = ("cautious", "balanced", "greedy")
DEFAULT_RISK = "balanced"


@dataclass(frozen=True)
class RiskRule:
    """How a risk setting decides (:func:`choose`): the hedge (in error bands of the best start:
    the earliest start within that of the best wins, "now" included), and for experiments the
    largest chance of ending dirtier than "now" a wait may take and the smallest expected saving
    (%) worth a wait (by default no limit)."""

    max_worse: float = 1.0
    min_expected_pct: float = 0.0
    hedge: float = 0.0


# Tuned on a training slice of the backtest (docs/BENCHMARKS.md), not on the period reported.
RISK_RULES: dict[str, RiskRule | None] = {
    "cautious": RiskRule(hedge=0.9),
    "balanced": RiskRule(hedge=0.5),
    "greedy": None,
}
LIKELY_Q = 0.5  # "likely saving": the median error
WORST_Q = 0.9  # "at worst": the 90th percentile
NOW_SPAN = timedelta(hours=1)  # "now" in D: the first hour after the issue
MIN_ISSUES = 24  # fewer past issues than this at a lead: no profile there (plan on the forecast)


def risk_rule(risk: str) -> RiskRule | None:
    """The rule a risk setting decides with (None: the forecast as it is)."""
    if risk not in RISK_RULES:
        raise ValueError(f"unknown risk setting {risk!r}: use one of {', '.join(RISK_LEVELS)}")
    return RISK_RULES[risk]


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
    """D by lead step per past issue (``step_s`` seconds per step; lead 0 is the issue's step),
    and its sorted values per lead (:attr:`samples`)."""

    step_s: float
    issues: int
    # D by lead per past issue (issue_errors), for the run-level errors.
    vectors: tuple[tuple[float | None, ...], ...] = ()
    _tables: dict[float, list[float]] = field(default_factory=dict, compare=False, repr=False)
    _runs: dict[tuple[int, int, int], RunErrors] = field(default_factory=dict, compare=False, repr=False)
    _means: dict[int, list[list[float | None]]] = field(default_factory=dict, compare=False, repr=False)
    _columns: dict[int, list[tuple[float | None, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # An earlier profile's run means by steps, by vector identity (the vector kept with them, so
    # its identity is not reused): see profile_from_errors(previous=...).
    _known: dict[int, dict[int, tuple[tuple[float | None, ...], list[float | None]]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @cached_property
    def samples(self) -> tuple[tuple[float, ...], ...]:
        """Per lead, the known D of every issue, sorted (the leads after the last known value
        dropped); computed when first asked for (a backtest's profiles only use the run errors)."""
        per_lead = [sorted(x for x in column if x is not None) for column in zip_longest(*self.vectors)]
        while per_lead and not per_lead[-1]:
            per_lead.pop()
        return tuple(tuple(xs) for xs in per_lead)

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

    def run_errors(self, steps: int, ref: int, lead: int) -> RunErrors:
        """The error of a ``steps``-long run starting ``lead`` steps ahead compared with the run
        starting ``ref`` steps ahead: one value per past issue, mean D over the first run less
        mean D over the second (positive: the later run turned out dirtier, relative to the
        reference, than forecast). Leads beyond the learned ones use the last learned lead;
        fewer than MIN_ISSUES issues: an empty distribution (nothing known: no risk counted)."""
        key = (max(1, steps), ref, lead)
        got = self._runs.get(key)
        if got is None:
            means = self._run_means(key[0])
            last = max(0, len(means[0]) - 1) if means else 0
            a, b = min(ref, last), min(lead, last)
            columns = self._run_columns(key[0])  # None past an issue's own leads
            xs: list[float] = (
                [
                    y - x
                    for x, y in zip(columns[a], columns[b], strict=True)
                    if x is not None and y is not None
                ]
                if b < len(columns)
                else []
            )
            xs.sort()
            got = RunErrors(tuple(xs) if len(xs) >= MIN_ISSUES else ())
            self._runs[key] = got
        return got

    def _run_columns(self, steps: int) -> list[tuple[float | None, ...]]:
        """_run_means by lead: per lead step, every past issue's run mean there (None where the
        issue has none)."""
        got = self._columns.get(steps)
        if got is None:
            got = self._columns[steps] = list(zip_longest(*self._run_means(steps)))
        return got

    def _run_means(self, steps: int) -> list[list[float | None]]:
        """Per past issue, the mean D over the ``steps``-long run starting at each lead step."""
        got = self._means.get(steps)
        if got is None:
            known = self._known.pop(steps, {})
            got = []
            for vec in self.vectors:
                same = known.get(id(vec))
                got.append(same[1] if same is not None and same[0] is vec else _run_means(vec, steps))
            self._means[steps] = got
        return got

    def assess(
        self, series: StepSeries, now: datetime, lo: datetime, hi: datetime, duration: timedelta
    ) -> list[Candidate]:
        """Every start from ``lo`` to ``hi`` on the profile's step (and ``hi`` itself) whose run
        the series covers, against the run starting at ``lo`` ("now", first), with the
        forecast's saving, the expected one and the chance of ending dirtier (see
        :class:`Candidate`). ``now`` is the forecast's time (leads count from it). Empty if
        "now"'s run is not covered."""
        return self.runs(series, now, lo, hi, duration).candidates()

    def runs(
        self, series: StepSeries, now: datetime, lo: datetime, hi: datetime, duration: timedelta
    ) -> Runs:
        """The runs :meth:`assess` compares: their forecast means and run-level errors."""
        ref_fc = series.mean(lo, lo + duration) if series.coverage(lo, lo + duration) >= 1 - 1e-9 else None
        level = series.mean(now, now + NOW_SPAN) or ref_fc
        if ref_fc is None or level is None or level <= 0 or ref_fc <= 0:
            return Runs(0.0, 0.0, ())
        steps = max(1, round(duration.total_seconds() / self.step_s))
        ref = max(0, round((lo - now).total_seconds() / self.step_s))
        # The starts on the step grid up to hi, then hi itself (off the grid) if one of them is
        # covered; their runs' figures in one call.
        step_s = self.step_s
        if step_s == int(step_s) and not (
            lo.microsecond or hi.microsecond or now.microsecond or duration.microseconds
        ):
            # Whole seconds: every time below is an integer in epoch seconds, exact as a float, so
            # the starts, ends and leads are computed without datetimes (the same numbers).
            lo_s, hi_s, now_s, d_s = lo.timestamp(), hi.timestamp(), now.timestamp(), duration.total_seconds()
            grid = [lo_s + k * step_s for k in range(max(0, int((hi_s - lo_s) // step_s) + 1))]
            found: list[tuple[datetime, float, RunErrors]] = []
            known = self._runs  # run_errors' own cache, read here first (steps is already >= 1)
            step = timedelta(seconds=step_s)
            for k, (covered, fc) in enumerate(series.figures([(a, a + d_s) for a in grid])):
                if covered >= 1 - 1e-9:
                    assert fc is not None  # covered
                    lead = round((grid[k] - now_s) / step_s)
                    errors = known.get((steps, ref, lead))
                    if errors is None:
                        errors = self.run_errors(steps, ref, lead)
                    found.append((lo + step * k, fc, errors))
            if found and grid[-1] < hi_s:
                ((covered, fc),) = series.figures([(hi_s, hi_s + d_s)])
                if covered >= 1 - 1e-9:
                    assert fc is not None  # covered
                    found.append((hi, fc, self.run_errors(steps, ref, round((hi_s - now_s) / step_s))))
            return Runs(level, ref_fc, tuple(found))
        starts: list[datetime] = []
        k = 0
        while (s := lo + timedelta(seconds=k * self.step_s)) <= hi:
            starts.append(s)
            k += 1
        out: list[tuple[datetime, float, RunErrors]] = []
        for tail in (False, True):
            if tail:
                if not out or starts[-1] >= hi:
                    break
                starts = [hi]
            figures = series.figures([(s.timestamp(), (s + duration).timestamp()) for s in starts])
            for s, (covered, fc) in zip(starts, figures, strict=True):
                if covered >= 1 - 1e-9:
                    assert fc is not None  # covered
                    lead = round((s - now).total_seconds() / self.step_s)
                    out.append((s, fc, self.run_errors(steps, ref, lead)))
        return Runs(level, ref_fc, tuple(out))

    def sureness(
        self, series: StepSeries, now: datetime, start: datetime, duration: timedelta
    ) -> Sureness | None:
        """How sure "start at ``start`` rather than at ``now``" is (None without the figures)."""
        if not self.vectors:
            return None
        got = [c for c in self.assess(series, now, now, start, duration) if c.start == start]
        if not got:
            return None
        c = got[0]
        return Sureness(
            forecast_pct=c.forecast_pct, likely_pct=c.likely_pct, worst_pct=c.worst_pct, issues=self.issues
        )


def _run_means(vec: Sequence[float | None], steps: int) -> list[float | None]:
    """The mean of every ``steps``-long run of ``vec`` (None if the run holds a None): each
    run's own sum, left to right as ``sum`` adds (a running sum would round differently); the
    runs holding a None are found from the positions of the Nones."""
    n = max(0, len(vec) - steps + 1)
    out: list[float | None] = [None] * n
    holes = [i for i, x in enumerate(vec) if x is None]
    if not holes:
        for k in range(n):
            out[k] = sum(vec[k : k + steps]) / steps  # type: ignore[arg-type]
        return out
    h = 0  # the first hole at or after k
    for k in range(n):
        while h < len(holes) and holes[h] < k:
            h += 1
        if h == len(holes) or holes[h] >= k + steps:
            out[k] = sum(vec[k : k + steps]) / steps  # type: ignore[arg-type]
    return out


@dataclass(frozen=True)
class Runs:
    """The possible runs of a decision: the level (the next hour's forecast mean), "now"'s run's
    forecast mean, and per start its forecast mean and its error (see :meth:`ErrorProfile.runs`)."""

    level: float
    now_fc: float
    runs: tuple[tuple[datetime, float, RunErrors], ...]

    def choose_start(self, rule: RiskRule, *, latest: datetime | None = None) -> datetime | None:
        """``choose(self.candidates(), rule, latest=latest).start`` (None: no candidate), with the
        same arithmetic, without building every candidate (a backtest decides thousands of
        times; a test compares the two)."""
        ref_fc = self.now_fc
        if not self.runs or ref_fc <= 0:
            return None
        level = self.level
        scale = level / ref_fc * 100
        ok: list[tuple[datetime, float, RunErrors]] = []  # "now" first, then the admissible
        max_worse, min_expected = rule.max_worse, rule.min_expected_pct
        for s, fc, err in self.runs:
            if latest is not None and s > latest:
                continue
            gain = (ref_fc - fc) / level
            expected = (gain - err.mean) * scale
            if not ok:
                ok.append((s, expected, err))
                continue
            if expected < min_expected:
                continue  # not admissible, whatever its chance of ending dirtier
            xs = err.xs  # err.above(gain), inline: the chance of ending dirtier than "now"
            worse = (len(xs) - bisect_right(xs, gain)) / len(xs) if xs else 0.0
            if worse <= max_worse:
                ok.append((s, expected, err))
        if not ok:
            return None
        best_expected, best_err = ok[0][1], ok[0][2]
        for _, expected, err in ok:
            if expected > best_expected:  # ties: the earliest, as max() keeps the first
                best_expected, best_err = expected, err
        floor = best_expected - rule.hedge * (best_err.spread * scale)
        return next(s for s, expected, _ in ok if expected >= floor)

    def candidates(self) -> list[Candidate]:
        """Each run against "now"'s."""
        ref_fc = self.now_fc
        if not self.runs or ref_fc <= 0:
            return []
        level = self.level
        scale = level / ref_fc * 100  # a share of the level -> % of the reference run
        out = []
        for s, fc, err in self.runs:
            gain = (ref_fc - fc) / level  # the forecast's saving, as a share of the level
            out.append(
                Candidate(
                    start=s,
                    forecast_pct=gain * scale,
                    expected_pct=(gain - err.mean) * scale,
                    worse_prob=err.above(gain),
                    band_pct=err.spread * scale,
                    likely_pct=(gain - err.quantile(LIKELY_Q)) * scale,
                    worst_pct=(gain - err.quantile(WORST_Q)) * scale,
                )
            )
        return out


@dataclass(frozen=True)
class RunErrors:
    """Sorted run-level errors (see :meth:`ErrorProfile.run_errors`); empty: unknown, no risk."""

    xs: tuple[float, ...]
    # A profile's run errors are read by every decision until the profile is relearned: their
    # figures are computed once each.
    _quantiles: dict[float, float] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def mean(self) -> float:
        return sum(self.xs) / len(self.xs) if self.xs else 0.0

    @cached_property
    def spread(self) -> float:
        """The error band: the inter-quartile range."""
        return self.quantile(0.75) - self.quantile(0.25)

    def quantile(self, q: float) -> float:
        got = self._quantiles.get(q)
        if got is None:
            xs = self.xs
            if not xs:
                return 0.0
            pos = q * (len(xs) - 1)
            i = int(pos)
            got = xs[-1] if i + 1 >= len(xs) else xs[i] + (pos - i) * (xs[i + 1] - xs[i])
            self._quantiles[q] = got
        return got

    def above(self, gain: float) -> float:
        """The chance the error exceeds ``gain`` (the run ends dirtier than the reference)."""
        return (len(self.xs) - bisect_right(self.xs, gain)) / len(self.xs) if self.xs else 0.0


@dataclass(frozen=True)
class Candidate:
    """One possible start against "now", in % of "now"'s forecast run: the forecast's saving,
    the expected saving (the forecast's less the mean error at that lead), the chance of ending
    dirtier than "now" (``worse_prob``), the error band (inter-quartile range of the error) and
    the likely (median error) and worst (90th percentile) savings."""

    start: datetime
    forecast_pct: float
    expected_pct: float
    worse_prob: float
    band_pct: float
    likely_pct: float
    worst_pct: float


def choose(
    candidates: Sequence[Candidate],
    rule: RiskRule,
    *,
    latest: datetime | None = None,
) -> Candidate | None:
    """The risk rule's start among ``candidates`` (the first is "now"; None if there are none).

    A later start is *admissible* when its chance of ending dirtier than "now" is at most
    ``rule.max_worse`` and its expected saving at least ``rule.min_expected_pct`` (the named
    settings set neither: every start is); "now" always is. The earliest admissible start whose
    expected saving is within ``rule.hedge`` times the best's error band of the best's wins (the
    hedge: a wait must beat "now" by that much; between close calls, the earlier and surer
    start). Only starts up to ``latest``.
    """
    cands = [c for c in candidates if latest is None or c.start <= latest]
    if not cands:
        return None
    now = cands[0]
    ok = [now] + [
        c for c in cands[1:] if c.worse_prob <= rule.max_worse and c.expected_pct >= rule.min_expected_pct
    ]
    best = max(ok, key=lambda c: c.expected_pct)  # ties: the earliest (max keeps the first)
    return next(c for c in ok if c.expected_pct >= best.expected_pct - rule.hedge * best.band_pct)


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
    holes = [0]  # holes[i]: how many of errs[:i] are unknown
    for e in errs:
        holes.append(holes[-1] + (e is None))
    count = len(errs) - (now_n - half) + 1
    # The first leads' windows are cut by the issue time (lead k reads errs[max(0, k - half) :
    # k - half + now_n]); from lead `half` on no window reaches past the end, so each is a whole
    # now_n long and starts at k - half.
    for k in range(min(half, count)):
        hi = min(len(errs), k - half + now_n)
        if holes[hi] > holes[0]:
            out.append(None)
        else:
            window = errs[:hi]
            out.append((sum(window) / len(window) - off) / base_a)  # type: ignore[arg-type]
    out += [
        None if holes[lo + now_n] > holes[lo] else (sum(errs[lo : lo + now_n]) / now_n - off) / base_a  # type: ignore[arg-type]
        for lo in range(count - half)
    ]
    return out


def profile_from_errors(
    vectors: Iterable[Sequence[float | None] | None], step_s: float, *, previous: ErrorProfile | None = None
) -> ErrorProfile:
    """An :class:`ErrorProfile` from :func:`issue_errors` vectors (None: a skipped issue).

    ``previous``: an earlier profile sharing some of these vectors (the same tuple objects, e.g.
    a backtest's profile of yesterday): the run means it computed for them are reused."""
    kept = tuple(tuple(vec) for vec in vectors if vec is not None)
    profile = ErrorProfile(step_s, len(kept), kept)
    if previous is not None:
        for steps, means in previous._means.items():
            profile._known[steps] = {id(v): (v, m) for v, m in zip(previous.vectors, means, strict=True)}
    return profile


def learn_errors(
    pairs: Iterable[tuple[Sequence[float | None], Sequence[float | None]]], step_s: float
) -> ErrorProfile:
    """An :class:`ErrorProfile` from past issues: each pair is (forecast, actual) on the same
    regular grid of ``step_s`` seconds, from the issue time on (None where unknown). Issues whose
    first hour is not known on both sides are skipped."""
    return profile_from_errors((issue_errors(fc, act, step_s) for fc, act in pairs), step_s)
