"""Factories and small helpers for scheduler tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import factory
from django.utils import timezone

from carbon.models import CarbonReading, Zone
from scheduler.models import BackupJob, BackupPolicy


class BackupJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackupJob

    name = factory.Sequence(lambda n: f"vm-{n}")
    vm_path = factory.LazyAttribute(lambda o: f"{o.name}.img")
    definition = factory.LazyAttribute(lambda o: {"vm_path": o.vm_path, "name": o.name, "metadata": {}})
    requested_at = factory.LazyFunction(timezone.now)
    earliest_start = factory.LazyAttribute(lambda o: o.requested_at)
    latest_start = factory.LazyAttribute(lambda o: o.earliest_start)
    planned_start = factory.LazyAttribute(lambda o: o.earliest_start)
    expected_duration = timedelta(hours=1)
    status = BackupJob.Status.PENDING


class BackupPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackupPolicy

    name = factory.Sequence(lambda n: f"nightly-{n}")
    schedule = "0 22 * * *"
    job_template = factory.LazyFunction(lambda: {"vm_path": "vm.img", "metadata": {}})


def zone(code: str = "DE") -> Zone:
    """A default zone. Transactional tests of other apps flush the database (the migrated zones go
    with it), so it is created again when missing."""
    found, _ = Zone.objects.get_or_create(code=code, defaults={"name": code, "typical_intensity": 300.0})
    return found


def add_readings(
    zone: Zone,
    start: datetime,
    values: list[float],
    *,
    step: timedelta = timedelta(hours=1),
    kind: str = "actual",
    source: str = "csv",
    issued_at: datetime | None = None,
) -> None:
    """Consecutive readings [start + i*step, start + (i+1)*step) with the given values."""
    CarbonReading.objects.bulk_create(
        CarbonReading(
            zone=zone,
            start=start + i * step,
            end=start + (i + 1) * step,
            value=value,
            kind=kind,
            source=source,
            issued_at=issued_at if kind == "forecast" else None,
        )
        for i, value in enumerate(values)
    )


# -- real processes on an embedded (SQLite) site -------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
_TEMPLATE: dict[str, Path] = {}


def sqlite_site(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for `manage.py` subprocesses on a fresh, migrated SQLite site under tmp_path.

    The database is migrated once per test session and copied; DATABASE_URL and REDIS_URL are
    removed, so this is the embedded mode (SQLite + django-q2's ORM broker) whatever CI sets.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    # Q_LOG_LEVEL=INFO: the tests read the cluster's "running" line from its log.
    env.update(PYTHONUNBUFFERED="1", Q_WORKERS="2", BACKUP_HEARTBEAT_SECONDS="0.2", Q_LOG_LEVEL="INFO")
    if "db" not in _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="hw-sched-template-"))
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            env={**env, "HYPERWEB_DATA_DIR": str(template)},
            check=True,
        )
        _TEMPLATE["db"] = template / "hyperweb.sqlite3"
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    shutil.copy(_TEMPLATE["db"], data / "hyperweb.sqlite3")
    (tmp_path / "vms").mkdir(exist_ok=True)
    env.update(
        HYPERWEB_DATA_DIR=str(data),
        BACKUP_SOURCE_ROOTS=str(tmp_path / "vms"),
        BACKUP_TARGET_ROOT=str(tmp_path / "backups"),
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, code: str | None = None, timeout: float = 60) -> str:
    """Run `manage.py args...` (or `shell -c code`) and return its stdout; fail loudly."""
    argv = (
        [sys.executable, "manage.py", *args]
        if code is None
        else [sys.executable, "manage.py", "shell", "-c", code]
    )
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{argv[2:]} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def start_cluster(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_cluster(*procs: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop clusters like an operator would (SIGTERM to the main process: django-q2 then stops its
    workers itself), or abruptly with sig=SIGKILL to the whole process group."""
    for proc in procs:
        if proc.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(proc.pid, sig)
            else:
                os.kill(proc.pid, sig)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    for proc in procs:  # leftover children (a killed sentinel does not take its workers along)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
