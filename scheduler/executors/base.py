"""The executor interface: what a worker hands an executor and what it gets back.

Nothing here knows about Django models. The worker task turns a BackupJob into a `BackupSpec`,
passes callbacks for progress and cancellation, and stores the `BackupResult` (or the reason of
the exception) itself, so executors stay testable with plain files and a local HTTP server.

Exceptions say what the worker should do next:
- `TransientBackupError`: try again later (remote 5xx, connection refused, disk momentarily full);
- `BackupError` (and `PathNotAllowed`): permanent, the message is shown to the operator as is;
- `Cancelled`: the job was cancelled and whatever it had written is gone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class BackupError(Exception):
    """A backup failed for a reason that retrying will not fix; the message is for humans."""


class TransientBackupError(BackupError):
    """A backup failed for a reason that may go away (network, remote 5xx): retry with backoff."""


class Cancelled(Exception):
    """The job was cancelled while running; partial output has been removed."""


class PathNotAllowed(BackupError, ValueError):
    """A source or target path resolves outside the configured roots."""


@dataclass(frozen=True)
class BackupSpec:
    """One backup to run.

    `source` is the JobDefinition's vm_path: for the file executor a disk image file or a VM
    directory (absolute, or relative to the first source root that holds it); for the hypersdk
    executor whatever the remote daemon understands (an inventory path). `target_dir` is
    output_dir/output_path: relative to the target root or absolute inside it; None means the
    target root itself. `options` carries the remaining JobDefinition keys (see hypersdk.py).
    """

    job_id: str
    source: str
    target_dir: str | None
    name: str
    format: str | None = None
    compress: bool = True
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Progress:
    phase: str
    bytes_done: int = 0
    bytes_total: int = 0
    current_file: str | None = None
    files_done: int = 0
    files_total: int = 0
    # A remote engine may report only a percentage; it wins over the byte ratio when given.
    percent_hint: float | None = None

    @property
    def percent(self) -> float:
        if self.percent_hint is not None:
            return max(0.0, min(100.0, float(self.percent_hint)))
        if self.bytes_total > 0:
            return min(100.0, 100.0 * self.bytes_done / self.bytes_total)
        if self.files_total > 0:
            return min(100.0, 100.0 * self.files_done / self.files_total)
        return 0.0

    def as_contract(self) -> dict[str, Any]:
        """The progress keys of `GET /jobs/progress/{id}` (the caller adds the rest)."""
        return {
            "phase": self.phase,
            "current_file": self.current_file or "",
            "files_downloaded": self.files_done,
            "total_files": self.files_total,
            "bytes_downloaded": self.bytes_done,
            "bytes_transferred": self.bytes_done,
            "total_bytes": self.bytes_total,
            "percent_complete": round(self.percent, 2),
        }


@dataclass
class BackupResult:
    archive_path: str
    manifest_path: str
    total_bytes: int  # bytes read from the source
    archive_bytes: int  # bytes written (compressed); equal to total_bytes when unknown
    files: list[str]
    sha256: str  # of the archive; "" when the engine does not say (hypersdk)
    duration_s: float
    extra: dict[str, Any] = field(default_factory=dict)


ReportFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


class Executor(Protocol):
    name: str

    @property
    def available(self) -> bool:
        """False when not configured (e.g. no HYPERSDK_URL); run() then raises BackupError."""
        ...

    def run(
        self,
        spec: BackupSpec,
        *,
        report: ReportFn,
        should_cancel: CancelFn,
        source_roots: list[Path],
        target_root: Path,
    ) -> BackupResult: ...


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def resolve_inside(path: str | os.PathLike[str], roots: Iterable[str | os.PathLike[str]]) -> Path:
    """Resolve `path` (symlinks and `..` included) and return it if it lies inside one of `roots`.

    A relative path is taken relative to each root in turn: the first root under which it
    exists wins, else the first root. Anything that ends up outside every root, including via a
    symlink, raises PathNotAllowed naming the allowed roots.
    """
    resolved_roots = [Path(root).resolve() for root in roots]
    if not resolved_roots:
        raise PathNotAllowed("no roots are configured, so no path is allowed")
    raw = Path(path)
    if raw.is_absolute():
        candidates = [raw]
    else:
        candidates = [root / raw for root in resolved_roots]
        existing = [c for c in candidates if os.path.lexists(c)]
        candidates = existing[:1] or candidates[:1]
    resolved = candidates[0].resolve()
    if not any(_is_within(resolved, root) for root in resolved_roots):
        allowed = ", ".join(str(root) for root in resolved_roots)
        raise PathNotAllowed(
            f"{os.fspath(path)!s} resolves to {resolved}, outside the allowed roots ({allowed})"
        )
    return resolved


EXECUTOR_NAMES = ("file", "hypersdk")


class UnknownExecutor(KeyError):
    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else "unknown executor"
