"""Slot arrays for fleet planning (scheduler.fleet): the O(1) feasibility and cost machinery.

Internal to :mod:`scheduler.fleet`, split out to keep each module readable. A group's time is cut
into slots; per slot: the mean intensity, prefix sums (cost of any run in O(1)), the next gap and
the next full slot (a run over slots ``[a, b)`` is covered iff ``ngap[a] >= b`` and fits iff
``nfull[a] >= b``), kept exact as runs are added and removed. Pure, no ORM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from carbon.intensity import StepSeries
from scheduler.plan_types import PlanRequest

__all__ = [
    "SlotGroup",
    "SlotJob",
    "candidates",
    "first_fit_after",
    "occ_range",
    "occupy",
    "room",
    "scan",
    "tolerance",
]


class SlotGroup:
    """Slot arrays for one group: slot means, prefix sums, gaps, occupancy, next-full index.

    Slot ``i`` is ``[t0 + i*S, t0 + (i+1)*S)``. ``P[i]`` is the sum of slot means before slot i
    (so the integral of intensity in slot units from slot a to b is ``P[b] - P[a]``). ``ngap[i]``
    / ``nfull[i]`` is the index of the first uncovered / full slot at or after i (``n`` if none),
    so a run over slots ``[a, b)`` is covered iff ``ngap[a] >= b`` and fits iff ``nfull[a] >= b``.
    """

    def __init__(self, series: StepSeries | None, t0: float, n: int, slot: float, cap: int) -> None:
        self.t0 = t0
        self.slot = slot
        self.cap = cap
        self.n = n
        means = [0.0] * (n + 1)  # one spare slot so a partial last slot can be read
        gap = [True] * (n + 1)
        if series is not None and len(series):
            for i in range(n + 1):
                a = datetime.fromtimestamp(t0 + i * slot, tz=UTC)
                b = datetime.fromtimestamp(t0 + (i + 1) * slot, tz=UTC)
                # A slot at least half covered counts as covered (mean over its covered part):
                # slot edges and forecast edges rarely line up to the second.
                if series.coverage(a, b) >= 0.5:
                    mean = series.mean(a, b)
                    assert mean is not None  # covered at least half
                    means[i] = mean
                    gap[i] = False
        self.means = means
        prefix = [0.0] * (n + 2)
        acc = 0.0
        for i in range(n + 1):
            prefix[i] = acc
            acc += means[i]
        prefix[n + 1] = acc
        self.prefix = prefix
        ngap = [n + 1] * (n + 2)
        nxt = n + 1
        for i in range(n, -1, -1):
            if gap[i]:
                nxt = i
            ngap[i] = nxt
        self.ngap = ngap
        self.occ = [0] * (n + 1)
        self.nfull = [n + 1] * (n + 2)
        self._costs: dict[float, list[float]] = {}

    def grow(self, n: int) -> None:
        """Lengthen the arrays to ``n`` slots (>= the current n). The new slots have no forecast
        (gaps: means 0, ngap points at each) and no runs; ``nfull`` entries that said "no full
        slot" (the old end) now point at the new end."""
        old = self.n
        if n <= old:
            return
        extra = n - old
        self.means.extend([0.0] * extra)
        total = self.prefix[-1]
        self.prefix.extend([total] * extra)
        # ngap[old + 1] already named slot old + 1 (the first new slot, a gap): keep it; the other
        # new slots are gaps too, each its own first gap.
        self.ngap.extend(range(old + 2, n + 2))
        self.occ.extend([0] * extra)
        self.nfull = [n + 1 if v == old + 1 else v for v in self.nfull] + [n + 1] * extra
        self.n = n
        self._costs.clear()

    def integral(self, x: float) -> float:
        """Integral of the slot means from slot 0 to position ``x`` (in slots, may be fractional)."""
        i = int(x)
        if i > self.n:
            i = self.n
        return self.prefix[i] + (x - i) * self.means[i]

    def costs(self, dn: float) -> list[float]:
        """``C[k]``: integral of a run of ``dn`` slots starting at slot k (inf if not covered).

        Built once per distinct duration and group, so a scan is a C-level ``min`` over a slice.
        """
        c = self._costs.get(dn)
        if c is None:
            q = int(dn + 1e-9)
            frac = dn - q
            if frac < 1e-9:
                frac = 0.0
            span = q + (1 if frac else 0)
            prefix, means, ngap, inf = self.prefix, self.means, self.ngap, math.inf
            if frac:
                c = [
                    (prefix[k + q] - prefix[k] + frac * means[k + q]) if ngap[k] >= k + span else inf
                    for k in range(self.n + 2 - span)
                ]
            else:
                c = [
                    (prefix[k + q] - prefix[k]) if ngap[k] >= k + span else inf
                    for k in range(self.n + 2 - span)
                ]
            c.extend([inf] * span)
            self._costs[dn] = c
        return c

    def add(self, a: int, b: int, delta: int) -> None:
        """Add ``delta`` (+1 or -1) runs to slots ``[a, b)`` and keep ``nfull`` exact."""
        occ, cap, nfull = self.occ, self.cap, self.nfull
        cur = occ[a:b]
        new = [v + delta for v in cur]
        occ[a:b] = new
        # Only a slot crossing the capacity line changes nfull: +1 reaching cap, -1 leaving it.
        edge = cap if delta > 0 else cap - 1
        if edge not in new:
            return
        for t in range(a, b):
            if occ[t] != edge:
                continue
            if delta > 0:
                # Slot t became full: starts at or before t whose next full slot was later now
                # stop at t; walk back until an earlier full slot takes over.
                s = t
                while s >= 0 and nfull[s] > t:
                    nfull[s] = t
                    s -= 1
            else:
                # Slot t has room again: starts whose next full slot was t now look further.
                nxt = nfull[t + 1]
                s = t
                while s >= 0 and nfull[s] == t:
                    nfull[s] = nxt
                    s -= 1


