"""Accounting a finished job from stored readings (the maths is in scheduler/accounting.py)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from carbon import services as carbon_services
from carbon.intensity import EnergyModel, StepSeries, emissions_kg
from carbon.models import CarbonReading
from carbon.services import NoData, SeriesInfo, energy_model, intensity_series
from scheduler.accounting import RunAccounting, account_run, counterfactual_start
from scheduler.models import BackupJob

if TYPE_CHECKING:
    from carbon.models import Zone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecisionEstimate:
    """What a planning decision expected of the run, before it ran: its energy and its emissions
    had it started at once (`now_kg`) or at the chosen start (`chosen_kg`); None where the decision
    recorded no intensity."""

    kwh: float
    now_kg: float | None
    chosen_kg: float | None


def decision_estimate(job: BackupJob, decision: dict[str, Any] | None = None) -> DecisionEstimate:
    """The job's expected energy and emissions under its latest decision (or `decision`), with the
    energy model the accounting uses, so the page's estimate and the job's accounted figures agree."""
    decision = job.decision if decision is None else decision
    decision = decision or {}
    model = carbon_services.energy_model()  # looked up at call time, as the accounting's is
    kwh = model.kwh(job.data_size_gb or 0.0, job.expected_duration.total_seconds() / 3600)
    now_value, chosen_value = decision.get("now_intensity"), decision.get("expected_intensity")
    return DecisionEstimate(
        kwh=kwh,
        now_kg=emissions_kg(kwh, now_value) if now_value is not None else None,
        chosen_kg=emissions_kg(kwh, chosen_value) if chosen_value is not None else None,
    )


def account_stored(
    zone: Zone | None,
    *,
    requested_at: datetime,
    earliest_start: datetime | None,
    started_at: datetime,
    completed_at: datetime,
    data_gb: float,
    model: EnergyModel,
    now: datetime,
) -> tuple[RunAccounting, SeriesInfo | None]:
    """Account one finished run in `zone` from the stored readings (the one place a run is priced:
    account_job for the scheduler's jobs, POST /carbon/report for a caller's operation).

    The series is the zone's stored one over the run and its counterfactual, measured readings
    where stored and the newest forecast for the rest (even for time already past: a step's
    measured reading is stored only at the next refresh), so that a run after the last measured
    reading is priced at the forecast, flagged forecast-based, and priced again when the
    measurement arrives (reaccount_revised). No zone, or no data at all: energy only, no kg.
    Returns the accounting and the series info it used (None when there was none).
    """
    info: SeriesInfo | None = None
    if zone is not None:
        counter_start = counterfactual_start(requested_at, earliest_start)
        duration = completed_at - started_at
        start = min(counter_start, started_at)
        end = max(completed_at, counter_start + duration) + timedelta(seconds=1)
        try:
            info = intensity_series(zone, start, end, now=now, with_points=False, past_forecast=True)
        except NoData as exc:
            log.warning("no intensity series for %s: %s", zone.code, exc)
    accounting = account_run(
        info.series if info is not None else StepSeries([], [], []),
        requested_at=requested_at,
        earliest_start=earliest_start,
        started_at=started_at,
        completed_at=completed_at,
        data_gb=data_gb,
        model=model,
        simulated=bool(info and info.simulated),
        stale=bool(info and info.stale),
        forecast=info.forecast if info is not None else None,
    )
    return accounting, info


def account_job(job: BackupJob, *, now: datetime | None = None) -> RunAccounting | None:
    """Compute and store the job's energy, experienced intensity, emissions and saving.

    Data size is what the run really read (the result), else the estimate given at submission.
    Jobs without a zone get energy only. The saving is measured against the same run started at
    the job's earliest allowed start, max(requested_at, earliest_start): a delay the caller imposed
    (`not_before`) is not hyperweb's saving.
    """
    if job.started_at is None or job.completed_at is None:
        return None
    now = now or timezone.now()
    source_bytes = (job.result or {}).get("source_bytes")
    data_gb = source_bytes / 1e9 if source_bytes is not None else job.data_size_gb
    duration = job.completed_at - job.started_at
    counter_start = counterfactual_start(job.requested_at, job.earliest_start)
    model = energy_model()
    accounting, info = account_stored(
        job.zone,
        requested_at=job.requested_at,
        earliest_start=job.earliest_start,
        started_at=job.started_at,
        completed_at=job.completed_at,
        data_gb=data_gb,
        model=model,
        now=now,
    )
    flags: dict[str, Any] = (
        {"sources": sorted(info.sources), "signal": info.signal} if info is not None else {}
    )
    data = accounting.to_dict()
    if job.zone is not None and _rests_on_estimates(job, flags, counter_start, duration):
        # Until the provider's measurements replace them (carbon.signals.readings_revised, below).
        data["flags"] = [*data["flags"], "estimated"]
    data["estimated"] = "estimated" in data["flags"]
    data["zone"] = job.zone.code if job.zone else None
    data["sources"] = flags.get("sources", [])
    # Which signal the intensities are (average or marginal), so that totals keep them apart.
    data["signal"] = flags.get("signal")
    data["energy_model"] = asdict(model)
    data["accounted_at"] = now.isoformat()
    if job.zone is None:
        data["flags"] = [*data["flags"], "no_zone"]
    BackupJob.objects.filter(pk=job.pk).update(
        energy_kwh=accounting.energy_kwh,
        intensity_experienced=accounting.intensity_experienced,
        emissions_kg=accounting.emissions_kg,
        counterfactual_intensity=accounting.counterfactual_intensity,
        counterfactual_kg=accounting.counterfactual_kg,
        saving_kg=accounting.saving_kg,
        simulated=accounting.simulated,
        stale=accounting.stale,
        forecast_only=accounting.forecast_only,
        accounting=data,
    )
    return accounting


def _rests_on_estimates(job: BackupJob, flags: dict, counter_start: datetime, duration: timedelta) -> bool:
    """Whether any stored actual reading the accounting used (its sources and signal, over the run
    or its counterfactual) is an estimate the provider has not yet replaced by a measurement."""
    sources = flags.get("sources") or []
    if not sources:
        return False
    assert job.started_at is not None and job.completed_at is not None  # accounted: it ran
    start = min(counter_start, job.started_at)
    end = max(job.completed_at, counter_start + duration)
    return CarbonReading.objects.filter(
        zone=job.zone,
        kind=CarbonReading.Kind.ACTUAL,
        estimated=True,
        source__in=sources,
        signal=flags.get("signal") or CarbonReading.Signal.AVERAGE,
        start__lt=end,
        end__gt=start,
    ).exists()


def reaccount_revised(zone: Zone, start: datetime, end: datetime, *, now: datetime | None = None) -> int:
    """Account again every finished backup in `zone` whose run or counterfactual overlaps
    [start, end), where stored readings were revised (an estimate became a measurement, or a
    measurement changed). Returns how many were accounted again."""
    jobs = BackupJob.objects.filter(
        zone=zone,
        accounting__isnull=False,
        started_at__isnull=False,
        completed_at__gt=start,
        requested_at__lt=end,
    )
    count = 0
    for job in jobs.select_related("zone"):
        if account_job(job, now=now) is not None:
            count += 1
    if count:
        log.info(
            "%s: accounted %d finished backups again after revised readings",
            getattr(zone, "code", zone),
            count,
        )
    return count


def on_readings_revised(
    sender: object, *, zone: Zone, start: datetime, end: datetime, **kwargs: object
) -> None:
    """carbon.signals.readings_revised receiver (connected in SchedulerConfig.ready)."""
    reaccount_revised(zone, start, end)
