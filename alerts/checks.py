"""The periodic checks (every ALERT_CHECK_MINUTES) and the weekly digest.

- target near full: free space of the backup target (BACKUP_TARGET_ROOT, and each distinct
  filesystem of the file jobs' targets) below ALERT_TARGET_MIN_FREE_PERCENT;
- carbon data stale: carbon's own notion (carbon.services.current_intensity's `stale`: no actual
  reading ended within CARBON_STALE_MINUTES) held for longer than ALERT_PROVIDER_STALE_MINUTES;
- deadline missed: a backup still waiting for its first start more than the grace after its
  latest allowed start (one that starts late is reported by the scheduler's signal);
- weekly digest: last ISO week's figures from the ESG report's own aggregation (reports.esg).

Conditions that last (a full disk, stale data) alert at most once per ALERT_REPEAT_HOURS period.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from alerts.models import Alert, Kind
from alerts.services import job_alert, raise_alert
from carbon.models import FetchAttempt, Zone
from carbon.services import NoData, current_intensity
from hyperweb.lib.timefmt import format_utc_short, parse_instant
from reports.esg.loader import accounted_jobs, build
from reports.esg.periods import Period
from reports.esg.value import Scope
from scheduler.models import BackupJob
from scheduler.signals import DEADLINE_GRACE

log = logging.getLogger(__name__)


def _period_key(now: datetime) -> int:
    """The ALERT_REPEAT_HOURS period `now` falls in (counted from the epoch)."""
    return int(now.timestamp() // (settings.ALERT_REPEAT_HOURS * 3600))


# --- Target near full ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetSpace:
    path: str
    total_bytes: int
    free_bytes: int

    @property
    def free_percent(self) -> float:
        return 100.0 * self.free_bytes / self.total_bytes if self.total_bytes else 0.0


def target_paths() -> list[Path]:
    """The target root and the recent file backups' target folders, one per filesystem."""
    candidates = [Path(settings.BACKUP_TARGET_ROOT)]
    since = timezone.now() - timedelta(days=7)
    targets = (
        BackupJob.objects.filter(executor="file", requested_at__gte=since)
        .exclude(target="")
        .values_list("target", flat=True)
        .distinct()[:200]
    )
    candidates += [Path(t) for t in targets if t.startswith("/")]
    seen: set[int] = set()
    paths = []
    for path in candidates:
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent  # a target not written yet: its filesystem is its parent's
        try:
            device = os.stat(existing).st_dev
        except OSError:
            continue
        if device not in seen:
            seen.add(device)
            paths.append(existing)
    return paths


def target_space() -> list[TargetSpace]:
    found = []
    for path in target_paths():
        try:
            usage = shutil.disk_usage(path)
        except OSError:
            log.warning("cannot read the free space of %s", path)
            continue
        found.append(TargetSpace(str(path), usage.total, usage.free))
    return found


def check_targets(now: datetime | None = None) -> list[TargetSpace]:
    """Alert for each target whose free space is below ALERT_TARGET_MIN_FREE_PERCENT."""
    now = now or timezone.now()
    threshold = settings.ALERT_TARGET_MIN_FREE_PERCENT
    low = [space for space in target_space() if space.free_percent < threshold]
    for space in low:
        subject = f"Backup target nearly full: {space.path} ({space.free_percent:.1f} % free)"
        body = (
            f"{subject}\n\nFree: {space.free_bytes / 1e9:.2f} GB of {space.total_bytes / 1e9:.2f} GB "
            f"({space.free_percent:.1f} %); the alert threshold is {threshold:g} % "
            "(ALERT_TARGET_MIN_FREE_PERCENT).\nBackups written there may fail once it is full.\n"
        )
        payload = {
            "path": space.path,
            "free_bytes": space.free_bytes,
            "total_bytes": space.total_bytes,
            "free_percent": round(space.free_percent, 3),
            "threshold_percent": threshold,
        }
        raise_alert(
            Kind.TARGET_FULL,
            f"target_full:{space.path}:{_period_key(now)}",
            subject,
            body,
            payload=payload,
            now=now,
        )
    return low


