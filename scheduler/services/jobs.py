"""Job operations shared by the API, the dashboard, the command line and the workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.roles import OPERATOR, Someone, has_role, signed_in
from carbon.models import Zone
from carbon.services import UnknownZone, get_zone
from hyperweb.lib.durations import go_duration
from scheduler import dispatch
from scheduler.executors import resolve_inside
from scheduler.joblog import format_ts, log_event
from scheduler.models import BackupJob, BackupPolicy, JobDecision, JobEvent
from scheduler.services.capacity import job_target
from scheduler.services.definitions import (
    InvalidDefinition,
    MalformedDefinition,
    ParsedDefinition,
    parse_definition,
    problem_text,
)
from scheduler.services.planning import plan_new_jobs

log = logging.getLogger(__name__)


@dataclass
class SubmitOutcome:
    """Accepted ids and rejection messages; `malformed` (field path -> messages, e.g.
    `jobs[1].name`) is filled when a definition breaks the schema, and then nothing is stored."""

    job_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    malformed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return len(self.job_ids)

    @property
    def rejected(self) -> int:
        return len(self.errors)


def _describe(index: int, raw: Any) -> str:
    if isinstance(raw, dict):
        label = raw.get("id") or raw.get("name") or raw.get("vm_path")
        if label:
            return f"job {index} ({label})"
    return f"job {index}"


def _data_size_gb(parsed: ParsedDefinition, executor: str) -> float:
    """The caller's figure, else the size of the source on disk (file executor), else 0."""
    if parsed.data_size_gb is not None:
        return parsed.data_size_gb
    if executor != "file":
        return 0.0

    try:
        source = resolve_inside(parsed.vm_path, settings.BACKUP_SOURCE_ROOTS)
        if source.is_file():
            return source.stat().st_size / 1e9
        if source.is_dir():
            return sum(p.stat().st_size for p in source.rglob("*") if p.is_file()) / 1e9
    except (OSError, ValueError):
        pass  # the executor reports a missing or refused source when the job runs
    return 0.0


def job_owner(user: Someone | None, policy: BackupPolicy | None = None) -> User | None:
    """A policy's job belongs to the policy's owner; any other job to whoever submitted it."""
    if policy is not None and policy.owner_id is not None:
        return policy.owner
    return signed_in(user)


def build_job(
    parsed: ParsedDefinition,
    user: Someone | None,
    *,
    now: datetime,
    zone: Zone | None = None,
    policy: BackupPolicy | None = None,
) -> BackupJob:
    """An unsaved BackupJob for a validated definition; the window starts now."""
    job = BackupJob(
        name=parsed.name,
        vm_path=parsed.vm_path,
        definition=parsed.definition,
        secrets=parsed.secrets,
        executor=parsed.executor,
        target=job_target(parsed.executor, parsed.definition),
        created_by=signed_in(user),
        owner=job_owner(user, policy),
        policy=policy,
        zone=zone,
        carbon_aware=parsed.carbon_aware,
        threshold=parsed.threshold,
        risk=parsed.risk,
        requested_at=now,
        earliest_start=parsed.not_before or now,
        latest_start=(parsed.not_before or now) + (parsed.max_delay if parsed.carbon_aware else timedelta(0)),
        expected_duration=parsed.expected_duration,
        data_size_gb=_data_size_gb(parsed, parsed.executor),
        max_attempts=settings.BACKUP_MAX_ATTEMPTS,
        status=BackupJob.Status.PENDING,
    )
    if parsed.job_id:
        job.id = parsed.job_id
    job.definition["id"] = job.id
    job.definition.setdefault("created_at", format_ts(now))
    return job


