"""Fleet planning under capacity: hard limits checked by an independent sweep, and quality."""

from __future__ import annotations

import ast
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from carbon.intensity import StepSeries
from scheduler.fleet import FleetPlan, plan_fleet
from scheduler.fleet_slots import SlotGroup
from scheduler.planner import Decision, PlanRequest, plan_job

T0 = datetime(2024, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def hourly(values: list[float]) -> StepSeries:
    return StepSeries.from_steps((T0 + i * H, T0 + (i + 1) * H, v) for i, v in enumerate(values))


def max_overlap(decisions: dict[str, Decision], requests: list[PlanRequest]) -> dict[str, int]:
    """Most runs at once per group, by a sweep over exact start/end instants (ends first at a tie,
    since runs are half-open). Written independently of the planner's slot counters."""
    events: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for r in requests:
        d = decisions[r.key]
        assert d.end - d.start == r.duration
        events[r.group].append((d.start, 1))
        events[r.group].append((d.end, -1))
    worst = {}
    for group, ev in events.items():
        ev.sort()
        load = peak = 0
        for _, delta in ev:
            load += delta
            peak = max(peak, load)
        worst[group] = peak
    return worst


def test_it_spreads_jobs_instead_of_piling_onto_the_cleanest_slot():
    series = hourly([400, 100, 150, 200, 400, 400])
    reqs = [PlanRequest(f"j{i}", T0, T0 + 4 * H, H) for i in range(3)]
    plan = plan_fleet({"": series}, reqs, 1, now=T0)
    assert max_overlap(plan, reqs)[""] == 1
    assert sorted(d.start for d in plan.values()) == [T0 + H, T0 + 2 * H, T0 + 3 * H]
    assert sorted(d.strategy for d in plan.values()) == ["best_window", "capacity", "capacity"]
    moved = next(d for d in plan.values() if d.start == T0 + 3 * H)
    assert "is full" in moved.reason


def test_it_gives_every_job_its_own_best_when_capacity_is_ample():
    series = hourly([300, 250, 100, 120, 400, 90, 90, 300, 300, 300])
    reqs = [
        PlanRequest("a", T0, T0 + 3 * H, H),
        PlanRequest("b", T0 + 2 * H, T0 + 6 * H, 2 * H),
        PlanRequest("c", T0 + 30 * M, T0 + 5 * H, 90 * M),
    ]
    plan = plan_fleet({"": series}, reqs, 10, now=T0)
    for r in reqs:
        alone = plan_job(series, r, now=T0)
        assert abs(plan[r.key].expected_intensity - alone.expected_intensity) < 1e-9
        assert plan[r.key].strategy == "best_window"


def test_it_moves_a_flexible_job_out_of_a_rigid_jobs_way():
    # "flex" would love 01:00 and is placed first (it has the most to lose), which blocks "rigid",
    # whose only possible start is 01:00. The repair step moves flex aside.
    series = hourly([300, 100, 300, 300, 300])
    reqs = [
        PlanRequest("flex", T0, T0 + 3 * H, H),
        PlanRequest("rigid", T0 + H, T0 + H, H),
    ]
    plan = plan_fleet({"": series}, reqs, 1, now=T0)
    assert plan["rigid"].start == T0 + H
    assert plan["flex"].start != T0 + H
    assert not any(d.inputs["overflow"] for d in plan.values())
    assert max_overlap(plan, reqs)[""] == 1


def test_it_flags_a_job_that_cannot_fit_and_starts_it_when_capacity_frees_up():
    series = hourly([300] * 6)
    reqs = [PlanRequest(k, T0 + H, T0 + H, H) for k in ("a", "b")]
    plan = plan_fleet({"": series}, reqs, 1, now=T0)
    late = [d for d in plan.values() if d.inputs["overflow"]]
    assert len(late) == 1
    assert late[0].strategy == "capacity"
    assert late[0].start == T0 + 2 * H
    assert "No start in the window fits the capacity" in late[0].reason
    assert max_overlap(plan, reqs)[""] == 1


def test_it_counts_runs_already_under_way():
    series = hourly([100, 100, 300, 300, 300])
    r = PlanRequest("new", T0, T0 + 3 * H, H)
    plan = plan_fleet({"": series}, [r], 1, now=T0, busy=[("", T0 - H, T0 + 2 * H)])
    assert plan["new"].start == T0 + 2 * H


def test_it_keeps_capacity_per_group():
    series = hourly([300, 100, 300, 300])
    reqs = [PlanRequest(f"{g}{i}", T0, T0 + 2 * H, H, group=g) for g in ("DE", "FR") for i in range(2)]
    plan = plan_fleet({"DE": series, "FR": series}, reqs, {"DE": 2, "FR": 1}, now=T0)
    assert max_overlap(plan, reqs) == {"DE": 2, "FR": 1}
    assert plan["DE0"].start == plan["DE1"].start == T0 + H


def test_it_starts_threshold_jobs_now_and_unforecast_jobs_at_once():
    series = hourly([150, 150, 50, 50])
    reqs = [
        PlanRequest("thr", T0, T0 + 2 * H, H, threshold=200, group="DE"),
        PlanRequest("blind", T0 + 10 * M, T0 + 2 * H, H, group="XX"),
    ]
    plan = plan_fleet({"DE": series}, reqs, 5, now=T0)
    assert (plan["thr"].start, plan["thr"].strategy) == (T0, "threshold_now")
    assert (plan["blind"].start, plan["blind"].strategy) == (T0 + 10 * M, "no_forecast")


def test_it_keeps_a_preferred_start_unless_clearly_better():
    series = hourly([300, 200, 199, 300])
    r = PlanRequest("a", T0, T0 + 2 * H, H)
    kept = plan_fleet({"": series}, [r], 1, now=T0, prefer={"a": T0 + H}, prefer_gain_pct=1.0)
    assert kept["a"].start == T0 + H
    moved = plan_fleet({"": series}, [r], 1, now=T0, prefer={"a": T0 + H}, prefer_gain_pct=0.0)
    assert moved["a"].start == T0 + 2 * H


@st.composite
def fleets(draw):
    values = draw(st.lists(st.integers(min_value=10, max_value=600), min_size=6, max_size=30))
    series = StepSeries.from_steps(
        (T0 + i * 30 * M, T0 + (i + 1) * 30 * M, float(v)) for i, v in enumerate(values)
    )
    span = len(values) * 30
    n = draw(st.integers(min_value=1, max_value=12))
    reqs = []
    for i in range(n):
        earliest = T0 + draw(st.integers(min_value=0, max_value=span // 2)) * M
        latest = earliest + draw(st.integers(min_value=0, max_value=span // 2)) * M
        duration = draw(st.integers(min_value=5, max_value=180)) * M
        group = draw(st.sampled_from(["A", "B"]))
        reqs.append(PlanRequest(f"j{i}", earliest, latest, duration, group=group))
    cap = draw(st.integers(min_value=1, max_value=3))
    now = T0 + draw(st.integers(min_value=0, max_value=60)) * M
    return series, reqs, cap, now


@settings(max_examples=120, deadline=None)
@given(fleets())
def test_it_never_exceeds_capacity_and_stays_in_windows_unless_flagged(case):
    series, reqs, cap, now = case
    plan = plan_fleet({"A": series, "B": series}, reqs, cap, now=now)
    assert set(plan) == {r.key for r in reqs}
    for group, peak in max_overlap(plan, reqs).items():
        assert peak <= cap, group
    for r in reqs:
        d = plan[r.key]
        lo = max(r.earliest, now)
        assert d.start >= lo
        if d.inputs["overflow"]:
            assert d.strategy == "capacity" and d.start > max(r.latest, lo)
        else:
            assert d.start <= max(r.latest, lo)
        if d.expected_intensity is not None:
            assert abs(d.expected_intensity - series.mean(d.start, d.end)) < 1e-6


def per_limit_overlap(decisions: dict[str, Decision], requests: list[PlanRequest]) -> dict[str, int]:
    """Most runs at once per target limit (the same independent sweep, keyed by limit)."""
    as_groups = [
        PlanRequest(f"{r.key}@{name}", r.earliest, r.latest, r.duration, group=name)
        for r in requests
        for name in r.limits
    ]
    renamed = {f"{r.key}@{name}": decisions[r.key] for r in requests for name in r.limits}
    return max_overlap(renamed, as_groups)


def test_a_target_limit_spreads_jobs_of_two_zones_that_write_to_it():
    # Each zone has room for 2, but both zones back up to one NAS that takes 1 at a time.
    series = hourly([400, 100, 150, 200, 400, 400])
    reqs = [
        PlanRequest(f"{z}{i}", T0, T0 + 4 * H, H, group=z, limits=("/srv/nas1",))
        for z in "AB"
        for i in range(2)
    ]
    plan = plan_fleet({"A": series, "B": series}, reqs, {"A": 2, "B": 2, "/srv/nas1": 1}, now=T0)
    assert per_limit_overlap(plan, reqs)["/srv/nas1"] == 1
    # one at a time on the NAS: the three clean hours, then a 400 g hour (the tie goes to 00:00)
    assert sorted(d.start for d in plan.values()) == [T0 + i * H for i in range(4)]
    squeezed = [d for d in plan.values() if d.strategy == "capacity"]
    assert squeezed and all("1 at once to /srv/nas1" in d.reason for d in squeezed)
    assert plan["A0"].inputs["limits"] == {"/srv/nas1": 1}


def test_runs_under_way_on_a_target_occupy_it():
    series = hourly([100, 300, 300, 300])
    r = PlanRequest("a", T0, T0 + 2 * H, H, group="A", limits=("/srv/nas1",))
    busy = [("/srv/nas1", T0 - H, T0 + H)]
    plan = plan_fleet({"A": series}, [r], {"A": 5, "/srv/nas1": 1}, now=T0, busy=busy)
    assert plan["a"].start == T0 + H


@st.composite
def fleets_with_targets(draw):
    series, reqs, cap, now = draw(fleets())
    targets = ["/t1", "/t2"]
    with_limits = [
        PlanRequest(
            r.key,
            r.earliest,
            r.latest,
            r.duration,
            group=r.group,
            limits=tuple(draw(st.sets(st.sampled_from(targets), max_size=2))),
        )
        for r in reqs
    ]
    caps = {"A": cap, "B": cap, **{t: draw(st.integers(min_value=1, max_value=2)) for t in targets}}
    busy = [
        (
            draw(st.sampled_from(["A", "B", *targets])),
            now - draw(st.integers(min_value=0, max_value=120)) * M,
            now + draw(st.integers(min_value=1, max_value=240)) * M,
        )
        for _ in range(draw(st.integers(min_value=0, max_value=3)))
    ]
    return series, with_limits, caps, now, busy


@settings(max_examples=120, deadline=None)
@given(fleets_with_targets())
def test_it_never_exceeds_a_zone_or_target_capacity(case):
    series, reqs, caps, now, busy = case
    plan = plan_fleet({"A": series, "B": series}, reqs, caps, now=now, busy=busy)
    # Independent sweep per group, runs under way included (from now on): whenever a planned run
    # starts, the runs in its group at that instant, itself included, fit the capacity.
    events: dict[str, list[tuple[datetime, int, int]]] = defaultdict(list)
    for group, _, end in busy:  # (time, order, delta): ends first, then busy starts, then planned
        events[group] += [(now, 1, 1), (end, 0, -1)]
    for r in reqs:
        d = plan[r.key]
        for group in (r.group, *r.limits):
            events[group] += [(d.start, 2, 1), (d.end, 0, -1)]
    for group, ev in events.items():
        load = 0
        for _, order, delta in sorted(ev):
            load += delta
            assert order != 2 or load <= caps[group], group
    for r in reqs:
        d = plan[r.key]
        lo = max(r.earliest, now)
        assert d.start >= lo
        if not d.inputs["overflow"]:
            assert d.start <= max(r.latest, lo)


def test_it_moves_another_zones_job_out_of_the_way_on_a_shared_target():
    # "flex" (zone A) is placed first and takes 01:00 on the NAS; "rigid" (zone B) can only start
    # at 01:00. The zones have room, the NAS takes one run: repair moves flex aside on the NAS.
    reqs = [
        PlanRequest("flex", T0, T0 + 3 * H, H, group="A", limits=("/nas",)),
        PlanRequest("rigid", T0 + H, T0 + H, H, group="B", limits=("/nas",)),
    ]
    series = {"A": hourly([300, 100, 300, 300, 300]), "B": hourly([300, 50, 300, 300, 300])}
    plan = plan_fleet(series, reqs, {"A": 5, "B": 5, "/nas": 1}, now=T0)
    assert plan["rigid"].start == T0 + H
    assert plan["flex"].start != T0 + H
    assert not any(d.inputs["overflow"] for d in plan.values())


def test_a_job_that_waits_for_its_zone_and_its_target_in_turn_still_gets_a_real_start():
    # Zone DE takes 2 at once, the NAS 1; every job may start only at 00:00 and runs 1 h. Four
    # zone-only jobs and three NAS jobs: the overflow queue is longer than either group's own
    # work / capacity, so the grid has to reach further (it once handed out a start before now).
    series = hourly([100] * 12)
    reqs = [PlanRequest(f"z{i}", T0, T0, H, group="DE") for i in range(4)]
    reqs += [PlanRequest(f"n{i}", T0, T0, H, group="DE", limits=("/nas",)) for i in range(3)]
    plan = plan_fleet({"DE": series}, reqs, {"DE": 2, "/nas": 1}, now=T0)
    assert all(d.start >= T0 for d in plan.values())
    assert max_overlap(plan, reqs)["DE"] <= 2
    assert per_limit_overlap(plan, reqs)["/nas"] == 1
    overflowed = [d for d in plan.values() if d.inputs["overflow"]]
    assert len(overflowed) == 5 and all(d.start > T0 for d in overflowed)


def test_the_slot_grid_grows_when_a_plan_needs_more_room_than_it_was_sized_for():
    series = hourly([100, 200])
    g = SlotGroup(series, T0.timestamp(), 4, 1800.0, 1)
    g.add(1, 3, 1)  # slots 1 and 2 full
    g.grow(10)
    assert g.n == 10 and len(g.means) == 11 and len(g.prefix) == 12 and len(g.ngap) == 12
    assert g.nfull[0] == 1 and g.nfull[3] == 11  # "no full slot ahead" now means the new end
    assert g.ngap[3] == 4 and g.ngap[7] == 7  # the new slots have no forecast
    assert g.integral(9) == g.integral(4)  # and add nothing to the integral
    g.add(8, 9, 1)
    assert g.nfull[3] == 8


def test_the_named_steps_build_the_same_plan_as_plan_fleet():
    # FleetPlan's steps, called one by one, are plan_fleet; after the greedy step every job has a
    # start, the repair and the passes only move jobs to starts that are no worse.
    series = hourly([400, 100, 150, 200, 120, 400, 300, 90, 400, 400])
    reqs = [PlanRequest(f"j{i}", T0 + (i % 3) * H, T0 + (5 + i % 4) * H, (1 + i % 2) * H) for i in range(9)]
    plan = FleetPlan({"": series}, reqs, 2, now=T0)
    assert [j.req.key for j in plan.order] and all(j.x < 0 for j in plan.jobs)
    plan.place_greedily()
    greedy = sum(j.cost for j in plan.jobs)
    plan.repair_stuck()
    plan.improve(3)
    assert sum(j.cost for j in plan.jobs) <= greedy
    assert plan.decisions({}) == plan_fleet({"": series}, reqs, 2, now=T0)


def test_the_planners_import_each_other_only_at_the_top_and_share_types_from_a_leaf():
    # planner -> fleet -> fleet_slots -> plan_types: no import inside a function hides a cycle, and
    # the shared types' module imports none of the planners.
    root = Path(__file__).resolve().parents[2] / "scheduler"
    for name in ("planner", "fleet", "fleet_slots", "plan_types"):
        tree = ast.parse((root / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
                assert not inner, f"scheduler/{name}.py imports inside {node.name}"
    leaf = ast.parse((root / "plan_types.py").read_text())
    imported = {n.module for n in ast.walk(leaf) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in imported if m and m.startswith("scheduler.")}
