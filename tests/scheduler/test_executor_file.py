"""The file executor writes real archives under tmp_path: content, manifest, progress, cancel, crash."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from scheduler.executors import get_executor
from scheduler.executors.base import BackupError, BackupSpec, Cancelled, PathNotAllowed, Progress
from scheduler.executors.demo import create_demo_vms
from scheduler.executors.file import FileExecutor, cleanup_stale_temporaries, iter_temporaries, verify

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    source_root = tmp_path / "vms"
    target_root = tmp_path / "backups"
    source_root.mkdir()
    target_root.mkdir()
    return source_root, target_root


def _image(path: Path, size: int, seed: int = 1) -> Path:
    # Half random, half zeros: compressible but not trivially, and every byte position checked.
    block = hashlib.sha256(str(seed).encode()).digest() * 2048 + bytes(65536)
    with open(path, "wb") as fh:
        written = 0
        while written < size:
            piece = block[: size - written]
            fh.write(piece)
            written += len(piece)
    return path


def _run(
    roots: tuple[Path, Path],
    source: str,
    *,
    target_dir: str | None = "nightly",
    job_id: str = "job-1",
    compress: bool = True,
    executor: FileExecutor | None = None,
    should_cancel=lambda: False,
    report=None,
):
    reports: list[Progress] = []
    result = (executor or FileExecutor()).run(
        BackupSpec(job_id=job_id, source=source, target_dir=target_dir, name="web-01", compress=compress),
        report=report or reports.append,
        should_cancel=should_cancel,
        source_roots=[roots[0]],
        target_root=roots[1],
    )
    return result, reports


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_it_archives_a_disk_image_that_extracts_to_identical_bytes(roots, tmp_path: Path) -> None:
    image = _image(roots[0] / "web-01.qcow2", 3 * 1024 * 1024 + 123)

    result, _ = _run(roots, str(image))

    archive = Path(result.archive_path)
    assert archive == roots[1] / "nightly" / "web-01-job-1.tar.gz"
    with tarfile.open(archive, "r:gz") as tar:
        assert tar.getnames() == ["web-01.qcow2"]
        tar.extractall(tmp_path / "restored", filter="data")
    assert (tmp_path / "restored" / "web-01.qcow2").read_bytes() == image.read_bytes()
    assert result.total_bytes == image.stat().st_size
    assert 0 < result.archive_bytes == archive.stat().st_size < result.total_bytes
    assert result.files == ["web-01.qcow2"]
    assert archive.stat().st_mode & 0o007 == 0, "backups are not world-readable"


def test_it_archives_a_vm_directory_with_a_manifest_whose_hashes_match(roots, tmp_path: Path) -> None:
    vm_dir = create_demo_vms(roots[0])[-1]

    result, _ = _run(roots, str(vm_dir), target_dir=None)

    manifest = json.loads(Path(result.manifest_path).read_text())
    assert Path(result.manifest_path).parent == roots[1]
    assert manifest["job_id"] == "job-1" and manifest["created_at"].endswith("Z")
    assert manifest["archive"]["sha256"] == result.sha256 == _sha(Path(result.archive_path))
    sources = {f"app-01/{p.name}": p for p in vm_dir.iterdir()}
    assert [f["path"] for f in manifest["files"]] == sorted(sources)
    for entry in manifest["files"]:
        assert entry["size"] == sources[entry["path"]].stat().st_size
        assert entry["sha256"] == _sha(sources[entry["path"]])
    with tarfile.open(result.archive_path) as tar:
        tar.extractall(tmp_path / "restored", filter="data")
    for member, source in sources.items():
        assert (tmp_path / "restored" / member).read_bytes() == source.read_bytes()
    assert verify(result.archive_path, result.manifest_path)


def test_it_detects_a_tampered_archive_on_verify(roots) -> None:
    result, _ = _run(roots, str(_image(roots[0] / "db.raw", 200_000)))
    archive = Path(result.archive_path)
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    assert not verify(result.archive_path, result.manifest_path)


def test_it_writes_a_plain_tar_when_compression_is_off(roots) -> None:
    image = _image(roots[0] / "db.raw", 300_000)
    result, _ = _run(roots, "db.raw", compress=False)  # relative to the source root
    assert result.archive_path.endswith(".tar")
    with tarfile.open(result.archive_path, "r:") as tar:
        assert tar.extractfile("db.raw").read() == image.read_bytes()
    assert verify(result.archive_path, result.manifest_path)


def test_it_reports_progress_in_bytes_monotonically(roots) -> None:
    image = _image(roots[0] / "big.raw", 4 * 1024 * 1024)

    _, reports = _run(roots, str(image), executor=FileExecutor(chunk_size=64 * 1024, report_interval=3600))

    archiving = [p for p in reports if p.phase == "archiving"]
    assert len(archiving) >= 20, "a 1% step should give many reports for 64 chunks"
    done = [p.bytes_done for p in reports]
    assert done == sorted(done)
    assert all(p.bytes_total == image.stat().st_size for p in archiving)
    assert reports[0].phase == "preparing" and reports[-1].phase == "completed"
    assert reports[-1].bytes_done == image.stat().st_size and reports[-1].percent == 100.0
    assert archiving[1].current_file == "big.raw"


def test_it_leaves_nothing_when_cancelled_midway(roots) -> None:
    image = _image(roots[0] / "big.raw", 2 * 1024 * 1024)
    calls = {"n": 0}

    def cancel_after_five() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    with pytest.raises(Cancelled):
        _run(
            roots,
            str(image),
            executor=FileExecutor(chunk_size=64 * 1024, cancel_check_interval=0),
            should_cancel=cancel_after_five,
        )
    assert calls["n"] == 6, "cancel is checked between chunks, so the backup stops mid-way"
    assert _files_under(roots[1]) == []


def test_it_asks_should_cancel_at_most_once_per_interval(roots) -> None:
    image = _image(roots[0] / "big.raw", 4 * 1024 * 1024)
    calls = {"n": 0}

    def count() -> bool:
        calls["n"] += 1
        return False

    _run(
        roots,
        str(image),
        executor=FileExecutor(chunk_size=64 * 1024, cancel_check_interval=3600),
        should_cancel=count,
    )
    assert calls["n"] == 3, "before starting, at the first chunk, and before the final rename; not 64 times"


def test_it_removes_the_temporary_when_the_source_shrinks_mid_read(roots) -> None:
    image = _image(roots[0] / "shrinking.raw", 1024 * 1024)

    def truncate_after_first_chunk(progress: Progress) -> None:
        if progress.bytes_done > 0:
            os.truncate(image, 1000)

    with pytest.raises(BackupError, match="shrinking.raw|unexpected end"):
        _run(
            roots, str(image), executor=FileExecutor(chunk_size=64 * 1024), report=truncate_after_first_chunk
        )
    assert _files_under(roots[1]) == []


_CHILD = """
import sys
from pathlib import Path
from scheduler.executors.base import BackupSpec
from scheduler.executors.file import FileExecutor

