"""The dashboard's ESG reports page: pick a period and a scope, preview, download CSV or PDF.

The preview is the PDF's own template rendered as a fragment, so what the officer sees is what
the auditor gets; the download buttons point at the API endpoints with the same parameters.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from hyperweb.views import role_required
from reports.esg import loader, pdf, periods
from reports.esg.params import period_from_inputs
from reports.esg.periods import Period, ReportInputError
from reports.esg.value import Scope

PREVIEW_ROWS = 50
PRESETS = (*periods.PRESETS, ("custom", "Custom range"))


class ReportForm(forms.Form):
    preset = forms.ChoiceField(label="Period", choices=PRESETS, required=False)
    start = forms.DateField(
        label="From (UTC, included)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label="To (UTC, included)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    zone = forms.ChoiceField(label="Zone", required=False)
    policy = forms.ChoiceField(label="Policy", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from carbon.models import Zone
        from scheduler.models import BackupPolicy

        super().__init__(*args, **kwargs)
        zone, policy = self.fields["zone"], self.fields["policy"]
        assert isinstance(zone, forms.ChoiceField) and isinstance(policy, forms.ChoiceField)
        zone.choices = [("", "All zones"), *Zone.objects.values_list("code", "code")]
        policy.choices = [
            ("", "All policies"),
            *BackupPolicy.objects.values_list("pk", "name"),
        ]

    def resolve(self, *, today: Any) -> tuple[Period, Scope] | None:
        """The checked period and scope, or None with the problem added to the form's errors."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        preset = data.get("preset") or default_preset(today)
        try:
            if preset == "custom":
                period = period_from_inputs(
                    start=data["start"].isoformat() if data.get("start") else None,
                    end=data["end"].isoformat() if data.get("end") else None,
                    max_days=settings.REPORT_MAX_DAYS,
                )
            else:
                period = periods.preset_period(preset, today)
            scope = loader.resolve_scope(data.get("zone"), data.get("policy"))
        except ReportInputError as exc:
            name = exc.field if exc.field in self.fields else None
            if preset != "custom" and name in ("start", "end"):
                name = "preset"
            self.add_error(name, str(exc))
            return None
        return period, scope


def default_preset(today: Any) -> str:
    """The most recent preset that holds a completed, accounted backup (any scope)."""
    return periods.latest_preset_with(loader.latest_completion(), today)


def _downloads(period: Period, scope: Scope) -> dict[str, str]:
    query: dict[str, str] = {
        "start": period.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": period.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
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
    return render(request, "reports/esg.html", context, status=200 if resolved or not form.errors else 400)
