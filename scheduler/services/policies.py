"""Recurring backups (HyperSDK ScheduledJobs): parsing, firing and the flexible window."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.roles import Someone, signed_in
from carbon.services import UnknownZone, get_zone
from hyperweb.api.limits import MAX_DATA_SIZE_GB, MAX_DURATION_HOURS, MAX_INTENSITY, MIN_DURATION_HOURS
from scheduler.cron import cron_problem, next_fire
from scheduler.models import BackupJob, BackupPolicy
from scheduler.services.definitions import (
    MAX_DELAY,
    IdTaken,
    InvalidDefinition,
    _bool,
    _number,
    check_id,
    check_text,
    column_max_length,
    is_unset_number,
    malformed,
    parse_definition,
    restore_secrets,
    strip_secrets,
)
from scheduler.services.jobs import build_job, create_and_plan, format_ts
from scheduler.services.retention import KEEP_FIELDS, apply_retention_data, policy_rule
from scheduler.uncertainty import RISK_LEVELS

log = logging.getLogger(__name__)


def next_run(schedule: str, after: datetime) -> datetime | None:
    """The next firing, or None for a schedule that never fires (refused on entry since)."""
    return next_fire(schedule, after)


def flexible_window(policy: BackupPolicy, fired_at: datetime) -> tuple[datetime, datetime]:
    """[earliest, latest] start of the job a policy creates when it fires at `fired_at`.

    Without a window start the window opens when the policy fires. With one ("22:00"), it is the
    window that contains the firing time, else the next one to open.
    """
    span = timedelta(hours=policy.window_hours)
    if policy.window_start is None:
        return fired_at, fired_at + span
    opened = datetime.combine(fired_at.date(), policy.window_start, tzinfo=UTC)
    if opened > fired_at:
        opened -= timedelta(days=1)
    if fired_at < opened + span:
        return fired_at, opened + span
    opened += timedelta(days=1)
    return opened, opened + span


def policy_to_json(policy: BackupPolicy) -> dict[str, Any]:
    """A schedule as the HyperSDK clients read it (`GET /schedules`), plus hyperweb's window and carbon fields."""
    return {
        "id": policy.id,
        "name": policy.name,
        "description": policy.description,
        "schedule": policy.schedule,
        "job_template": policy.job_template,
        "enabled": policy.enabled,
        "run_count": policy.run_count,
        "tags": list(policy.tags or []),
        "carbon_aware": policy.carbon_aware,
        "zone": policy.zone.code if policy.zone_id and policy.zone else None,
        "threshold": policy.threshold,
        "risk": policy.risk or None,
        "window_start": policy.window_start.strftime("%H:%M") if policy.window_start else None,
        "window_hours": policy.window_hours,
        "expected_duration_hours": policy.expected_duration.total_seconds() / 3600,
        "last_run": format_ts(policy.last_run_at),
        "next_run": format_ts(policy.next_run_at) if policy.enabled else None,
        "created_at": format_ts(policy.created_at),
        "updated_at": format_ts(policy.updated_at),
        "retention": _retention_json(policy),
    }


def _retention_json(policy: BackupPolicy) -> dict[str, Any]:
    rule, source = policy_rule(policy)
    return {
        **{name: getattr(policy, name) for name in KEEP_FIELDS},
        "rule": rule.describe(),
        "source": source,
    }


def _time(value: Any) -> time | None:
    if value in (None, ""):
        return None
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise malformed(
            f"window_start must be a time of day like 22:00, got {value!r}", "window_start"
        ) from None


