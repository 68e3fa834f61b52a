"""Restoring a backup made by the file executor: services and runs, real files end to end."""

from __future__ import annotations

import os

import pytest

from scheduler.models import BackupJob
from scheduler.services.execution import execute_job
from scheduler.services.lifecycle import LifecycleRefused, request_restore
from tests.scheduler.lifecycle import files_under, make_backup

pytestmark = pytest.mark.django_db


def test_it_restores_every_byte_of_a_backup_made_by_the_file_executor(
    roots, enqueued, django_capture_on_commit_callbacks
) -> None:
    backup = make_backup(roots)
    with django_capture_on_commit_callbacks(execute=True):
        run = request_restore(backup, target="web01-restored")
    assert run.operation == "restore" and run.subject_id == backup.pk
    assert enqueued == [[run.pk]], "a restore is dispatched at once"
    assert execute_job(run.pk) == "completed"
    restored = files_under(roots["restores"] / "web01-restored")
    source = files_under(roots["vms"])
    assert restored == source and len(restored) == 2
    run.refresh_from_db()
    backup.refresh_from_db()
    assert run.status == "completed" and run.result["restored_to"] == str(
        roots["restores"] / "web01-restored"
    )
    assert run.energy_kwh is not None, "a restore is accounted like any run"
    assert run.progress["phase"] == "completed"
    messages = list(run.events.values_list("message", flat=True))
    assert any("restored 2 file(s)" in m and "verified first" in m for m in messages)
    assert backup.integrity == "verified", "a restore verifies the archive first"
    assert any("restored into" in m for m in backup.events.values_list("message", flat=True))


def test_it_refuses_a_folder_outside_the_restore_root(roots) -> None:
    backup = make_backup(roots)
    for target in ("../escape", "/etc", str(roots["backups"])):
        with pytest.raises(LifecycleRefused) as caught:
            request_restore(backup, target=target)
        assert caught.value.status == 400 and caught.value.field == "target"
    os.symlink(roots["vms"], roots["restores"] / "sneaky")
    with pytest.raises(LifecycleRefused) as caught:
        request_restore(backup, target="sneaky/inside")
    assert caught.value.field == "target"
    assert not BackupJob.objects.filter(operation="restore").exists()


def test_it_never_overwrites_existing_files_unless_asked(roots) -> None:
    backup = make_backup(roots)
    dest = roots["restores"] / "again"
    (dest / "web01").mkdir(parents=True)
    (dest / "web01" / "vm.xml").write_bytes(b"mine")
    with pytest.raises(LifecycleRefused) as caught:
        request_restore(backup, target="again")
    assert caught.value.status == 409 and caught.value.field == "overwrite"
    assert "web01/vm.xml" in str(caught.value)
    assert (dest / "web01" / "vm.xml").read_bytes() == b"mine"
    run = request_restore(backup, target="again", overwrite=True)
    assert execute_job(run.pk) == "completed"
    assert files_under(dest) == files_under(roots["vms"])


def test_it_fails_a_restore_whose_files_appeared_after_it_was_asked(roots) -> None:
    backup = make_backup(roots)
    run = request_restore(backup, target="late")
    (roots["restores"] / "late" / "web01").mkdir(parents=True)
    (roots["restores"] / "late" / "web01" / "vm.xml").write_bytes(b"theirs")
    assert execute_job(run.pk) == "failed"
    run.refresh_from_db()
    assert "already exist" in run.error
    assert (roots["restores"] / "late" / "web01" / "vm.xml").read_bytes() == b"theirs"
    assert not (roots["restores"] / "late" / "web01" / "disks").exists()


def test_it_stops_a_restore_of_a_corrupted_archive_and_writes_nothing(roots) -> None:
    backup = make_backup(roots)
    archive = backup.result["archive_path"]
    data = bytearray(open(archive, "rb").read())
    data[len(data) // 2] ^= 0x01
    open(archive, "wb").write(bytes(data))
    run = request_restore(backup, target="bad")
    assert execute_job(run.pk) == "failed"
    run.refresh_from_db()
    backup.refresh_from_db()
    assert "does not match its manifest" in run.error and "nothing was restored" in run.error
    assert files_under(roots["restores"]) == {}
    assert backup.integrity == "damaged"
    with pytest.raises(LifecycleRefused, match="damaged"):
        request_restore(backup, target="bad2")


def test_it_refuses_backups_that_cannot_be_restored(roots) -> None:
    backup = make_backup(roots)
    run = request_restore(backup)
    with pytest.raises(LifecycleRefused, match="not a backup"):
        request_restore(run)
    BackupJob.objects.filter(pk=backup.pk).update(status="failed")
    backup.refresh_from_db()
    with pytest.raises(LifecycleRefused, match="only a completed backup"):
        request_restore(backup)


def test_it_restores_from_the_command_line_and_shows_the_backup_verified(roots) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    backup = make_backup(roots)
    out = StringIO()
    call_command("backup", "restore", backup.pk, "--to", "cli", "--wait", stdout=out)
    assert "restored 2 file(s)" in out.getvalue()
    assert files_under(roots["restores"] / "cli") == files_under(roots["vms"])
    with pytest.raises(CommandError, match="target: restores go inside BACKUP_RESTORE_ROOT") as caught:
        call_command("backup", "restore", backup.pk, "--to", "../../x")
    assert caught.value.returncode == 2
    with pytest.raises(CommandError, match="overwrite: 2 file"):
        call_command("backup", "restore", backup.pk, "--to", "cli")
    shown = StringIO()
    call_command("backup", "show", backup.pk, stdout=shown)
    assert "integrity: verified" in shown.getvalue()
