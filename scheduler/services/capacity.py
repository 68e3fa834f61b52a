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

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import Q

from scheduler.executors.base import PathNotAllowed, resolve_inside
from scheduler.models import BackupJob, Capacity
from scheduler.targets import is_target_key, normalise_target_key

__all__ = [
    "capacity_for",
    "covers",
    "ensure_target",
    "is_target_key",
    "job_target",
    "jobs_on_target",
    "normalise_target_key",
    "running_on_target",
    "stored_target",
    "target_limits",
    "target_rows",
]


def capacity_for(key: str) -> int:
    """At most this many backups at once for a zone key (BACKUP_DEFAULT_CAPACITY without a row;
    never below 1, which the admin enforces and older rows may predate)."""
    row = Capacity.objects.filter(key=key).values_list("max_concurrent", flat=True).first()
    return max(1, int(row)) if row is not None else settings.BACKUP_DEFAULT_CAPACITY


def job_target(executor: str, definition: dict[str, Any]) -> str:
    """Where a job writes: its resolved output directory, or the HyperSDK daemon it goes to.

    "" when that cannot be said (the definition is checked elsewhere; the job then has no
    target limit, only its zone's).
    """
    if executor == "hypersdk":
        try:
            return normalise_target_key(settings.HYPERSDK_URL) if settings.HYPERSDK_URL else ""
        except ValueError:
            return ""
    value = definition.get("output_dir") or definition.get("output_path") or "."
    try:
        return str(resolve_inside(value, [settings.BACKUP_TARGET_ROOT]))
    except (PathNotAllowed, ValueError, OSError, RuntimeError, TypeError):
        return ""


def ensure_target(job: BackupJob) -> str:
    """The job's target, worked out and stored now if it has none (a job stored by a worker of
    the previous release, or before the target root existed)."""
    if not job.target:
        job.target = stored_target(job.pk, job.executor, job.definition)
    return job.target


def stored_target(job_id: str, executor: str, definition: dict[str, Any] | None) -> str:
    """Work out the target of a job stored without one, and store it ("" if it has none)."""
    target = job_target(executor, definition or {})
    if target:
        BackupJob.objects.filter(pk=job_id, target="").update(target=target)
    return target


def covers(key: str, target: str) -> bool:
    """The (normalised) target key limits a job writing to ``target``: the same directory or one
    below it (case matters, as on the disk), or the same daemon URL."""
    if key.startswith("/"):
        return target == key or target.startswith(key.rstrip("/") + "/")
    return target == key


def _maybe_covered(key: str) -> Q:
    """A superset of the jobs ``key`` covers, for the database to narrow down (LIKE ignores case
    on SQLite): callers keep only those :func:`covers` says."""
    if key.startswith("/"):
        return Q(target=key) | Q(target__startswith=key.rstrip("/") + "/")
    return Q(target=key)


def jobs_on_target(key: str, statuses: tuple[str, ...]) -> list[Mapping[str, Any]]:
    """Jobs with one of ``statuses`` whose target ``key`` covers (id, status, times, duration)."""
    rows = BackupJob.objects.filter(_maybe_covered(key), status__in=statuses).values(
        "pk", "target", "status", "started_at", "planned_start", "expected_duration"
    )
    return [row for row in rows if covers(key, row["target"])]


def target_rows() -> dict[int, tuple[str, int]]:
    """Every target limit: Capacity pk -> (normalised key, at most this many at once, >= 1).
    Rows that fail to normalise (saved without the admin's checks) are skipped."""
    rows = Capacity.objects.filter(
        Q(key__startswith="/") | Q(key__istartswith="http://") | Q(key__istartswith="https://")
    ).values_list("pk", "key", "max_concurrent")
    out = {}
    for pk, key, n in rows:
        try:
            out[pk] = (normalise_target_key(key), max(1, int(n)))
        except ValueError:
            continue
    return out


def target_limits(
    target: str, *, lock: bool = False, rows: dict[int, tuple[str, int]] | None = None
) -> dict[str, int]:
    """The target rows covering ``target``: key -> at most this many at once (the smallest, if
    two rows spell the same target).

    ``rows``: :func:`target_rows`, read once by a caller asking for many targets. ``lock``
    (inside a transaction) locks the covering rows on PostgreSQL, so two workers checking the
    same target's limit take turns.
    """
    if not target:
        return {}
    found = {pk: kn for pk, kn in (target_rows() if rows is None else rows).items() if covers(kn[0], target)}
    if lock and found:
        list(Capacity.objects.select_for_update().filter(pk__in=list(found)).values_list("pk", flat=True))
    limits: dict[str, int] = {}
    for key, n in found.values():
        limits[key] = min(n, limits.get(key, n))
    return limits


def running_on_target(key: str) -> int:
    return len(jobs_on_target(key, (BackupJob.Status.RUNNING,)))
