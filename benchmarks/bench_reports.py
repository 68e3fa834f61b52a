"""ESG report benchmark: 100,000 accounted backups in a year, in a scratch SQLite database.

    .venv/bin/python benchmarks/bench_reports.py [--backups 100000] [--sizes 10000,50000,100000]

Measures, for the per-backup CSV at each size: the time to stream it (database -> rows -> CSV
lines, exactly what GET /reports/esg.csv's generator does, consumed into a byte counter) and the
peak Python memory while streaming (tracemalloc, in a separate run so tracing does not slow the
timed one). Memory must stay flat as rows grow. Then the year's summary CSV and PDF: time and
peak memory. One check through the real view (viewer API key) confirms the HTTP path streams.
The database lives in a temporary data folder; nothing of yours is touched.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import runinfo  # noqa: E402  (benchmarks/, on sys.path when run as a script)

YEAR = 2025
ZONES = {"DE": 380.0, "FR": 60.0, "GB": 250.0}


def setup_django() -> None:
    os.environ["HYPERWEB_DATA_DIR"] = str(runinfo.scratch("hyperweb-bench-reports-"))
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperweb.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def populate(backups: int, seed: int = 1) -> None:
    """Hourly readings for three zones and `backups` accounted backups spread over the year."""
    from carbon.models import CarbonReading, Zone
    from scheduler.models import BackupJob, BackupPolicy

    rng = random.Random(seed)
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    hour = timedelta(hours=1)
    zones = {z.code: z for z in Zone.objects.filter(code__in=ZONES)}
    for code, typical in ZONES.items():
        CarbonReading.objects.bulk_create(
            (
                CarbonReading(
                    zone=zones[code],
                    start=start + i * hour,
                    end=start + (i + 1) * hour,
                    value=typical * rng.uniform(0.6, 1.4),
                    source="csv",
                )
                for i in range(365 * 24)
            ),
            batch_size=5000,
        )
    policy = BackupPolicy.objects.create(name="nightly", schedule="0 22 * * *")
    span = 365 * 24 * 3600 - 8 * 3600
    batch: list[BackupJob] = []
    for i in range(backups):
        code = rng.choice(list(ZONES))
        requested = start + timedelta(seconds=span * i / backups)
        delay = timedelta(minutes=rng.choice([0, 0, 30, 60, 120, 240]))
        hours = rng.uniform(0.2, 3.0)
        data_gb = rng.uniform(5, 2000)
        kwh = (100 + 50 * data_gb / 1000) * hours / 1000
        experienced = ZONES[code] * rng.uniform(0.6, 1.2)
        counter = ZONES[code] * rng.uniform(0.8, 1.4)
        kg, counter_kg = kwh * experienced / 1000, kwh * counter / 1000
        started = requested + delay
        batch.append(
            BackupJob(
                name=f"vm-{i:06d}",
                vm_path=f"/vms/vm-{i:06d}.img",
                zone=zones[code],
                policy=policy if i % 3 == 0 else None,
                status=BackupJob.Status.COMPLETED,
                requested_at=requested,
                earliest_start=requested,
                latest_start=requested + timedelta(hours=4),
                planned_start=started,
                started_at=started,
                completed_at=started + timedelta(hours=hours),
                data_size_gb=data_gb,
                bytes_written=int(data_gb * 0.4e9),
                energy_kwh=kwh,
                intensity_experienced=experienced,
                emissions_kg=kg,
                counterfactual_intensity=counter,
                counterfactual_kg=counter_kg,
                saving_kg=counter_kg - kg,
                accounting={"data_gb": data_gb, "coverage": 1.0, "flags": [], "sources": ["csv"]},
            )
        )
        if len(batch) == 5000:
            BackupJob.objects.bulk_create(batch)
            batch = []
    BackupJob.objects.bulk_create(batch)


def measure(func: Callable[[], Any]) -> tuple[float, float, float, Any]:
    """(wall seconds and CPU seconds untraced, peak MiB traced, result of the untraced run).

    CPU time is shown beside wall time because shared machines are busy: the wall time includes
    waiting for a core, the CPU time is what the work itself costs."""
    started, cpu = time.perf_counter(), time.process_time()
    result = func()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    tracemalloc.start()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, cpu, peak / 2**20, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backups", type=int, default=100_000)
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--pdf", type=Path, help="keep the year's PDF at this path (default: not kept)")
    args = parser.parse_args()
    runinfo.begin()
    sizes = [int(s) for s in args.sizes.split(",")]

    setup_django()
    started = time.perf_counter()
    populate(args.backups)
    print(f"populated {args.backups:,} backups in {time.perf_counter() - started:.1f} s")

    from reports.esg import csv as esg_csv
    from reports.esg import loader, pdf
    from reports.esg.periods import Period, year_period
    from reports.esg.value import Scope
    from scheduler.models import BackupJob

    year = year_period(YEAR)
    config = loader.config_from_settings()
    ordered = BackupJob.objects.order_by("completed_at", "pk").values_list("completed_at", flat=True)

    print("\n| rows | stream CSV, wall s | CPU s | rows/s (CPU) | MiB of CSV | peak Python memory, MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        # the period that holds exactly the first `size` backups (by completion)
        last = ordered[size - 1]
        period = Period(year.start, last + timedelta(microseconds=1)) if size < args.backups else year

        def stream(period: Period = period) -> tuple[int, int]:
            count = nbytes = 0
            for line in esg_csv.rows_csv(
                loader.iter_rows(period, Scope()), supplier_factor=config.supplier_factor, site_scope={}
            ):
                count += 1
                nbytes += len(line.encode())
            return count, nbytes

        seconds, cpu, peak, (count, nbytes) = measure(stream)
        assert count == size + 1, (count, size)
        print(
            f"| {size:,} | {seconds:.2f} | {cpu:.2f} | {size / cpu:,.0f} | {nbytes / 2**20:.1f} | {peak:.2f} |"
        )

    seconds, cpu, peak, _ = measure(
        lambda: "".join(esg_csv.summary_csv(loader.build(year, Scope(), keep_rows=0, curve=False)))
    )
    print(f"\nsummary CSV of the year: {seconds:.2f} s wall, {cpu:.2f} s CPU, peak {peak:.2f} MiB")

    seconds, cpu, peak, report = measure(lambda: loader.build(year, Scope(), keep_rows=pdf.PDF_ROWS))
    print(
        f"report value of the year (keep {pdf.PDF_ROWS} rows): {seconds:.2f} s wall, {cpu:.2f} s CPU, peak {peak:.2f} MiB"
    )
    seconds, cpu, peak, document = measure(lambda: pdf.render_pdf(report))
    print(
        f"PDF rendering of it: {seconds:.2f} s wall, {cpu:.2f} s CPU, peak {peak:.1f} MiB, {len(document) / 2**10:.0f} KiB"
    )
    if args.pdf:
        args.pdf.write_bytes(document)
        print(f"  written to {args.pdf}")

    seconds = http_check(year)
    print(f"GET /reports/esg.csv for the year through the view (viewer API key): {seconds:.2f} s")


def http_check(year: Any) -> float:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from accounts.models import APIKey
    from accounts.roles import set_role

    user = get_user_model().objects.create_user(username="bench-viewer")
    set_role(user, "viewer")
    key = APIKey.create_for(user, "bench")[1]
    client = Client(HTTP_X_API_KEY=key)
    started = time.perf_counter()
    response = client.get(f"/reports/esg.csv?period={YEAR}")
    assert response.status_code == 200 and response.streaming, response.status_code
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    assert lines > 1
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
