"""Migration 0003: unfinished jobs stored before it get their backup target."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("scheduler", "0002_policy_secrets")]
AFTER = [("scheduler", "0003_job_target_capacity_keys")]


@pytest.mark.django_db(transaction=True)
def test_it_fills_the_target_of_unfinished_jobs(settings, tmp_path) -> None:
    settings.BACKUP_TARGET_ROOT = tmp_path
    settings.HYPERSDK_URL = "https://user:pw@daemon.example:443/"
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("scheduler", "BackupJob")
    now = timezone.now()
    common = {"requested_at": now, "earliest_start": now, "latest_start": now, "vm_path": "a.img"}
    old.objects.create(id="file", definition={"output_dir": "nas1"}, status="scheduled", **common)
    old.objects.create(id="daemon", executor="hypersdk", definition={}, status="running", **common)
    old.objects.create(id="outside", definition={"output_dir": "/etc"}, status="pending", **common)
    old.objects.create(id="done", definition={"output_dir": "nas1"}, status="completed", **common)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("scheduler", "BackupJob")
        targets = dict(new.objects.values_list("id", "target"))
        assert targets == {
            "file": str((tmp_path / "nas1").resolve()),
            "daemon": "https://daemon.example",  # no credentials, no default port
            "outside": "",  # outside the target root: no limit, as job_target says
            "done": "",  # finished jobs are left alone
        }
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
