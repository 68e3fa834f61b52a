"""Retention: which archives to delete (scheduler.retention decides), previewing and pruning.

Backups are grouped by their policy (a recurring backup's runs), else by VM path (one-off
backups). A policy with any `keep_*` count set uses its own counts; every other group uses the
BACKUP_KEEP_* defaults; no count anywhere keeps everything. Only completed backup archives that
still exist are candidates (failed runs wrote nothing; restores and verifications are runs, not
archives).

Pruning marks the backup `pruned_at` with a conditional update first (so a restore or
verification asked meanwhile is refused), re-checking that no restore or verification of it is
waiting or running, then deletes the archive and the manifest (both inside BACKUP_TARGET_ROOT,
never elsewhere) and logs the deletion on the backup. The row stays, with its history.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from scheduler.executors.base import PathNotAllowed, resolve_inside
from scheduler.models import BackupJob, BackupPolicy
from scheduler.retention import Candidate, Rule, select
from scheduler.services.definitions import InvalidDefinition
from scheduler.services.jobs import log_event

log = logging.getLogger(__name__)

ACTIVE = (*BackupJob.WAITING, BackupJob.Status.RUNNING)


def default_rule() -> Rule:
    return Rule(
        last=settings.BACKUP_KEEP_LAST,
        daily=settings.BACKUP_KEEP_DAILY,
        weekly=settings.BACKUP_KEEP_WEEKLY,
        monthly=settings.BACKUP_KEEP_MONTHLY,
    )


def policy_rule(policy: BackupPolicy | None) -> tuple[Rule, str]:
    """The rule for a policy's backups (or for one-off backups: None), and where it comes from."""
    if policy is not None:
        own = Rule(policy.keep_last, policy.keep_daily, policy.keep_weekly, policy.keep_monthly)
        if not own.keeps_everything:
            return own, "policy"
    return default_rule(), "default"


KEEP_FIELDS = ("keep_last", "keep_daily", "keep_weekly", "keep_monthly")


def rule_from(counts: dict[str, Any]) -> Rule | None:
    """A Rule from keep_* counts (None when none is given: the defaults apply)."""
    rule = Rule(*(counts.get(name) for name in KEEP_FIELDS))
    return None if rule.keeps_everything else rule


def apply_retention_data(policy: BackupPolicy, data: Any) -> None:
    """The `retention` object of the schedules API onto `policy` (unsaved); keys absent stay."""
    if not isinstance(data, dict):
        raise InvalidDefinition(
            "retention must be an object with keep_last, keep_daily, keep_weekly, keep_monthly"
        )
    unknown = sorted(set(data) - {*KEEP_FIELDS, "rule", "source"})
    if unknown:
        raise InvalidDefinition(
            f"retention.{unknown[0]} is not a retention setting (use {', '.join(KEEP_FIELDS)})"
        )
    for name in KEEP_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidDefinition(f"retention.{name} must be a whole number >= 0, or null for the default")
        setattr(policy, name, value)


def set_policy_rule(policy: BackupPolicy, counts: dict[str, Any]) -> BackupPolicy:
    for name in KEEP_FIELDS:
        setattr(policy, name, counts.get(name))
    policy.save(update_fields=[*KEEP_FIELDS, "updated_at"])
    return policy


@dataclass
class Row:
    backup: BackupJob
    keep: bool
    reasons: list[str]


@dataclass
class GroupPreview:
    label: str
    policy: BackupPolicy | None
    rule: Rule
    rule_source: str
    rows: list[Row] = field(default_factory=list)

    @property
    def kept(self) -> list[Row]:
        return [r for r in self.rows if r.keep]

    @property
    def deleted(self) -> list[Row]:
        return [r for r in self.rows if not r.keep]


def _candidates() -> QuerySet[BackupJob]:
    busy = BackupJob.objects.filter(
        subject=OuterRef("pk"),
        operation__in=[BackupJob.Operation.RESTORE, BackupJob.Operation.VERIFY],
        status__in=ACTIVE,
    )
    return (
        # Only local archives with a manifest: a hypersdk backup's files live on the daemon's
        # machine, and its result's paths are the daemon's, never to be deleted here.
        BackupJob.objects.filter(
            operation=BackupJob.Operation.BACKUP,
            status=BackupJob.Status.COMPLETED,
            executor="file",
            pruned_at__isnull=True,
            result__archive_path__isnull=False,
            result__manifest_path__isnull=False,
        )
        .exclude(result__archive_path="")
        .exclude(result__manifest_path="")
        .annotate(busy=Exists(busy))
        .select_related("policy", "zone")
        .defer("secrets", "accounting")
        .order_by("-completed_at", "-pk")
    )


