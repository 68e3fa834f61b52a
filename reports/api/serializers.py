"""Query parameters of the ESG report endpoints (validated in reports.esg.params, one place)."""

from __future__ import annotations

from rest_framework import serializers


class ESGQuerySerializer(serializers.Serializer):
    start = serializers.CharField(
        required=False,
        help_text="first day (2026-07-01) or instant (2026-07-01T00:00:00Z) included; UTC when no zone is given",
    )
    end = serializers.CharField(
        required=False,
        help_text="last day included (2026-09-30), or an instant excluded (2026-10-01T00:00:00Z)",
    )
    period = serializers.CharField(
        required=False,
        help_text="instead of start/end: a year (2026), a quarter (2026-Q3) or a month (2026-09)",
    )
    zone = serializers.CharField(required=False, help_text="only this zone's backups (e.g. DE)")
    policy = serializers.CharField(
        required=False, help_text="only this recurring policy's backups (id or name)"
    )
