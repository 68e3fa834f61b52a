"""Fleet planning: many jobs, a capacity per zone and per backup target. Pure logic, no ORM.

:func:`plan_fleet` assigns starts to many :class:`~scheduler.planner.PlanRequest` values and returns
:class:`~scheduler.planner.Decision` values, like :func:`scheduler.planner.plan_job` does for one.

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
from scheduler.planner import (
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

__all__ = ["plan_fleet"]


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
        for name in (r.group, *r.limits):
            sp = spans.setdefault(name, [math.inf, -math.inf, 0.0])
            sp[0] = min(sp[0], lo)
            sp[1] = max(sp[1], hi + r.duration.total_seconds())
            sp[2] += math.ceil(r.duration.total_seconds() / S) + 1  # slots a run may occupy
    # A run under way matters from now on: slots before now are never a candidate.
    busy = [(grp, max(a, now), b) for grp, a, b in busy if b > now]
    for grp, run_start, run_end in busy:
        if grp in spans:
            spans[grp][0] = min(spans[grp][0], run_start.timestamp())
            spans[grp][1] = max(spans[grp][1], run_end.timestamp())
    # Every group shares one slot grid (same t0 and length), so a run's slot range is the same in
    # its zone and in the targets it also counts against.
    caps: dict[str, int] = {}
    t0 = math.floor(min((a for a, _, _ in spans.values()), default=now_ts) / S) * S
    end = tails = 0
    crossing = any(r.limits for r in reqs)
    for grp, (_, b, slots) in spans.items():
        cap = capacity if isinstance(capacity, int) else capacity.get(grp, 0)
        if cap <= 0:
            cap = len(reqs) + len(busy) + 1  # unlimited
        caps[grp] = cap
        end = max(end, math.ceil((b - t0) / S))
        # Room for every job overflowing after the windows: a group's work / its capacity; with
        # limits crossing zones, a job may have to wait for its zone and its target in turn.
        tail = math.ceil(slots / cap)
        tails = tails + tail if crossing else max(tails, tail)
    n = end + tails + 2
    groups = {grp: SlotGroup(series_by_group.get(grp), t0, n, S, cap) for grp, cap in caps.items()}
    # Series some jobs' starts are ranked on (PlanRequest.cost_group), on the same grid; they
    # hold no capacity (grown with the others so every array stays the same length).
    ranking = {
        name: SlotGroup(series_by_group.get(name), t0, n, S, len(reqs) + len(busy) + 1)
        for name in {r.cost_group for r in reqs if r.cost_group and r.cost_group != r.group}
    }
    family = list(groups.values()) + list(ranking.values())
    for grp, run_start, run_end in busy:
        g = groups.get(grp)
        if g is None:
            continue
        ia, ib = occ_range(
            (run_start.timestamp() - g.t0) / S, (run_end.timestamp() - run_start.timestamp()) / S
        )
        ia, ib = max(ia, 0), min(ib, g.n + 1)
        if ib > ia:
            g.add(ia, ib, 1)

    # -- 2. per job: candidates, uncapacitated best, second best without overlap, regret.
    jobs: list[SlotJob] = []
    for r in reqs:
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

    # -- 3. greedy placement, highest regret first.
    order = sorted(jobs, key=lambda j: (-j.regret, j.last - j.first, j.lo))
    pref: dict[str, float] = {}
    if prefer:
        for j in jobs:
            p = prefer.get(j.req.key)
            if p is not None:
                pref[j.req.key] = (p.timestamp() - j.g.t0) / S

    def cost_at(job: SlotJob, x: float) -> float:
        cg = job.ranked
        return cg.integral(x + job.dn) - cg.integral(x)

    def fits(job: SlotJob, x: float, need_cover: bool) -> bool:
        a, b = occ_range(x, job.dn)
        if a < 0 or b > job.g.n + 1:
            return False
        if job.g.nfull[a] < b or (job.limits and not room(job, a, b)):
            return False
        return not need_cover or job.g.ngap[a] >= b

    def place(job: SlotJob) -> None:
        r = job.req
        x0 = (job.lo - job.g.t0) / S
        job.threshold_now = False
        if r.threshold is not None and job.covered and fits(job, x0, True):
            # The threshold is on the run's own intensity, not a risk-adjusted one.
            if (job.g.integral(x0 + job.dn) - job.g.integral(x0)) / job.dn <= r.threshold:
                job.threshold_now = True
                _put(job, x0, cost_at(job, x0))
                return
        if job.covered:
            c, x = scan(job, capacity=True)
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
            for x in candidates(job):
                if fits(job, x, False):
                    job.overflow = False
                    _put(job, x, math.nan)
                    return
        x = first_fit_after(job, job.last + 1, family)
        job.overflow = True
        _put(job, x, cost_at(job, x) if job.covered else math.nan)

    def _put(job: SlotJob, x: float, c: float) -> None:
        job.x, job.cost = x, c
        job.occ = occ_range(x, job.dn)
        occupy(job, job.occ[0], job.occ[1], 1)

    for job in order:
        place(job)

    # -- 3b. repair: a job that fits nowhere in its window is usually blocked by jobs that could
    # sit elsewhere. Move some of them out of the way (each to its cleanest start that does not
    # touch the blocked job's run) and put the job in; undo if that fails.
    stuck = [j for j in order if j.overflow]
    if stuck:
        # Per group a stuck job counts against (its zone, its targets): slot -> jobs running there.
        by_slot: dict[int, dict[int, set[int]]] = {id(grp): {} for j in stuck for grp in (j.g, *j.limits)}
        for i, j in enumerate(jobs):
            _index(j, by_slot, i, add=True)
        flex = [j.flex for j in jobs]
        for job in stuck:
            _repair(job, jobs, by_slot, flex, family)

    # -- 4. improvement passes: lift each job out and put it back on its best feasible start.
    for _ in range(passes):
        moved = 0
        for job in order:
            if job.threshold_now or not job.covered:
                continue
            if not job.overflow and job.x == job.best_x:
                continue  # already on its unconstrained optimum
            old = (job.x, job.cost, job.overflow)
            occupy(job, job.occ[0], job.occ[1], -1)
            place(job)
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


def _index(job: SlotJob, by_slot: dict[int, dict[int, set[int]]], me: int, *, add: bool) -> None:
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


def _move(
    job: SlotJob, x: float, c: float, jobs: list[SlotJob], by_slot: dict[int, dict[int, set[int]]], me: int
) -> None:
    """Move ``job`` (index ``me``) to ``x`` keeping occupancy and the slot indexes in step; a job
    with ``occ == (0, 0)`` is currently off the board."""
    _index(job, by_slot, me, add=False)
    if job.occ[1] > job.occ[0]:
        occupy(job, job.occ[0], job.occ[1], -1)
    job.x, job.cost = x, c
    job.occ = occ_range(x, job.dn)
    occupy(job, job.occ[0], job.occ[1], 1)
    _index(job, by_slot, me, add=True)


def _repair(
    job: SlotJob,
    jobs: list[SlotJob],
    by_slot: dict[int, dict[int, set[int]]],
    flex: list[int],
    family: list[SlotGroup],
    tries: int = 12,
    per_slot: int = 40,
) -> bool:
    """Try to fit an overflowed job into its window by relocating blockers (see plan_fleet, 3b):
    on each full slot of its run, in its zone or any of its targets, the jobs running there."""
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
        c = job.ranked.integral(x + job.dn) - job.ranked.integral(x) if job.covered else math.nan
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
                            _move(other, x2, c2, jobs, by_slot, i)
                            ok = True
                            break
                if not ok:
                    break
            if not ok:
                break
        if ok and room(job, a, b):
            job.overflow = False
            job.occ = (0, 0)
            _move(job, x, c, jobs, by_slot, me)
            return True
        for i, px, pc in reversed(moves):
            _move(jobs[i], px, pc, jobs, by_slot, i)
    # Still stuck: back to the first free start after the window.
    job.occ = (0, 0)
    x = first_fit_after(job, job.last + 1, family)
    cg = job.ranked
    _move(job, x, cg.integral(x + job.dn) - cg.integral(x) if job.covered else math.nan, jobs, by_slot, me)
    return False


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
