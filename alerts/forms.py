"""The alert preferences form (a signed-in user's own choices)."""

from __future__ import annotations

from django import forms

from alerts.models import ALL_KINDS, CHOICES, AlertPreference


class PreferencesForm(forms.ModelForm):
    email = forms.EmailField(
        required=False,
        max_length=254,
        help_text="where your alert emails go; empty: none are sent to you",
    )

    class Meta:
        model = AlertPreference
        fields = list(ALL_KINDS)
        labels = {kind: label[:1].upper() + label[1:] for kind, label in CHOICES}
        help_texts = {kind: "" for kind in ALL_KINDS}
