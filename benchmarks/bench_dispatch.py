"""Dispatch benchmark: backups claimed and started per second by one django-q2 cluster with 2 workers
on PostgreSQL + Redis (the scale-out mode).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hw_scheduler_bench \\
    REDIS_URL=redis://127.0.0.1:6379/3 \\
    .venv/bin/python benchmarks/bench_dispatch.py [--jobs 400] [--rounds 2]

The database named in DATABASE_URL must be one for benchmarks (its name must contain "bench"):
it is created if missing, migrated, and its backup jobs are deleted before each round. Everything
else lives in a temporary folder.

Per round: N run-now jobs of a 4 KB disk image each (the real `file` executor: tar.gz, SHA-256
manifest, rename; plus accounting) are stored, a `manage.py qcluster` with Q_WORKERS=2 is
started and left to settle, then the jobs become due and `dispatch_due()` (or a worker's
one-second dispatch timer, whichever is first) marks them (SELECT ... FOR UPDATE SKIP LOCKED) and
enqueues them to Redis. Measured from that moment: the rate at which jobs are claimed
(status -> running, `started_at`), the dispatch-to-start latency, and the rate at which they
complete. Each job is also enqueued a second time, so half of the claims attempted are refused
duplicates, as when two clusters race.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import runinfo  # noqa: E402  (benchmarks/, on sys.path when run as a script)


def _prepare_env(tmp: Path) -> dict[str, str]:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hw_scheduler_bench")
    if "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit(f"refusing to use {url}: the database name must contain 'bench' (it gets emptied)")
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3"),
        "HYPERWEB_DATA_DIR": str(tmp / "data"),
        "BACKUP_SOURCE_ROOTS": str(tmp / "vms"),
        "BACKUP_TARGET_ROOT": str(tmp / "backups"),
        "BACKUP_DEFAULT_CAPACITY": "1000",
        "Q_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    return {**os.environ, **env}


def _create_database(url: str) -> None:
    import psycopg

    from hyperweb.env import database_from_url

    db = database_from_url(url)
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db["NAME"],)).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def _round(n: int, env: dict[str, str], tmp: Path, log: Path) -> dict[str, float]:
    from django.utils import timezone
    from django_q.brokers import get_broker

    from scheduler.dispatch import dispatch_due, enqueue_jobs
    from scheduler.models import BackupJob

    BackupJob.objects.all().delete()
    shutil.rmtree(tmp / "backups", ignore_errors=True)
    get_broker().purge_queue()
    now = timezone.now()
    jobs = [
        BackupJob(
            vm_path=f"vm{i % 50}.img",
            name=f"bench-{i}",
            definition={"vm_path": f"vm{i % 50}.img", "name": f"bench-{i}", "metadata": {}},
            requested_at=now,
            earliest_start=now,
            latest_start=now,
            planned_start=now + timedelta(hours=1),  # held back until the cluster is up
        )
        for i in range(n)
    ]
    BackupJob.objects.bulk_create(jobs, batch_size=500)
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        time.sleep(4)  # start-up, and the start-up dispatch (which finds nothing: all marked)
        t0 = timezone.now()
        BackupJob.objects.update(planned_start=t0)
        # Whoever gets there first (this call or a worker's dispatch timer) enqueues each job once;
        # then every job is enqueued once more: duplicates whose claims must be refused.
        dispatch_due()
        ids = list(BackupJob.objects.values_list("pk", flat=True))
        enqueue_jobs(ids, mark=False)
        t_enqueued = timezone.now()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if BackupJob.objects.exclude(status__in=["completed", "failed"]).count() == 0:
                break
            time.sleep(0.2)
    finally:
        os.kill(cluster.pid, signal.SIGTERM)
        try:
            cluster.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
    rows = list(BackupJob.objects.values_list("status", "started_at", "completed_at", "attempts"))
    failed = sum(1 for r in rows if r[0] != "completed")
    starts = sorted(r[1] for r in rows if r[1])
    ends = sorted(r[2] for r in rows if r[2])
    latencies = [(s - t0).total_seconds() for s in starts]
    span_start = (starts[-1] - t0).total_seconds()
    span_done = (ends[-1] - t0).total_seconds()
    return {
        "jobs": n,
        "failed": failed,
        "double_runs": sum(1 for r in rows if r[3] != 1),
        "enqueue_s": (t_enqueued - t0).total_seconds(),
        "started_per_s": n / span_start,
        "completed_per_s": n / span_done,
        "latency_p50_s": statistics.median(latencies),
        "latency_max_s": max(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    runinfo.begin()
    tmp = runinfo.scratch("hw-bench-dispatch-")
    try:
        env = _prepare_env(tmp)
        (tmp / "vms").mkdir()
        for i in range(50):
            (tmp / "vms" / f"vm{i}.img").write_bytes(os.urandom(4096))
        _create_database(env["DATABASE_URL"])
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperweb.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        results = [_round(args.jobs, env, tmp, tmp / "cluster.log") for _ in range(args.rounds)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        "| round | jobs | claimed+started/s | completed/s | dispatch->start p50 | last start | failed | run twice |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(results, 1):
        print(
            f"| {i} | {r['jobs']} | {r['started_per_s']:.1f} | {r['completed_per_s']:.1f} | "
            f"{r['latency_p50_s']:.2f} s | {r['latency_max_s']:.2f} s | {r['failed']} | {r['double_runs']} |"
        )


if __name__ == "__main__":
    main()
