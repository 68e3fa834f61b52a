"""Fleet planning benchmark: 100,000 backups over one day across the 12 default zones.

    .venv/bin/python benchmarks/bench_fleet.py [--jobs 100000] [--data data/grid] [--seed 1]
        [--factor 2 3] [--targets 8]

Curves: each zone gets two days of a real 2020 curve (DE for the fossil-heavy zones, FR for the
low-carbon ones), taken from a different week per zone and scaled to the zone's typical
intensity, so every zone has a real, distinct daily shape. Jobs: submitted uniformly over one day
(minute resolution), duration 30 min / 1 h / 2 h / 4 h, may start up to 2 / 4 / 8 / 12 h later,
data size 10 GB - 2 TB (weight = energy in kWh with the default energy model). Capacity per zone
= ceil(factor x mean load), mean load = the zone's total run time / 24 h.

Reported: time to plan; capacity violations, checked independently of the planner by a sweep over
exact start/end instants; total expected emissions (weight x mean intensity from
``StepSeries.mean``) against the uncapacitated optimum (every job on its own best window from
``StepSeries.best_window``) -- that optimum is also the naive "everyone takes the best slot" plan,
whose violations are shown beside.

``--targets N`` also has every job write to one of N backup targets shared by all zones (chosen
at random), each limited to ceil(target factor x its mean load) runs at once (--target-factor, 1.25): the plan is then made
twice in the same process, zones only (the baseline) and zones + target limits, and the target
violations are checked by the same independent sweep.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import runinfo  # noqa: E402  (benchmarks/, on sys.path when run as a script)

from carbon.intensity import StepSeries, energy_kwh  # noqa: E402
from carbon.providers.csvfile import parse_csv  # noqa: E402
from scheduler.fleet import plan_fleet  # noqa: E402
from scheduler.planner import PlanRequest  # noqa: E402

ZONES = {  # code: typical gCO2/kWh (carbon/zones.py), the real curve whose shape it borrows
    "US-CAL-CISO": (220, "de"),
    "US-NEISO": (250, "de"),
    "US-PJM": (380, "de"),
    "US-MISO": (450, "de"),
    "SE": (50, "fr"),
    "DE": (380, "de"),
    "GB": (250, "de"),
    "FR": (60, "fr"),
    "JP": (480, "de"),
    "AU": (670, "de"),
    "SG": (420, "fr"),
    "IN": (710, "fr"),
}
DAY = datetime(2021, 3, 1, tzinfo=UTC)


def zone_curves(data: Path) -> dict[str, StepSeries]:
    raw = {}
    for name in ("de", "fr"):
        raw[name] = [r for _, r in parse_csv(data / f"{name}_2020_ci.csv.gz")]
    out = {}
    for i, (zone, (typical, name)) in enumerate(ZONES.items()):
        readings = raw[name]
        src_start = datetime(2020, 1, 6, tzinfo=UTC) + timedelta(days=23 * i)
        picked = [r for r in readings if src_start <= r.start < src_start + timedelta(days=2)]
        mean = sum(r.value for r in picked) / len(picked)
        shift = DAY - src_start
        out[zone] = StepSeries.from_steps(
            (r.start + shift, r.end + shift, r.value * typical / mean) for r in picked
        )
    return out


def with_targets(jobs: list[PlanRequest], targets: int, seed: int) -> list[PlanRequest]:
    """The same jobs, each also counting against one of ``targets`` shared backup targets."""
    rng = random.Random(seed + 1)
    return [replace(r, limits=(f"/backups/t{rng.randrange(targets)}",)) for r in jobs]


def make_jobs(n: int, seed: int) -> list[PlanRequest]:
    rng = random.Random(seed)
    zones = list(ZONES)
    jobs = []
    for i in range(n):
        submit = DAY + timedelta(minutes=rng.randrange(24 * 60))
        duration = timedelta(minutes=rng.choice((30, 60, 60, 120, 120, 240)))
        delay = timedelta(hours=rng.choice((2, 4, 8, 12)))
        data_gb = rng.uniform(10, 2000)
        weight = energy_kwh(data_gb, duration.total_seconds() / 3600)
        jobs.append(
            PlanRequest(
                key=f"job{i}",
                earliest=submit,
                latest=submit + delay,
                duration=duration,
                group=rng.choice(zones),
                weight=weight,
            )
        )
    return jobs


def violations(
    starts: dict[str, datetime], jobs: list[PlanRequest], capacity: dict[str, int], *, targets: bool = False
) -> tuple[int, int]:
    """(number of run starts that push some zone, or with ``targets`` some target, over its
    capacity, worst excess).

    An independent sweep over exact instants: +1 at each start, -1 at each end; ends sort before
    starts at the same instant (runs are half-open), so back-to-back runs never count as overlap.
    """
    events: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for r in jobs:
        s = starts[r.key].timestamp()
        for key in r.limits if targets else (r.group,):
            events[key].append((s, 1))
            events[key].append((s + r.duration.total_seconds(), -1))
    count = worst = 0
    for zone, ev in events.items():
        ev.sort()
        load = 0
        for _, delta in ev:
            load += delta
            if delta > 0 and load > capacity[zone]:
                count += 1
                worst = max(worst, load - capacity[zone])
    return count, worst


def total_emissions(
    starts: dict[str, datetime], jobs: list[PlanRequest], curves: dict[str, StepSeries]
) -> float:
    """kg CO2: weight (kWh) x mean intensity (g/kWh) / 1000, means from StepSeries."""
    total = 0.0
    for r in jobs:
        s = starts[r.key]
        total += r.weight * curves[r.group].mean(s, s + r.duration) / 1000.0
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parent.parent / "data" / "grid"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--factor", type=float, nargs="*", default=[2.0, 3.0])
    ap.add_argument("--targets", type=int, default=0, help="shared backup targets with limits (0: none)")
    ap.add_argument("--target-factor", type=float, default=1.25, help="target capacity / its mean load")
    args = ap.parse_args()
    runinfo.begin()

    curves = zone_curves(args.data)
    jobs = make_jobs(args.jobs, args.seed)

    t = time.perf_counter()
    naive = {}
    for r in jobs:
        w = curves[r.group].best_window(r.duration, r.earliest, r.latest)
        naive[r.key] = w.start
    naive_s = time.perf_counter() - t
    optimum = total_emissions(naive, jobs, curves)
    run_now = total_emissions({r.key: r.earliest for r in jobs}, jobs, curves)

    load: dict[str, float] = defaultdict(float)
    for r in jobs:
        load[r.group] += r.duration.total_seconds() / 86400
    rows = []
    for factor in args.factor:
        capacity = {z: math.ceil(factor * load[z]) for z in ZONES}
        t = time.perf_counter()
        c = time.process_time()
        plan = plan_fleet(curves, jobs, capacity, now=DAY)
        plan_s = time.perf_counter() - t
        plan_cpu = time.process_time() - c
        starts = {k: d.start for k, d in plan.items()}
        inside = all(r.earliest <= starts[r.key] <= r.latest for r in jobs)
        v, worst = violations(starts, jobs, capacity)
        nv, nworst = violations(naive, jobs, capacity)
        total = total_emissions(starts, jobs, curves)
        flagged = sum(1 for d in plan.values() if d.inputs.get("overflow"))
        rows.append((factor, capacity, plan_s, plan_cpu, v, inside, flagged, total, nv, nworst))

    print(f"{args.jobs:,} jobs, 12 zones, one day; data {args.data}; load average {os.getloadavg()[0]:.1f}")
    print(
        f"run-now emissions {run_now:,.0f} kg; uncapacitated optimum {optimum:,.0f} kg "
        f"({(1 - optimum / run_now) * 100:.1f}% saving; {naive_s:.1f} s with best_window per job)"
    )
    print()
    print(
        "| capacity | plan time (CPU / wall) | violations | all in window | overflowed | emissions kg | vs optimum "
        "| saving vs run-now | naive plan violations (worst excess) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for factor, capacity, plan_s, plan_cpu, v, inside, flagged, total, nv, nworst in rows:
        cap_txt = f"{factor:g}x mean load ({min(capacity.values())}-{max(capacity.values())})"
        print(
            f"| {cap_txt} | {plan_cpu:.1f} s / {plan_s:.1f} s | {v} | {'yes' if inside else 'NO'} | {flagged} | {total:,.0f} "
            f"| +{(total / optimum - 1) * 100:.2f}% | {(1 - total / run_now) * 100:.1f}% | {nv:,} ({nworst}) |"
        )
    if args.targets:
        target_rows(args, curves, jobs, load, optimum, naive)


def target_rows(args, curves, jobs, load, optimum, naive) -> None:
    """Zones only, then zones + target limits, planned in the same process (ratio of times)."""
    tjobs = with_targets(jobs, args.targets, args.seed)
    tload: dict[str, float] = defaultdict(float)
    for r in tjobs:
        tload[r.limits[0]] += r.duration.total_seconds() / 86400
    print()
    print(
        f"With {args.targets} backup targets shared by all zones, each job writing to one at random, "
        f"target capacity {args.target_factor:g}x its mean load:"
    )
    print()
    print(
        "| capacity (zones; targets) | plan time zones only / with targets (CPU) | ratio | zone violations "
        "| target violations | overflowed | emissions vs optimum | naive plan target violations |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for factor in args.factor:
        capacity = {z: math.ceil(factor * load[z]) for z in ZONES}
        tcap = {t: math.ceil(args.target_factor * v) for t, v in tload.items()}
        c = time.process_time()
        plan_fleet(curves, jobs, capacity, now=DAY)
        base_cpu = time.process_time() - c
        c = time.process_time()
        plan = plan_fleet(curves, tjobs, {**capacity, **tcap}, now=DAY)
        cpu = time.process_time() - c
        starts = {k: d.start for k, d in plan.items()}
        zv, _ = violations(starts, tjobs, capacity)
        tv, _ = violations(starts, tjobs, tcap, targets=True)
        nv, _ = violations(naive, tjobs, tcap, targets=True)
        flagged = sum(1 for d in plan.values() if d.inputs.get("overflow"))
        total = total_emissions(starts, tjobs, curves)
        print(
            f"| {factor:g}x mean load ({min(capacity.values())}-{max(capacity.values())}; "
            f"{min(tcap.values())}-{max(tcap.values())}) | {base_cpu:.1f} s / {cpu:.1f} s | {cpu / base_cpu:.2f} "
            f"| {zv} | {tv} | {flagged} | +{(total / optimum - 1) * 100:.2f}% | {nv:,} |"
        )


if __name__ == "__main__":
    main()
