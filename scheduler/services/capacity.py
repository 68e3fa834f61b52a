"""Capacity: at most N backups at once per zone and per backup target (Capacity rows).

A Capacity row's key is a zone code (``DE``) or a backup target:

- an absolute directory (``/srv/backups/nas1``): every file backup written to it or below it;
- a HyperSDK daemon's base URL (``https://hypersdk.example:8080``): every job forwarded to it.

A zone without a row gets BACKUP_DEFAULT_CAPACITY; a target without a row has no limit of its
own. A job counts against its zone and against every target row that covers its target
(``BackupJob.target``, set at submission). Planning spreads waiting jobs so that no limit is
exceeded (``scheduler.fleet``), and a worker's claim checks the limits again
(``scheduler.dispatch``), so plans made at the same time in two processes never overrun them.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db.models import Q

from scheduler.executors.base import PathNotAllowed, resolve_inside
from scheduler.models import BackupJob, Capacity

__all__ = [
    "capacity_for",
    "is_target_key",
    "job_target",
    "normalise_target_key",
    "running_on_target",
    "target_limits",
    "target_query",
    "target_rows",
]

_URL_PREFIXES = ("http://", "https://")


def capacity_for(key: str) -> int:
    """At most this many backups at once for a zone key (BACKUP_DEFAULT_CAPACITY without a row)."""
    row = Capacity.objects.filter(key=key).values_list("max_concurrent", flat=True).first()
    return int(row) if row is not None else settings.BACKUP_DEFAULT_CAPACITY


def is_target_key(key: str) -> bool:
    """A backup target key (a directory or a daemon URL), not a zone code."""
    return key.startswith("/") or key.lower().startswith(_URL_PREFIXES)


def normalise_target_key(key: str) -> str:
    """One spelling per target: a normalised path, or a URL without credentials or trailing /."""
    if key.startswith("/"):
        return os.path.normpath(key)
    parts = urlsplit(key.strip())
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), host.lower(), parts.path.rstrip("/"), "", ""))


def job_target(executor: str, definition: dict[str, Any]) -> str:
    """Where a job writes: its resolved output directory, or the HyperSDK daemon it goes to.

    "" when that cannot be said (the definition is checked elsewhere; the job then has no
    target limit, only its zone's).
    """
    if executor == "hypersdk":
        return normalise_target_key(settings.HYPERSDK_URL) if settings.HYPERSDK_URL else ""
    value = definition.get("output_dir") or definition.get("output_path") or "."
    try:
        return str(resolve_inside(value, [settings.BACKUP_TARGET_ROOT]))
    except (PathNotAllowed, ValueError, OSError, RuntimeError, TypeError):
        return ""


def _covers(key: str, target: str) -> bool:
    if key.startswith("/"):
        return target == key or target.startswith(key.rstrip("/") + "/")
    return target == key


def target_query(key: str) -> Q:
    """Jobs whose target the (normalised) target key covers."""
    if key.startswith("/"):
        return Q(target=key) | Q(target__startswith=key.rstrip("/") + "/")
    return Q(target=key)


def target_rows() -> dict[int, tuple[str, int]]:
    """Every target limit: Capacity pk -> (normalised key, at most this many at once)."""
    rows = Capacity.objects.filter(
        Q(key__startswith="/") | Q(key__istartswith="http://") | Q(key__istartswith="https://")
    ).values_list("pk", "key", "max_concurrent")
    return {pk: (normalise_target_key(key), int(n)) for pk, key, n in rows}


def target_limits(
    target: str, *, lock: bool = False, rows: dict[int, tuple[str, int]] | None = None
) -> dict[str, int]:
    """The target rows covering ``target``: key -> at most this many at once.

    ``rows``: :func:`target_rows`, read once by a caller asking for many targets. ``lock``
    (inside a transaction) locks the covering rows on PostgreSQL, so two workers checking the
    same target's limit take turns.
    """
    if not target:
        return {}
    found = {pk: kn for pk, kn in (target_rows() if rows is None else rows).items() if _covers(kn[0], target)}
    if lock and found:
        list(Capacity.objects.select_for_update().filter(pk__in=list(found)).values_list("pk", flat=True))
    return {key: n for key, n in found.values()}


def running_on_target(key: str) -> int:
    return BackupJob.objects.filter(target_query(key), status=BackupJob.Status.RUNNING).count()
