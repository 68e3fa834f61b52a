"""Admin: zones are editable; readings and fetch attempts are read-mostly records."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from carbon.models import CarbonReading, FetchAttempt, Zone, ZoneDenial


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region", "typical_intensity", "timezone", "chain", "active"]
    list_editable = ["active"]
    list_filter = ["region", "active"]
    search_fields = ["code", "name", "region"]
    fieldsets = [
        (None, {"fields": ["code", "name", "region", "description", "typical_intensity", "timezone"]}),
        (
            "Providers",
            {
                "fields": ["providers", "provider_codes", "active"],
                "description": "An empty chain uses the configured default (CARBON_PROVIDERS).",
            },
        ),
    ]

    @admin.display(description="provider chain")
    def chain(self, zone: Zone) -> str:
        return ", ".join(zone.provider_chain())


class _ReadOnly(admin.ModelAdmin):
    """Written by fetches and imports only; deleting stays possible to clean up bad data."""

    show_full_result_count = False  # a COUNT(*) over millions of readings on every page is slow

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CarbonReading)
class CarbonReadingAdmin(_ReadOnly):
    list_display = [
        "zone",
        "start",
        "end",
        "value",
        "signal",
        "kind",
        "issued_at",
        "source",
        "estimated",
        "revised_at",
    ]
    list_filter = ["kind", "signal", "source", "estimated", "zone"]
    list_select_related = ["zone"]
    date_hierarchy = "start"
    ordering = ["-start"]


@admin.register(FetchAttempt)
class FetchAttemptAdmin(_ReadOnly):
    list_display = ["at", "zone", "provider", "what", "ok", "readings", "duration_ms", "short_error"]
    list_filter = ["ok", "provider", "what", "zone"]
    list_select_related = ["zone"]
    date_hierarchy = "at"

    @admin.display(description="error")
    def short_error(self, attempt: FetchAttempt) -> str:
        return attempt.error[:80]


@admin.register(ZoneDenial)
class ZoneDenialAdmin(_ReadOnly):
    """Zones a provider's token may not read; deleting a row makes the provider ask again."""

    list_display = ["zone", "provider", "status", "at", "detail"]
    list_filter = ["provider"]
    list_select_related = ["zone"]
