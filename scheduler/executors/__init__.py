"""Backup executors: one small interface (base.py), one module per engine.

`get_executor(name)` builds an executor from the settings; the worker task calls its `run()`.
"""

from __future__ import annotations

from django.conf import settings

from scheduler.executors.base import (
    EXECUTOR_NAMES,
    BackupError,
    BackupResult,
    BackupSpec,
    Cancelled,
    Executor,
    PathNotAllowed,
    Progress,
    TransientBackupError,
    UnknownExecutor,
    resolve_inside,
)
from scheduler.executors.file import FileExecutor
from scheduler.executors.hypersdk import HypersdkExecutor

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


def get_executor(name: str) -> Executor:
    """The executor called `name` ("file" or "hypersdk"), configured from the Django settings."""
    if name == "file":
        return FileExecutor(compresslevel=settings.BACKUP_GZIP_LEVEL)
    if name == "hypersdk":
        return HypersdkExecutor.from_settings()
    raise UnknownExecutor(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTOR_NAMES)}")
