"""Fleet planning: many jobs, a capacity per zone and per backup target. Pure logic, no ORM.

:func:`plan_fleet` assigns starts to many :class:`~scheduler.plan_types.PlanRequest` values and returns
:class:`~scheduler.plan_types.Decision` values, like :func:`scheduler.planner.plan_job` does for one.

Every group (a zone, or a backup target named in a request's ``limits``) allows at most
``capacity`` runs at once; a run counts against its zone and each of its limits. Time is cut
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
   blockers on each full slot, in its zone or any of its targets (most flexible first), are moved
   to their cleanest start that does not touch its run; if every slot gets room the job goes in,
   otherwise the moves are undone.
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
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from carbon.intensity import StepSeries
from scheduler.fleet_slots import (
    SlotGroup,
    SlotJob,
    candidates,
    first_fit_after,
    occ_range,
    occupy,
    room,
    scan,
)
from scheduler.plan_types import (
    Decision,
    PlanRequest,
    fmt_duration,
    fmt_span,
    iso,
    overdue_reason,
    saving_pct,
    series_summary,
    threshold_reason,
)

__all__ = ["FleetPlan", "plan_fleet"]

# Per group a stuck job counts against (by id of its SlotGroup): slot -> indexes of the jobs there.
SlotIndex = dict[int, dict[int, set[int]]]


@lru_cache(maxsize=4096)
def _dt(ts: float) -> datetime:
    # Cached: fleet decisions land on a few hundred slot times.
    return datetime.fromtimestamp(ts, tz=UTC)


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
    is more than ``prefer_gain_pct`` % cleaner (used by ``scheduler.planner.replan`` and the
    services against churn). Returns a Decision per request key; starts are on the slot grid,
    except the earliest possible moment.
    """
    plan = FleetPlan(
        series_by_group,
        requests,
        capacity,
        now=now,
        slot=slot,
        busy=busy,
        prefer=prefer,
        prefer_gain_pct=prefer_gain_pct,
    )
    plan.place_greedily()
    plan.repair_stuck()
    plan.improve(passes)
    return plan.decisions(sources_by_group or {})


