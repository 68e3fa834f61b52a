"""Reading archives back (scheduler.executors.archive) with hostile inputs: plain files, no Django."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from scheduler.executors.archive import ArchiveMismatch, check_archive, restore_archive
from scheduler.executors.base import BackupSpec, Cancelled, PathNotAllowed
from scheduler.executors.file import FileExecutor


def backup_of(tmp_path: Path, size: int = 200_000) -> tuple[Path, Path, Path]:
    """A real archive + manifest of a small VM folder, written by the file executor."""
    vm = tmp_path / "vms" / "vm1"
    (vm / "disks").mkdir(parents=True)
    (vm / "disks" / "a.img").write_bytes(os.urandom(size))
    (vm / "b.cfg").write_bytes(b"cfg")
    result = FileExecutor().run(
        BackupSpec(job_id="j1", source="vm1", target_dir=None, name="vm1"),
        report=lambda p: None,
        should_cancel=lambda: False,
        source_roots=[tmp_path / "vms"],
        target_root=tmp_path / "backups",
    )
    return vm, Path(result.archive_path), Path(result.manifest_path)


def hostile_archive(
    tmp_path: Path, members: list[tarfile.TarInfo], data: bytes = b"evil"
) -> tuple[Path, Path]:
    """An archive whose manifest matches it exactly: only the member names/types are hostile."""
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        for info in members:
            if info.isfile():
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    files = [{"path": m.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()} for m in members]
    manifest = tmp_path / "evil.manifest.json"
    manifest.write_text(json.dumps({"archive": {"sha256": digest}, "files": files, "total_bytes": 4}))
    return archive, manifest


def test_it_finds_every_single_flipped_byte(tmp_path) -> None:
    _, archive, manifest = backup_of(tmp_path)
    assert check_archive(archive, manifest).ok
    original = archive.read_bytes()
    for at in (0, 10, len(original) // 3, len(original) - 1):
        data = bytearray(original)
        data[at] ^= 0x01
        archive.write_bytes(bytes(data))
        assert not check_archive(archive, manifest).ok, at
    archive.write_bytes(original[:-100])
    assert not check_archive(archive, manifest).ok, "a truncated archive"
    archive.unlink()
    assert "unreadable" in check_archive(archive, manifest).problems[0]


@pytest.mark.parametrize("name", ["../outside.txt", "/tmp/abs.txt", "a/../../up.txt"])
def test_it_refuses_member_names_that_leave_the_folder(tmp_path, name) -> None:
    archive, manifest = hostile_archive(tmp_path, [tarfile.TarInfo(name)])
    dest = tmp_path / "restores" / "x"
    with pytest.raises(ArchiveMismatch, match="outside the restore folder"):
        restore_archive(archive, manifest, dest)
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path / "restores" / "up.txt").exists()


def test_it_refuses_links_and_devices_in_an_archive(tmp_path) -> None:
    link = tarfile.TarInfo("vm/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    archive, manifest = hostile_archive(tmp_path, [link])
    with pytest.raises(ArchiveMismatch, match="not a regular file"):
        restore_archive(archive, manifest, tmp_path / "restores")


def test_it_never_writes_through_a_symlinked_folder_in_the_restore_folder(tmp_path) -> None:
    _, archive, manifest = backup_of(tmp_path)
    dest = tmp_path / "restores" / "here"
    outside = tmp_path / "outside"
    outside.mkdir()
    dest.mkdir(parents=True)
    os.symlink(outside, dest / "vm1")  # the archive's top folder, pointing elsewhere
    with pytest.raises((PathNotAllowed, ArchiveMismatch)):
        restore_archive(archive, manifest, dest, overwrite=True)
    assert list(outside.iterdir()) == []


def test_it_replaces_a_planted_file_symlink_itself_not_its_target(tmp_path) -> None:
    vm, archive, manifest = backup_of(tmp_path)
    dest = tmp_path / "restores" / "here"
    (dest / "vm1").mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    os.symlink(victim, dest / "vm1" / "b.cfg")
    restore_archive(archive, manifest, dest, overwrite=True)
    assert victim.read_text() == "untouched"
    assert not (dest / "vm1" / "b.cfg").is_symlink() and (dest / "vm1" / "b.cfg").read_bytes() == b"cfg"


def test_it_removes_what_it_wrote_when_cancelled(tmp_path) -> None:
    _, archive, manifest = backup_of(tmp_path, size=3 << 20)  # 3 chunks of extraction
    dest = tmp_path / "restores" / "r"
    phases: list[str] = []
    written: list[int] = []

    def cancel_while_restoring() -> bool:
        if phases and phases[-1] == "restoring":
            written.append(len([p for p in dest.rglob("*") if p.is_file()]))
            return len(written) >= 2  # b.cfg is restored, a.img half written
        return False

    with pytest.raises(Cancelled):
        restore_archive(
            archive,
            manifest,
            dest,
            report=lambda p: phases.append(p.phase),
            should_cancel=cancel_while_restoring,
            interval=0,
        )
    assert "verified" in phases and written and max(written) >= 1
    assert [p for p in dest.rglob("*") if p.is_file()] == [], "no file nor temporary stays"
