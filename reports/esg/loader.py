"""The thin ORM side of ESG reports: scope lookup, and querysets turned into plain rows.

Rows stream from the database with `values_list(...).iterator()`, so neither a model instance
per backup nor the whole year's rows are ever held at once; value.build_report folds them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from carbon.models import CarbonReading, Zone
from carbon.services import energy_model
from reports.esg.periods import Period, ReportInputError
from reports.esg.value import (
    AVERAGE,
    BackupRow,
    ESGReport,
    LifecycleRuns,
    ReportConfig,
    Scope,
    ZoneSource,
    build_report,
    parse_site_scope,
    signal_of,
)
from reports.queries import SIGNAL, cumulative_steps
from scheduler.models import BackupJob, BackupPolicy

CHUNK = 2000  # rows per database round trip when streaming

_FIELDS = (
    "id",
    "name",
    "vm_path",
    "zone__code",
    "policy_id",
    "policy__name",
    "requested_at",
    "earliest_start",
    "latest_start",
    "planned_start",
    "started_at",
    "completed_at",
    "data_size_gb",
    "bytes_written",
    "energy_kwh",
    "intensity_experienced",
    "emissions_kg",
    "counterfactual_intensity",
    "counterfactual_kg",
    "saving_kg",
    # Only the keys the report reads, extracted by the database: decoding each backup's whole
    # accounting document (inputs, model, flags) costs more than the rest of the row.
    "accounting__data_gb",
    "accounting__coverage",
    "accounting__flags",
    "accounting__sources",
    # average | marginal; missing on backups accounted before it was recorded (-> average)
    "accounting__signal",
    "simulated",
    "stale",
    "forecast_only",
)


def config_from_settings() -> ReportConfig:
    model = energy_model()  # the one the backups were accounted with
    return ReportConfig(
        organisation=settings.REPORT_ORGANISATION,
        base_watts=model.base_watts,
        watts_per_tb=model.watts_per_tb,
        pue=model.pue,
        site_scope=parse_site_scope(settings.REPORT_SITE_SCOPE),
        supplier_factor=settings.REPORT_SUPPLIER_FACTOR,
        embodied_kg_per_tb=settings.REPORT_EMBODIED_KG_PER_TB,
    )


def resolve_scope(zone: str | None = None, policy: str | None = None) -> Scope:
    """The scope for a zone code or a policy id (or name); at most one of them."""
    zone, policy = (zone or "").strip(), (policy or "").strip()
    if zone and policy:
        raise ReportInputError("give a zone or a policy, not both", field="policy")
    if zone:
        found = Zone.objects.filter(code__iexact=zone).values_list("code", flat=True).first()
        if found is None:
            raise ReportInputError(f"unknown zone {zone!r}; GET /carbon/zones lists the zones", field="zone")
        return Scope(kind="zone", zone=found)
    if policy:
        row = BackupPolicy.objects.filter(Q(pk=policy) | Q(name=policy)).values_list("pk", "name").first()
        if row is None:
            raise ReportInputError(f"unknown policy {policy!r}; GET /schedules lists them", field="policy")
        return Scope(kind="policy", policy_id=row[0], policy_name=row[1])
    return Scope()


def _scoped(queryset: QuerySet[BackupJob], scope: Scope) -> QuerySet[BackupJob]:
    if scope.kind == "zone":
        return queryset.filter(zone__code=scope.zone)
    if scope.kind == "policy":
        return queryset.filter(policy_id=scope.policy_id)
    return queryset


def accounted_jobs(period: Period, scope: Scope) -> QuerySet[BackupJob]:
    """Accounted backups whose completion falls in [start, end): the savings page's query
    (BackupJob.objects.accounted_backups), restricted to the period and scope."""
    return _scoped(BackupJob.objects.accounted_backups().completed_in(period.start, period.end), scope)


def latest_completion() -> datetime | None:
    """When the latest accounted backup finished (None when there is none)."""
    return BackupJob.objects.accounted_backups().aggregate(latest=Max("completed_at"))["latest"]


def unaccounted_runs(period: Period, scope: Scope) -> int:
    """Runs that ended in the period without accounting (failed, cancelled, or not accounted)."""
    ended = BackupJob.objects.unaccounted().completed_in(period.start, period.end)
    return _scoped(ended, scope).count()


def lifecycle_runs(period: Period, scope: Scope) -> LifecycleRuns:
    """Accounted restores and verifications that completed in the period: their count, energy and
    location-based kg (average-signal runs; a marginal signal is never added to an average kg).
    Runs of the same machinery as backups, but not backups: reported on a line of their own."""
    jobs = _scoped(BackupJob.objects.accounted_lifecycle_runs().completed_in(period.start, period.end), scope)
    row = jobs.annotate(signal=SIGNAL).aggregate(
        restores=Count("pk", filter=Q(operation=BackupJob.Operation.RESTORE)),
        verifications=Count("pk", filter=Q(operation=BackupJob.Operation.VERIFY)),
        energy=Coalesce(Sum("energy_kwh"), 0.0),
        emitted=Coalesce(Sum("emissions_kg", filter=Q(signal=AVERAGE)), 0.0),
    )
    return LifecycleRuns(
        restores=row["restores"],
        verifications=row["verifications"],
        energy_kwh=float(row["energy"]),
        emissions_kg=float(row["emitted"]),
    )


def iter_rows(period: Period, scope: Scope, *, chunk_size: int = CHUNK) -> Iterator[BackupRow]:
    """Plain rows in completion order, streamed from the database."""
    values = accounted_jobs(period, scope).order_by("completed_at", "pk").values_list(*_FIELDS)
    for values_row in values.iterator(chunk_size=chunk_size):
        yield to_row(values_row)


def to_row(v: tuple[Any, ...]) -> BackupRow:
    (
        pk,
        name,
        vm_path,
        zone,
        policy_id,
        policy_name,
        requested,
        earliest,
        latest,
        planned,
        started,
        completed,
        size_gb,
        written,
        kwh,
        intensity,
        kg,
        counter_intensity,
        counter_kg,
        saving,
        data_gb,
        coverage,
        flags,
        sources,
        signal,
        simulated,
        stale,
        forecast_only,
    ) = v
    return BackupRow(
        id=pk,
        name=name or vm_path,
        zone=zone,
        policy_id=policy_id,
        policy=policy_name,
        requested_at=requested,
        earliest_start=earliest,
        latest_start=latest,
        planned_start=planned,
        started_at=started,
        completed_at=completed,
        data_gb=float(data_gb if data_gb is not None else size_gb or 0.0),
        bytes_written=written,
        energy_kwh=kwh,
        intensity_experienced=intensity,
        emissions_kg=kg,
        counterfactual_intensity=counter_intensity,
        counterfactual_kg=counter_kg,
        avoided_kg=saving,
        coverage=coverage,
        simulated=simulated,
        stale=stale,
        forecast_only=forecast_only,
        flags=tuple(flags or ()),
        sources=tuple(sources or ()),
        # A missing signal reads as average: every provider but WattTime gives averages.
        signal=signal_of(signal),
    )


def zone_sources(period: Period, codes: list[str] | None) -> list[ZoneSource]:
    """Per zone, source, signal and kind: how many readings the period holds and their step lengths."""
    readings = CarbonReading.objects.filter(start__lt=period.end, end__gt=period.start)
    if codes is not None:
        readings = readings.filter(zone__code__in=codes)
    step = ExpressionWrapper(F("end") - F("start"), output_field=DurationField())
    rows = (
        readings.values("zone__code", "source", "signal", "kind")
        .order_by("zone__code", "source", "signal", "kind")
        .annotate(n=Count("pk"), step_min=Min(step), step_max=Max(step))
    )
    return [
        ZoneSource(
            zone=r["zone__code"],
            source=r["source"],
            signal=r["signal"],
            kind=r["kind"],
            readings=r["n"],
            step_min_seconds=_seconds(r["step_min"]),
            step_max_seconds=_seconds(r["step_max"]),
        )
        for r in rows
    ]


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) / 1e6  # some backends hand durations back as microseconds


def zone_names() -> dict[str, str]:
    return dict(Zone.objects.values_list("code", "name"))


def build(
    period: Period,
    scope: Scope,
    *,
    keep_rows: int | None = None,
    now: datetime | None = None,
    curve: bool = True,
) -> ESGReport:
    """The report for a period and scope, read from the database in one streamed pass; with
    `curve`, a second streamed pass (three columns) gives the cumulative chart its steps (the
    summary CSV, which draws nothing, passes curve=False)."""
    zone_codes = (
        [scope.zone]
        if scope.kind == "zone"
        else list(accounted_jobs(period, scope).order_by().values_list("zone__code", flat=True).distinct())
    )
    generated_at = (now or timezone.now()).astimezone(UTC)
    report = build_report(
        iter_rows(period, scope),
        period=period,
        scope=scope,
        config=config_from_settings(),
        generated_at=generated_at,
        zone_names=zone_names(),
        zone_sources=zone_sources(period, [c for c in zone_codes if c]),
        unaccounted_runs=unaccounted_runs(period, scope),
        keep_rows=keep_rows,
    )
    report = dataclasses.replace(report, lifecycle=lifecycle_runs(period, scope))
    # The same steps as the savings page's chart, from the same backups as the rows and the CSV.
    if not curve:
        return report
    steps = cumulative_steps(
        accounted_jobs(period, scope), until=min(period.end, max(generated_at, period.start))
    )
    return dataclasses.replace(report, cumulative=tuple(steps))
