"""Dashboard pages about the grid: the overview (a tile per zone) and the zone page.

Pages read stored data only (refresh=False): the scheduled refresh keeps it fresh, and a page
view never waits on a provider. Stale or simulated data is labelled, never hidden.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db.models import Avg, Count, F, FloatField, Func, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import ADMIN, VIEWER, has_role
from carbon import charts, services
from carbon.models import CarbonReading, Zone
from carbon.tiles import overview_tiles
from hyperweb.views import download_role_required, role_required
from reports.queries import month_start, month_totals
from scheduler.models import BackupJob

ZONE_DAYS = (1, 7, 30)  # history ranges offered on the zone page
FORECAST_HOURS = 72
TIMELINE_HOURS = 48
TIMELINE_LIMIT = 60
SPAN_LIMIT = 200


@role_required(VIEWER)
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    tiles = overview_tiles(list(Zone.objects.filter(active=True)), now)
    month = month_totals(now)
    planned = upcoming(now, now + timedelta(hours=TIMELINE_HOURS))
    context = {
        "now": now,
        "tiles": tiles,
        "month": month,
        "month_start": month_start(now),
        "planned": planned,
        "timeline": charts.planned_timeline(planned, now=now, hours=TIMELINE_HOURS) if planned else "",
        "timeline_hours": TIMELINE_HOURS,
    }
    return render(request, "carbon/overview.html", context)


@dataclass(frozen=True)
class Upcoming:
    """A row of the overview's "next planned backups": a waiting job, or a firing of an enabled
    recurring policy (its job does not exist yet). Duck-types what charts.planned_timeline reads."""

    name: str
    url: str
    zone: Zone | None
    planned_start: datetime
    expected_duration: timedelta
    status: str
    vm_path: str = ""
    window_hours: float | None = None  # a carbon-aware policy's job may start up to this much later


def upcoming(now: datetime, until: datetime) -> list[Upcoming]:
    """Waiting jobs planned before `until`, and enabled policies' firings before it, soonest first
    (two queries)."""
    from django.urls import reverse

    from scheduler.services import upcoming_firings

    jobs = (
        BackupJob.objects.filter(
            status__in=BackupJob.WAITING, planned_start__gte=now - timedelta(minutes=5), planned_start__lt=until
        )
        .select_related("zone")
        .order_by("planned_start")[:TIMELINE_LIMIT]
    )
    rows = [
        Upcoming(
            job.name or job.vm_path,
            reverse("backup", args=[job.pk]),
            job.zone,
            cast(datetime, job.planned_start),  # filtered on planned_start__gte: never None
            job.expected_duration,
            job.status,
            job.vm_path,
        )
        for job in jobs
    ]
    for policy, at in upcoming_firings(now, until):
        rows.append(
            Upcoming(
                policy.name,
                reverse("policy", args=[policy.pk]),
                policy.zone,
                at,
                policy.expected_duration,
                "recurring",
                window_hours=policy.window_hours if policy.carbon_aware else None,
            )
        )
    rows.sort(key=lambda row: row.planned_start)
    return rows[:TIMELINE_LIMIT]


class SecondsBetween(Func):
    """end - start in seconds, computed by the database itself.

    Django's portable datetime subtraction runs a Python function per row on SQLite, which made
    the accuracy query take half a second on a year of data; julianday() / EXTRACT are native.
    """

    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]  # Func's keywords pass through **extra
        extra.setdefault("template", "EXTRACT(EPOCH FROM (%(expressions)s))")
        extra.setdefault("arg_joiner", " - ")
        return super().as_sql(compiler, connection, **extra)


def forecast_accuracy(zone: Zone, *, now: datetime, days: int = 7) -> dict[str, Any]:
    """Mean absolute error of the stored forecasts against what was then measured (one query).

    Every forecast point of the last `days` whose hour has passed is compared with the actual
    reading of the same start; errors are also given by lead time, since a forecast for the
    next hours is far better than one for the day after tomorrow.
    """
    actual = CarbonReading.objects.filter(
        zone_id=zone.pk, kind=CarbonReading.Kind.ACTUAL, signal=OuterRef("signal"), start=OuterRef("start")
    ).values("value")[:1]
    hours = 3600.0
    rows = (
        CarbonReading.objects.filter(
            zone=zone, kind=CarbonReading.Kind.FORECAST, start__gte=now - timedelta(days=days), end__lte=now
        )
        .annotate(actual=Subquery(actual))
        .filter(actual__isnull=False)
        .annotate(
            error=Func(F("value") - F("actual"), function="ABS"),
            lead=SecondsBetween(F("start"), F("issued_at")),
        )
    )
    result = rows.aggregate(
        points=Count("pk"),
        mae=Avg("error"),
        mean_actual=Avg("actual"),
        mae_6h=Avg("error", filter=Q(lead__lte=6 * hours)),
        mae_24h=Avg("error", filter=Q(lead__gt=6 * hours, lead__lte=24 * hours)),
        mae_later=Avg("error", filter=Q(lead__gt=24 * hours)),
    )
    result["days"] = days
    mean = result["mean_actual"]
    result["percent"] = 100.0 * result["mae"] / mean if result["mae"] is not None and mean else None
    return result


def _spans(zone: Zone, start: datetime, end: datetime, now: datetime) -> list[charts.Span]:
    jobs = (
        BackupJob.objects.filter(zone=zone)
        .filter(
            Q(status__in=BackupJob.WAITING, planned_start__lt=end, planned_start__gte=start)
            | Q(started_at__lt=end, started_at__gte=start - timedelta(days=1))
        )
        .exclude(status=BackupJob.Status.CANCELLED)
        .order_by("-planned_start")
        .only("name", "vm_path", "status", "planned_start", "started_at", "completed_at", "expected_duration")
    )[:SPAN_LIMIT]
    spans = []
    for job in jobs:
        if job.status in BackupJob.WAITING and job.planned_start:
            spans.append(
                charts.Span(job.planned_start, job.planned_start + job.expected_duration, job.name, "planned")
            )
        elif job.started_at:
            kind = "running" if job.status == BackupJob.Status.RUNNING else "finished"
            finish = job.completed_at or max(now, job.started_at + job.expected_duration)
            spans.append(charts.Span(job.started_at, finish, job.name, kind))
    return spans


def _zone_or_404(code: str) -> Zone:
    try:
        return services.get_zone(code)
    except services.UnknownZone:
        raise Http404(f"no zone {code!r}") from None


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", 7))
    except ValueError:
        days = 7
    return days if days in ZONE_DAYS else 7


@role_required(VIEWER)
@require_GET
def zone_detail(request: HttpRequest, code: str) -> HttpResponse:
    zone = _zone_or_404(code)
    now = timezone.now()
    days = _days(request)
    start, end = now - timedelta(days=days), now + timedelta(hours=FORECAST_HOURS)
    info = services.intensity_series(zone, start, end, now=now)
    try:
        current = services.current_intensity(zone, now=now, refresh=False)
    except services.NoData:
        current = None
    threshold = settings.CARBON_DEFAULT_THRESHOLD
    chart = (
        charts.zone_chart(info.points, now=now, threshold=threshold, spans=_spans(zone, start, end, now))
        if info.points
        else ""
    )
    api_start = (now - timedelta(days=min(days, settings.API_INTENSITY_MAX_DAYS))).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    context = {
        "zone": zone,
        "now": now,
        "days": days,
        "day_choices": ZONE_DAYS,
        "info": info,
        "sources": sorted(info.sources),
        "current": current,
        "chart": chart,
        "threshold": threshold,
        "accuracy": forecast_accuracy(zone, now=now),
        "api_url": f"/carbon/zones/{zone.code}/intensity?start={api_start}&end={now:%Y-%m-%dT%H:%M:%SZ}",
        "is_admin": has_role(request.user, ADMIN),
        # Providers whose current credentials may not read the zone (skipped until they change).
        "denials": services.denials(zone),
    }
    return render(request, "carbon/zone.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@download_role_required(VIEWER)
@require_GET
def zone_readings_csv(request: HttpRequest, code: str) -> StreamingHttpResponse:
    """Every stored actual reading of the chosen range, unreduced, as CSV (streamed, UTC).

    The default format is the import format (`time,value,zone`), which `manage.py carbon import`
    and `manage.py backtest --csv` read back; `?format=detailed` adds each reading's end, source,
    signal and renewable share (`start,end,gco2_per_kwh,...`). Values are rounded to 3 decimals.
    Scripts may authenticate with X-API-Key or a Bearer token."""
    zone = _zone_or_404(code)
    now = timezone.now()
    days = _days(request)
    detailed = request.GET.get("format") == "detailed"
    rows = services.readings_between(zone, now - timedelta(days=days), now, CarbonReading.Kind.ACTUAL)
    writer = csv.writer(_Echo())

    def lines() -> Any:
        if not detailed:
            yield writer.writerow(["time", "value", "zone"])
            for start, value in rows.values_list("start", "value").iterator(chunk_size=2000):
                yield writer.writerow([_utc_text(start), _reading_value(value), zone.code])
            return
        yield writer.writerow(["start", "end", "gco2_per_kwh", "source", "signal", "renewable_percent"])
        for start, end, value, source, signal, renewable in rows.values_list(
            "start", "end", "value", "source", "signal", "renewable_percent"
        ).iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    _utc_text(start),
                    _utc_text(end),
                    _reading_value(value),
                    source,
                    signal,
                    "" if renewable is None else _reading_value(renewable),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8; header=present")
    suffix = "-detailed" if detailed else ""
    response["Content-Disposition"] = f'attachment; filename="{zone.code}-{days}d{suffix}.csv"'
    return response


def _utc_text(moment: Any) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reading_value(value: float) -> str:
    """Three decimals at most, no float noise, no exponent (312.5, not 312.50000000000006)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
