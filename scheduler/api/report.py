"""POST /carbon/report's operation: account one finished operation against stored readings.

It lives in the scheduler app (the URL stays /carbon/report): it reads carbon's readings and the
scheduler's jobs, and only the scheduler may import both.

It composes the shared pieces rather than adding rules: the merged stored series
and the run accounting the scheduler uses for its own jobs (scheduler.services.accounting.
account_stored over scheduler.accounting.account_run: time-weighted mean over [start, end],
measured readings where stored and the forecast otherwise, counterfactual from the job's earliest
allowed start), with the one energy model.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from carbon import services
from carbon.intensity import Equivalents, emissions_kg, equivalent_text, equivalents
from carbon.models import Zone
from hyperweb.lib.timefmt import format_utc_short
from scheduler.models import BackupJob
from scheduler.services.accounting import account_stored

WORST_CASE_G_PER_KWH = 1000.0  # the original HyperSDK's "worst case", kept for its clients


class NoReadings(LookupError):
    """No stored reading covers any part of the operation."""


@dataclass
class Report:
    operation_id: str
    zone: str
    start_time: datetime
    end_time: datetime
    duration_hours: float
    data_size_gb: float
    energy_kwh: float
    carbon_intensity_gco2_kwh: float
    carbon_emissions_kg_co2: float
    savings_vs_worst_kg_co2: float
    renewable_percent: float | None  # None: no stored reading over the run carries a share
    coverage: float
    equivalent: str  # HyperSDK's sentence
    equivalent_detail: Equivalents  # the numbers behind it, with their constants
    source: str
    simulated: bool
    stale: bool
    forecast_only: bool
    flags: list[str] = field(default_factory=list)
    savings_vs_requested_kg_co2: float | None = None
    requested_at: datetime | None = None
    timestamp: datetime | None = None


def find_job(job_id: str) -> BackupJob | None:
    """The scheduler's job with that id, or None (unknown id)."""
    if not job_id:
        return None
    return BackupJob.objects.select_related("zone").filter(pk=job_id).first()


def carbon_report(
    *,
    zone: Zone,
    job: BackupJob | None,
    job_id: str,
    start: datetime,
    end: datetime,
    data_gb: float,
    now: datetime,
) -> Report:
    requested_at = getattr(job, "requested_at", None) or start
    # The counterfactual starts when the job was allowed to: its earliest start if the caller
    # imposed a later one (not_before, a policy window), else the request. One rule, the
    # accounting's (scheduler.accounting.counterfactual_start), for this report and every job.
    earliest_start = getattr(job, "earliest_start", None)
    # The same pricing as the scheduler's own jobs (scheduler.services.accounting.account_stored).
    run, info = account_stored(
        zone,
        requested_at=requested_at,
        earliest_start=earliest_start,
        started_at=start,
        completed_at=end,
        data_gb=data_gb,
        model=services.energy_model(),
        now=now,
    )
    if info is None or run.intensity_experienced is None or run.emissions_kg is None:
        raise NoReadings(
            f"no stored carbon intensity readings for {zone.code} cover "
            f"{format_utc_short(start)}..{format_utc_short(end)}"
        )
    report = Report(
        operation_id=job_id or str(uuid.uuid4()),
        zone=zone.code,
        start_time=start,
        end_time=end,
        duration_hours=run.duration_hours,
        data_size_gb=data_gb,
        energy_kwh=run.energy_kwh,
        carbon_intensity_gco2_kwh=run.intensity_experienced,
        carbon_emissions_kg_co2=run.emissions_kg,
        savings_vs_worst_kg_co2=emissions_kg(run.energy_kwh, WORST_CASE_G_PER_KWH) - run.emissions_kg,
        renewable_percent=services.renewable_share(zone, start, end),
        coverage=run.coverage,
        equivalent=equivalent_text(run.emissions_kg),
        equivalent_detail=equivalents(run.emissions_kg),
        source=",".join(sorted(info.sources)),
        simulated=run.simulated,
        stale=run.stale,
        forecast_only=run.forecast_only,
        flags=list(run.flags),
        timestamp=now,
    )
    if job is not None:
        report.requested_at = requested_at
        report.savings_vs_requested_kg_co2 = run.saving_kg
    return report
