"""Dashboard pages: savings (measured, against each job's counterfactual) and what-if (history)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import VIEWER
from carbon.models import Zone
from hyperweb.views import role_required
from reports import charts, queries, whatif

WHATIF_DAYS = whatif.WHATIF_DAYS


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
        "cumulative_chart": charts.cumulative_chart(steps) if steps else "",
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
        answer = whatif.answer(data["zone"], data["duration_hours"], data["flexibility_hours"], data["days"])
    return render(request, "reports/what_if.html", {"form": form, **answer})
