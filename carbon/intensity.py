"""Carbon-intensity maths: step series, time-weighted means, best windows, energy and emissions.

Pure module (no Django, no ORM): services turn readings into a :class:`StepSeries` and pass
settings values in as arguments, so everything here is testable with plain numbers.

Times are aware datetimes at the edges and epoch-second floats inside. Naive datetimes are
rejected with ``ValueError``: hyperweb stores and computes in UTC everywhere, and silently
treating a naive value as local time is the classic off-by-one-hour bug.

A step series is a set of half-open steps ``[start, end)`` each carrying one value (gCO2/kWh).
Steps are sorted and do not overlap, but there may be gaps (a provider was down, a forecast ends).
Gaps are *not* interpolated: a mean covers only the covered part of an interval, and how much was
covered is reported separately by :meth:`StepSeries.coverage`.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypedDict

__all__ = [
    "BestWindows",
    "CAR_G_CO2_PER_KM",
    "TREE_KG_CO2_PER_YEAR",
    "StepSeries",
    "Window",
    "emissions_kg",
    "energy_kwh",
    "equivalent_text",
    "equivalents",
    "quality",
]

# Two means closer than this (relative) count as equal, so float noise from the prefix sums
# cannot steal a tie from an earlier start. With a year of data the rounding error of a mean is
# around 1e-10 relative; real differences between windows are many orders of magnitude larger.
_TIE_RTOL = 1e-9
# A start whose coverage falls short of the threshold by only rounding error still qualifies.
_COVERAGE_RTOL = 1e-9
# Sentinel knots outside any realistic epoch, so the sliding pointers never run off the arrays.
_FAR = 1e300


def _to_epoch(value: datetime, name: str) -> float:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.timestamp()


def _from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


@dataclass(frozen=True)
class Window:
    """A candidate run ``[start, end)`` and its time-weighted mean intensity (gCO2/kWh).

    ``coverage`` is the covered fraction of the run (1.0 unless the caller allowed gaps).
    """

    start: datetime
    end: datetime
    mean: float
    coverage: float = 1.0


class StepSeries:
    """A sorted, non-overlapping step series with prefix integrals for O(1)/O(log n) queries.

    Internally the series is described by *knots*: every step start and end, sorted. Between two
    consecutive knots the series is either one step's constant value or a gap. Two running
    integrals are stored at every knot:

    - ``F(t)``: integral of value x covered-indicator from the first knot to ``t``;
    - ``C(t)``: covered seconds from the first knot to ``t``.

    Both are continuous and piecewise linear with breaks only at knots (slope = the step value
    and 1 on a step, 0 and 0 in a gap), so for any interval ``[a, b]``
    ``mean = (F(b) - F(a)) / (C(b) - C(a))`` and ``coverage = (C(b) - C(a)) / (b - a)``.
    """

    __slots__ = ("_starts", "_ends", "_values", "_knots", "_fk", "_ck", "_sf", "_sc")

    def __init__(self, starts: Sequence[float], ends: Sequence[float], values: Sequence[float]) -> None:
        if not (len(starts) == len(ends) == len(values)):
            raise ValueError("starts, ends and values must have the same length")
        self._starts = [float(s) for s in starts]
        self._ends = [float(e) for e in ends]
        self._values = [float(v) for v in values]
        if not self._valid():
            self._raise_invalid()
        self._build()

    def _valid(self) -> bool:
        """The checks of _raise_invalid, at C speed (a backtest builds thousands of series)."""
        starts, ends, values = self._starts, self._ends, self._values
        finite = math.isfinite
        return (
            all(map(finite, starts))
            and all(map(finite, ends))
            and all(map(finite, values))
            and all(map(operator.lt, starts, ends))
            and all(map(operator.ge, starts[1:], ends[:-1]))
        )

    def _raise_invalid(self) -> None:
        prev_end = -math.inf
        for i, (s, e, v) in enumerate(zip(self._starts, self._ends, self._values, strict=True)):
            if not (math.isfinite(s) and math.isfinite(e) and math.isfinite(v)):
                raise ValueError(f"step {i} has a non-finite start, end or value")
            if e <= s:
                raise ValueError(f"step {i} ends ({e}) at or before it starts ({s})")
            if s < prev_end:
                raise ValueError(f"step {i} starts ({s}) before the previous step ends ({prev_end})")
            prev_end = e
        raise AssertionError("_valid and _raise_invalid disagree")  # pragma: no cover

    def _build(self) -> None:
        # Knot arrays, padded with a sentinel at each side whose segment has slope 0: F and C
        # are flat before the first step and after the last, so queries outside need no branches.
        knots = [-_FAR]
        fk = [0.0]
        ck = [0.0]
        sf: list[float] = []
        sc: list[float] = []
        f = c = 0.0
        for s, e, v in zip(self._starts, self._ends, self._values, strict=True):
            if s > knots[-1]:
                # Either the leading sentinel segment or a gap before this step: flat F and C.
                sf.append(0.0)
                sc.append(0.0)
                knots.append(s)
                fk.append(f)
                ck.append(c)
            f += v * (e - s)
            c += e - s
            sf.append(v)
            sc.append(1.0)
            knots.append(e)
            fk.append(f)
            ck.append(c)
        sf.append(0.0)
        sc.append(0.0)
        knots.append(_FAR)
        fk.append(f)
        ck.append(c)
        # Segment k runs from knots[k] to knots[k+1] with slopes sf[k], sc[k]; the final entries
        # (sf[-1] for the last sentinel) are never read past but keep the arrays aligned.
        sf.append(0.0)
        sc.append(0.0)
        self._knots = knots
        self._fk = fk
        self._ck = ck
        self._sf = sf
        self._sc = sc

    # -- construction and inspection ------------------------------------------------------

    @classmethod
    def from_steps(cls, steps: Iterable[tuple[datetime, datetime, float]]) -> StepSeries:
        """Build from ``(start, end, value)`` with aware datetimes; sorted here, must not overlap."""
        triples = [(_to_epoch(s, "step start"), _to_epoch(e, "step end"), float(v)) for s, e, v in steps]
        triples.sort(key=lambda t: t[0])
        return cls([t[0] for t in triples], [t[1] for t in triples], [t[2] for t in triples])

    def __len__(self) -> int:
        return len(self._starts)

    def __repr__(self) -> str:
        if not self._starts:
            return "StepSeries(empty)"
        first, last = _from_epoch(self._starts[0]), _from_epoch(self._ends[-1])
        return f"StepSeries({len(self)} steps, {first.isoformat()} .. {last.isoformat()})"

    @property
    def first_start(self) -> datetime | None:
        return _from_epoch(self._starts[0]) if self._starts else None

    @property
    def last_end(self) -> datetime | None:
        return _from_epoch(self._ends[-1]) if self._ends else None

    def steps(self) -> list[tuple[datetime, datetime, float]]:
        return [
            (_from_epoch(s), _from_epoch(e), v)
            for s, e, v in zip(self._starts, self._ends, self._values, strict=True)
        ]

    # -- queries ---------------------------------------------------------------------------

    def _integrals(self, t: float) -> tuple[float, float]:
        """``(F(t), C(t))`` by binary search over the knots."""
        k = bisect_right(self._knots, t) - 1
        dt = t - self._knots[k]
        return self._fk[k] + self._sf[k] * dt, self._ck[k] + self._sc[k] * dt

    def _span(self, start: datetime, end: datetime) -> tuple[float, float]:
        a = _to_epoch(start, "start")
        b = _to_epoch(end, "end")
        if b < a:
            raise ValueError(f"end ({end.isoformat()}) is before start ({start.isoformat()})")
        return a, b

    def value_at(self, when: datetime) -> float | None:
        """The value of the step containing ``when`` (steps are half-open), None in a gap."""
        t = _to_epoch(when, "when")
        i = bisect_right(self._starts, t) - 1
        if i >= 0 and t < self._ends[i]:
            return self._values[i]
        return None

    def mean(self, start: datetime, end: datetime) -> float | None:
        """Time-weighted mean over the covered part of ``[start, end]``; None if nothing covered.

        Steps that only partly overlap the interval count for the overlapping time. A zero-length
        interval yields the value at that instant (or None in a gap).
        """
        a, b = self._span(start, end)
        if a == b:
            return self.value_at(start)
        fa, ca = self._integrals(a)
        fb, cb = self._integrals(b)
        covered = cb - ca
        if covered <= 0.0:
            return None
        return (fb - fa) / covered

    def coverage(self, start: datetime, end: datetime) -> float:
        """Covered fraction (0..1) of ``[start, end]``; a zero-length interval is 1 or 0."""
        a, b = self._span(start, end)
        if a == b:
            return 1.0 if self.value_at(start) is not None else 0.0
        _, ca = self._integrals(a)
        _, cb = self._integrals(b)
        return min(1.0, max(0.0, (cb - ca) / (b - a)))

    def figures(self, spans: Iterable[tuple[float, float]]) -> list[tuple[float, float | None]]:
        """``(coverage, mean)`` of every ``[a, b]`` given in epoch seconds: :meth:`coverage` and
        :meth:`mean` of the same interval, bit for bit, without their datetimes (a backtest asks
        for tens of thousands of runs)."""
        knots, fk, ck, sf, sc = self._knots, self._fk, self._ck, self._sf, self._sc
        out: list[tuple[float, float | None]] = []
        for a, b in spans:
            if b < a:
                raise ValueError(f"end ({b}) is before start ({a})")
            if a == b:
                i = bisect_right(self._starts, a) - 1
                value = self._values[i] if i >= 0 and a < self._ends[i] else None
                out.append((1.0 if value is not None else 0.0, value))
                continue
            k = bisect_right(knots, a) - 1
            dt = a - knots[k]
            fa, ca = fk[k] + sf[k] * dt, ck[k] + sc[k] * dt
            k = bisect_right(knots, b) - 1
            dt = b - knots[k]
            fb, cb = fk[k] + sf[k] * dt, ck[k] + sc[k] * dt
            covered = cb - ca
            out.append(
                (min(1.0, max(0.0, covered / (b - a))), (fb - fa) / covered if covered > 0.0 else None)
            )
        return out

    def best_window(
        self,
        duration: timedelta,
        earliest: datetime,
        latest: datetime,
        *,
        min_coverage: float = 1.0,
    ) -> Window | None:
        """The start ``s`` in ``[earliest, latest]`` with the lowest mean over ``[s, s + duration]``.

        Only starts whose run is covered at least ``min_coverage`` (0 < x <= 1) qualify; the mean
        is over the covered part. Ties go to the earliest start. Returns None if no start
        qualifies (no data, or too many gaps, or a run longer than the data).

        Why checking a few points is enough: write ``G(s) = F(s + d) - F(s)`` (the integral over
        the run) and ``K(s) = C(s + d) - C(s)`` (covered seconds). Each is piecewise linear in
        ``s`` and only changes slope where ``s`` or ``s + d`` crosses a knot. Between two such
        points the mean ``G/K`` is a ratio of two linear functions: with ``G = g0 + g1*s`` and
        ``K = k0 + k1*s``, ``(G/K)' = (g1*k0 - g0*k1) / K**2``, whose sign never changes while
        ``K > 0``, so the mean is monotone on the piece (with no gaps ``K = d`` is constant and
        the mean is simply linear). So on each piece the minimum sits at an end of the piece, and if the piece is flat its left
        end is the earliest minimiser. The coverage condition ``K(s) >= min_coverage * d`` cuts
        each piece at most once more, where the linear ``K`` crosses the threshold; that crossing
        point is a candidate too. With ``min_coverage = 1`` and no gaps ``K`` is constant and
        the cut never happens.

        The candidates are therefore ``earliest``, ``latest``, knots in range, knots minus ``d``
        in range, and coverage crossings. They are produced in increasing order by merging two
        sorted streams, and two pointers slide forward over the knots to evaluate ``F`` and
        ``C`` in O(1) each: one pass, O(knots in [earliest, latest + d]) after one bisect.
        """
        d, a, b, need, threshold = _scan_bounds(duration, earliest, latest, "latest", min_coverage)
        if not self._starts:
            return None
        found, best_x, best_m, best_k = _scan(self, d, need, threshold, b, _first_state(self, a, d), None)
        return _window(found, best_x, best_m, best_k, a, b, earliest, latest, duration, d)

    def best_windows_from(
        self, duration: timedelta, earliest: datetime, until: datetime, *, min_coverage: float = 1.0
    ) -> BestWindows:
        """``best_window(duration, earliest, latest)`` for every ``latest`` up to ``until`` from one
        pass: a backtest re-plans every waiting job at the same time on the same series, each with
        its own latest start. See :class:`BestWindows`."""
        return BestWindows(self, duration, earliest, until, min_coverage)

    def best_means(self, duration: timedelta, spans: Sequence[tuple[float, float]]) -> list[float | None]:
        """``best_window(duration, earliest, latest).mean`` (None where it finds no start) for
        every ``(earliest, latest)`` given in epoch seconds, the same floats bit for bit, with the
        candidates' means computed once for all spans (a what-if asks for thousands of
        overlapping ones). See :func:`_best_means` for why that is exact."""
        return _best_means(self, duration, spans)


class BestWindows:
    """best_window's scan from ``earliest`` run on to ``until``, its state kept at every candidate.

    The scan visits candidates in increasing order and only compares each with the best so far,
    so ``best_window(d, earliest, latest)`` passes the same states up to the last candidate at or
    before ``latest`` and then evaluates ``latest`` itself: :meth:`window` resumes the one scan
    (``_scan``, best_window's too) from that kept state with ``latest`` as its end (bit for bit
    best_window's answer; a test compares them).
    """

    __slots__ = (
        "_series",
        "_duration",
        "_earliest",
        "_d",
        "_a",
        "_need",
        "_threshold",
        "_xs",
        "_states",
        "_until",
    )

    def __init__(
        self,
        series: StepSeries,
        duration: timedelta,
        earliest: datetime,
        until: datetime,
        min_coverage: float,
    ) -> None:
        d, a, b, need, threshold = _scan_bounds(duration, earliest, until, "until", min_coverage)
        self._series, self._duration, self._earliest, self._d, self._a, self._until = (
            series,
            duration,
            earliest,
            d,
            a,
            b,
        )
        self._need, self._threshold = need, threshold
        # The scan's state on reaching each candidate x, before evaluating it (see _scan).
        self._states: list[_ScanState] = []
        self._xs: list[float] = []
        if not series._starts:
            return
        _scan(series, d, need, threshold, b, _first_state(series, a, d), self._states)
        self._xs = [state[0] for state in self._states]

    def window(self, latest: datetime) -> Window | None:
        """``series.best_window(duration, earliest, latest, min_coverage=...)`` (``latest`` from
        ``earliest`` to ``until``; past them, a ValueError as best_window would raise or the
        answer computed by best_window itself)."""
        b = _to_epoch(latest, "latest")
        if b < self._a:
            raise ValueError(
                f"latest ({latest.isoformat()}) is before earliest ({self._earliest.isoformat()})"
            )
        if not self._xs:
            return None
        if b > self._until:
            return self._series.best_window(
                self._duration, self._earliest, latest, min_coverage=self._need / self._d
            )
        # best_window's scan to latest passes the same candidates up to the last one at or before
        # latest, then evaluates latest itself: resume the scan there with latest as its end.
        n = bisect_right(self._xs, b) - 1
        found, best_x, best_m, best_k = _scan(
            self._series, self._d, self._need, self._threshold, b, self._states[n], None
        )
        return _window(
            found, best_x, best_m, best_k, self._a, b, self._earliest, latest, self._duration, self._d
        )


# The scan's state on reaching a candidate x: (x, p, q, i, j, prev_x, prev_g, prev_k, have_prev,
# found, best_x, best_m, best_k); see _scan.
_ScanState = tuple[float, int, int, int, int, float, float, float, bool, bool, float, float, float]


def _scan_bounds(
    duration: timedelta, earliest: datetime, latest: datetime, latest_name: str, min_coverage: float
) -> tuple[float, float, float, float, float]:
    """``(d, a, b, need, threshold)`` of a best-window scan from ``earliest`` to ``latest``, checked.

    Crossings are placed at the exact ``need``; the slightly lower ``threshold`` only decides
    whether a start qualifies, so a run that misses by rounding error is not thrown away (and the
    start cannot drift past the true boundary to gain a fake improvement)."""
    d = duration.total_seconds()
    if d <= 0:
        raise ValueError(f"duration must be positive, got {duration}")
    if not (0.0 < min_coverage <= 1.0):
        raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage}")
    a = _to_epoch(earliest, "earliest")
    b = _to_epoch(latest, latest_name)
    if b < a:
        raise ValueError(f"{latest_name} ({latest.isoformat()}) is before earliest ({earliest.isoformat()})")
    need = min_coverage * d
    return d, a, b, need, need * (1.0 - _COVERAGE_RTOL)


def _first_state(series: StepSeries, a: float, d: float) -> _ScanState:
    """The scan's state on reaching its first candidate, ``earliest`` (epoch ``a``)."""
    # p, q: segment holding x and x + d. i: next knot >= x (left-end candidates);
    # j: next knot with knot - d >= x (right-end candidates).
    p = bisect_right(series._knots, a) - 1
    q = bisect_right(series._knots, a + d) - 1
    return (a, p, q, p + 1, q + 1, 0.0, 0.0, 0.0, False, False, 0.0, 0.0, 0.0)


def _scan(
    series: StepSeries,
    d: float,
    need: float,
    threshold: float,
    b: float,
    state: _ScanState,
    kept: list[_ScanState] | None,
) -> tuple[bool, float, float, float]:
    """best_window's scan (the reasoning is in its docstring): from ``state`` on to the candidate
    ``b``, each candidate compared with the best so far; ``(found, best_x, best_m, best_k)``.

    With ``kept``, the state on reaching each candidate is appended to it, so that a later scan can
    resume from any of them (BestWindows.window)."""
    knots, fk, ck, sf, sc = series._knots, series._fk, series._ck, series._sf, series._sc
    x, p, q, i, j, prev_x, prev_g, prev_k, have_prev, found, best_x, best_m, best_k = state
    # What a mean must be below to beat the best so far (the tie rule), kept as the best changes;
    # and whether the previous candidate qualified.
    bar = best_m - _TIE_RTOL * max(1.0, abs(best_m))
    prev_ok = prev_k >= threshold
    while True:
        if kept is not None:
            kept.append((x, p, q, i, j, prev_x, prev_g, prev_k, have_prev, found, best_x, best_m, best_k))
        y = x + d
        while knots[p + 1] <= x:
            p += 1
        while knots[q + 1] <= y:
            q += 1
        dx = x - knots[p]
        dy = y - knots[q]
        g = fk[q] + sf[q] * dy - fk[p] - sf[p] * dx
        k = ck[q] + sc[q] * dy - ck[p] - sc[p] * dx
        ok = k >= threshold

        if have_prev and ok != prev_ok:
            # Coverage crosses the threshold inside this piece: the crossing point is the
            # boundary of the qualifying part, so it is a candidate. It lies before x.
            frac = min(1.0, max(0.0, (need - prev_k) / (k - prev_k)))
            cx = prev_x + frac * (x - prev_x)
            cg = prev_g + frac * (g - prev_g)
            ckv = prev_k + frac * (k - prev_k)
            if ckv > 0.0:
                m = cg / ckv
                if not found or m < bar:
                    best_x, best_m, best_k, found = cx, m, ckv, True
                    bar = m - _TIE_RTOL * max(1.0, abs(m))

        if ok and k > 0.0:
            m = g / k
            if not found or m < bar:
                best_x, best_m, best_k, found = x, m, k, True
                bar = m - _TIE_RTOL * max(1.0, abs(m))

        if x >= b:
            return found, best_x, best_m, best_k
        prev_x, prev_g, prev_k, prev_ok, have_prev = x, g, k, ok, True
        while knots[i] <= x:
            i += 1
        while knots[j] - d <= x:
            j += 1
        nxt = knots[i]
        right = knots[j] - d
        if right < nxt:
            nxt = right
        x = nxt if nxt < b else b


def _best_means(
    series: StepSeries, duration: timedelta, spans: Sequence[tuple[float, float]]
) -> list[float | None]:
    """StepSeries.best_means: best_window's means for many spans, from one pass over the candidates.

    Why it is exact. From ``a``, ``_scan`` visits ``a``, then every distinct value among the knots
    and the ``knots[j] - d`` (the same float expression here) strictly between ``a`` and ``b``, in
    increasing order, then ``b``. Its right-hand pointer starts at the first knot after ``a + d``;
    unless rounding in ``a + d`` made it skip a ``knots[j] - d`` just above ``a`` (checked: the
    knot before must give ``knots[q] - d <= a``), these are all such values above ``a``. At a
    candidate x, the segments holding x and x + d are found by pointers that start from a bisect
    at or before them and only move forward, so they are ``bisect_right(knots, .) - 1`` of x and
    x + d, and the run's integral g and covered seconds k (the same expressions as in _scan)
    depend on x alone, not on where the scan started. So one pass computes the mean g/k of every
    candidate of every span (of ``a`` and ``b`` too where they are not candidates already).

    When every candidate of a span qualifies (k >= threshold, k > 0; a finite mean), ok never
    changes, so the scan meets no coverage crossing and is only its tie rule over the span's
    means in order (:func:`_tie_rule`). That rule's answer is the smallest mean m* (its first
    occurrence) if every mean before that has its bar (:func:`_bar`; the lowest is the bar of the
    lowest mean) above m*: whichever of them is the best on reaching m*, m* replaces it, and no
    later mean is below m*'s bar (which is at most m*). Otherwise (a near-tie) the rule itself
    runs over the means.
    A span with a candidate that does not qualify, or whose start fails the pointer check, gets
    the scan itself.
    """
    if not spans:
        return []
    d = duration.total_seconds()
    if d <= 0:
        raise ValueError(f"duration must be positive, got {duration}")
    for a, b in spans:
        if b < a:
            raise ValueError(f"latest ({b}) is before earliest ({a})")
    if not series._starts:
        return [None] * len(spans)
    need = 1.0 * d  # best_window's min_coverage * d, at its default min_coverage of 1
    threshold = need * (1.0 - _COVERAGE_RTOL)
    knots, fk, ck, sf, sc = series._knots, series._fk, series._ck, series._sf, series._sc
    inf, isfinite = math.inf, math.isfinite

    def mean_at(x: float) -> float:
        """_scan's mean at the candidate x if x qualifies and the mean is finite, else inf."""
        y = x + d
        p = bisect_right(knots, x) - 1
        q = bisect_right(knots, y) - 1
        dx = x - knots[p]
        dy = y - knots[q]
        g = fk[q] + sf[q] * dy - fk[p] - sf[p] * dx
        k = ck[q] + sc[q] * dy - ck[p] - sc[p] * dx
        if k >= threshold and k > 0.0:
            m = g / k
            if isfinite(m):
                return m
        return inf

    lo = min(a for a, _ in spans)
    hi = max(b for _, b in spans)
    # The candidates of all spans: knots and knots - d (both sorted) in [lo, hi], once each.
    shifted = [knot - d for knot in knots]
    xs = sorted(
        set(knots[bisect_left(knots, lo) : bisect_right(knots, hi)]).union(
            shifted[bisect_left(shifted, lo) : bisect_right(shifted, hi)]
        )
    )
    # mean_at over xs, the segments found by pointers moving forward as _scan's do.
    means: list[float] = []
    p = q = 0
    for x in xs:
        y = x + d
        while knots[p + 1] <= x:
            p += 1
        while knots[q + 1] <= y:
            q += 1
        dx = x - knots[p]
        dy = y - knots[q]
        g = fk[q] + sf[q] * dy - fk[p] - sf[p] * dx
        k = ck[q] + sc[q] * dy - ck[p] - sc[p] * dx
        m = g / k if k >= threshold and k > 0.0 else inf
        means.append(m if isfinite(m) else inf)
    out: list[float | None] = []
    for a, b in spans:
        i = bisect_right(xs, a)  # xs[i:j]: the candidates strictly between a and b
        j = bisect_left(xs, b, i)
        head = means[i - 1] if i and xs[i - 1] == a else mean_at(a)
        if a == b:
            seq = [head]
        else:
            seq = [head, *means[i:j], means[j] if j < len(xs) and xs[j] == b else mean_at(b)]
        if max(seq) == inf or knots[bisect_right(knots, a + d) - 1] - d > a:
            found, _, best_m, _ = _scan(series, d, need, threshold, b, _first_state(series, a, d), None)
            out.append(best_m if found else None)
            continue
        best = min(seq)
        first = seq.index(best)
        if first and _bar(min(seq[:first])) <= best:
            best = _tie_rule(seq)
        out.append(best)
    return out


def _tie_rule(means: list[float]) -> float:
    """_scan's choice among candidates that all qualify: the first is taken, and a later mean
    replaces the best only if below its bar (an earlier start keeps a tie within _TIE_RTOL)."""
    best = means[0]
    below = _bar(best)
    for m in means[1:]:
        if m < below:
            best, below = m, _bar(m)
    return best


def _bar(m: float) -> float:
    """What a mean must be below to replace ``m`` as the best: _scan's expression.

    Non-decreasing in ``m`` (so the lowest bar of some means is the bar of the lowest): with
    ``c(m) = _TIE_RTOL * max(1, |m|)`` rounded, ``m - c(m)`` before its rounding is, on ``|m| <= 1``,
    ``m`` minus a constant; for ``m <= -1`` it rises with ``m`` as ``c`` falls; for ``1 <= m1 < m2``,
    ``c(m2) - c(m1)`` is at most ``_TIE_RTOL * (m2 - m1)`` plus the two roundings,
    ``_TIE_RTOL * 2**-53 * (m1 + m2)``, which is below ``(1 - _TIE_RTOL) * (m2 - m1)`` as
    ``m2 - m1 >= 2**-53 * m1`` (one ulp) and, if ``m2 > 2 * m1``, ``m2 - m1 > m2 / 2``. The three
    pieces meet at ``|m| = 1``, and rounding the difference keeps the order."""
    return m - _TIE_RTOL * max(1.0, abs(m))


def _window(
    found: bool,
    best_x: float,
    best_m: float,
    best_k: float,
    a: float,
    b: float,
    earliest: datetime,
    latest: datetime,
    duration: timedelta,
    d: float,
) -> Window | None:
    """The Window a scan from ``earliest`` (epoch ``a``) to ``latest`` (``b``) found, if any; an
    answer at either bound keeps that bound's own datetime."""
    if not found:
        return None
    if best_x == a:
        start = earliest
    elif best_x == b:
        start = latest
    else:
        start = _from_epoch(best_x)
    return Window(start=start, end=start + duration, mean=best_m, coverage=min(1.0, best_k / d))


# -- quality, energy, emissions, equivalents ---------------------------------------------

# Upper bounds (exclusive) of each level in gCO2/kWh; at or above the last bound is "very poor".
_QUALITY_LEVELS: tuple[tuple[float, str], ...] = (
    (100.0, "excellent"),
    (200.0, "good"),
    (400.0, "moderate"),
    (600.0, "poor"),
)


def quality(value: float) -> str:
    """Human label for an intensity in gCO2/kWh: excellent <100, good <200, moderate <400,
    poor <600, else very poor. Bounds are strict, so exactly 100 is "good"."""
    for bound, label in _QUALITY_LEVELS:
        if value < bound:
            return label
    return "very poor"


def energy_kwh(
    data_gb: float,
    hours: float,
    *,
    base_watts: float = 100.0,
    watts_per_tb: float = 50.0,
    pue: float = 1.0,
) -> float:
    """Energy of a backup run: ``(base_watts + watts_per_tb * data_gb / 1000) * hours * pue / 1000``.

    A deliberately simple model (a host drawing a base load plus a share proportional to the data
    moved, times the data centre's PUE); services pass the configured values.
    """
    if data_gb < 0 or hours < 0:
        raise ValueError("data_gb and hours must not be negative")
    if pue < 1.0:
        raise ValueError(f"pue must be at least 1.0, got {pue}")
    watts = base_watts + watts_per_tb * data_gb / 1000.0
    return watts * hours * pue / 1000.0


@dataclass(frozen=True)
class EnergyModel:
    """The energy model's constants (settings ENERGY_BASE_WATTS, ENERGY_WATTS_PER_TB, ENERGY_PUE)."""

    base_watts: float = 100.0
    watts_per_tb: float = 50.0
    pue: float = 1.0

    def kwh(self, data_gb: float, hours: float) -> float:
        """Energy of a backup of `data_gb` lasting `hours` (a negative size counts as none)."""
        return energy_kwh(
            max(0.0, data_gb), hours, base_watts=self.base_watts, watts_per_tb=self.watts_per_tb, pue=self.pue
        )


def emissions_kg(kwh: float, intensity_g_per_kwh: float) -> float:
    """kg CO2 for ``kwh`` at ``intensity_g_per_kwh`` (g -> kg: divide by 1000)."""
    return kwh * intensity_g_per_kwh / 1000.0


# Equivalents are for giving people a sense of scale, not for accounting. Both constants are
# rough averages; real values vary widely by vehicle, fuel, driving, tree species, age and climate.
#
# Driving: US EPA, "Tailpipe Greenhouse Gas Emissions from a Typical Passenger Vehicle"
# (EPA-420-F-23-014, June 2023): 8,887 g CO2 per gallon of gasoline and about 22 miles per
# gallon, i.e. roughly 400 g CO2 per mile = 8887 / 22.0 / 1.609344 ~= 251 g CO2 per km. For
# comparison, the EEA's monitoring of *new* cars registered in the EU reports type-approval
# (WLTP) averages around 110 g CO2/km for 2022, lower than what the on-road fleet emits, so the
# EPA figure is the better match for "an average car on the road".
CAR_G_CO2_PER_KM = 8887.0 / 22.0 / 1.609344
# Trees: the widely quoted figure that a mature tree takes up about 48 lb (~21.8 kg) of CO2 a
# year (Arbor Day Foundation and many others; common sources give 21-25 kg). The US EPA's
# Greenhouse Gas Equivalencies Calculator uses a much lower figure for young urban trees, so read
# tree-years as an order of magnitude.
TREE_KG_CO2_PER_YEAR = 48.0 * 0.45359237


class Equivalents(TypedDict):
    """What `equivalents` returns: the figures with the constants behind them, and a note."""

    km_driving: float
    tree_years: float
    car_g_co2_per_km: float
    tree_kg_co2_per_year: float
    note: str


def equivalents(kg_co2: float) -> Equivalents:
    """Everyday equivalents of ``kg_co2``: km driven by an average car, and tree-years of uptake.

    The constants travel with the numbers so a UI or report can state its assumptions.
    """
    return {
        "km_driving": kg_co2 * 1000.0 / CAR_G_CO2_PER_KM,
        "tree_years": kg_co2 / TREE_KG_CO2_PER_YEAR,
        "car_g_co2_per_km": CAR_G_CO2_PER_KM,
        "tree_kg_co2_per_year": TREE_KG_CO2_PER_YEAR,
        "note": (
            "Approximations: average passenger car ~251 g CO2/km (US EPA, EPA-420-F-23-014); "
            "a mature tree takes up ~22 kg CO2 a year (commonly quoted figure)."
        ),
    }


# HyperSDK's clients show `equivalent` as a sentence: under 1 km it says so, up to 100 km the
# distance alone, beyond that the distance and the tree-years too (its Go daemon's wording).
TREES_FROM_KM = 100.0


def _few_digits(x: float) -> str:
    """One decimal below 10, a whole number from 10 on (as HyperSDK prints these figures)."""
    text = f"{x:.1f}"
    return text if float(text) < 10 else f"{x:.0f}"


def equivalent_text(kg_co2: float) -> str:
    """``kg_co2`` as HyperSDK's clients print it: "Less than 1 km of driving", "12 km of driving"
    or "398 km of driving, or 4.6 tree-years to offset" (hyperweb's constants above)."""
    eq = equivalents(kg_co2)
    km = eq["km_driving"]
    if km < 1:
        return "Less than 1 km of driving"
    if km < TREES_FROM_KM:
        return f"{_few_digits(km)} km of driving"
    return f"{_few_digits(km)} km of driving, or {_few_digits(eq['tree_years'])} tree-years to offset"
