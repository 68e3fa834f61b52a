"""The preferences form: the user's display timezone."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.preferences import timezone_names


class PreferencesForm(forms.Form):
    timezone = forms.ChoiceField(
        required=False,
        label="Timezone",
        help_text=(
            "Every time on every page (text, tables, charts, event logs, schedules) is shown in this "
            "timezone; the API and CSV files stay in UTC."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["timezone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Your browser's timezone (default)")] + [(n, n) for n in timezone_names()]
