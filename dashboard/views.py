"""The dashboard: every HTML page that combines several apps.

The overview (a tile per zone, the month's savings, the next planned backups), the zone page
(readings, forecast and the zone's backups), savings and what-if (reports over carbon and
scheduler) and the ESG reports page. Pages read stored data only (refresh=False): the scheduled
refresh keeps it fresh, and a page view never waits on a provider. Stale or simulated data is
labelled, never hidden. Pages of one app alone stay in it (scheduler's backup pages, carbon's
readings CSV).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import ADMIN, VIEWER, has_role
from accounts.views import role_required
from carbon import charts, services
from carbon.models import Zone
from carbon.tiles import overview_tiles
from carbon.views import ZONE_DAYS, requested_days, zone_or_404
from dashboard.forms import ReportForm, WhatIfForm, default_preset
from hyperweb.lib.timefmt import format_utc
from reports import charts as report_charts
from reports import queries, whatif
from reports.esg import loader, pdf
from reports.esg.periods import Period
from reports.esg.value import Scope
from reports.queries import month_start, month_totals
from scheduler.models import BackupJob
from scheduler.services import upcoming_firings

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
    return render(request, "dashboard/overview.html", context)


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


@role_required(VIEWER)
@require_GET
def zone_detail(request: HttpRequest, code: str) -> HttpResponse:
    zone = zone_or_404(code)
    now = timezone.now()
    days = requested_days(request)
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
    api_start = format_utc(now - timedelta(days=min(days, settings.API_INTENSITY_MAX_DAYS)), "seconds")
    api_end = format_utc(now, "seconds")
    accuracy = services.forecast_accuracy(zone, now=now)
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
        "accuracy": accuracy,
        "accuracy_rows": [
            (label, accuracy[f"mae_{lead}"], accuracy[f"points_{lead}"])
            for label, lead in (("up to 6 h ahead", "6h"), ("6–24 h ahead", "24h"), ("more than 24 h", "later"))
        ],
        "api_url": f"/carbon/zones/{zone.code}/intensity?start={api_start}&end={api_end}",
        "is_admin": has_role(request.user, ADMIN),
        # Providers whose current credentials may not read the zone (skipped until they change).
        "denials": services.denials(zone),
    }
    return render(request, "dashboard/zone.html", context)


# Savings (measured, against each job's counterfactual) and what-if (history).


@role_required(VIEWER)
@require_GET
def savings(request: HttpRequest) -> HttpResponse:
    jobs = queries.accounted_jobs()
    overall = queries.totals(jobs)
    months = queries.by_period(jobs, "month") if overall.runs else []
    zones = queries.by_zone(jobs) if overall.runs else []
    # The figures and charts are average-signal jobs only; marginal-signal ones (WattTime MOER)
    # are listed apart, never drawn on the same curve or added to the same figure.
    steps = queries.cumulative_steps(jobs, until=timezone.now()) if overall.runs else []
    average_months = queries.of_signal(months, queries.AVERAGE)
    average_zones = queries.of_signal(zones, queries.AVERAGE)
    context = {
        "overall": overall,
        "months": average_months,
        "zones": average_zones,
        "marginal_months": queries.of_signal(months, queries.MARGINAL),
        "marginal_zones": queries.of_signal(zones, queries.MARGINAL),
        "cumulative_chart": report_charts.cumulative_chart(steps) if steps else "",
        "monthly_chart": report_charts.monthly_chart(average_months) if average_months else "",
        "zone_chart": report_charts.zone_bars_chart(average_zones) if average_zones else "",
    }
    return render(request, "dashboard/savings.html", context)


# How often a what-if page whose replay is with the workers reloads itself, and for how long
# (seconds; the replay takes a few seconds of a worker's time, longer when they are busy).
WHATIF_REFRESH_SECONDS = 3
WHATIF_REPLAY_PATIENCE = 120


@role_required(VIEWER)
@require_GET
def what_if(request: HttpRequest) -> HttpResponse:
    form = WhatIfForm(request.GET or None)
    answer: dict[str, Any] = {"result": None, "chart": None, "simulated": False, "replay": None, "replay_queued": None}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        answer = whatif.answer(
            data["zone"], data["duration_hours"], data["flexibility_hours"], data["days"], queue_replay=True
        )
    context = {"form": form, **answer}
    if answer["replay_queued"] is not None:
        # The replay is with the workers: the page reloads itself (no JavaScript needed) until it
        # is there, for WHATIF_REPLAY_PATIENCE; after that it says the workers have not answered.
        waited = (timezone.now() - answer["replay_queued"]).total_seconds()
        context["replay_late"] = waited > WHATIF_REPLAY_PATIENCE
        context["refresh_seconds"] = None if context["replay_late"] else WHATIF_REFRESH_SECONDS
    return render(request, "dashboard/what_if.html", context)


# The ESG reports page: pick a period and a scope, preview, download CSV or PDF. The preview is
# the PDF's own template rendered as a fragment, so what the officer sees is what the auditor
# gets; the download buttons point at the API endpoints with the same parameters.

PREVIEW_ROWS = 50


def _downloads(period: Period, scope: Scope) -> dict[str, str]:
    query: dict[str, str] = {
        "start": format_utc(period.start, "seconds"),
        "end": format_utc(period.end, "seconds"),
    }
    if scope.kind == "zone" and scope.zone:
        query["zone"] = scope.zone
    if scope.kind == "policy" and scope.policy_id:
        query["policy"] = scope.policy_id
    encoded = urlencode(query)
    return {
        "csv": f"/reports/esg.csv?{encoded}",
        "summary": f"/reports/esg-summary.csv?{encoded}",
        "pdf": f"/reports/esg.pdf?{encoded}",
    }


@role_required("viewer")
@require_GET
def esg_report(request: HttpRequest) -> HttpResponse:
    today = timezone.now().date()
    form = ReportForm(request.GET or {"preset": default_preset(today)})
    resolved = form.resolve(today=today)
    context: dict[str, Any] = {"form": form}
    if resolved is not None:
        period, scope = resolved
        report = loader.build(period, scope, keep_rows=PREVIEW_ROWS)
        context.update(pdf.report_context(report, fragment=True))
        context["downloads"] = _downloads(period, scope)
        context["last_day"] = period.end - timedelta(microseconds=1)
    return render(request, "dashboard/esg.html", context, status=200 if resolved or not form.errors else 400)
