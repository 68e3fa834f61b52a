"""Dashboard pages: savings (measured, against each job's counterfactual) and what-if (history)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import VIEWER
from carbon import services as carbon_services
from carbon.intensity import StepSeries
from carbon.models import Zone
from hyperweb.views import role_required
from reports import charts

WHATIF_DAYS = ((30, "last 30 days"), (90, "last 90 days"), (365, "last year"))
# The replay with a real forecast model re-forecasts every hour: ~0.3 s per 30 days, so it runs
# over the most recent 30 days only, whatever the history chosen for the distribution.
BACKTEST_DAYS = 30


def _backtest(series: Any, *, duration: timedelta, flexibility: timedelta) -> dict[str, Any] | None:
    """Average savings of the planner on a forecast model vs perfect foresight vs HyperSDK's rule."""
    from scheduler.backtest import HISTORY, BacktestConfig, run_backtest

    if series is None or not len(series):
        return None
    # The last BACKTEST_DAYS of request times, with the model's history before them if stored.
    recent = StepSeries.from_steps(
        s for s in series.steps() if s[1] > series.last_end - timedelta(days=BACKTEST_DAYS) - HISTORY
    )
    start = max(series.last_end - timedelta(days=BACKTEST_DAYS), recent.first_start + HISTORY)
    if start > recent.last_end - timedelta(days=1):
        # A young zone: replay with the week of history the model works with (less than it wants).
        start = recent.first_start + timedelta(days=7)
    try:
        result = run_backtest(
            recent, BacktestConfig(duration=duration, max_delay=flexibility, forecast="model", start=start)
        )
    except ValueError:  # too little history for the model (it needs a week) or for one job
        return None
    hw = result.policies["hyperweb"]
    return {
        "days": max(1, round((result.last_submit - result.first_submit) / timedelta(days=1))),
        "jobs": result.jobs,
        **{k: v.saving_pct for k, v in result.policies.items()},
        # Regret: the jobs the planner made dirtier than starting at once, what they lost in all
        # (% of run-now emissions) and the worst one (% above its own run-now emissions).
        "worse_pct": hw.worse_share_pct,
        "lost_pct": hw.lost_pct,
        "worst_pct": hw.worst_pct,
        "risk": result.config.risk,
    }


@role_required(VIEWER)
@require_GET
def savings(request: HttpRequest) -> HttpResponse:
    jobs = charts.accounted_jobs()
    overall = charts.totals(jobs)
    days = charts.by_period(jobs, "day") if overall.runs else []
    months = charts.by_period(jobs, "month") if overall.runs else []
    zones = charts.by_zone(jobs) if overall.runs else []
    # The figures and charts are average-signal jobs only; marginal-signal ones (WattTime MOER)
    # are listed apart, never drawn on the same curve or added to the same figure.
    average_days = charts.of_signal(days, charts.AVERAGE)
    average_months = charts.of_signal(months, charts.AVERAGE)
    average_zones = charts.of_signal(zones, charts.AVERAGE)
    context = {
        "overall": overall,
        "months": average_months,
        "zones": average_zones,
        "marginal_months": charts.of_signal(months, charts.MARGINAL),
        "marginal_zones": charts.of_signal(zones, charts.MARGINAL),
        "cumulative_chart": charts.cumulative_chart(average_days) if average_days else "",
        "monthly_chart": charts.monthly_chart(average_months) if average_months else "",
        "zone_chart": charts.zone_bars_chart(average_zones) if average_zones else "",
    }
    return render(request, "reports/savings.html", context)


class WhatIfForm(forms.Form):
    zone = forms.ModelChoiceField(queryset=Zone.objects.filter(active=True), to_field_name="code")
    duration_hours = forms.FloatField(
        label="Backup duration (hours)", min_value=0.25, max_value=24, initial=2
    )
    flexibility_hours = forms.FloatField(
        label="May wait up to (hours)",
        min_value=0,
        max_value=72,
        initial=4,
        help_text="how long after the request the backup may start",
    )
    days = forms.TypedChoiceField(label="History", choices=WHATIF_DAYS, coerce=int, initial=90)


@role_required(VIEWER)
@require_GET
def what_if(request: HttpRequest) -> HttpResponse:
    form = WhatIfForm(request.GET or None)
    answer: dict[str, Any] = {"result": None, "chart": None, "simulated": False, "replay": None}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        zone = data["zone"]
        # The replay takes up to a second or two: the answer is kept until the zone's data
        # changes (its data version) or CARBON_REFRESH_MINUTES pass (the history moves on).
        key = "whatif:{}:{}:{}:{}:{}".format(
            zone.code,
            carbon_services.data_version(zone.pk),
            data["duration_hours"],
            data["flexibility_hours"],
            data["days"],
        )
        cached = cache.get(key)
        if cached is None:
            cached = _what_if(zone, data)
            cache.set(key, cached, timeout=settings.CARBON_REFRESH_MINUTES * 60)
        answer = cached
    return render(request, "reports/what_if.html", {"form": form, **answer})


def _what_if(zone: Zone, data: dict[str, Any]) -> dict[str, Any]:
    """The distribution of best-window savings over the history, its chart, and the replay."""
    now = timezone.now()
    # Stored actual readings only (the series ends at now): what really happened.
    info = carbon_services.intensity_series(zone, now - timedelta(days=data["days"]), now, now=now)
    duration = timedelta(hours=data["duration_hours"])
    flexibility = timedelta(hours=data["flexibility_hours"])
    result = charts.whatif_distribution(
        info.series, duration=duration, flexibility=flexibility, every=timedelta(minutes=30)
    )
    return {
        "result": result,
        "chart": charts.whatif_histogram(result.percents, median=result.median) if result.starts else "",
        "simulated": info.simulated,
        "replay": _backtest(info.series, duration=duration, flexibility=flexibility),
    }
