"""Reading back what the file executor wrote: verify an archive against its manifest, restore it.

Nothing here knows about Django models (like the executors): the worker passes paths, a progress
callback and a cancel check, and gets a result or an exception back.

- `check_archive` re-reads every byte once: the archive's own SHA-256 and, streaming through the
  tar (gzip) at the same time, each member's size and SHA-256, all against the manifest. It returns
  the problems found ([] = verified); a damaged archive is an answer, not an exception.
- `restore_archive` checks first (a mismatch raises `ArchiveMismatch`, and nothing is written),
  then extracts the regular files into `dest`, each through a temporary renamed into place, hashing
  again as it writes. Member names that are absolute or climb out (`..`), members that are not
  regular files, and folders that resolve outside `dest` through a symlink are refused. Existing
  files are replaced only with `overwrite`; a failed or cancelled restore removes the files it
  created (files it replaced are already the archive's).
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from scheduler.executors.base import BackupError, CancelFn, Cancelled, PathNotAllowed, Progress, ReportFn

CHUNK = 1 << 20
_READ_ERRORS = (OSError, tarfile.TarError, EOFError, zlib.error)


class ArchiveMismatch(BackupError):
    """The archive does not match its manifest: the backup is damaged."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the archive does not match its manifest: " + "; ".join(problems[:5]))


@dataclass
class ArchiveCheck:
    problems: list[str]
    archive_bytes: int = 0  # bytes of the archive file read
    total_bytes: int = 0  # bytes of the members (uncompressed), as the manifest says
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class RestoreOutcome:
    dest: str
    files: list[str]
    total_bytes: int
    archive_bytes: int
    duration_s: float


