"""/metrics benchmark: the cost of one Prometheus scrape as the database grows, in scratch SQLite.

    .venv/bin/python benchmarks/bench_metrics.py [--sizes 0,10000,100000] [--repeat 7]

For each size N: N jobs over the 12 zones (70 % completed and accounted, the rest failed,
cancelled, scheduled, pending or running; a third with a planning decision carrying
plan_seconds), 30 days of hourly readings per zone and N/10 fetch attempts are stored, then the
scrape's body is rendered `--repeat` times (exactly what GET /metrics does after its access
check: the collector's queries plus the text exposition). Printed: median and spread of the
render time (wall), its median CPU time (SQLite runs in-process, so this is the work itself on a
shared machine), the CPU ratio to the same run's empty-database scrape, the number of SQL queries per
scrape (constant by design) and the body size. The database lives in a temporary data folder.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import runinfo  # noqa: E402  (benchmarks/, on sys.path when run as a script)


def setup_django() -> None:
    os.environ["HYPERWEB_DATA_DIR"] = str(runinfo.scratch("hyperweb-bench-metrics-"))
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperweb.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def populate(total: int, have: int, seed: int) -> None:
    """Grow the database from `have` to `total` jobs (and their share of the other rows)."""
    from django.utils import timezone

    from carbon.models import CarbonReading, FetchAttempt, Zone
    from scheduler.models import BackupJob, JobDecision

    rng = random.Random(seed)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    zones = list(Zone.objects.all())
    if not CarbonReading.objects.exists():
        for zone in zones:
            CarbonReading.objects.bulk_create(
                CarbonReading(
                    zone=zone,
                    start=now - timedelta(hours=h + 1),
                    end=now - timedelta(hours=h),
                    value=rng.uniform(50, 500),
                    source="simulated",
                )
                for h in range(30 * 24)
            )
    states = (
        ["completed"] * 70
        + ["failed"] * 8
        + ["cancelled"] * 4
        + ["scheduled"] * 10
        + ["pending"] * 5
        + ["running"] * 3
    )
    batch, decisions = [], []
    for i in range(have, total):
        state = rng.choice(states)
        zone = rng.choice(zones)
        requested = now - timedelta(minutes=rng.uniform(0, 30 * 24 * 60))
        started = (
            requested + timedelta(minutes=rng.uniform(0, 240))
            if state in ("completed", "failed", "running")
            else None
        )
        done = state == "completed"
        emitted = rng.uniform(0.001, 0.1) if done else None
        counter = emitted * rng.uniform(0.8, 1.6) if done else None
        batch.append(
            BackupJob(
                id=f"bench-{i}",
                vm_path=f"vm-{i}.img",
                zone=zone,
                status=state,
                requested_at=requested,
                earliest_start=requested,
                latest_start=requested + timedelta(hours=4),
                planned_start=started - timedelta(seconds=rng.uniform(0, 5)) if started else requested,
                started_at=started,
                completed_at=started + timedelta(minutes=30) if started and state != "running" else None,
                attempts=1 if started else 0,
                bytes_written=rng.randint(10**6, 10**9) if done else None,
                energy_kwh=rng.uniform(0.01, 0.3) if done else None,
                emissions_kg=emitted,
                counterfactual_kg=counter,
                saving_kg=(counter - emitted) if done else None,
                accounting={"signal": "average"} if done else None,
            )
        )
        if i % 3 == 0:
            decisions.append(
                JobDecision(
                    job_id=f"bench-{i}",
                    created_at=requested,
                    planned_start=requested,
                    strategy="best_window",
                    data={"plan_seconds": rng.uniform(0.01, 0.2)},
                )
            )
    BackupJob.objects.bulk_create(batch, batch_size=2000)
    JobDecision.objects.bulk_create(decisions, batch_size=2000)
    FetchAttempt.objects.bulk_create(
        (
            FetchAttempt(
                zone=rng.choice(zones),
                provider="simulated",
                what="current",
                at=now - timedelta(minutes=rng.uniform(0, 30 * 24 * 60)),
                ok=rng.random() > 0.05,
            )
            for _ in range((total - have) // 10)
        ),
        batch_size=2000,
    )


def measure(repeat: int) -> tuple[list[float], list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from metrics.collector import render

    render()  # warm: imports, statement cache
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        body, _ = render()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)  # SQLite runs in this process: its work counts
    with CaptureQueriesContext(connection) as queries:
        render()
    return times, cpu, len(queries.captured_queries), len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="0,10000,100000")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    runinfo.begin()
    sizes = [int(s) for s in args.sizes.split(",")]
    setup_django()
    print(
        f"{'jobs':>8} {'wall ms':>8} {'min-max ms':>14} {'CPU ms':>7} {'x empty (CPU)':>13} {'queries':>8} "
        f"{'body KiB':>9}"
    )
    baseline = None
    have = 0
    for size in sizes:
        populate(size, have, seed=size)
        have = size
        times, cpu, queries, body = measure(args.repeat)
        median, median_cpu = statistics.median(times), statistics.median(cpu)
        baseline = baseline or median_cpu
        print(
            f"{size:>8} {median * 1000:>8.1f} {min(times) * 1000:>6.1f}-{max(times) * 1000:<7.1f} "
            f"{median_cpu * 1000:>7.1f} {median_cpu / baseline:>13.2f} {queries:>8} {body / 1024:>9.1f}"
        )


if __name__ == "__main__":
    main()
