"""Planning and re-planning stored jobs with the pure planner (scheduler/planner.py).

A zone's waiting carbon-aware jobs are planned together (`plan_fleet`) against the zone's
capacity and the limits of the backup targets they write to (services.capacity), with the runs
already under way occupying them (and, for a target, other zones' waiting jobs at their planned
runs), so new jobs do not pile onto the slot others already hold. A job with no forecast for its window starts at once, or, with
BACKUP_NO_FORECAST_FALLBACK set, at the first free slot from the next such time of day in its
window (`fallback_start`; the fleet is asked with its earliest start moved there). Every
decision that sets or moves a planned start is stored as a JobDecision; the latest is on the job and in its `definition.metadata` (`carbon_*` keys, docs/API.md).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from carbon.intensity import StepSeries
from carbon.models import Zone
from carbon.services import intensity_series
from hyperweb.lib.timefmt import parse_instant
from scheduler.fleet import plan_fleet
from scheduler.joblog import format_ts, log_event
from scheduler.models import BackupJob, JobDecision
from scheduler.planner import Decision, PlanRequest, fmt_span, iso
from scheduler.services.capacity import (
    capacity_for,
    ensure_target,
    jobs_on_target,
    target_limits,
    target_rows,
)
from scheduler.services.risk import effective_risk, zone_error_profile
from scheduler.uncertainty import ErrorProfile, choose, risk_rule

log = logging.getLogger(__name__)

# Keep a waiting job on its start unless a new one is this much cleaner (against churn).
REPLAN_MIN_GAIN_PCT = 1.0
PLAN_SLOT = timedelta(minutes=5)


def zone_series(
    zone: Zone, start: datetime, end: datetime, *, now: datetime, refresh: bool = False
) -> tuple[StepSeries | None, dict[str, Any]]:
    """The zone's intensity series over [start, end] and its quality flags (None if unavailable).

    `refresh` asks the providers for a newer forecast first (TTL permitting): wanted when
    planning, not when accounting a past run from stored readings.
    """
    try:
        info = intensity_series(zone, start, end, now=now, refresh=refresh)
    except Exception as exc:  # no data at all, or a provider chain that failed entirely
        log.warning("no intensity series for %s: %s", zone.code, exc)
        return None, {"error": str(exc)}
    flags = {
        "sources": sorted(info.sources),
        "simulated": bool(info.simulated),
        "stale": bool(info.stale),
        "forecast_only": bool(info.forecast_only),
        # average or marginal: figures of the two signals must never be added together
        "signal": info.signal,
    }
    return info.series, flags


def _request(job: BackupJob, group: str, limits: tuple[str, ...] = ()) -> PlanRequest:
    return PlanRequest(
        key=job.id,
        earliest=job.earliest_start,
        latest=job.latest_start,
        duration=job.expected_duration,
        threshold=job.threshold,
        group=group,
        limits=limits,
    )


def _target_limits(
    jobs: list[BackupJob], *, now: datetime
) -> tuple[dict[str, tuple[str, ...]], dict[str, int], list[tuple[str, datetime, datetime]]]:
    """The target limits of ``jobs``: per job id its limit keys, the limits, and what already
    occupies them: runs under way, and other waiting jobs (other zones too) at their planned runs.
    """
    targets = {ensure_target(job) for job in jobs} - {""}
    rows = target_rows() if targets else {}
    by_target = {target: target_limits(target, rows=rows) for target in targets}
    limits = {job.id: tuple(by_target.get(job.target, {})) for job in jobs}
    caps = {key: n for found in by_target.values() for key, n in found.items()}
    busy: list[tuple[str, datetime, datetime]] = []
    planned_here = {job.id for job in jobs}
    for key in caps:
        for other in jobs_on_target(key, (BackupJob.Status.RUNNING, *BackupJob.WAITING)):
            if other["pk"] in planned_here:
                continue
            duration = other["expected_duration"]
            if other["status"] == BackupJob.Status.RUNNING and other["started_at"] is not None:
                started = other["started_at"]
                busy.append((key, started, max(started + duration, now + timedelta(minutes=1))))
            elif other["status"] != BackupJob.Status.RUNNING and other["planned_start"] is not None:
                begin = max(other["planned_start"], now)
                busy.append((key, begin, begin + duration))
    return limits, caps, busy


def _hhmm() -> str:
    """BACKUP_NO_FORECAST_FALLBACK as zero-padded HH:MM ("2:00" -> "02:00")."""
    hour, minute = settings.BACKUP_NO_FORECAST_FALLBACK.split(":")
    return f"{int(hour):02d}:{int(minute):02d}"


def fallback_start(
    earliest: datetime, latest: datetime, *, now: datetime, at: str | None = None
) -> datetime | None:
    """Where a job with no forecast for its window starts: the next `at` ("HH:MM" UTC, default
    BACKUP_NO_FORECAST_FALLBACK) at or after its earliest possible start, clamped to its latest
    start; None when unset, which means at once (the planner's own no-forecast rule)."""
    text = settings.BACKUP_NO_FORECAST_FALLBACK if at is None else at
    if not text:
        return None
    hour, minute = (int(part) for part in text.split(":"))
    lo = max(earliest, now).astimezone(UTC)
    start = lo.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if start < lo:
        start += timedelta(days=1)
    return max(min(start, latest), lo)


def _without_forecast(series: StepSeries | None, req: PlanRequest, now: datetime) -> bool:
    """No start in the job's window has its whole run covered (the planner's "no forecast")."""
    lo = max(req.earliest, now)
    if series is None or not len(series):
        return True
    return series.best_window(req.duration, lo, max(req.latest, lo), min_coverage=1.0) is None


def _fallback_requests(
    series: StepSeries | None, requests: list[PlanRequest], *, now: datetime
) -> tuple[list[PlanRequest], dict[str, tuple[datetime, datetime]]]:
    """Requests without a forecast, moved to start no earlier than the configured fallback time.

    The fleet then places them at the first free slot from it (capacity still holds); returns the
    requests and, per moved key, (the original earliest, the fallback start)."""
    moved: dict[str, tuple[datetime, datetime]] = {}
    if not settings.BACKUP_NO_FORECAST_FALLBACK:
        return requests, moved
    out = []
    for req in requests:
        lo = max(req.earliest, now)
        if lo <= req.latest and _without_forecast(series, req, now):
            start = fallback_start(req.earliest, req.latest, now=now)
            assert start is not None  # the fallback time is set (checked above)
            moved[req.key] = (req.earliest, start)
            req = replace(req, earliest=start)
        out.append(req)
    return out, moved


def _fallback_decision(
    decision: Decision, earliest: datetime, fallback: datetime, latest: datetime, *, now: datetime
) -> Decision:
    """The fleet's decision for a moved request, told as the fallback it is."""
    inputs = {**decision.inputs, "earliest": iso(earliest), "fallback_start": iso(fallback)}
    if decision.strategy != "no_forecast":
        # Capacity pushed it past its window, or (slot rounding) a forecast covered it after all.
        return replace(decision, inputs=inputs)
    setting = f"BACKUP_NO_FORECAST_FALLBACK={_hhmm()} UTC"
    lo = max(earliest, now)
    span = fmt_span(lo, latest + (decision.end - decision.start), lo)
    reason = f"No forecast for {span}: starting at the fallback time {iso(fallback)} ({setting})."
    if fallback == latest and f"{fallback.astimezone(UTC):%H:%M}" != _hhmm():
        reason = (
            f"No forecast for {span}: the next fallback time ({setting}) is after the latest start, "
            f"starting at the latest start {iso(fallback)}."
        )
    if decision.start != fallback:
        reason = (
            f"No forecast for {span}: the fallback time {iso(fallback)} ({setting}) is full, "
            f"starting at the first free slot after it, {iso(decision.start)}."
        )
    return replace(decision, reason=reason, strategy="fallback_time", inputs=inputs)


def _plan(
    zone: Zone, jobs: list[BackupJob], prefer: dict[str, datetime], *, now: datetime
) -> tuple[dict[str, Decision], dict]:
    group = zone.code
    running = BackupJob.objects.filter(zone=zone, status=BackupJob.Status.RUNNING).values_list(
        "started_at", "expected_duration"
    )
    # A run under way occupies capacity until its expected end (at least a little longer from now).
    busy = [
        (group, started, max(started + duration, now + timedelta(minutes=1)))
        for started, duration in running
        if started is not None
    ]
    horizon = max(job.latest_start + job.expected_duration for job in jobs)
    series, flags = zone_series(
        zone,
        min(now, min(j.earliest_start for j in jobs)) - timedelta(hours=1),
        horizon,
        now=now,
        refresh=settings.BACKUP_PLAN_REFRESH,
    )
    limits, target_caps, target_busy = _target_limits(jobs, now=now)
    requests, moved = _fallback_requests(
        series, [_request(job, group, limits[job.id]) for job in jobs], now=now
    )
    by_group: dict[str, StepSeries] = {group: series} if series is not None and len(series) else {}
    profile, requests = _risk_requests(zone, series, jobs, requests, by_group, prefer, now=now)
    decisions = plan_fleet(
        by_group,
        requests,
        {group: capacity_for(group), **target_caps},
        now=now,
        slot=PLAN_SLOT,
        busy=busy + target_busy,
        prefer=prefer,
        prefer_gain_pct=REPLAN_MIN_GAIN_PCT,
        sources_by_group={group: flags.get("sources", [])},
    )
    latest = {job.id: job.latest_start for job in jobs}
    for key, (earliest, start) in moved.items():
        decisions[key] = _fallback_decision(decisions[key], earliest, start, latest[key], now=now)
    if profile is not None and series is not None:  # a profile is only learned with a series
        risks = {job.id: effective_risk(job) for job in jobs}
        for key, decision in decisions.items():
            decisions[key] = _with_sureness(decision, profile, series, risks[key], now=now)
    return decisions, flags


def _risk_requests(
    zone: Zone,
    series: StepSeries | None,
    jobs: list[BackupJob],
    requests: list[PlanRequest],
    by_group: dict,
    prefer: dict[str, datetime],
    *,
    now: datetime,
) -> tuple[ErrorProfile | None, list[PlanRequest]]:
    """Each NEW job with a risk rule (scheduler.uncertainty.choose: the earliest start whose
    expected saving is within the setting's share of an error band of the best's, "now" included) is
    ranked on a series that puts that start first and the nearer starts next (capacity
    permitting, the rule's start; if it is full, the closest free one); adds those series to
    ``by_group``. A job already waiting (in ``prefer``) is re-planned on the forecast as it is,
    with the hysteresis: its regret is against its run at submission, which a re-decision
    against "now" does not protect (measured worse, docs/BENCHMARKS.md). No profile: requests
    unchanged (the forecast as it is)."""
    if series is None or zone.code not in by_group:  # no series: not in by_group either
        return None, requests
    profile = zone_error_profile(zone, now=now)
    if profile is None:
        return None, requests
    risks = {job.id: effective_risk(job) for job in jobs}
    out = []
    for req in requests:
        rule = risk_rule(risks[req.key])
        lo = max(req.earliest, now)
        if rule is not None and req.key not in prefer and lo <= req.latest:
            pick = choose(profile.assess(series, now, lo, req.latest, req.duration), rule)
            if pick is not None:
                name = f"{req.group}~{iso(pick.start)}~{req.duration.total_seconds():g}"
                if name not in by_group:
                    by_group[name] = _preference(pick.start, req.duration, lo, req.latest)
                req = replace(req, cost_group=name)
        out.append(req)
    return profile, out


def _preference(start: datetime, duration: timedelta, lo: datetime, latest: datetime) -> StepSeries:
    """A ranking series whose cleanest run starts at ``start``: 1 over that run, 2 elsewhere in
    the window, so any other start ranks by how much of its run misses the chosen one."""
    a, b = lo - timedelta(hours=1), max(latest, start) + duration + timedelta(hours=1)
    steps = [(a, start, 2.0), (start, start + duration, 1.0), (start + duration, b, 2.0)]
    return StepSeries.from_steps([(x, y, v) for x, y, v in steps if y > x])


def _with_sureness(
    decision: Decision, profile: ErrorProfile, series: StepSeries, risk: str, *, now: datetime
) -> Decision:
    """The decision with how sure it is: the risk setting, and for a wait the likely and worst
    saving against starting now given the zone's forecast error at that lead."""
    inputs = {**decision.inputs, "risk": risk, "error_issues": profile.issues}
    reason = decision.reason
    lo = max(now, parse_instant(decision.inputs["earliest"]))
    if decision.strategy in ("best_window", "capacity") and decision.start > lo:
        sure = profile.sureness(series, lo, decision.start, decision.end - decision.start)
        if sure is not None:
            inputs["sureness"] = sure.to_dict()
            reason = f"{reason} Risk {risk}: {sure.text()}."
    elif decision.strategy == "best_window" and risk_rule(risk) is not None:
        latest = parse_instant(decision.inputs["latest"])
        plain = series.best_window(decision.end - decision.start, lo, max(latest, lo))
        if plain is not None and plain.start > decision.start:
            reason = (
                f"{reason} Risk {risk}: the forecast's cleanest start, {iso(plain.start)}, does not save "
                "enough for the chance that this zone's forecast is wrong at that lead."
            )
    return replace(decision, reason=reason, inputs=inputs)


def _decision_data(decision: Decision, flags: dict, *, now: datetime, trigger: str) -> dict[str, Any]:
    data = decision.to_dict()
    data["decided_at"] = format_ts(now)
    data["trigger"] = trigger
    data["series"] = flags
    return data


def _apply(
    job: BackupJob, decision: Decision, data: dict[str, Any], *, now: datetime, at_submit: bool
) -> None:
    job.planned_start = decision.start
    job.status = BackupJob.Status.SCHEDULED if decision.start > now else BackupJob.Status.PENDING
    job.decision = data
    job.dispatched_at = None
    metadata = job.definition.setdefault("metadata", {})
    metadata["carbon_planned_start"] = format_ts(decision.start)
    metadata["carbon_reason"] = decision.reason
    metadata["carbon_strategy"] = decision.strategy
    metadata["carbon_expected_intensity"] = decision.expected_intensity
    metadata["carbon_expected_saving_pct"] = decision.expected_saving_pct
    metadata["carbon_delay_minutes"] = round(
        max(0.0, (decision.start - job.requested_at).total_seconds()) / 60, 1
    )
    if at_submit:
        metadata["carbon_intensity_at_submit"] = decision.now_intensity
    if data.get("series", {}).get("simulated"):
        metadata["carbon_simulated"] = True


def plan_new_jobs(jobs: list[BackupJob], *, now: datetime) -> None:
    """Plan freshly stored carbon-aware jobs (inside the submitter's transaction)."""
    by_zone: dict[Zone, list[BackupJob]] = defaultdict(list)
    for job in jobs:
        assert job.zone is not None  # a carbon-aware job names its zone (parse_definition)
        by_zone[job.zone].append(job)
    for zone, new_jobs in by_zone.items():
        new_ids = {job.id for job in new_jobs}
        waiting = list(
            BackupJob.objects.filter(zone=zone, status=BackupJob.Status.SCHEDULED, carbon_aware=True).exclude(
                pk__in=new_ids
            )
        )
        prefer = {job.id: job.planned_start for job in waiting if job.planned_start}
        started = time.perf_counter()
        decisions, flags = _plan(zone, new_jobs + waiting, prefer, now=now)
        # Plan latency (data refresh, reads and planning) of a submission, for /metrics.
        plan_seconds = round(time.perf_counter() - started, 6)
        records = []
        for job in new_jobs:
            decision = decisions[job.id]
            data = _decision_data(decision, flags, now=now, trigger="submitted")
            data["plan_seconds"] = plan_seconds
            _apply(job, decision, data, now=now, at_submit=True)
            records.append(_record(job, decision, data, now))
        BackupJob.objects.bulk_update(
            new_jobs, ["planned_start", "status", "decision", "definition", "dispatched_at"]
        )
        for job in waiting:
            if decisions[job.id].start != job.planned_start:
                _store_move(
                    job, decisions[job.id], flags, now=now, trigger="re-planned around newly submitted jobs"
                )
        JobDecision.objects.bulk_create(records)


def _record(job: BackupJob, decision: Decision, data: dict[str, Any], now: datetime) -> JobDecision:
    return JobDecision(
        job=job,
        created_at=now,
        planned_start=decision.start,
        reason=decision.reason,
        strategy=decision.strategy,
        data=data,
    )


def _store_move(job: BackupJob, decision: Decision, flags: dict, *, now: datetime, trigger: str) -> bool:
    """Move a waiting job to a new start, unless it started or was cancelled meanwhile."""
    old = job.planned_start
    data = _decision_data(decision, flags, now=now, trigger=trigger)
    _apply(job, decision, data, now=now, at_submit=False)
    changed = BackupJob.objects.filter(pk=job.pk, status__in=BackupJob.WAITING, planned_start=old).update(
        planned_start=job.planned_start,
        status=job.status,
        decision=job.decision,
        definition=job.definition,
        dispatched_at=None,
        updated_at=now,
    )
    if changed:
        JobDecision.objects.create(
            job=job,
            created_at=now,
            planned_start=decision.start,
            reason=decision.reason,
            strategy=decision.strategy,
            data=data,
        )
        log_event(
            job.id, f"re-planned ({trigger}): start {format_ts(old)} -> {format_ts(decision.start)}", now=now
        )
    return bool(changed)


def replan_zone(zone: Zone, *, now: datetime | None = None, trigger: str = "newer forecast") -> list[str]:
    """Plan the zone's not-yet-started carbon-aware jobs again within their original windows.

    Returns the ids whose planned start moved (each move stored as a decision).
    """
    now = now or timezone.now()
    waiting = list(
        BackupJob.objects.filter(
            zone=zone, status=BackupJob.Status.SCHEDULED, carbon_aware=True, planned_start__gt=now
        )
    )
    if not waiting:
        return []
    prefer = {job.id: job.planned_start for job in waiting if job.planned_start is not None}  # all: filtered
    decisions, flags = _plan(zone, waiting, prefer, now=now)
    moved = [
        job.id
        for job in waiting
        if decisions[job.id].start != job.planned_start
        and _store_move(job, decisions[job.id], flags, now=now, trigger=trigger)
    ]
    return moved


def replan_all(*, now: datetime | None = None) -> dict[str, list[str]]:
    """Re-plan every zone that has waiting carbon-aware jobs."""
    now = now or timezone.now()
    zone_ids = (
        BackupJob.objects.filter(status=BackupJob.Status.SCHEDULED, carbon_aware=True, planned_start__gt=now)
        .values_list("zone_id", flat=True)
        .distinct()
    )
    return {zone.code: replan_zone(zone, now=now) for zone in Zone.objects.filter(pk__in=list(zone_ids))}


def preview_plan(zone: Zone, jobs: list[BackupJob], *, now: datetime) -> dict[str, dict[str, Any]]:
    """What the planner would decide for unsaved jobs, with the zone's waiting ones (nothing stored)."""
    waiting = list(BackupJob.objects.filter(zone=zone, status=BackupJob.Status.SCHEDULED, carbon_aware=True))
    prefer = {job.id: job.planned_start for job in waiting if job.planned_start}
    decisions, flags = _plan(zone, jobs + waiting, prefer, now=now)
    return {job.id: _decision_data(decisions[job.id], flags, now=now, trigger="preview") for job in jobs}
