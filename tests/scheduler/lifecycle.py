"""Fixtures and helpers for restore, verification and retention tests: real backups made by the
file executor. The fixtures reach the tests through tests/scheduler/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scheduler.models import BackupJob
from scheduler.services import submit_jobs
from scheduler.services.execution import execute_job


@pytest.fixture
def enqueued(monkeypatch) -> list[list[str]]:
    """The job ids handed to the broker, instead of handing them (tests run jobs themselves)."""
    calls: list[list[str]] = []
    monkeypatch.setattr("scheduler.dispatch.enqueue_jobs", lambda ids, **kw: calls.append(list(ids)))
    return calls


@pytest.fixture
def roots(settings, tmp_path, enqueued) -> dict[str, Path]:
    """Source, target and restore roots under tmp_path; nothing is enqueued to a broker (the
    tests run each claimed job themselves with execute_job, as a worker would)."""
    paths = {name: tmp_path / name for name in ("vms", "backups", "restores")}
    for path in paths.values():
        path.mkdir()
    settings.BACKUP_SOURCE_ROOTS = [paths["vms"]]
    settings.BACKUP_TARGET_ROOT = paths["backups"]
    settings.BACKUP_RESTORE_ROOT = paths["restores"]
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_HEARTBEAT_SECONDS = 0.05
    return paths


def make_vm(roots: dict[str, Path], name: str = "web01", size: int = 300_000) -> Path:
    """A VM folder with two disk images of random bytes (incompressible, so gzip cannot hide a bug)."""
    vm = roots["vms"] / name
    (vm / "disks").mkdir(parents=True)
    (vm / "disks" / "root.qcow2").write_bytes(os.urandom(size))
    (vm / "vm.xml").write_bytes(b"<domain>" + os.urandom(1000) + b"</domain>")
    return vm


def make_backup(roots: dict[str, Path], name: str = "web01") -> BackupJob:
    """A completed backup of a fresh VM folder, made by the real file executor."""
    vm = roots["vms"] / name
    if not vm.exists():
        make_vm(roots, name)
    outcome = submit_jobs([{"vm_path": name, "name": name}])
    assert outcome.job_ids, outcome.errors
    assert execute_job(outcome.job_ids[0]) == "completed"
    return BackupJob.objects.select_related("zone").get(pk=outcome.job_ids[0])


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