@dataclass
class SlotJob:
    req: PlanRequest
    idx: int  # position in the request list
    g: SlotGroup
    lo: float  # earliest possible start, epoch s
    hi: float  # latest start, epoch s (= lo when overdue)
    dn: float  # duration in slots
    first: int  # first grid candidate (slot index)
    last: int  # last grid candidate (slot index)
    off_grid: bool  # lo itself is a candidate (not on the grid)
    wps: float  # weight per slot (the cost of a candidate is wps * integral)
    span: int  # slots a grid start occupies
    flex: int = 0  # minus the number of grid candidates (sort key: most flexible first)
    overdue: bool = False  # the latest start had passed when planning
    best: float = math.inf  # uncapacitated best integral
    best_x: float = -1.0
    regret: float = 0.0
    x: float = -1.0  # chosen start, slot position (may be fractional for lo)
    cost: float = math.inf
    occ: tuple[int, int] = (0, 0)
    overflow: bool = False
    threshold_now: bool = False
    covered: bool = True
    # Further capacity groups the run counts against (backup targets), on the same slot grid as
    # ``g`` (plan_fleet gives every group the same t0 and length).
    limits: tuple[SlotGroup, ...] = ()
    # The slot arrays its starts are ranked on (PlanRequest.cost_group; None: ``g``'s own). Same
    # grid and coverage as ``g``; never counts capacity.
    cg: SlotGroup | None = None

    @property
    def ranked(self) -> SlotGroup:
        """The slot arrays its costs are read from."""
        return self.cg if self.cg is not None else self.g


def room(job: SlotJob, a: int, b: int) -> bool:
    """Slots ``[a, b)`` have room for one more run in the job's group and in each of its limits."""
    if job.g.nfull[a] < b:
        return False
    for lim in job.limits:
        if lim.nfull[a] < b:
            return False
    return True