def submit_jobs(
    definitions: list[Any],
    user: Someone | None = None,
    *,
    now: datetime | None = None,
    prefix: str | None = None,
) -> SubmitOutcome:
    """Validate, store and plan HyperSDK JobDefinitions; each valid one gets a real id at once.

    Jobs that are not carbon-aware are dispatched at once; carbon-aware ones are planned (with
    the zone's other waiting jobs, against its capacity) and wait as `scheduled` rows. If any
    definition is malformed (MalformedDefinition), none is stored: `malformed` names each field
    as `<prefix>[index].<field>`.
    """
    now = now or timezone.now()
    outcome = SubmitOutcome()
    accepted: list[BackupJob] = []
    seen: set[str] = set()
    zones: dict[str, Zone] = {}
    for index, raw in enumerate(definitions):
        try:
            parsed = parse_definition(raw, now=now)
            zone = _zone(parsed.zone_code, zones) if parsed.zone_code else None
            if parsed.job_id and (
                parsed.job_id in seen or BackupJob.objects.filter(pk=parsed.job_id).exists()
            ):
                raise InvalidDefinition(f"job id {parsed.job_id!r} already exists")
        except InvalidDefinition as exc:
            outcome.errors.append(f"{_describe(index, raw)}: {exc}")
            if isinstance(exc, MalformedDefinition):
                path = f"{prefix}[{index}]" if prefix is not None else ""
                where = ".".join(p for p in (path, exc.field) if p and p != "body") or "body"
                outcome.malformed.setdefault(where, []).append(problem_text(exc))
            continue
        job = build_job(parsed, user, now=now, zone=zone)
        seen.add(job.id)
        accepted.append(job)
    if outcome.malformed:
        return outcome
    if accepted:
        try:
            create_and_plan(accepted, now=now)
        except IntegrityError:
            # A concurrent submission took one of the ids between the check and the insert:
            # store the jobs one by one so only the duplicate is rejected.
            stored = []
            for job in accepted:
                try:
                    create_and_plan([job], now=now)
                    stored.append(job)
                except IntegrityError:
                    outcome.errors.append(f"job {job.id}: job id {job.id!r} already exists")
            accepted = stored
    outcome.job_ids = [job.id for job in accepted]
    return outcome


def _zone(code: str, cache: dict[str, Zone]) -> Zone:
    if code not in cache:
        try:
            cache[code] = get_zone(code)
        except UnknownZone as exc:
            raise InvalidDefinition(f"unknown carbon_zone {code!r}") from exc
    return cache[code]


def create_and_plan(jobs: list[BackupJob], *, now: datetime) -> None:
    """Store new jobs, plan the carbon-aware ones, and dispatch what may run at once."""
    with transaction.atomic():
        for job in jobs:
            if not job.carbon_aware:
                job.planned_start = job.earliest_start
                later = job.earliest_start > now
                job.status = BackupJob.Status.SCHEDULED if later else BackupJob.Status.PENDING
                job.decision = {
                    "strategy": "not_before" if later else "immediate",
                    "reason": (
                        f"not carbon-aware: starts at {format_ts(job.earliest_start)} as asked"
                        if later
                        else "not carbon-aware: dispatched at once"
                    ),
                    "start": format_ts(job.planned_start),
                }
        BackupJob.objects.bulk_create(jobs)
        JobEvent.objects.bulk_create(
            [JobEvent(job=job, timestamp=now, level="info", message="submitted") for job in jobs]
        )
        immediate = [job for job in jobs if not job.carbon_aware]
        JobDecision.objects.bulk_create(
            [
                JobDecision(
                    job=job,
                    created_at=now,
                    planned_start=job.planned_start,
                    reason=decision["reason"],
                    strategy=decision["strategy"],
                )
                for job in immediate
                if (decision := job.decision) is not None  # all: set above
            ]
        )
        aware = [job for job in jobs if job.carbon_aware]
        if aware:
            plan_new_jobs(aware, now=now)
        runnable = [job.id for job in jobs if job.planned_start is not None and job.planned_start <= now]
        if runnable:
            transaction.on_commit(lambda: _dispatch_now(runnable))


def _dispatch_now(job_ids: list[str]) -> None:
    try:
        dispatch.enqueue_jobs(job_ids)
    except Exception:  # the broker is down: the periodic dispatcher picks them up later
        log.exception("could not enqueue %d jobs at once; the dispatcher will retry", len(job_ids))