def read_manifest(manifest_path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
        manifest["archive"]["sha256"]
        {f["path"]: (f["size"], f["sha256"]) for f in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArchiveMismatch([f"manifest {manifest_path} is unreadable: {exc}"]) from None
    return manifest


def safe_member_name(name: str) -> PurePosixPath:
    """The member's relative path, or PathNotAllowed for an absolute or climbing name."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or "\x00" in name:
        raise PathNotAllowed(f"archive member {name!r} would be written outside the restore folder")
    return path


def restore_conflicts(manifest: dict[str, Any], dest: Path) -> list[str]:
    """Files of the manifest that already exist in `dest` (what a restore would overwrite)."""
    found = []
    for entry in manifest.get("files") or []:
        try:
            relative = safe_member_name(str(entry.get("path", "")))
        except PathNotAllowed:
            continue
        if os.path.lexists(dest / relative):
            found.append(str(relative))
    return found


class _Meter:
    """Progress (throttled) and cancel checks (at most every `interval` s) for one phase."""

    def __init__(
        self, report: ReportFn, should_cancel: CancelFn, progress: Progress, interval: float
    ) -> None:
        self.report = report
        self.should_cancel = should_cancel
        self.progress = progress
        self.interval = interval
        self._last_report = float("-inf")
        self._last_cancel = float("-inf")

    def add(self, n: int) -> None:
        self.progress.bytes_done += n
        now = time.monotonic()
        if now - self._last_cancel >= self.interval:
            self._last_cancel = now
            if self.should_cancel():
                raise Cancelled(f"stopped while {self.progress.phase} ({self.progress.bytes_done} bytes)")
        if now - self._last_report >= self.interval:
            self.emit()

    def emit(self) -> None:
        self._last_report = time.monotonic()
        p = self.progress
        self.report(
            Progress(p.phase, p.bytes_done, p.bytes_total, p.current_file, p.files_done, p.files_total)
        )


class _HashingReader:
    """Read-through wrapper over the archive file: hashes and meters every byte read."""

    def __init__(self, raw: IO[bytes], meter: _Meter) -> None:
        self._raw = raw
        self._meter = meter
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(CHUNK if size is None or size < 0 else size)
        self.sha256.update(data)
        self.bytes += len(data)
        self._meter.add(len(data))
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def check_archive(
    archive_path: str | os.PathLike[str],
    manifest_path: str | os.PathLike[str],
    *,
    report: ReportFn = lambda p: None,
    should_cancel: CancelFn = lambda: False,
    interval: float = 0.25,
    final_phase: str = "completed",
) -> ArchiveCheck:
    """Every problem of the archive against its manifest ([] = verified), reading it once."""
    try:
        manifest = read_manifest(manifest_path)
    except ArchiveMismatch as exc:
        return ArchiveCheck(exc.problems)
    expected = {f["path"]: f for f in manifest["files"]}
    total = int(manifest.get("total_bytes") or sum(int(f["size"]) for f in manifest["files"]))
    archive_path = Path(archive_path)
    try:
        size = archive_path.stat().st_size
        raw = open(archive_path, "rb")  # noqa: SIM115 - closed below, after the drain
    except OSError as exc:
        return ArchiveCheck([f"archive {archive_path} is unreadable: {exc.strerror or exc}"], 0, total)
    meter = _Meter(report, should_cancel, Progress("verifying", 0, size, None, 0, len(expected)), interval)
    problems: list[str] = []
    seen: set[str] = set()
    with raw:
        reader = _HashingReader(raw, meter)
        try:
            with tarfile.open(fileobj=reader, mode="r|*") as tar:  # type: ignore[call-overload]
                for member in tar:
                    try:
                        safe_member_name(member.name)
                    except PathNotAllowed as exc:
                        problems.append(str(exc))
                        continue
                    if not member.isfile():
                        problems.append(f"{member.name} is not a regular file")
                        continue
                    seen.add(member.name)
                    meter.progress.current_file = member.name
                    want = expected.get(member.name)
                    digest = hashlib.sha256()
                    source = tar.extractfile(member)
                    while source is not None and (block := source.read(CHUNK)):
                        digest.update(block)
                    meter.progress.files_done += 1
                    if want is None:
                        problems.append(f"{member.name} is in the archive but not in the manifest")
                    elif member.size != int(want["size"]) or digest.hexdigest() != want["sha256"]:
                        problems.append(f"{member.name} does not match its manifest entry")
        except _READ_ERRORS as exc:
            problems.append(f"the archive cannot be read: {type(exc).__name__}: {exc}")
        try:
            reader.drain()  # tar's end blocks and padding count for the archive's own hash
        except OSError as exc:
            problems.append(f"archive {archive_path} is unreadable: {exc.strerror or exc}")
    actual = reader.sha256.hexdigest()
    if actual != manifest["archive"]["sha256"]:
        problems.insert(0, f"archive sha256 is {actual}, the manifest says {manifest['archive']['sha256']}")
    missing = sorted(expected.keys() - seen)
    problems.extend(f"{name} is in the manifest but not in the archive" for name in missing)
    meter.progress.phase = final_phase
    meter.progress.current_file = None
    meter.emit()
    return ArchiveCheck(problems, reader.bytes, total, sorted(seen))


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def restore_archive(
    archive_path: str | os.PathLike[str],
    manifest_path: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    report: ReportFn = lambda p: None,
    should_cancel: CancelFn = lambda: False,
    interval: float = 0.25,
) -> RestoreOutcome:
    """Verify, then extract the archive's files into `dest` (created if missing).

    Raises ArchiveMismatch (nothing written), BackupError (files exist without `overwrite`, a
    disk error), PathNotAllowed (an escape) or Cancelled; in every case the files this call
    created are removed again.
    """
    started = time.monotonic()
    check = check_archive(
        archive_path,
        manifest_path,
        report=report,
        should_cancel=should_cancel,
        interval=interval,
        final_phase="verified",
    )
    if not check.ok:
        raise ArchiveMismatch(check.problems)
    manifest = read_manifest(manifest_path)
    expected = {f["path"]: f for f in manifest["files"]}
    root = Path(dest).resolve()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create the restore folder {root}: {exc.strerror or exc}") from None
    conflicts = restore_conflicts(manifest, root)
    if conflicts and not overwrite:
        raise BackupError(
            f"{len(conflicts)} file(s) already exist in {root} (e.g. {conflicts[0]}); "
            "restore elsewhere, or ask to overwrite them"
        )
    meter = _Meter(
        report, should_cancel, Progress("restoring", 0, check.total_bytes, None, 0, len(expected)), interval
    )
    created: list[Path] = []
    temp: Path | None = None
    restored: list[str] = []
    try:
        with open(archive_path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as tar:
            for member in tar:
                relative = safe_member_name(member.name)
                if not member.isfile():
                    raise PathNotAllowed(f"archive member {member.name} is not a regular file")
                final = root / relative
                final.parent.mkdir(parents=True, exist_ok=True)
                if not _is_within(final.parent.resolve(), root):
                    raise PathNotAllowed(f"{final.parent} resolves outside the restore folder {root}")
                if final.is_dir() and not final.is_symlink():
                    raise BackupError(f"{final} is a folder; the archive has a file there")
                existed = os.path.lexists(final)
                temp = final.parent / f".{final.name}.tmp-{os.getpid()}"
                temp.unlink(missing_ok=True)
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o640)
                meter.progress.current_file = member.name
                digest = hashlib.sha256()
                source = tar.extractfile(member)
                with open(fd, "wb") as out:
                    while source is not None and (block := source.read(CHUNK)):
                        digest.update(block)
                        out.write(block)
                        meter.add(len(block))
                    out.flush()
                    os.fsync(out.fileno())
                want = expected.get(member.name)
                if want is None or digest.hexdigest() != want["sha256"]:
                    raise ArchiveMismatch([f"{member.name} changed while it was restored"])
                os.replace(temp, final)  # replaces a symlink itself, never what it points to
                temp = None
                if not existed:
                    created.append(final)
                restored.append(str(relative))
                meter.progress.files_done += 1
    except BaseException as exc:
        if temp is not None:
            temp.unlink(missing_ok=True)
        for path in created:
            path.unlink(missing_ok=True)
        if isinstance(exc, _READ_ERRORS) and not isinstance(exc, BackupError):
            raise BackupError(f"restore into {root} failed: {type(exc).__name__}: {exc}") from exc
        raise
    meter.progress.phase = "completed"
    meter.progress.current_file = None
    meter.emit()
    return RestoreOutcome(
        str(root), restored, check.total_bytes, check.archive_bytes, time.monotonic() - started
    )
