"""Backup executors: one small interface (base.py), one module per engine.

`get_executor(name)` builds an executor from the settings; the worker task calls its `run()`.
"""

from __future__ import annotations

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
    get_executor,
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
