"""Restore and verification through a real worker cluster (SQLite + ORM broker), as `make run` runs.

The commands ask (without --wait), the cluster claims and runs; rows are read from the SQLite file.
"""

from __future__ import annotations

import os

from tests.scheduler.factories import manage, sqlite_site, start_cluster, stop_cluster
from tests.scheduler.lifecycle import files_under
from tests.scheduler.test_restart import row
from tests.waiting import wait_for


def finished(tmp_path, job_id: str) -> bool:
    """Ended, and accounted if completed: the worker commits the status first and the accounting
    (energy, emissions) in a second write just after, so a read in between sees no energy yet."""
    job = row(tmp_path, job_id)
    if job["status"] == "completed":
        return job["energy_kwh"] is not None
    return job["status"] in ("failed", "cancelled")


def test_it_restores_and_verifies_through_the_workers(tmp_path) -> None:
    env = sqlite_site(tmp_path, BACKUP_RESTORE_ROOT=str(tmp_path / "restores"))
    vm = tmp_path / "vms" / "web01"
    (vm / "disks").mkdir(parents=True)
    (vm / "disks" / "root.qcow2").write_bytes(os.urandom(2_000_000))
    (vm / "vm.xml").write_bytes(b"<domain/>")
    backup_id = manage(env, "backup", "submit", "web01").split()[0]
    cluster = start_cluster(env, tmp_path / "cluster.log")
    log = tmp_path / "cluster.log"
    try:
        assert wait_for(lambda: finished(tmp_path, backup_id), 60), log.read_text()[-3000:]
        assert row(tmp_path, backup_id)["status"] == "completed"

        asked = manage(env, "backup", "restore", backup_id, "--to", "r1")
        restore_id = asked.split()[1]
        assert wait_for(lambda: finished(tmp_path, restore_id), 60), log.read_text()[-3000:]
        restore = row(tmp_path, restore_id)
        assert restore["status"] == "completed", restore
        assert restore["operation"] == "restore" and restore["energy_kwh"] is not None
        assert files_under(tmp_path / "restores" / "r1") == files_under(tmp_path / "vms")

        archive = next(p for p in (tmp_path / "backups").glob("*.tar.gz"))
        data = bytearray(archive.read_bytes())
        data[len(data) // 2] ^= 0x01
        archive.write_bytes(bytes(data))
        verify_id = manage(env, "backup", "verify", backup_id).split()[1]
        assert wait_for(lambda: finished(tmp_path, verify_id), 60), log.read_text()[-3000:]
    finally:
        stop_cluster(cluster)
    assert row(tmp_path, verify_id)["status"] == "completed"
    damaged = row(tmp_path, backup_id)
    assert damaged["integrity"] == "damaged" and "archive sha256" in damaged["integrity_detail"]
    assert any(m.startswith("DAMAGED") for m in damaged["events"])
    shown = manage(env, "backup", "show", backup_id)
    assert "integrity: DAMAGED" in shown