def apply_policy_data(policy: BackupPolicy, data: Any, *, partial: bool, now: datetime) -> BackupPolicy:
    """Validate ScheduledJob JSON onto `policy` (unsaved); raise InvalidDefinition."""
    if not isinstance(data, dict):
        raise malformed("a schedule must be a JSON object", "body")
    if not partial or "name" in data:
        policy.name = check_text(
            data.get("name"), "name", column_max_length(BackupPolicy, "name"), required=True
        ).strip()
    if not partial or "schedule" in data:
        problem = cron_problem(
            data.get("schedule"), max_length=column_max_length(BackupPolicy, "schedule"), now=now
        )
        if problem:
            raise malformed(f"schedule {problem}", "schedule")
        policy.schedule = data["schedule"]
    if not partial or "job_template" in data:
        template = data.get("job_template")
        template, policy.secrets = strip_secrets(template)
        if isinstance(template, dict):
            template.pop("id", None)
        try:
            parsed = parse_definition(template, now=now)  # validates vm_path, enums and carbon metadata
        except InvalidDefinition as exc:
            exc.field = ".".join(p for p in ("job_template", exc.field) if p and p != "body")
            raise
        # Stored as parsed: unset keys ("", null) dropped, as a job's definition is.
        policy.job_template = parsed.definition
    if "description" in data:
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            raise malformed("description must be a string", "description")
        policy.description = description or ""
    if "tags" in data:
        tags = [] if data.get("tags") is None else data["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise malformed("tags must be a list of strings", "tags")
        policy.tags = tags
    if "enabled" in data:
        policy.enabled = _bool(data["enabled"], "enabled")
    metadata = (policy.job_template or {}).get("metadata") or {}
    if data.get("zone") is not None and not isinstance(data["zone"], str):
        raise malformed("zone must be a string", "zone")
    zone_code = data.get("zone") or metadata.get("carbon_zone")
    if zone_code:
        try:
            policy.zone = get_zone(str(zone_code))
        except UnknownZone:
            raise InvalidDefinition(f"unknown zone {zone_code!r}", field="zone") from None
    if "threshold" in data or "carbon_max_intensity" in metadata:
        value = data.get("threshold", metadata.get("carbon_max_intensity"))
        policy.threshold = (
            None if is_unset_number(value) else _number(value, "threshold", maximum=MAX_INTENSITY)
        )
    if "risk" in data or "carbon_risk" in metadata:
        value = data.get("risk", metadata.get("carbon_risk"))
        value = "" if value is None else value
        if value not in ("", *RISK_LEVELS):
            raise InvalidDefinition(
                f"risk must be one of {', '.join(RISK_LEVELS)} (or null), not {value!r}", field="risk"
            )
        policy.risk = value
    if "window_start" in data:
        policy.window_start = _time(data["window_start"])
    max_window = MAX_DELAY / timedelta(hours=1)
    if "window_hours" in data:
        # Each firing adds the window to a datetime: an absurd one would fail every run instead.
        policy.window_hours = _number(data["window_hours"], "window_hours", maximum=max_window)
    elif not partial and metadata.get("carbon_max_delay") is not None:
        policy.window_hours = _number(metadata["carbon_max_delay"], "carbon_max_delay") / 3.6e12
    if policy.window_hours > max_window:
        raise malformed(f"window_hours must be at most {max_window:g}", "window_hours")
    if "expected_duration_hours" in data:
        # The same cap as a job's (metadata.expected_duration_hours): every run creates one.
        hours = _number(
            data["expected_duration_hours"], "expected_duration_hours", maximum=MAX_DURATION_HOURS
        )
        if hours < MIN_DURATION_HOURS:
            raise malformed(
                f"expected_duration_hours must be at least {MIN_DURATION_HOURS:g}", "expected_duration_hours"
            )
        policy.expected_duration = timedelta(hours=hours)
    if "data_size_gb" in data:
        policy.data_size_gb = _number(data["data_size_gb"], "data_size_gb", maximum=MAX_DATA_SIZE_GB)
    # Policies are carbon-aware by default, which needs a zone; HyperSDK clients send none.
    wanted = data.get(
        "carbon_aware", metadata.get("carbon_aware", True if not partial else policy.carbon_aware)
    )
    policy.carbon_aware = _bool(wanted, "carbon_aware") and policy.zone is not None
    policy.next_run_at = next_run(policy.schedule, now) if policy.enabled else None
    if "retention" in data:
        apply_retention_data(policy, data["retention"])
    return policy


# /schedules/<these> are routes of their own (HyperSDK's advanced-scheduling calls), so no
# schedule may take one of them as its id: it could never be read back.
RESERVED_IDS = frozenset({"queue", "dependencies", "retry", "timewindow", "validate", "advanced"})


def check_new_policy_id(value: Any) -> str:
    """A caller-chosen id for a new schedule, or InvalidDefinition."""
    check_id(value, column_max_length(BackupPolicy, "id"))
    if value in RESERVED_IDS:
        raise InvalidDefinition(
            f"schedule id {value!r} is reserved (/schedules/{value} is a route of its own)", field="id"
        )
    if BackupPolicy.objects.filter(pk=value).exists():
        raise IdTaken(f"schedule id {value!r} already exists", field="id")
    return value


def save_policy(
    policy: BackupPolicy,
    data: Any,
    user: Someone | None = None,
    *,
    partial: bool = False,
    now: datetime | None = None,
) -> BackupPolicy:
    now = now or timezone.now()
    creating = policy._state.adding
    if creating and isinstance(data, dict) and data.get("id") not in (None, ""):
        policy.id = check_new_policy_id(data["id"])
    apply_policy_data(policy, data, partial=partial, now=now)
    someone = signed_in(user)
    if creating and someone is not None:
        policy.created_by = someone
        policy.owner = someone
    policy.save()
    return policy


def set_enabled(policy: BackupPolicy, enabled: bool, *, now: datetime | None = None) -> BackupPolicy:
    now = now or timezone.now()
    policy.enabled = enabled
    policy.next_run_at = next_run(policy.schedule, now) if enabled else None
    policy.save(update_fields=["enabled", "next_run_at", "updated_at"])
    return policy


def run_policy(
    policy: BackupPolicy, *, now: datetime | None = None, user: Someone | None = None, at_once: bool = False
) -> BackupJob:
    """Create the policy's job for this firing: carbon-aware within the flexible window, or, with
    `at_once` (the dashboard's "Run now"), a job that starts now, whatever the grid."""
    now = now or timezone.now()
    template = restore_secrets(policy.job_template or {}, policy.secrets or {})
    template.pop("id", None)
    metadata = dict(template.get("metadata") or {})
    carbon_aware = policy.carbon_aware and not at_once
    metadata.update(carbon_aware=carbon_aware, policy_id=policy.id)
    if policy.zone is not None:
        metadata["carbon_zone"] = policy.zone.code
    if policy.threshold is not None:
        metadata["carbon_max_intensity"] = policy.threshold
    if policy.risk:
        metadata["carbon_risk"] = policy.risk
    metadata["expected_duration_hours"] = policy.expected_duration.total_seconds() / 3600
    if policy.data_size_gb:
        metadata.setdefault("data_size_gb", policy.data_size_gb)
    template["metadata"] = metadata
    template.setdefault("name", policy.name)
    parsed = parse_definition(template, now=now, submitted=False)
    job = build_job(parsed, user, now=now, zone=policy.zone, policy=policy)
    if carbon_aware:
        job.earliest_start, job.latest_start = flexible_window(policy, now)
    with transaction.atomic():
        create_and_plan([job], now=now)
        BackupPolicy.objects.filter(pk=policy.pk).update(run_count=F("run_count") + 1, last_run_at=now)
    policy.refresh_from_db(fields=["run_count", "last_run_at"])
    return job


def upcoming_firings(
    now: datetime, until: datetime, *, per_policy: int = 10
) -> list[tuple[BackupPolicy, datetime]]:
    """Enabled policies' firings in [now, until), soonest first (at most `per_policy` each): the
    backups they will create, before any job exists. One query."""
    firings = []
    policies = BackupPolicy.objects.select_related("zone").filter(enabled=True, next_run_at__lt=until)
    for policy in policies:
        at = max(policy.next_run_at, now) if policy.next_run_at else now
        for _ in range(per_policy):
            if at >= until:
                break
            firings.append((policy, at))
            following = next_run(policy.schedule, at)
            if following is None:  # a schedule that never fires again (refused on entry since)
                break
            at = following
    return sorted(firings, key=lambda firing: (firing[1], firing[0].name))


def fire_due_policies(now: datetime | None = None) -> list[str]:
    """Run every enabled policy whose next run has come, once, whichever cluster gets there first."""
    now = now or timezone.now()
    created = []
    for policy in BackupPolicy.objects.select_related("zone").filter(enabled=True, next_run_at__lte=now):
        # The conditional update decides which dispatcher fires this occurrence.
        if not BackupPolicy.objects.filter(pk=policy.pk, next_run_at=policy.next_run_at).update(
            next_run_at=next_run(policy.schedule, now)
        ):
            continue
        try:
            created.append(run_policy(policy, now=now).id)
        except Exception:
            log.exception("policy %s could not create its job", policy.pk)
    return created
