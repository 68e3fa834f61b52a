"""Backup executors: one small interface (base.py), one module per engine.

`get_executor(name)` builds an executor from the settings; the worker task calls its `run()`.
"""

from __future__ import annotations

from scheduler.executors.base import (
    BackupError,
    BackupResult,
    BackupSpec,
    Cancelled,
    Executor,
    PathNotAllowed,
    Progress,
    TransientBackupError,
    resolve_inside,
)

__all__ = [
    "EXECUTOR_NAMES",
    "BackupError",
    "BackupResult",
    "BackupSpec",
    "Cancelled",
    "Executor",
    "PathNotAllowed",
    "Progress",
    "TransientBackupError",
    "UnknownExecutor",
    "get_executor",
    "resolve_inside",
]

EXECUTOR_NAMES = ("file", "hypersdk")


class UnknownExecutor(KeyError):
    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else "unknown executor"


def get_executor(name: str) -> Executor:
    """The executor called `name` ("file" or "hypersdk"), configured from the settings."""
    # Imported lazily: the file executor must not pay for requests, nor hypersdk for tarfile.
    if name == "file":
        from django.conf import settings

        from scheduler.executors.file import FileExecutor

        return FileExecutor(compresslevel=min(9, getattr(settings, "BACKUP_GZIP_LEVEL", 6)))
    if name == "hypersdk":
        from scheduler.executors.hypersdk import HypersdkExecutor

        return HypersdkExecutor.from_settings()
    raise UnknownExecutor(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTOR_NAMES)}")