class FleetPlan:
    """One fleet plan, built in the named steps of the module docstring.

    The constructor lays out the slot grid (step 1: :meth:`_build_groups`, :meth:`_occupy_busy`)
    and scores every job (step 2: :meth:`_build_jobs`); then :meth:`place_greedily` (3),
    :meth:`repair_stuck` (3b), :meth:`improve` (4) and :meth:`decisions` (5), in that order, as
    :func:`plan_fleet` calls them. The jobs and the groups' occupancy are the plan's state: every
    step after the constructor moves runs on the board, through :meth:`_put` and :meth:`_move`.
    """

    def __init__(
        self,
        series_by_group: Mapping[str, StepSeries],
        requests: Iterable[PlanRequest],
        capacity: Mapping[str, int] | int,
        *,
        now: datetime,
        slot: timedelta = timedelta(minutes=5),
        busy: Iterable[tuple[str, datetime, datetime]] = (),
        prefer: Mapping[str, datetime] | None = None,
        prefer_gain_pct: float = 0.0,
    ) -> None:
        self.series_by_group = series_by_group
        self.reqs = list(requests)
        self.S = slot.total_seconds()
        if self.S <= 0:
            raise ValueError("slot must be positive")
        self.now = now
        self.now_ts = now.timestamp()
        self.prefer_gain_pct = prefer_gain_pct
        # A run under way matters from now on: slots before now are never a candidate.
        self.busy = [(grp, max(a, now), b) for grp, a, b in busy if b > now]
        self.groups, self.ranking = self._build_groups(capacity)
        # Every array of the plan, grown together when an overflow needs a longer horizon.
        self.family = list(self.groups.values()) + list(self.ranking.values())
        self._occupy_busy()
        self.jobs = self._build_jobs()
        # Placement order: highest regret first (ties: tighter window, then earlier).
        self.order = sorted(self.jobs, key=lambda j: (-j.regret, j.last - j.first, j.lo))
        self.pref = self._preferred_positions(prefer)

    # -- 1. slot arrays ----------------------------------------------------------------------------

    def _build_groups(
        self, capacity: Mapping[str, int] | int
    ) -> tuple[dict[str, SlotGroup], dict[str, SlotGroup]]:
        """Slot arrays per group, sized to hold every window plus room to overflow after it, and
        the ranking arrays (PlanRequest.cost_group) on the same grid."""
        reqs, S, now_ts = self.reqs, self.S, self.now_ts
        spans: dict[str, list[float]] = {}
        for r in reqs:
            if r.duration <= timedelta(0):
                raise ValueError(f"{r.key}: duration must be positive")
            lo = max(r.earliest.timestamp(), now_ts)
            hi = max(r.latest.timestamp(), lo)
            for name in (r.group, *r.limits):
                sp = spans.setdefault(name, [math.inf, -math.inf, 0.0])
                sp[0] = min(sp[0], lo)
                sp[1] = max(sp[1], hi + r.duration.total_seconds())
                sp[2] += math.ceil(r.duration.total_seconds() / S) + 1  # slots a run may occupy
        for grp, run_start, run_end in self.busy:
            if grp in spans:
                spans[grp][0] = min(spans[grp][0], run_start.timestamp())
                spans[grp][1] = max(spans[grp][1], run_end.timestamp())
        # Every group shares one slot grid (same t0 and length), so a run's slot range is the same
        # in its zone and in the targets it also counts against.
        unlimited = len(reqs) + len(self.busy) + 1
        caps: dict[str, int] = {}
        t0 = math.floor(min((a for a, _, _ in spans.values()), default=now_ts) / S) * S
        end = tails = 0
        crossing = any(r.limits for r in reqs)
        for grp, (_, b, slots) in spans.items():
            cap = capacity if isinstance(capacity, int) else capacity.get(grp, 0)
            if cap <= 0:
                cap = unlimited
            caps[grp] = cap
            end = max(end, math.ceil((b - t0) / S))
            # Room for every job overflowing after the windows: a group's work / its capacity; with
            # limits crossing zones, a job may have to wait for its zone and its target in turn.
            tail = math.ceil(slots / cap)
            tails = tails + tail if crossing else max(tails, tail)
        n = end + tails + 2
        series = self.series_by_group
        groups = {grp: SlotGroup(series.get(grp), t0, n, S, cap) for grp, cap in caps.items()}
        # Series some jobs' starts are ranked on, on the same grid; they hold no capacity (grown
        # with the others so every array stays the same length).
        ranking = {
            name: SlotGroup(series.get(name), t0, n, S, unlimited)
            for name in {r.cost_group for r in reqs if r.cost_group and r.cost_group != r.group}
        }
        return groups, ranking

    def _occupy_busy(self) -> None:
        """Runs already under way hold their slots from now on."""
        S = self.S
        for grp, run_start, run_end in self.busy:
            g = self.groups.get(grp)
            if g is None:
                continue
            ia, ib = occ_range(
                (run_start.timestamp() - g.t0) / S, (run_end.timestamp() - run_start.timestamp()) / S
            )
            ia, ib = max(ia, 0), min(ib, g.n + 1)
            if ib > ia:
                g.add(ia, ib, 1)

    # -- 2. per job: candidates, uncapacitated best, second best without overlap, regret ----------

    def _build_jobs(self) -> list[SlotJob]:
        S, now_ts, groups, ranking = self.S, self.now_ts, self.groups, self.ranking
        jobs: list[SlotJob] = []
        for r in self.reqs:
            g = groups[r.group]
            lo = max(r.earliest.timestamp(), now_ts)
            hi = max(r.latest.timestamp(), lo)
            first = math.ceil((lo - g.t0) / S - 1e-9)
            last = math.floor((hi - g.t0) / S + 1e-9)
            off_grid = abs((lo - g.t0) / S - round((lo - g.t0) / S)) > 1e-9
            dn = r.duration.total_seconds() / S
            job = SlotJob(
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
                limits=tuple(groups[name] for name in r.limits if name != r.group),
                cg=ranking.get(r.cost_group, g),
            )
            job.flex = first - last
            job.overdue = r.latest.timestamp() < lo
            job.best, job.best_x = scan(job, capacity=False)
            if job.best_x < 0:
                job.covered = False
            else:
                a, b = occ_range(job.best_x, dn)
                second, _ = scan(job, capacity=False, skip=(a, b))
                job.regret = job.wps * ((second if second < math.inf else job.best * 2) - job.best)
            jobs.append(job)
        return jobs

    def _preferred_positions(self, prefer: Mapping[str, datetime] | None) -> dict[str, float]:
        """The current start of each job that has one (``prefer``), as a slot position."""
        pref: dict[str, float] = {}
        if prefer:
            for j in self.jobs:
                p = prefer.get(j.req.key)
                if p is not None:
                    pref[j.req.key] = (p.timestamp() - j.g.t0) / self.S
        return pref

    # -- 3. greedy placement, highest regret first -----------------------------------------------

    def place_greedily(self) -> None:
        for job in self.order:
            self._place(job)

    def _cost_at(self, job: SlotJob, x: float) -> float:
        cg = job.ranked
        return cg.integral(x + job.dn) - cg.integral(x)

    def _fits(self, job: SlotJob, x: float, need_cover: bool) -> bool:
        a, b = occ_range(x, job.dn)
        if a < 0 or b > job.g.n + 1:
            return False
        if job.g.nfull[a] < b or (job.limits and not room(job, a, b)):
            return False
        return not need_cover or job.g.ngap[a] >= b

    def _place(self, job: SlotJob) -> None:
        """Put ``job`` (off the board) on its cleanest start with room: the threshold rule first,
        then its preferred start if it is not clearly beaten, else after its window (overflow)."""
        r = job.req
        S = self.S
        x0 = (job.lo - job.g.t0) / S
        job.threshold_now = False
        if r.threshold is not None and job.covered and self._fits(job, x0, True):
            # The threshold is on the run's own intensity, not a risk-adjusted one.
            if (job.g.integral(x0 + job.dn) - job.g.integral(x0)) / job.dn <= r.threshold:
                job.threshold_now = True
                self._put(job, x0, self._cost_at(job, x0))
                return
        if job.covered:
            c, x = scan(job, capacity=True)
            p = self.pref.get(r.key)
            hi_x = (job.hi - job.g.t0) / S
            if p is not None and x0 - 1e-9 <= p <= hi_x + 1e-9 and self._fits(job, p, True):
                pc = self._cost_at(job, p)
                if x < 0 or c >= pc * (1 - self.prefer_gain_pct / 100.0) - 1e-9:
                    c, x = pc, p
            if x >= 0:
                job.overflow = False
                self._put(job, x, c)
                return
        else:
            # No forecast for this job: the earliest start that fits, like plan_job's "at once".
            for x in candidates(job):
                if self._fits(job, x, False):
                    job.overflow = False
                    self._put(job, x, math.nan)
                    return
        x = first_fit_after(job, job.last + 1, self.family)
        job.overflow = True
        self._put(job, x, self._cost_at(job, x) if job.covered else math.nan)

    def _put(self, job: SlotJob, x: float, c: float) -> None:
        job.x, job.cost = x, c
        job.occ = occ_range(x, job.dn)
        occupy(job, job.occ[0], job.occ[1], 1)

    # -- 3b. repair ----------------------------------------------------------------------------------

    def repair_stuck(self) -> None:
        """A job that fits nowhere in its window is usually blocked by jobs that could sit
        elsewhere: move some of them out of the way (each to its cleanest start that does not touch
        the blocked job's run) and put the job in; undo if that fails."""
        stuck = [j for j in self.order if j.overflow]
        if not stuck:
            return
        by_slot: SlotIndex = {id(grp): {} for j in stuck for grp in (j.g, *j.limits)}
        for i, j in enumerate(self.jobs):
            _index(j, by_slot, i, add=True)
        flex = [j.flex for j in self.jobs]
        for job in stuck:
            self._repair(job, by_slot, flex)

    def _move(self, job: SlotJob, x: float, c: float, by_slot: SlotIndex, me: int) -> None:
        """Move ``job`` (index ``me``) to ``x`` keeping occupancy and the slot indexes in step; a
        job with ``occ == (0, 0)`` is currently off the board."""
        _index(job, by_slot, me, add=False)
        if job.occ[1] > job.occ[0]:
            occupy(job, job.occ[0], job.occ[1], -1)
        job.x, job.cost = x, c
        job.occ = occ_range(x, job.dn)
        occupy(job, job.occ[0], job.occ[1], 1)
        _index(job, by_slot, me, add=True)

    def _repair(
        self, job: SlotJob, by_slot: SlotIndex, flex: list[int], tries: int = 12, per_slot: int = 40
    ) -> bool:
        """Try to fit an overflowed job into its window by relocating blockers: on each full slot
        of its run, in its zone or any of its targets, the jobs running there."""
        jobs = self.jobs
        g = job.g
        groups = (g, *job.limits)
        me = job.idx
        # Lift the job off its overflow spot first: that spot may overlap the candidates' slots.
        _index(job, by_slot, me, add=False)
        occupy(job, job.occ[0], job.occ[1], -1)
        # Candidate starts, fewest full slots first, then cleanest.
        scored = []
        for x in candidates(job):
            a, b = occ_range(x, job.dn)
            if job.covered and g.ngap[a] < b:
                continue
            blocked = sum(1 for t in range(a, b) if any(grp.occ[t] >= grp.cap for grp in groups))
            c = self._cost_at(job, x) if job.covered else math.nan
            scored.append((blocked, c if job.covered else 0.0, x, c))
        scored.sort()
        for _, _, x, c in scored[:tries]:
            a, b = occ_range(x, job.dn)
            moves: list[tuple[int, float, float]] = []
            ok = True
            for t in range(a, b):
                for grp in groups:
                    idx = by_slot[id(grp)]
                    while ok and grp.occ[t] >= grp.cap:
                        ok = False
                        # The most flexible blockers first: the likeliest to find room elsewhere.
                        blockers = sorted(idx.get(t, ()), key=flex.__getitem__)
                        for i in blockers[:per_slot]:
                            other = jobs[i]
                            if other.threshold_now or not other.covered or other.overflow:
                                continue
                            occupy(other, other.occ[0], other.occ[1], -1)
                            c2, x2 = scan(other, capacity=True, skip=(a, b))
                            occupy(other, other.occ[0], other.occ[1], 1)
                            if x2 >= 0:
                                moves.append((i, other.x, other.cost))
                                self._move(other, x2, c2, by_slot, i)
                                ok = True
                                break
                    if not ok:
                        break
                if not ok:
                    break
            if ok and room(job, a, b):
                job.overflow = False
                job.occ = (0, 0)
                self._move(job, x, c, by_slot, me)
                return True
            for i, px, pc in reversed(moves):
                self._move(jobs[i], px, pc, by_slot, i)
        # Still stuck: back to the first free start after the window.
        job.occ = (0, 0)
        x = first_fit_after(job, job.last + 1, self.family)
        self._move(job, x, self._cost_at(job, x) if job.covered else math.nan, by_slot, me)
        return False

    # -- 4. improvement passes -------------------------------------------------------------------

    def improve(self, passes: int) -> None:
        """Lift each job out and put it back on its best feasible start, until nothing moves (or
        after ``passes``). A move never raises the total."""
        for _ in range(passes):
            if not self._improve_once():
                break

    def _improve_once(self) -> int:
        moved = 0
        for job in self.order:
            if job.threshold_now or not job.covered:
                continue
            if not job.overflow and job.x == job.best_x:
                continue  # already on its unconstrained optimum
            old = (job.x, job.cost, job.overflow)
            occupy(job, job.occ[0], job.occ[1], -1)
            self._place(job)
            if old[2] and not job.overflow:
                better = True  # back inside its window: always preferred to overflowing
            else:
                better = job.overflow == old[2] and job.cost < old[1] - 1e-9 * abs(old[1])
            if better:
                moved += 1
            elif job.x != old[0]:
                # Not better (a tie, or "prefer" kept it): go back where it was, no churn.
                occupy(job, job.occ[0], job.occ[1], -1)
                job.x, job.cost, job.overflow = old
                job.threshold_now = False
                job.occ = occ_range(job.x, job.dn)
                occupy(job, job.occ[0], job.occ[1], 1)
        return moved

    # -- 5. decisions ---------------------------------------------------------------------------------

    def decisions(self, sources_by_group: Mapping[str, Iterable[str]]) -> dict[str, Decision]:
        summaries = {
            grp: series_summary(self.series_by_group.get(grp), sources_by_group.get(grp, ()))
            for grp in self.groups
        }
        return {job.req.key: _fleet_decision(job, summaries[job.req.group], self.now) for job in self.jobs}