def occupy(job: SlotJob, a: int, b: int, delta: int) -> None:
    """Add (+1) or remove (-1) the job's run on slots ``[a, b)`` in its group and its limits."""
    job.g.add(a, b, delta)
    for lim in job.limits:
        lim.add(a, b, delta)


def occ_range(x: float, dn: float) -> tuple[int, int]:
    a = math.floor(x + 1e-9)
    b = math.ceil(x + dn - 1e-9)
    return a, max(b, a + 1)


def candidates(job: SlotJob) -> list[float]:
    xs: list[float] = []
    if job.off_grid:
        xs.append((job.lo - job.g.t0) / job.g.slot)
    xs.extend(float(k) for k in range(job.first, job.last + 1))
    return xs


def tolerance(best: float) -> float:
    """What a later candidate must be below to beat ``best``: a hair lower, so rounding noise
    never hands a tie to a later start (inf while nothing has been found)."""
    return best - 1e-9 * abs(best) if best < math.inf else math.inf


def scan(job: SlotJob, *, capacity: bool, skip: tuple[int, int] | None = None) -> tuple[float, float]:
    """Cheapest candidate (integral, slot position) that is covered, fits capacity if asked, and
    whose run does not overlap the slot range ``skip``; ``(inf, -1)`` if none. Ties go to the
    earliest start (the off-grid "now" candidate comes first)."""
    g = job.g
    cg = job.cg or g
    dn = job.dn
    span = job.span
    best, best_x = math.inf, -1.0
    if job.off_grid:
        x = (job.lo - g.t0) / g.slot
        a, b = occ_range(x, dn)
        if (
            g.ngap[a] >= b
            and (not capacity or (g.nfull[a] >= b and (not job.limits or room(job, a, b))))
            and (skip is None or b <= skip[0] or a >= skip[1])
        ):
            best, best_x = cg.integral(x + dn) - cg.integral(x), x
    first, last = job.first, job.last
    if first > last:
        return best, best_x
    C = cg.costs(dn)
    if (
        capacity
        and skip is None
        and job.best_x >= first
        and g.nfull[int(job.best_x)] >= job.best_x + span
        and (not job.limits or room(job, int(job.best_x), int(job.best_x) + span))
    ):
        # The unconstrained best grid start has room: nothing in the window can beat it.
        c, k = job.best, int(job.best_x)
        if c < tolerance(best):
            return c, float(k)
        return best, best_x
    if skip is None:
        ranges = [(first, last)]
    else:
        ranges = [(first, min(last, skip[0] - span)), (max(first, skip[1]), last)]
    for r0, r1 in ranges:
        if r0 > r1:
            continue
        if capacity and job.limits:
            c, k = min(
                ((C[k], k) for k in range(r0, r1 + 1) if room(job, k, k + span)),
                default=(math.inf, -1),
            )
        elif capacity:
            nfull = g.nfull
            c, k = min(
                ((C[k], k) for k in range(r0, r1 + 1) if nfull[k] >= k + span),
                default=(math.inf, -1),
            )
        else:
            k = min(range(r0, r1 + 1), key=C.__getitem__)
            c = C[k]
        if c < tolerance(best):
            best, best_x = c, float(k)
    return best, best_x


def first_fit_after(job: SlotJob, start: int, family: list[SlotGroup]) -> float:
    """First grid start at or after slot ``start`` that fits capacity. The horizon is sized so one
    normally exists; if not (many limits crossing), every group of the plan (``family``, which
    share one grid) grows until it does: a start is never made up or put before the window."""
    g = job.g
    dn = job.dn
    span = math.ceil(dn - 1e-9)
    k = start
    while True:
        while k + span <= g.n + 1:
            if room(job, k, k + span):
                return float(k)
            k += 1
        n = max(2 * g.n, k + span + 1)
        for grp in family:
            grp.grow(n)