# --- Carbon data stale --------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneStaleness:
    zone: str
    stale: bool
    newest_end: datetime | None  # end of the reading shown as current (None: no data at all)
    stale_minutes: float  # how long it has been stale (0 when fresh)


def zone_staleness(now: datetime | None = None) -> list[ZoneStaleness]:
    """Per active zone, carbon's stale flag and for how long it has held."""
    now = now or timezone.now()
    grace = timedelta(minutes=settings.CARBON_STALE_MINUTES)
    found = []
    for zone in Zone.objects.filter(active=True):
        try:
            current = current_intensity(zone, now=now, refresh=False)
        except NoData:
            found.append(ZoneStaleness(zone.code, True, None, float("inf")))
            continue
        minutes = max(0.0, (now - (current.end + grace)).total_seconds() / 60) if current.stale else 0.0
        found.append(ZoneStaleness(zone.code, current.stale, current.end, minutes))
    return found


def _last_fetch_error(code: str) -> str:
    failed = FetchAttempt.objects.filter(zone__code=code, ok=False).order_by("-at").first()
    return (
        f"Last failed fetch: {failed.provider} at {format_utc_short(failed.at)}: {failed.error}"
        if failed
        else ""
    )


def check_providers(now: datetime | None = None) -> list[ZoneStaleness]:
    """Alert for each zone whose data has been stale longer than ALERT_PROVIDER_STALE_MINUTES."""
    now = now or timezone.now()
    limit = settings.ALERT_PROVIDER_STALE_MINUTES
    stale = [z for z in zone_staleness(now) if z.stale and z.stale_minutes > limit]
    for item in stale:
        since = f"since {format_utc_short(item.newest_end)}" if item.newest_end else "ever"
        subject = f"Carbon data for {item.zone} is stale (no fresh reading {since})"
        body = "\n".join(
            line
            for line in (
                subject,
                "",
                f"Every provider of zone {item.zone} has failed to give a current reading for more than "
                f"{limit} min (ALERT_PROVIDER_STALE_MINUTES) past the {settings.CARBON_STALE_MINUTES} min "
                "after which a reading counts as stale. Backups there are planned on the last known data.",
                _last_fetch_error(item.zone),
            )
            if line is not None
        )
        payload = {
            "zone": item.zone,
            "newest_reading_end": item.newest_end.isoformat() if item.newest_end else None,
            "stale_minutes": None if item.newest_end is None else round(item.stale_minutes, 1),
            "threshold_minutes": limit,
        }
        raise_alert(
            Kind.PROVIDER_STALE,
            f"provider_stale:{item.zone}:{_period_key(now)}",
            subject,
            body + "\n",
            payload=payload,
            now=now,
        )
    return stale


# --- Deadline missed (still waiting) -------------------------------------------------------------


def check_deadlines(now: datetime | None = None) -> list[str]:
    """Backups that have not had their first start by their latest start + grace: alerted once."""
    now = now or timezone.now()
    late = BackupJob.objects.filter(
        status__in=BackupJob.WAITING, attempts=0, latest_start__lt=now - DEADLINE_GRACE
    ).select_related("zone")[:500]
    raised = []
    for job in late:
        if job_alert(Kind.DEADLINE_MISSED, job, now=now, detail="It is still waiting to start."):
            raised.append(job.id)
    return raised


# --- Housekeeping ---------------------------------------------------------------------------------


def prune_alerts(now: datetime | None = None) -> int:
    """Delete alerts older than ALERT_KEEP_DAYS with their deliveries and attempts; the number of
    alerts deleted. Nothing is pending that long (the last retry is at most hours away)."""
    now = now or timezone.now()
    old = Alert.objects.filter(created_at__lt=now - timedelta(days=settings.ALERT_KEEP_DAYS))
    deleted = old.count()
    if deleted:
        old.delete()
    return deleted


# --- Weekly digest --------------------------------------------------------------------------------