def report(p):
    print(p.phase, p.bytes_done, flush=True)
    if p.phase == "archiving" and p.bytes_done > 0:
        sys.stdin.read()  # held mid-backup until the parent kills it (EOF if the parent is gone)

FileExecutor(chunk_size=64 * 1024).run(
    BackupSpec(job_id="job-k", source=sys.argv[1], target_dir="nightly", name="big"),
    report=report, should_cancel=lambda: False,
    source_roots=[Path(sys.argv[2])], target_root=Path(sys.argv[3]),
)
print("finished", flush=True)
"""


def test_it_leaves_only_a_temporary_that_cleanup_removes_when_killed(roots) -> None:
    big = roots[0] / "big.raw"
    with open(big, "wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: costs no disk
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(big), str(roots[0]), str(roots[1])],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in child.stdout:
            phase, done = line.split()
            if phase == "archiving" and int(done) > 0:
                break
        else:
            pytest.fail(f"child ended before archiving: {child.stderr.read()}")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL

    final = roots[1] / "nightly" / "big-job-k.tar.gz"
    temporaries = list(iter_temporaries(roots[1]))
    assert not final.exists()
    assert [t.name for t in temporaries] == [f".big-job-k.tar.gz.tmp-{child.pid}"]
    assert _files_under(roots[1]) == [f"nightly/.big-job-k.tar.gz.tmp-{child.pid}"]

    assert cleanup_stale_temporaries(roots[1], older_than=3600) == []  # still fresh: maybe alive
    assert cleanup_stale_temporaries(roots[1], older_than=60, now=time.time() + 61) == temporaries
    assert _files_under(roots[1]) == []


def test_it_does_not_clean_up_finished_backups(roots) -> None:
    result, _ = _run(roots, str(_image(roots[0] / "a.raw", 10_000)))
    assert cleanup_stale_temporaries(roots[1], older_than=0) == []
    assert Path(result.archive_path).exists() and Path(result.manifest_path).exists()


def test_it_refuses_sources_outside_the_roots(roots, tmp_path: Path) -> None:
    outside = _image(tmp_path / "secret.raw", 1000)
    (roots[0] / "escape.raw").symlink_to(outside)
    vm_dir = roots[0] / "vm"
    vm_dir.mkdir()
    _image(vm_dir / "disk.vmdk", 1000)
    (vm_dir / "extra.vmdk").symlink_to(outside)

    for source in ("../secret.raw", str(outside), "/etc/passwd", str(roots[0] / "escape.raw"), str(vm_dir)):
        with pytest.raises(PathNotAllowed) as exc:
            _run(roots, source)
        assert str(roots[0]) in str(exc.value), "the message names the allowed roots"
    assert _files_under(roots[1]) == []


def test_it_refuses_targets_outside_the_target_root(roots, tmp_path: Path) -> None:
    image = _image(roots[0] / "a.raw", 1000)
    (roots[1] / "link").symlink_to(tmp_path)
    for target in ("../elsewhere", str(tmp_path / "elsewhere"), "link/x"):
        with pytest.raises(PathNotAllowed, match=str(roots[1])):
            _run(roots, str(image), target_dir=target)
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "x").exists()


def test_it_never_writes_through_a_symlink_planted_at_its_temporary_name(roots, tmp_path: Path) -> None:
    image = _image(roots[0] / "a.raw", 5000)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    nightly = roots[1] / "nightly"
    nightly.mkdir()
    pid = os.getpid()
    for name in (f".web-01-job-1.tar.gz.tmp-{pid}", f".web-01-job-1.manifest.json.tmp-{pid}"):
        (nightly / name).symlink_to(victim)
    result, _ = _run(roots, str(image))
    assert victim.read_text() == "precious"
    assert verify(result.archive_path, result.manifest_path)
    assert list(iter_temporaries(roots[1])) == []


def test_it_accepts_absolute_targets_and_symlinks_inside_the_roots(roots) -> None:
    image = _image(roots[0] / "a.raw", 5000)
    (roots[0] / "current.raw").symlink_to(image)
    result, _ = _run(roots, "current.raw", target_dir=str(roots[1] / "abs" / "dir"))
    assert Path(result.archive_path).parent == roots[1] / "abs" / "dir"
    assert result.files == ["a.raw"]


def test_it_refuses_a_missing_source_and_a_target_inside_the_source(roots) -> None:
    with pytest.raises(BackupError, match="does not exist"):
        _run(roots, "nope.raw")
    vm_dir = roots[0] / "vm"
    vm_dir.mkdir()
    _image(vm_dir / "disk.vmdk", 1000)
    with pytest.raises(BackupError, match="inside the source"):
        FileExecutor().run(
            BackupSpec("j", str(vm_dir), None, "vm"),
            report=lambda p: None,
            should_cancel=lambda: False,
            source_roots=[roots[0]],
            target_root=vm_dir,
        )


def test_it_creates_demo_vms_idempotently_and_quickly(tmp_path: Path) -> None:
    started = time.monotonic()
    paths = create_demo_vms(tmp_path / "vms")
    again = create_demo_vms(tmp_path / "vms")
    assert time.monotonic() - started < 2.0
    assert paths == again and len(paths) == 4
    images, vm_dir = paths[:3], paths[3]
    assert all(2 * 1024 * 1024 <= p.stat().st_size <= 8 * 1024 * 1024 for p in images)
    assert sorted(p.suffix for p in vm_dir.iterdir()) == [".vmdk", ".vmx"]
    other = create_demo_vms(tmp_path / "elsewhere")
    assert [p.read_bytes() for p in other[:3]] == [p.read_bytes() for p in images]


def test_it_backs_up_a_demo_image_to_roughly_half_its_size(tmp_path: Path) -> None:
    images = create_demo_vms(tmp_path / "vms")
    result, _ = _run((tmp_path / "vms", tmp_path / "backups"), str(images[0]))
    assert 0.2 < result.archive_bytes / result.total_bytes < 0.8


def test_it_is_built_by_name(settings) -> None:
    settings.BACKUP_GZIP_LEVEL = 1
    executor = get_executor("file")
    assert isinstance(executor, FileExecutor) and executor.compresslevel == 1 and executor.available