def query_jobs(job_ids: list[str] | None, statuses: list[str] | None) -> QuerySet[BackupJob]:
    """Jobs newest first, filtered by id and by wire status (docs/API.md: a job waiting for its
    planned start is `pending`, so asking for pending jobs includes the scheduled ones)."""
    jobs = BackupJob.objects.select_related("zone").order_by("-requested_at", "-pk")
    if job_ids:
        jobs = jobs.filter(pk__in=job_ids)
    if statuses:
        wanted = set(statuses)
        if BackupJob.Status.PENDING in wanted:
            wanted.add(BackupJob.Status.SCHEDULED)
        jobs = jobs.filter(status__in=wanted)
    return jobs


@dataclass
class CancelOutcome:
    cancelled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def can_cancel(user: Someone | None, job: BackupJob) -> bool:
    """Whether `user` may cancel `job` now: operators may cancel any job (they work as a team,
    docs/API.md "Owners"), and only while it waits or runs (BackupJob.is_cancellable)."""
    return has_role(user, OPERATOR) and job.is_cancellable


def cancel_jobs(
    job_ids: list[str], user: Someone | None = None, *, now: datetime | None = None
) -> CancelOutcome:
    """Cancel waiting or running jobs; a running one is stopped by its worker within about a second."""
    now = now or timezone.now()
    outcome = CancelOutcome()
    who = getattr(user, "username", "") or "system"
    for job_id in job_ids:
        if not isinstance(job_id, str):
            outcome.failed.append(str(job_id))
            outcome.errors[str(job_id)] = "job ids are strings"
            continue
        status = BackupJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
        if status is None:
            outcome.failed.append(job_id)
            outcome.errors[job_id] = "job not found"
            continue
        # Conditional update: a job that finished meanwhile is not turned into "cancelled".
        changed = BackupJob.objects.filter(pk=job_id, status__in=BackupJob.CANCELLABLE).update(
            status=BackupJob.Status.CANCELLED,
            completed_at=now,
            updated_at=now,
            error=f"cancelled by {who}",
        )
        if changed:
            outcome.cancelled.append(job_id)
            log_event(job_id, f"cancelled by {who} (was {status})", now=now)
        else:
            outcome.failed.append(job_id)
            current = BackupJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
            outcome.errors[job_id] = f"job is {current}; only pending or running jobs can be cancelled"
    return outcome


PROGRESS_KEYS = (
    "phase",
    "current_file",
    "current_step",
    "files_downloaded",
    "total_files",
    "bytes_downloaded",
    "bytes_transferred",
    "total_bytes",
    "percent_complete",
    "estimated_remaining",
    "export_method",
)


def job_progress(job: BackupJob) -> dict[str, Any]:
    """The progress object of `GET /jobs/progress/{id}`; `phase` always present."""
    stored = job.progress or {}
    progress: dict[str, Any] = {
        "phase": stored.get("phase") or _phase_for(job),
        "current_file": stored.get("current_file", ""),
        "current_step": stored.get("current_step") or stored.get("phase") or _phase_for(job),
        "files_downloaded": stored.get("files_downloaded", 0),
        "total_files": stored.get("total_files", 0),
        "bytes_downloaded": stored.get("bytes_downloaded", 0),
        "bytes_transferred": stored.get("bytes_transferred", 0),
        "total_bytes": stored.get("total_bytes", 0),
        "percent_complete": 100.0
        if job.status == BackupJob.Status.COMPLETED
        else stored.get("percent_complete", 0.0),
        "estimated_remaining": stored.get("estimated_remaining") or _remaining_text(job),
        "export_method": job.definition.get("export_method") or job.executor,
    }
    if stored.get("updated_at"):
        progress["updated_at"] = stored["updated_at"]
    return progress


def _phase_for(job: BackupJob) -> str:
    if job.status == BackupJob.Status.SCHEDULED:
        return "scheduled"
    return job.status


def _remaining_text(job: BackupJob) -> str:
    if job.is_finished:
        return "0s"
    if job.status == BackupJob.Status.SCHEDULED and job.planned_start:
        wait = job.planned_start - timezone.now()
        return go_duration(max(0.0, wait.total_seconds()) + job.expected_duration.total_seconds())
    return go_duration(job.expected_duration.total_seconds())