def vm_key(backup: BackupJob) -> str:
    """The VM a one-off backup copied, however it was written: a file-executor source resolved
    inside its source root and shown relative to it (`web01` and `/srv/vms/web01` are one VM).
    Paths the executor does not resolve here (a hypersdk VM lives on the daemon) stay as written."""
    if backup.executor != "file":
        return backup.vm_path
    try:
        resolved = resolve_inside(backup.vm_path, settings.BACKUP_SOURCE_ROOTS)
    except PathNotAllowed:
        return backup.vm_path
    for root in settings.BACKUP_SOURCE_ROOTS:
        if resolved.is_relative_to(root):
            return (
                str(resolved.relative_to(root)) if len(settings.BACKUP_SOURCE_ROOTS) == 1 else str(resolved)
            )
    return str(resolved)


def preview(policy: BackupPolicy | None = None, *, rule: Rule | None = None) -> list[GroupPreview]:
    """What retention would keep and delete now (a dry run), per group; `policy` limits it to
    that policy's backups; `rule` replaces the group's own (the policy page's what-if)."""
    rows = _candidates()
    if policy is not None:
        rows = rows.filter(policy=policy)
    groups: dict[tuple[str, str], list[BackupJob]] = defaultdict(list)
    for backup in rows:
        key = ("policy", backup.policy_id) if backup.policy_id else ("vm", vm_key(backup))
        groups[key].append(backup)
    previews = []
    for (kind, name), backups in sorted(groups.items()):
        owner = backups[0].policy if kind == "policy" else None
        group_rule, source = (rule, "asked") if rule is not None else policy_rule(owner)
        chosen = select(
            [
                Candidate(
                    b.pk,
                    b.completed_at or b.requested_at,
                    verified=b.integrity == BackupJob.Integrity.VERIFIED,
                    busy=bool(b.busy),  # type: ignore[attr-defined]  # an annotate() column
                )
                for b in backups
            ],
            group_rule,
        )
        label = f"policy {owner.name}" if owner is not None else f"one-off backups of {name}"
        group = GroupPreview(label, owner, group_rule, source)
        for b in backups:
            group.rows.append(Row(b, b.pk in chosen.keep, chosen.keep.get(b.pk, [])))
        previews.append(group)
    return previews


@dataclass
class PruneOutcome:
    deleted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # id -> why it was kept after all
    groups: list[GroupPreview] = field(default_factory=list)


def prune(*, dry_run: bool = False, now: datetime | None = None) -> PruneOutcome:
    """Delete what retention says to delete (nothing with `dry_run`)."""
    now = now or timezone.now()
    outcome = PruneOutcome(groups=preview())
    if dry_run:
        return outcome
    for group in outcome.groups:
        for row in group.deleted:
            why = _prune_one(row.backup, f"{group.label}: {group.rule.describe()}", now)
            if why:
                outcome.skipped[row.backup.pk] = why
            else:
                outcome.deleted.append(row.backup.pk)
    return outcome


def _prune_one(backup: BackupJob, rule_text: str, now: datetime) -> str:
    """Delete one backup's archive and manifest; "" on success, else why it was kept."""
    busy = BackupJob.objects.filter(
        subject=OuterRef("pk"),
        operation__in=[BackupJob.Operation.RESTORE, BackupJob.Operation.VERIFY],
        status__in=ACTIVE,
    )
    claimed = (
        BackupJob.objects.filter(pk=backup.pk, pruned_at__isnull=True)
        .annotate(busy=Exists(busy))
        .filter(busy=False)
        .values_list("pk", flat=True)
    )
    if not BackupJob.objects.filter(pk__in=list(claimed), pruned_at__isnull=True).update(pruned_at=now):
        return "being restored or verified, or pruned already"
    result = backup.result or {}
    paths = [result.get("archive_path") or "", result.get("manifest_path") or ""]
    try:
        inside = [resolve_inside(p, [settings.BACKUP_TARGET_ROOT]) for p in paths if p]
        for path in inside:
            Path(path).unlink(missing_ok=True)
    except (PathNotAllowed, OSError) as exc:
        BackupJob.objects.filter(pk=backup.pk).update(pruned_at=None)
        log_event(backup.pk, f"retention could not delete the archive: {exc}", level="warning", now=now)
        return f"could not delete: {exc}"
    log_event(
        backup.pk,
        f"pruned by retention ({rule_text}): deleted {', '.join(str(p) for p in inside)}",
        now=now,
    )
    return ""
