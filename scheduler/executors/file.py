"""The `file` executor: a VM disk image or VM directory into a tar(.gz) archive plus a manifest.

How a backup is written, and why:
1. Source and target are resolved (symlinks, `..`) and must lie inside the configured roots;
   a symlink inside a VM directory that points elsewhere is refused too.
2. The file list and total size are taken first, so progress has a denominator.
3. The archive is streamed (one chunk at a time, never a whole image in memory) into
   `.<final name>.tmp-<pid>` in the target directory; each chunk updates the file's SHA-256, the
   archive's SHA-256 (hashed as it is written, so no second pass), progress, and asks
   `should_cancel()`.
4. When every byte is written the temporary is fsync'd, renamed to its final name and the
   directory fsync'd; then the manifest is written the same way. A rename is atomic, so a crash
   (even SIGKILL) leaves at most a dot-file ending in `.tmp-<pid>` that never looks like a
   finished backup; `cleanup_stale_temporaries()` removes those when a worker starts. The
   manifest is written last: an archive with its manifest is a complete, verifiable backup.
5. On cancel or any error the temporary is removed before the exception leaves `run()`.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import logging
import os
import re
import stat
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from hyperweb.lib.timefmt import format_utc
from scheduler.executors.base import (
    BackupError,
    BackupResult,
    BackupSpec,
    CancelFn,
    Cancelled,
    PathNotAllowed,
    Progress,
    ReportFn,
    TransientBackupError,
    resolve_inside,
)

log = logging.getLogger(__name__)

MANIFEST_FORMAT = "hyperweb-backup-manifest/1"
DEFAULT_CHUNK = 1 << 20
_TEMP_RE = re.compile(r"^\..+\.tmp-\d+$")
# Errors a later attempt may not meet again (space freed, device back): worth a retry.
_TRANSIENT_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EAGAIN,
    errno.EBUSY,
    errno.EIO,
    errno.ESTALE,
}
# The target cannot take more: no space, quota, file-size limit. Said plainly; retried later (space
# may be freed meanwhile), failed for good after BACKUP_MAX_ATTEMPTS.
_FULL_ERRNOS = {
    errno.ENOSPC: "no space left",
    errno.EDQUOT: "quota exceeded",
    errno.EFBIG: "file size limit reached",
}


@dataclass(frozen=True)
class _Entry:
    path: Path  # real path of a regular file
    member: str  # name inside the archive (and in the manifest)
    size: int


def _slug(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip(".-")
    return cleaned[:80] or "backup"


def _create_temporary(path: Path) -> int:
    """Open a fresh temporary for writing, 0640 (disk images hold whatever the guests stored).

    Whatever already sits at that name (a file left by a dead process with the same pid, or a
    symlink someone planted to make the worker write outside the target root) is removed, and the
    file is created exclusively without following links, so the bytes land in the target root.
    """
    path.unlink(missing_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o640)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _collect(source: Path, roots: list[Path]) -> tuple[list[_Entry], list[dict[str, str]]]:
    """Regular files to archive (sorted, stable) and entries skipped with the reason."""
    if source.is_file():
        return [_Entry(source, source.name, source.stat().st_size)], []
    if not source.is_dir():
        if not source.exists():
            raise BackupError(f"source {source} does not exist")
        raise BackupError(f"source {source} is neither a regular file nor a directory")
    entries: list[_Entry] = []
    skipped: list[dict[str, str]] = []
    seen = {source}
    stack = [(source, source.name)]
    while stack:
        directory, prefix = stack.pop()
        with os.scandir(directory) as it:
            children = sorted(it, key=lambda e: e.name)
        subdirs = []
        for child in children:
            member = f"{prefix}/{child.name}"
            path = Path(child.path)
            if child.is_symlink():
                try:
                    path = resolve_inside(path, roots)
                except PathNotAllowed as exc:
                    raise PathNotAllowed(f"symlink {member} points outside the source roots: {exc}") from None
            st = os.stat(path) if path.exists() else None
            if st is None:
                skipped.append({"path": member, "reason": "dangling symlink"})
            elif stat.S_ISREG(st.st_mode):
                entries.append(_Entry(path, member, st.st_size))
            elif stat.S_ISDIR(st.st_mode):
                if path not in seen:  # a symlink loop or a second link to one directory
                    seen.add(path)
                    subdirs.append((path, member))
            else:
                skipped.append({"path": member, "reason": "not a regular file"})
        stack.extend(reversed(subdirs))
    entries.sort(key=lambda e: e.member)
    return entries, skipped


class _Throttled:
    """Calls `report` at most every `interval` seconds or every `step` of the total, and on force."""

    def __init__(self, report: ReportFn, progress: Progress, interval: float, step_pct: float) -> None:
        self._report = report
        self.progress = progress
        self._interval = interval
        self._step = max(1, int(progress.bytes_total * step_pct / 100)) if progress.bytes_total else 1
        self._last_time = float("-inf")
        self._last_bytes = -1

    def emit(self, *, force: bool = False) -> None:
        now = time.monotonic()
        p = self.progress
        if force or now - self._last_time >= self._interval or p.bytes_done - self._last_bytes >= self._step:
            self._last_time = now
            self._last_bytes = p.bytes_done
            self._report(
                Progress(p.phase, p.bytes_done, p.bytes_total, p.current_file, p.files_done, p.files_total)
            )


class _HashingWriter:
    """Write-through file wrapper that hashes and counts what reaches the disk."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self._raw.write(data)

    def flush(self) -> None:
        self._raw.flush()


