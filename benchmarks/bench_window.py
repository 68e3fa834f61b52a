"""Benchmark: best backup window over a 72 h forecast at 5-minute steps.

Run from the project root (no Django, no database needed):

    .venv/bin/python benchmarks/bench_window.py [--jobs 10000] [--naive-jobs 10000] [--seed 1]

For each of N jobs (durations 15 min .. 8 h, earliest anywhere in the first 48 h, windows of
0 .. 24 h, all on the 5-minute grid) it times ``StepSeries.best_window`` (one sliding pass over
prefix integrals) and a naive reference that computes one average per candidate start, every
5 minutes, from scratch. It prints the median time per job of each and their ratio, and checks
that both pick the same start. Target: best_window median under 1 ms per job.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import statistics
import sys
import time
from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Runnable as a plain script from the project root: make the project importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import runinfo  # noqa: E402  (benchmarks/, on sys.path when run as a script)

from carbon.intensity import StepSeries  # noqa: E402

STEP = 300.0  # seconds: 5-minute forecast steps
HOURS = 72
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def make_forecast(rng: random.Random) -> tuple[list[float], list[float], list[float]]:
    """A plausible 72 h forecast: daily shape plus slow drift and noise, in gCO2/kWh."""
    base = T0.timestamp()
    n = int(HOURS * 3600 / STEP)
    starts = [base + i * STEP for i in range(n)]
    ends = [s + STEP for s in starts]
    drift = 0.0
    values = []
    for i in range(n):
        hour = (i * STEP / 3600.0) % 24
        drift += rng.gauss(0, 2)
        daily = 120 * math.cos((hour - 3) / 24 * 2 * math.pi)  # cleanest around 15:00 (solar)
        values.append(max(20.0, 350 + daily + drift + rng.gauss(0, 15)))
    return starts, ends, values


def make_jobs(rng: random.Random, count: int) -> list[tuple[float, float, float]]:
    """(duration, earliest, latest) in seconds since T0, all on the 5-minute grid, within the data."""
    horizon = HOURS * 3600
    jobs = []
    for _ in range(count):
        duration = rng.randint(3, 96) * STEP  # 15 min .. 8 h
        earliest = rng.randint(0, 48 * 12) * STEP  # anywhere in the first 48 h
        span = rng.randint(0, 24 * 12) * STEP  # a window of 0 .. 24 h
        latest = min(earliest + span, horizon - duration)
        earliest = min(earliest, latest)
        jobs.append((duration, earliest, latest))
    return jobs


def naive_best(
    starts: list[float], ends: list[float], values: list[float], duration: float, a: float, b: float
) -> tuple[float, float] | None:
    """One average per candidate start (every 5 minutes), each summed from scratch."""
    best: tuple[float, float] | None = None
    s = a
    while s <= b:
        e = s + duration
        total = covered = 0.0
        i = max(0, bisect_right(starts, s) - 1)
        while i < len(starts) and starts[i] < e:
            overlap = min(e, ends[i]) - max(s, starts[i])
            if overlap > 0:
                total += values[i] * overlap
                covered += overlap
            i += 1
        if covered >= duration * (1 - 1e-9):
            m = total / covered
            if best is None or m < best[1] - 1e-9 * max(1.0, abs(best[1])):
                best = (s, m)
        s += STEP
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument(
        "--naive-jobs", type=int, default=None, help="naive on the first N jobs (default: all)"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    runinfo.begin()

    rng = random.Random(args.seed)
    starts, ends, values = make_forecast(rng)
    series = StepSeries(starts, ends, values)
    jobs = make_jobs(rng, args.jobs)
    naive_count = args.jobs if args.naive_jobs is None else min(args.naive_jobs, args.jobs)
    base = T0.timestamp()

    fast_ns: list[int] = []
    answers = []
    clock = time.perf_counter_ns
    for duration, a, b in jobs:
        d, ea, la = timedelta(seconds=duration), T0 + timedelta(seconds=a), T0 + timedelta(seconds=b)
        t = clock()
        w = series.best_window(d, ea, la)
        fast_ns.append(clock() - t)
        answers.append(w)

    naive_ns: list[int] = []
    mismatches = 0
    for (duration, a, b), w in zip(jobs[:naive_count], answers, strict=False):
        t = clock()
        ref = naive_best(starts, ends, values, duration, base + a, base + b)
        naive_ns.append(clock() - t)
        if (ref is None) != (w is None) or (
            ref is not None
            and w is not None
            and (abs(w.start.timestamp() - ref[0]) > 1e-3 or abs(w.mean - ref[1]) > 1e-6 * ref[1])
        ):
            mismatches += 1

    # The worst case for the sliding pass: the whole 72 h as the window (every knot a candidate).
    full_ns = []
    for duration in (STEP * 3, 3600 * 2, 3600 * 8):
        for _ in range(20):
            t = clock()
            series.best_window(
                timedelta(seconds=duration), T0, T0 + timedelta(seconds=HOURS * 3600 - duration)
            )
            full_ns.append(clock() - t)

    fast_med = statistics.median(fast_ns) / 1e6
    fast_same = statistics.median(fast_ns[:naive_count]) / 1e6
    naive_med = statistics.median(naive_ns) / 1e6
    print(f"python {platform.python_version()} on {platform.machine()}, {len(series)} steps of 5 min (72 h)")
    print(
        f"best_window: {len(jobs)} jobs, median {fast_med:.4f} ms/job, p95 "
        f"{statistics.quantiles(fast_ns, n=20)[-1] / 1e6:.4f} ms, max {max(fast_ns) / 1e6:.4f} ms"
    )
    print(
        f"best_window, whole 72 h as the window (worst case): median {statistics.median(full_ns) / 1e6:.4f} ms"
    )
    print(f"naive (one average per 5-min start): {naive_count} jobs, median {naive_med:.4f} ms/job")
    print(f"ratio naive/best_window (medians over the same {naive_count} jobs): {naive_med / fast_same:.1f}x")
    print(f"answers that differ between the two: {mismatches}")
    target_ok = fast_med < 1.0
    print(f"target < 1 ms per job: {'met' if target_ok else 'NOT met'}")
    return 0 if (target_ok and mismatches == 0) else 1


if __name__ == "__main__":
    raise SystemExit(main())
