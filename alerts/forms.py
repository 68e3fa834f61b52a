"""The alert preferences form (a signed-in user's own choices)."""

from __future__ import annotations

from django import forms

from alerts.models import AlertPreference, Kind


class PreferencesForm(forms.ModelForm):
    email = forms.EmailField(
        required=False,
        max_length=254,
        help_text="where your alert emails go; empty: none are sent to you",
    )

    class Meta:
        model = AlertPreference
        fields = list(Kind.values)
        labels = {kind: label[:1].upper() + label[1:] for kind, label in Kind.choices}
        help_texts = {kind: "" for kind in Kind.values}
