"""The dashboard's forms: the what-if question and the ESG reports page's period and scope."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from django import forms
from django.conf import settings

from carbon.models import Zone
from reports import whatif
from reports.esg import loader, periods
from reports.esg.params import period_from_inputs
from reports.esg.periods import Period, ReportInputError
from reports.esg.value import Scope
from scheduler.models import BackupPolicy

WHATIF_DAYS = whatif.WHATIF_DAYS
PRESETS = (*periods.PRESETS, ("custom", "Custom range"))


def _hours_label(hours: float) -> str:
    return f"{hours * 60:g} min" if hours < 1 else f"{hours:g} h"


class HoursChoiceField(forms.TypedChoiceField):
    """One of a few numbers of hours, as a float; "2", "2.0" and "2.00" are the same choice."""

    def __init__(self, values: tuple[float, ...], **kwargs: Any) -> None:
        super().__init__(choices=[(f"{v:g}", _hours_label(v)) for v in values], coerce=float, **kwargs)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        try:
            number = float(text)
        except ValueError:
            return text
        return f"{number:g}" if math.isfinite(number) else text


class WhatIfForm(forms.Form):
    """The what-if question. Its choices are the ones the workers precompute for every zone
    (reports.whatif: DURATIONS x WAITS x WHATIF_DAYS), so every answer a user can ask for is
    read from the cache once they have run."""

    zone = forms.ModelChoiceField(queryset=Zone.objects.filter(active=True), to_field_name="code")
    duration_hours = HoursChoiceField(whatif.DURATIONS, label="Backup duration", initial="2")
    flexibility_hours = HoursChoiceField(
        whatif.WAITS,
        label="May wait up to",
        initial="4",
        help_text="how long after the request the backup may start",
    )
    days = forms.TypedChoiceField(label="History", choices=WHATIF_DAYS, coerce=int, initial=90)


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
        super().__init__(*args, **kwargs)
        zone, policy = self.fields["zone"], self.fields["policy"]
        assert isinstance(zone, forms.ChoiceField) and isinstance(policy, forms.ChoiceField)
        zone.choices = [("", "All zones"), *Zone.objects.values_list("code", "code")]
        policy.choices = [
            ("", "All policies"),
            *BackupPolicy.objects.values_list("pk", "name"),
        ]

    def resolve(self, *, today: date) -> tuple[Period, Scope] | None:
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


def default_preset(today: date) -> str:
    """The most recent preset that holds a completed, accounted backup (any scope)."""
    return periods.latest_preset_with(loader.latest_completion(), today)