class _SourceReader:
    """Read-through wrapper fed to tarfile: hashes each chunk, counts it, and checks cancel."""

    def __init__(self, raw: IO[bytes], on_chunk: Callable[[int], None]) -> None:
        self._raw = raw
        self._on_chunk = on_chunk
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        self._on_chunk(0)  # cancellation is checked before each chunk is read
        data = self._raw.read(size)
        self.sha256.update(data)
        self._on_chunk(len(data))
        return data


class FileExecutor:
    """Backs up a local disk image or VM directory; see the module docstring for the steps.

    `should_cancel()` is asked between chunks, at most every `cancel_check_interval` seconds (the
    worker's check reads the database; 0 asks before every chunk).
    """

    name = "file"

    def __init__(
        self,
        *,
        chunk_size: int = DEFAULT_CHUNK,
        compresslevel: int = 6,
        report_interval: float = 0.5,
        report_step_pct: float = 1.0,
        cancel_check_interval: float = 0.25,
    ) -> None:
        # Level 6 is gzip's own default: most of level 9's ratio on disk images at a fraction of the CPU.
        self.chunk_size = chunk_size
        self.compresslevel = compresslevel
        self.report_interval = report_interval
        self.report_step_pct = report_step_pct
        self.cancel_check_interval = cancel_check_interval
        self.available = True

    def run(
        self,
        spec: BackupSpec,
        *,
        report: ReportFn,
        should_cancel: CancelFn,
        source_roots: list[Path],
        target_root: Path,
    ) -> BackupResult:
        started = time.monotonic()
        roots = [Path(r).resolve() for r in source_roots]
        source = resolve_inside(spec.source, roots)
        target_root = Path(target_root).resolve()
        target_dir = resolve_inside(spec.target_dir or ".", [target_root])
        if source.is_dir() and (target_dir == source or source in target_dir.parents):
            raise BackupError(f"target {target_dir} lies inside the source directory {source}")
        report(Progress("preparing"))
        entries, skipped = _collect(source, roots)
        if not entries:
            raise BackupError(f"nothing to back up: {source} holds no regular files")
        if should_cancel():
            raise Cancelled(f"job {spec.job_id} cancelled before it started")

        base = f"{_slug(spec.name or source.name)}-{_slug(spec.job_id)}"
        archive_name = base + (".tar.gz" if spec.compress else ".tar")
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_error(f"cannot create target directory {target_dir}", exc) from exc
        final = target_dir / archive_name
        manifest_final = target_dir / f"{base}.manifest.json"
        temp = target_dir / f".{archive_name}.tmp-{os.getpid()}"
        manifest_temp = target_dir / f".{manifest_final.name}.tmp-{os.getpid()}"

        total = sum(e.size for e in entries)
        throttle = _Throttled(
            report,
            Progress("archiving", 0, total, None, 0, len(entries)),
            self.report_interval,
            self.report_step_pct,
        )
        try:
            files, archive_sha, archive_bytes = self._write_archive(
                temp, entries, spec.compress, throttle, should_cancel, spec.job_id
            )
            throttle.progress.phase = "finalizing"
            throttle.progress.current_file = None
            throttle.emit(force=True)
            if should_cancel():
                raise Cancelled(f"job {spec.job_id} cancelled while finalizing")
            os.replace(temp, final)
            _fsync_dir(target_dir)
            duration = time.monotonic() - started
            manifest = {
                "format": MANIFEST_FORMAT,
                "job_id": spec.job_id,
                "name": spec.name,
                "created_at": format_utc(datetime.now(UTC), "microseconds"),
                "source": str(source),
                "source_kind": "directory" if source.is_dir() else "file",
                "vm_format": spec.format,
                "archive": {
                    "file": final.name,
                    "sha256": archive_sha,
                    "bytes": archive_bytes,
                    "compression": "gzip" if spec.compress else "none",
                },
                "total_bytes": total,
                "files": files,
                "skipped": skipped,
                "duration_s": round(duration, 3),
            }
            fd = _create_temporary(manifest_temp)
            with open(fd, "w", encoding="utf-8") as fh:
                json.dump(manifest, fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(manifest_temp, manifest_final)
            _fsync_dir(target_dir)
        except BaseException as exc:
            # Whatever happened, no partial output stays behind under any name.
            for leftover in (temp, manifest_temp):
                leftover.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise _os_error(f"backup of {source} failed", exc) from exc
            raise
        throttle.progress.phase = "completed"
        throttle.emit(force=True)
        log.info("backup %s: %s -> %s (%d bytes, %.1fs)", spec.job_id, source, final, total, duration)
        return BackupResult(
            archive_path=str(final),
            manifest_path=str(manifest_final),
            total_bytes=total,
            archive_bytes=archive_bytes,
            files=[f["path"] for f in files],
            sha256=archive_sha,
            duration_s=duration,
        )

    def _write_archive(
        self,
        temp: Path,
        entries: list[_Entry],
        compress: bool,
        throttle: _Throttled,
        should_cancel: CancelFn,
        job_id: str,
    ) -> tuple[list[dict[str, Any]], str, int]:
        progress = throttle.progress
        last_check = [float("-inf")]

        def on_chunk(n: int) -> None:
            if n == 0:
                now = time.monotonic()
                if now - last_check[0] >= self.cancel_check_interval:
                    last_check[0] = now
                    if should_cancel():
                        raise Cancelled(f"job {job_id} cancelled after {progress.bytes_done} bytes")
                return
            progress.bytes_done += n
            throttle.emit()

        files: list[dict[str, Any]] = []
        fd = _create_temporary(temp)
        with open(fd, "wb") as raw:
            writer = _HashingWriter(raw)
            gz = (
                gzip.GzipFile(fileobj=writer, mode="wb", compresslevel=self.compresslevel)
                if compress
                else None
            )
            try:
                # typeshed wants a full file object; a stream ("w|") only ever calls write().
                with tarfile.open(  # type: ignore[call-overload]
                    fileobj=gz or writer, mode="w|", format=tarfile.PAX_FORMAT, copybufsize=self.chunk_size
                ) as tar:
                    for entry in entries:
                        progress.current_file = entry.member
                        throttle.emit(force=progress.files_done == 0)
                        info = tar.gettarinfo(str(entry.path), arcname=entry.member)
                        # The size listed first is the size archived, so the manifest, progress
                        # and archive agree even if the image grows meanwhile.
                        info.size = entry.size
                        with open(entry.path, "rb") as src:
                            reader = _SourceReader(src, on_chunk)
                            tar.addfile(info, reader)
                        files.append(
                            {"path": entry.member, "size": entry.size, "sha256": reader.sha256.hexdigest()}
                        )
                        progress.files_done += 1
            finally:
                if gz is not None:
                    gz.close()
            raw.flush()
            os.fsync(raw.fileno())
        return files, writer.sha256.hexdigest(), writer.bytes


def _os_error(what: str, exc: OSError) -> BackupError:
    detail = f"{what}: {exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
    if exc.errno in _FULL_ERRNOS:
        detail = f"{what}: the backup target is full ({_FULL_ERRNOS[exc.errno]}); nothing was kept"
    if exc.errno in _TRANSIENT_ERRNOS:
        return TransientBackupError(detail)
    return BackupError(detail)


def _sha256_file(path: Path, chunk: int = DEFAULT_CHUNK) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_problems(archive_path: str | os.PathLike[str], manifest_path: str | os.PathLike[str]) -> list[str]:
    """Everything wrong with an archive against its manifest ([] = verified), re-hashing all bytes."""
    try:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
        expected_archive = manifest["archive"]["sha256"]
        expected_files = {f["path"]: f for f in manifest["files"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"manifest {manifest_path} is unreadable: {exc}"]
    problems = []
    try:
        actual = _sha256_file(Path(archive_path))
    except OSError as exc:
        return [f"archive {archive_path} is unreadable: {exc}"]
    if actual != expected_archive:
        problems.append(f"archive sha256 is {actual}, manifest says {expected_archive}")
    seen = set()
    try:
        with tarfile.open(archive_path, "r:*") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                seen.add(member.name)
                want = expected_files.get(member.name)
                if want is None:
                    problems.append(f"{member.name} is in the archive but not in the manifest")
                    continue
                fh = tar.extractfile(member)
                digest = hashlib.sha256()
                while fh is not None and (block := fh.read(DEFAULT_CHUNK)):
                    digest.update(block)
                if member.size != want["size"] or digest.hexdigest() != want["sha256"]:
                    problems.append(f"{member.name} does not match its manifest entry")
    except (OSError, tarfile.TarError, EOFError) as exc:
        problems.append(f"archive {archive_path} cannot be read: {exc}")
    problems.extend(
        f"{name} is in the manifest but not in the archive" for name in expected_files.keys() - seen
    )
    return problems


def verify(archive_path: str | os.PathLike[str], manifest_path: str | os.PathLike[str]) -> bool:
    """True when the archive's hash and every file in it match the manifest."""
    problems = verify_problems(archive_path, manifest_path)
    for problem in problems:
        log.warning("verify %s: %s", archive_path, problem)
    return not problems


def cleanup_stale_temporaries(
    target_root: str | os.PathLike[str],
    older_than: float | timedelta = 3600.0,
    *,
    now: float | None = None,
) -> list[Path]:
    """Remove `.<name>.tmp-<pid>` files under target_root not modified for `older_than` seconds.

    Run at worker start-up: a temporary is only ever left by a process that died mid-backup
    (a live one keeps writing, so its mtime stays fresh). Returns the paths removed.
    """
    limit = older_than.total_seconds() if isinstance(older_than, timedelta) else float(older_than)
    now = time.time() if now is None else now
    removed: list[Path] = []
    root = Path(target_root)
    if not root.is_dir():
        return removed
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if not _TEMP_RE.match(name):
                continue
            path = Path(dirpath) / name
            try:
                if now - path.lstat().st_mtime >= limit:
                    path.unlink()
                    removed.append(path)
            except FileNotFoundError:
                continue  # another worker cleaned it up first
    if removed:
        log.info("removed %d stale backup temporaries under %s", len(removed), root)
    return removed


def iter_temporaries(target_root: str | os.PathLike[str]) -> Iterable[Path]:
    """Every backup temporary under target_root (for status pages and tests)."""
    for dirpath, _dirs, names in os.walk(target_root):
        for name in names:
            if _TEMP_RE.match(name):
                yield Path(dirpath) / name