def last_week(now: datetime) -> tuple[datetime, datetime]:
    """[Monday 00:00 UTC of the previous ISO week, Monday 00:00 UTC of this one)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(days=7), monday


def digest_value(start: datetime, end: datetime) -> dict[str, Any]:
    """The digest's figures, all from the ESG report's aggregation of the stored accounting."""
    period, scope = Period(start, end), Scope()
    report = build(period, scope, keep_rows=0)
    totals, marginal = report.totals, report.marginal.totals
    worse = list(
        accounted_jobs(period, scope)
        .filter(saving_kg__lt=0)
        .order_by("saving_kg", "pk")
        .values_list("id", "name", "vm_path", "saving_kg")[:20]
    )
    worse_count = accounted_jobs(period, scope).filter(saving_kg__lt=0).count()
    failed = BackupJob.objects.filter(
        status=BackupJob.Status.FAILED, completed_at__gte=start, completed_at__lt=end
    ).count()
    return {
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "backups": report.backups,
        "failed": failed,
        "unaccounted_runs": report.unaccounted_runs,
        "emissions_kg": totals.emissions_kg,
        "counterfactual_kg": totals.counterfactual_kg,
        "avoided_kg": totals.avoided_kg,
        "avoided_percent": totals.avoided_percent,
        "deadline_misses": totals.deadline_misses + marginal.deadline_misses,
        "simulated": totals.simulated + marginal.simulated,
        "marginal": {
            "backups": marginal.backups,
            "emissions_kg": marginal.emissions_kg,
            "avoided_kg": marginal.avoided_kg,
        },
        "made_worse": worse_count,
        "made_worse_jobs": [
            {"job_id": pk, "name": name or vm_path, "avoided_kg": saving}
            for pk, name, vm_path, saving in worse
        ],
    }


def digest_text(value: dict[str, Any]) -> str:
    start = parse_instant(value["period_start"])
    end = parse_instant(value["period_end"]) - timedelta(days=1)
    percent = value["avoided_percent"]
    lines = [
        f"hyperweb weekly digest, {start:%Y-%m-%d} to {end:%Y-%m-%d} (UTC)",
        "",
        f"Backups run and accounted: {value['backups']}",
        f"Failed backups: {value['failed']}",
        f"Deadline misses: {value['deadline_misses']}",
        f"Emissions (average signal): {value['emissions_kg']:.3f} kg CO2e",
        f"Had each started when requested: {value['counterfactual_kg']:.3f} kg CO2e",
        f"Avoided: {value['avoided_kg']:.3f} kg CO2e"
        + (f" ({percent:.1f} %)" if percent is not None else "")
        + " (avoided emissions, not an inventory reduction)",
    ]
    if value["marginal"]["backups"]:
        m = value["marginal"]
        lines.append(
            f"Marginal-signal backups (WattTime MOER, not added above): {m['backups']}, "
            f"{m['emissions_kg']:.3f} kg, avoided {m['avoided_kg']:.3f} kg"
        )
    if value["simulated"]:
        lines.append(f"Resting on simulated data: {value['simulated']} backups (not measurements)")
    lines.append(f"Backups made worse by waiting: {value['made_worse']}")
    lines += [f"  - {j['name']} ({j['job_id']}): {j['avoided_kg']:.4f} kg" for j in value["made_worse_jobs"]]
    return "\n".join(lines) + "\n"


def send_weekly_digest(now: datetime | None = None) -> Alert | None:
    """The digest of last ISO week, once per week (its key is the week)."""
    now = now or timezone.now()
    start, end = last_week(now)
    value = digest_value(start, end)
    year, week, _ = start.isocalendar()
    subject = f"Weekly digest {year}-W{week:02d}: {value['backups']} backups, {value['avoided_kg']:.3f} kg CO2e avoided"
    return raise_alert(
        Kind.WEEKLY_DIGEST,
        f"weekly_digest:{year}-W{week:02d}",
        subject,
        digest_text(value),
        payload=value,
        now=now,
    )