def _index(job: SlotJob, by_slot: SlotIndex, me: int, *, add: bool) -> None:
    """Add or remove ``job`` (index ``me``) at its slots in the slot index of each of its groups
    that is indexed."""
    for grp in (job.g, *job.limits):
        idx = by_slot.get(id(grp))
        if idx is None:
            continue
        for t in range(*job.occ):
            if add:
                idx.setdefault(t, set()).add(me)
            elif t in idx:
                idx[t].discard(me)


def _fleet_decision(job: SlotJob, summary: dict[str, Any], now: datetime) -> Decision:
    r, g = job.req, job.g
    S = g.slot
    x0 = (job.lo - g.t0) / S
    start_ts = job.lo if abs(job.x - x0) < 1e-9 else g.t0 + job.x * S
    start = _dt(start_ts)
    end = start + r.duration
    now_value = None
    a, b = occ_range(x0, job.dn)
    if job.covered and g.ngap[a] >= b:
        now_value = (g.integral(x0 + job.dn) - g.integral(x0)) / job.dn
    expected = None if math.isnan(job.cost) else job.cost / job.dn
    if expected is not None and job.cg is not g:
        # Ranked on a risk-adjusted series: the figures are the zone's own forecast's.
        expected = (g.integral(job.x + job.dn) - g.integral(job.x)) / job.dn
    a_occ, b_occ = job.occ
    if expected is not None and (a_occ < 0 or g.ngap[a_occ] < b_occ):
        expected = None  # an overflowed run past the end of the forecast: unknown, not zero
    dur = fmt_duration(r.duration)
    limit_caps = {
        name: lim.cap for name, lim in zip([n for n in r.limits if n != r.group], job.limits, strict=True)
    }
    cap_txt = "; ".join(
        [f"{g.cap} at once in {r.group or 'this group'}"]
        + [f"{cap} at once to {name}" for name, cap in limit_caps.items()]
    )
    inputs = {
        **summary,
        "group": r.group,
        "capacity": g.cap,
        "limits": limit_caps,
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
        reason = overdue_reason(r.latest)
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
        assert expected is not None and r.threshold is not None  # threshold_now: both are known
        reason = threshold_reason(dur, expected, r.threshold)
    else:
        versus = f" vs {now_value:.0f} starting now" if now_value is not None else ""
        if job.cost > job.best + 1e-9 * abs(job.best):
            strategy = "capacity"
            cleanest = (g.integral(job.best_x + job.dn) - g.integral(job.best_x)) / job.dn
            reason = (
                f"Best {dur} window with room ({cap_txt}) is {span}: {expected:.0f} g/kWh{versus}; "
                f"the cleanest one ({cleanest:.0f} g/kWh) is full."
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
