"""Query parameters of the ESG report endpoints (validated in reports.esg.params, one place)."""

from __future__ import annotations

from rest_framework import serializers

from hyperweb.api.fields import PatternCharField

# What the schema promises (reports.esg.params accepts a little more: days 29 to 31, other ISO
# forms): a date or a date-time between 1971 and 2098, and a year, quarter or month.
_YEAR = r"(197[1-9]|19[89][0-9]|20[0-8][0-9]|209[0-8])"
_MOMENT = (
    rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$"
)
_PERIOD = rf"^{_YEAR}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"


class ESGQuerySerializer(serializers.Serializer):
    start = PatternCharField(
        schema_pattern=_MOMENT,
        required=False,
        help_text="first day (2026-07-01) or instant (2026-07-01T00:00:00Z) included; UTC when no "
        "zone is given. Give start and end, or period (not both).",
    )
    end = PatternCharField(
        schema_pattern=_MOMENT,
        required=False,
        help_text="last day included (2026-09-30), or an instant excluded (2026-10-01T00:00:00Z); "
        "after start, at most REPORT_MAX_DAYS (366) days later",
    )
    period = PatternCharField(
        schema_pattern=_PERIOD,
        required=False,
        help_text="instead of start/end: a year (2026), a quarter (2026-Q3) or a month (2026-09)",
    )
    zone = serializers.CharField(required=False, help_text="only this zone's backups (e.g. DE)")
    policy = serializers.CharField(
        required=False, help_text="only this recurring policy's backups (id or name)"
    )