def job_to_hypersdk_json(job: BackupJob) -> dict[str, Any]:
    """A Job as the HyperSDK clients read it, plus hyperweb's extra (ignored-by-clients) fields."""
    definition = dict(job.definition or {})
    definition["vm_path"] = definition.get("vm_path") or job.vm_path
    definition["id"] = job.id
    data: dict[str, Any] = {
        "definition": definition,
        "status": job.wire_status,
        "updated_at": format_ts(job.updated_at),
    }
    if job.status != BackupJob.Status.SCHEDULED and (job.progress or job.status == BackupJob.Status.RUNNING):
        data["progress"] = job_progress(job)
    if job.result is not None:
        data["result"] = job.result
    if job.error:
        data["error"] = job.error
    if job.started_at:
        data["started_at"] = format_ts(job.started_at)
    if job.completed_at:
        data["completed_at"] = format_ts(job.completed_at)
    # hyperweb's richer view of the same job.
    data["id"] = job.id
    data["state"] = job.status
    data["carbon_aware"] = job.carbon_aware
    data["zone"] = job.zone.code if job.zone_id and job.zone else None
    data["requested_at"] = format_ts(job.requested_at)
    data["earliest_start"] = format_ts(job.earliest_start)
    data["latest_start"] = format_ts(job.latest_start)
    data["planned_start"] = format_ts(job.planned_start)
    data["expected_duration_seconds"] = job.expected_duration.total_seconds()
    data["attempts"] = job.attempts
    data["decision"] = job.decision
    data["operation"] = job.operation
    data["subject"] = job.subject_id
    if job.operation == BackupJob.Operation.BACKUP and job.status == BackupJob.Status.COMPLETED:
        data["integrity"] = job_integrity(job)
    if job.emissions_kg is not None or job.accounting:
        data["carbon"] = {
            "energy_kwh": job.energy_kwh,
            "intensity_gco2_kwh": job.intensity_experienced,
            "emissions_kg_co2": job.emissions_kg,
            "counterfactual_intensity_gco2_kwh": job.counterfactual_intensity,
            "counterfactual_kg_co2": job.counterfactual_kg,
            "savings_vs_requested_kg_co2": job.saving_kg,
            "signal": (job.accounting or {}).get("signal"),
            "simulated": job.simulated,
            "stale": job.stale,
            "forecast_only": job.forecast_only,
            "flags": (job.accounting or {}).get("flags", []),
        }
    return data


def job_integrity(job: BackupJob) -> dict[str, Any]:
    """A completed backup's verification state, as the API, the command and the pages show it."""
    return {
        "state": job.integrity or "unverified",
        "verified_at": format_ts(job.verified_at),
        "detail": job.integrity_detail,
        "pruned_at": format_ts(job.pruned_at),
        "restorable": job.has_archive and not job.is_damaged,
    }


def job_eta(job: BackupJob, *, now: datetime | None = None) -> tuple[dict[str, Any], str]:
    """When a job is expected to end: (eta object, Go-style remaining text)."""
    now = now or timezone.now()
    progress = job_progress(job)
    percent = float(progress.get("percent_complete") or 0.0)
    duration = job.expected_duration.total_seconds()
    if job.is_finished:
        remaining = 0.0
        completion = job.completed_at
    elif job.status == BackupJob.Status.RUNNING and job.started_at:
        elapsed = max(0.0, (now - job.started_at).total_seconds())
        # From the progress rate once there is one, else the expected duration.
        remaining = elapsed * (100 - percent) / percent if percent > 0 else max(0.0, duration - elapsed)
        completion = now + timedelta(seconds=remaining)
    else:
        start = max(job.planned_start or now, now)
        remaining = (start - now).total_seconds() + duration
        completion = start + job.expected_duration
    eta = {
        "planned_start": format_ts(job.planned_start),
        "started_at": format_ts(job.started_at),
        "expected_completion": format_ts(completion),
        "percent_complete": percent,
        "estimated_remaining_seconds": round(remaining, 3),
    }
    return eta, go_duration(remaining)
