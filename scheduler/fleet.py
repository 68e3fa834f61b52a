"""Fleet planning: many jobs, a capacity per zone or backup target. Pure logic, no ORM.

:func:`plan_fleet` assigns starts to many :class:`~scheduler.planner.PlanRequest` values and returns
:class:`~scheduler.planner.Decision` values, like :func:`scheduler.planner.plan_job` does for one.

Every group (a zone or a backup target) allows at most ``capacity`` runs at once. Time is cut
into slots (5 min by default). A run occupies every slot it touches, so "at most N per slot"
implies "at most N at any instant": capacity is a hard guarantee. The emissions objective (sum over jobs of weight x mean intensity of its run) is
minimised heuristically:

1. For each job, the best start ignoring capacity and the second best start whose run does not
   overlap the best one. The difference, times the job's weight, is its *regret*: what it loses
   if pushed off its favourite spot.
2. Jobs are placed one by one, highest regret first (ties: tighter window, then earlier), each on
   the cleanest start in its window whose slots all have room, using per-slot occupancy counters
   and a "next full slot" index that makes the feasibility test O(1) per candidate.
3. Repair: a job left with no room anywhere in its window (greedy order can box a rigid job in)
   is usually blocked by jobs that could sit elsewhere. For its few most promising starts, the
   blockers on each full slot (most flexible first) are moved to their cleanest start that does
   not touch its run; if every slot gets room the job goes in, otherwise the moves are undone.
4. Improvement passes: each job not on its own optimum is lifted out and put back on its
   cleanest feasible start (which may be where it was). A move never raises the total, so the
   passes stop when nothing moves (or after ``passes``).
5. A job that still fits nowhere in its window (capacity really too small for the windows, or
   already-running ``busy`` runs fill it) is never squeezed in over capacity: it gets the first
   start after its latest start where it fits, strategy ``capacity`` and
   ``inputs["overflow"] = True``, and its reason says so. A job moved off its own best start by
   capacity is ``capacity`` too (``overflow`` False) and its reason names the full window.

Guarantees: capacity is never exceeded (checked in the tests by an independent sweep over
exact instants); every start is within ``[max(earliest, now), latest]`` unless flagged
``overflow``; emissions are heuristic (within 0.5 % of the uncapacitated optimum on the
benchmark in docs/BENCHMARKS.md at twice the mean load). Starts lie on the slot grid, except
the earliest possible moment ``max(earliest, now)`` which is always a candidate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from carbon.intensity import StepSeries
from scheduler.planner import (
    Decision,
    PlanRequest,
    fmt_duration,
    fmt_span,
    iso,
    saving_pct,
    series_summary,
)

__all__ = ["plan_fleet"]


@lru_cache(maxsize=4096)
def _dt(ts: float) -> datetime:
    # Cached: fleet decisions land on a few hundred slot times.
    return datetime.fromtimestamp(ts, tz=UTC)


class _Group:
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
                    means[i] = series.mean(a, b)
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
class _Job:
    req: PlanRequest
    idx: int  # position in the request list
    g: _Group
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


def _occ_range(x: float, dn: float) -> tuple[int, int]:
    a = math.floor(x + 1e-9)
    b = math.ceil(x + dn - 1e-9)
    return a, max(b, a + 1)


def _candidates(job: _Job) -> list[float]:
    xs: list[float] = []
    if job.off_grid:
        xs.append((job.lo - job.g.t0) / job.g.slot)
    xs.extend(float(k) for k in range(job.first, job.last + 1))
    return xs


def _tol(best: float) -> float:
    """What a later candidate must be below to beat ``best``: a hair lower, so rounding noise
    never hands a tie to a later start (inf while nothing has been found)."""
    return best - 1e-9 * abs(best) if best < math.inf else math.inf


def _scan(job: _Job, *, capacity: bool, skip: tuple[int, int] | None = None) -> tuple[float, float]:
    """Cheapest candidate (integral, slot position) that is covered, fits capacity if asked, and
    whose run does not overlap the slot range ``skip``; ``(inf, -1)`` if none. Ties go to the
    earliest start (the off-grid "now" candidate comes first)."""
    g = job.g
    dn = job.dn
    span = job.span
    best, best_x = math.inf, -1.0
    if job.off_grid:
        x = (job.lo - g.t0) / g.slot
        a, b = _occ_range(x, dn)
        if (
            g.ngap[a] >= b
            and (not capacity or g.nfull[a] >= b)
            and (skip is None or b <= skip[0] or a >= skip[1])
        ):
            best, best_x = g.integral(x + dn) - g.integral(x), x
    first, last = job.first, job.last
    if first > last:
        return best, best_x
    C = g.costs(dn)
    if capacity and skip is None and job.best_x >= first and g.nfull[int(job.best_x)] >= job.best_x + span:
        # The unconstrained best grid start has room: nothing in the window can beat it.
        c, k = job.best, int(job.best_x)
        if c < _tol(best):
            return c, float(k)
        return best, best_x
    if skip is None:
        ranges = [(first, last)]
    else:
        ranges = [(first, min(last, skip[0] - span)), (max(first, skip[1]), last)]
    for r0, r1 in ranges:
        if r0 > r1:
            continue
        if capacity:
            nfull = g.nfull
            c, k = min(
                ((C[k], k) for k in range(r0, r1 + 1) if nfull[k] >= k + span),
                default=(math.inf, -1),
            )
        else:
            k = min(range(r0, r1 + 1), key=C.__getitem__)
            c = C[k]
        if c < _tol(best):
            best, best_x = c, float(k)
    return best, best_x


def _first_fit_after(job: _Job, start: int) -> float:
    """First grid start at or after slot ``start`` that fits capacity (growing the arrays is not
    needed: the horizon was sized so that a start after every job's window exists)."""
    g = job.g
    dn = job.dn
    span = math.ceil(dn - 1e-9)
    k = start
    while k + span <= g.n + 1:
        if g.nfull[k] >= k + span:
            return float(k)
        k += 1
    return -1.0


def plan_fleet(
    series_by_group: Mapping[str, StepSeries],
    requests: Iterable[PlanRequest],
    capacity: Mapping[str, int] | int,
    *,
    now: datetime,
    slot: timedelta = timedelta(minutes=5),
    busy: Iterable[tuple[str, datetime, datetime]] = (),
    prefer: Mapping[str, datetime] | None = None,
    prefer_gain_pct: float = 0.0,
    passes: int = 3,
    sources_by_group: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, Decision]:
    """Plan many jobs so no group ever runs more than its capacity at once (module docstring).

    ``capacity``: one int for every group or a mapping group -> int (a group missing from the
    mapping is unlimited). ``busy``: runs already started that occupy capacity,
    ``(group, start, end)``. ``prefer``: a current start per key that is kept unless another start
    is more than ``prefer_gain_pct`` % cleaner (used by :func:`replan` against churn). Returns a
    Decision per request key; starts are on the slot grid, except the earliest possible moment.
    """
    reqs = list(requests)
    S = slot.total_seconds()
    if S <= 0:
        raise ValueError("slot must be positive")
    busy = list(busy)
    now_ts = now.timestamp()

    # -- 1. slot arrays per group, sized to hold every window plus room to overflow after it.
    spans: dict[str, list[float]] = {}
    for r in reqs:
        if r.duration <= timedelta(0):
            raise ValueError(f"{r.key}: duration must be positive")
        lo = max(r.earliest.timestamp(), now_ts)
        hi = max(r.latest.timestamp(), lo)
        sp = spans.setdefault(r.group, [math.inf, -math.inf, 0.0])
        sp[0] = min(sp[0], lo)
        sp[1] = max(sp[1], hi + r.duration.total_seconds())
        sp[2] += r.duration.total_seconds()
    for grp, a, b in busy:
        if grp in spans:
            spans[grp][0] = min(spans[grp][0], a.timestamp())
            spans[grp][1] = max(spans[grp][1], b.timestamp())
    groups: dict[str, _Group] = {}
    for grp, (a, b, total) in spans.items():
        t0 = math.floor(a / S) * S
        cap = capacity if isinstance(capacity, int) else capacity.get(grp, 0)
        if cap <= 0:
            cap = len(reqs) + len(busy) + 1  # unlimited
        # Worst case every job overflows one after another: total work / capacity beyond the end.
        n = math.ceil((b - t0) / S) + math.ceil(total / S / cap) + 2
        groups[grp] = _Group(series_by_group.get(grp), t0, n, S, cap)
    for grp, a, b in busy:
        g = groups.get(grp)
        if g is None:
            continue
        ia, ib = _occ_range((a.timestamp() - g.t0) / S, (b.timestamp() - a.timestamp()) / S)
        ia, ib = max(ia, 0), min(ib, g.n + 1)
        if ib > ia:
            g.add(ia, ib, 1)

    # -- 2. per job: candidates, uncapacitated best, second best without overlap, regret.
    jobs: list[_Job] = []
    for r in reqs:
        g = groups[r.group]
        lo = max(r.earliest.timestamp(), now_ts)
        hi = max(r.latest.timestamp(), lo)
        first = math.ceil((lo - g.t0) / S - 1e-9)
        last = math.floor((hi - g.t0) / S + 1e-9)
        off_grid = abs((lo - g.t0) / S - round((lo - g.t0) / S)) > 1e-9
        dn = r.duration.total_seconds() / S
        job = _Job(
            r,
            len(jobs),
            g,
            lo,
            hi,
            dn,
            first,
            last,
            off_grid or first > last,
            r.weight / dn,
            math.ceil(dn - 1e-9),
        )
        job.flex = first - last
        job.overdue = r.latest.timestamp() < lo
        job.best, job.best_x = _scan(job, capacity=False)
        if job.best_x < 0:
            job.covered = False
        else:
            a, b = _occ_range(job.best_x, dn)
            second, _ = _scan(job, capacity=False, skip=(a, b))
            job.regret = job.wps * ((second if second < math.inf else job.best * 2) - job.best)
        jobs.append(job)

    # -- 3. greedy placement, highest regret first.
    order = sorted(jobs, key=lambda j: (-j.regret, j.last - j.first, j.lo))
    pref: dict[str, float] = {}
    if prefer:
        for j in jobs:
            p = prefer.get(j.req.key)
            if p is not None:
                pref[j.req.key] = (p.timestamp() - j.g.t0) / S

    def cost_at(job: _Job, x: float) -> float:
        return job.g.integral(x + job.dn) - job.g.integral(x)

    def fits(job: _Job, x: float, need_cover: bool) -> bool:
        a, b = _occ_range(x, job.dn)
        if a < 0 or b > job.g.n + 1:
            return False
        return job.g.nfull[a] >= b and (not need_cover or job.g.ngap[a] >= b)

    def place(job: _Job) -> None:
        r = job.req
        x0 = (job.lo - job.g.t0) / S
        job.threshold_now = False
        if r.threshold is not None and job.covered and fits(job, x0, True):
            if cost_at(job, x0) / job.dn <= r.threshold:
                job.threshold_now = True
                _put(job, x0, cost_at(job, x0))
                return
        if job.covered:
            c, x = _scan(job, capacity=True)
            p = pref.get(r.key)
            hi_x = (job.hi - job.g.t0) / S
            if p is not None and x0 - 1e-9 <= p <= hi_x + 1e-9 and fits(job, p, True):
                pc = cost_at(job, p)
                if x < 0 or c >= pc * (1 - prefer_gain_pct / 100.0) - 1e-9:
                    c, x = pc, p
            if x >= 0:
                job.overflow = False
                _put(job, x, c)
                return
        else:
            # No forecast for this job: the earliest start that fits, like plan_job's "at once".
            for x in _candidates(job):
                if fits(job, x, False):
                    job.overflow = False
                    _put(job, x, math.nan)
                    return
        x = _first_fit_after(job, job.last + 1)
        job.overflow = True
        _put(job, x, cost_at(job, x) if job.covered else math.nan)

    def _put(job: _Job, x: float, c: float) -> None:
        job.x, job.cost = x, c
        job.occ = _occ_range(x, job.dn)
        job.g.add(job.occ[0], job.occ[1], 1)

    for job in order:
        place(job)

    # -- 3b. repair: a job that fits nowhere in its window is usually blocked by jobs that could
    # sit elsewhere. Move some of them out of the way (each to its cleanest start that does not
    # touch the blocked job's run) and put the job in; undo if that fails.
    stuck = [j for j in order if j.overflow]
    if stuck:
        by_slot: dict[int, dict[int, set[int]]] = {}
        for gid in {id(j.g) for j in stuck}:
            by_slot[gid] = {}
        for i, j in enumerate(jobs):
            idx = by_slot.get(id(j.g))
            if idx is not None:
                for t in range(*j.occ):
                    idx.setdefault(t, set()).add(i)
        flex = [j.flex for j in jobs]
        for job in stuck:
            _repair(job, jobs, by_slot[id(job.g)], flex)

    # -- 4. improvement passes: lift each job out and put it back on its best feasible start.
    for _ in range(passes):
        moved = 0
        for job in order:
            if job.threshold_now or not job.covered:
                continue
            if not job.overflow and job.x == job.best_x:
                continue  # already on its unconstrained optimum
            old = (job.x, job.cost, job.overflow)
            job.g.add(job.occ[0], job.occ[1], -1)
            place(job)
            if old[2] and not job.overflow:
                better = True  # back inside its window: always preferred to overflowing
            else:
                better = job.overflow == old[2] and job.cost < old[1] - 1e-9 * abs(old[1])
            if better:
                moved += 1
            elif job.x != old[0]:
                # Not better (a tie, or "prefer" kept it): go back where it was, no churn.
                job.g.add(job.occ[0], job.occ[1], -1)
                job.x, job.cost, job.overflow = old
                job.threshold_now = False
                job.occ = _occ_range(job.x, job.dn)
                job.g.add(job.occ[0], job.occ[1], 1)
        if not moved:
            break

    # -- 5. decisions.
    summaries = {
        grp: series_summary(series_by_group.get(grp), (sources_by_group or {}).get(grp, ())) for grp in groups
    }
    out: dict[str, Decision] = {}
    for job in jobs:
        out[job.req.key] = _fleet_decision(job, summaries[job.req.group], now)
    return out


def _move(job: _Job, x: float, c: float, jobs: list[_Job], idx: dict[int, set[int]], me: int) -> None:
    """Move ``job`` (index ``me``) to ``x`` keeping occupancy and the slot index in step; a job
    with ``occ == (0, 0)`` is currently off the board."""
    for t in range(*job.occ):
        idx[t].discard(me)
    if job.occ[1] > job.occ[0]:
        job.g.add(job.occ[0], job.occ[1], -1)
    job.x, job.cost = x, c
    job.occ = _occ_range(x, job.dn)
    job.g.add(job.occ[0], job.occ[1], 1)
    for t in range(*job.occ):
        idx.setdefault(t, set()).add(me)


def _repair(
    job: _Job,
    jobs: list[_Job],
    idx: dict[int, set[int]],
    flex: list[int],
    tries: int = 12,
    per_slot: int = 40,
) -> bool:
    """Try to fit an overflowed job into its window by relocating blockers (see plan_fleet, 3b)."""
    g = job.g
    me = job.idx
    # Lift the job off its overflow spot first: that spot may overlap the candidates' slots.
    for t in range(*job.occ):
        idx[t].discard(me)
    g.add(job.occ[0], job.occ[1], -1)
    # Candidate starts, fewest full slots first, then cleanest.
    scored = []
    for x in _candidates(job):
        a, b = _occ_range(x, job.dn)
        if job.covered and g.ngap[a] < b:
            continue
        blocked = sum(1 for t in range(a, b) if g.occ[t] >= g.cap)
        c = g.integral(x + job.dn) - g.integral(x) if job.covered else math.nan
        scored.append((blocked, c if job.covered else 0.0, x, c))
    scored.sort()
    for _, _, x, c in scored[:tries]:
        a, b = _occ_range(x, job.dn)
        moves: list[tuple[int, float, float]] = []
        ok = True
        for t in range(a, b):
            while ok and g.occ[t] >= g.cap:
                ok = False
                # The most flexible blockers first: they are the likeliest to find room elsewhere.
                blockers = sorted(idx.get(t, ()), key=flex.__getitem__)
                for i in blockers[:per_slot]:
                    other = jobs[i]
                    if other.threshold_now or not other.covered or other.overflow:
                        continue
                    other.g.add(other.occ[0], other.occ[1], -1)
                    c2, x2 = _scan(other, capacity=True, skip=(a, b))
                    other.g.add(other.occ[0], other.occ[1], 1)
                    if x2 >= 0:
                        moves.append((i, other.x, other.cost))
                        _move(other, x2, c2, jobs, idx, i)
                        ok = True
                        break
            if not ok:
                break
        if ok:
            job.overflow = False
            job.occ = (0, 0)
            _move(job, x, c, jobs, idx, me)
            return True
        for i, px, pc in reversed(moves):
            _move(jobs[i], px, pc, jobs, idx, i)
    # Still stuck: back to the first free start after the window.
    job.occ = (0, 0)
    x = _first_fit_after(job, job.last + 1)
    _move(job, x, g.integral(x + job.dn) - g.integral(x) if job.covered else math.nan, jobs, idx, me)
    return False


def _fleet_decision(job: _Job, summary: dict, now: datetime) -> Decision:
    r, g = job.req, job.g
    S = g.slot
    x0 = (job.lo - g.t0) / S
    start_ts = job.lo if abs(job.x - x0) < 1e-9 else g.t0 + job.x * S
    start = _dt(start_ts)
    end = start + r.duration
    now_value = None
    a, b = _occ_range(x0, job.dn)
    if job.covered and g.ngap[a] >= b:
        now_value = (g.integral(x0 + job.dn) - g.integral(x0)) / job.dn
    expected = None if math.isnan(job.cost) else job.cost / job.dn
    a_occ, b_occ = job.occ
    if expected is not None and (a_occ < 0 or g.ngap[a_occ] < b_occ):
        expected = None  # an overflowed run past the end of the forecast: unknown, not zero
    dur = fmt_duration(r.duration)
    cap_txt = f"{g.cap} at once in {r.group or 'this group'}"
    inputs = {
        **summary,
        "group": r.group,
        "capacity": g.cap,
        "slot_s": S,
        "earliest": iso(r.earliest),
        "latest": iso(r.latest),
        "duration_s": r.duration.total_seconds(),
        "threshold": r.threshold,
        "overflow": job.overflow,
    }
    if job.covered and not job.threshold_now:
        inputs["unconstrained_start"] = iso(_dt(g.t0 + job.best_x * S))
    span = fmt_span(start, end, now)
    if job.overdue and not job.overflow:
        strategy = "overdue"
        reason = f"The latest start {iso(r.latest)} has passed: starting at once."
    elif job.overflow:
        strategy = "capacity"
        reason = (
            f"No start in the window fits the capacity ({cap_txt}): starting after the latest start, "
            f"at the first free slot {iso(start)}."
        )
    elif not job.covered:
        strategy = "no_forecast"
        reason = f"No forecast covers this job's window: starting at the first free slot {iso(start)}."
    elif job.threshold_now:
        strategy = "threshold_now"
        reason = (
            f"Starting now: the {dur} run starting now averages {expected:.0f} g/kWh, "
            f"at or below the {r.threshold:.0f} g/kWh threshold."
        )
    else:
        versus = f" vs {now_value:.0f} starting now" if now_value is not None else ""
        if job.cost > job.best + 1e-9 * abs(job.best):
            strategy = "capacity"
            reason = (
                f"Best {dur} window with room ({cap_txt}) is {span}: {expected:.0f} g/kWh{versus}; "
                f"the cleanest one ({job.best / job.dn:.0f} g/kWh) is full."
            )
        else:
            strategy = "best_window"
            reason = f"Best {dur} window {span} averages {expected:.0f} g/kWh{versus}."
    return Decision(
        key=r.key,
        start=start,
        end=end,
        expected_intensity=expected,
        now_intensity=now_value,
        expected_saving_pct=saving_pct(now_value, expected),
        reason=reason,
        strategy=strategy,
        inputs=inputs,
    )
