"""Admin pages for jobs (read-mostly: the services own state changes), policies and capacities."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from scheduler.models import BackupJob, BackupPolicy, Capacity, JobDecision, JobEvent
from scheduler.services import cancel_jobs
from scheduler.targets import is_target_key


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    can_delete = False
    readonly_fields = ("timestamp", "level", "message")


class JobDecisionInline(admin.TabularInline):
    model = JobDecision
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "planned_start", "strategy", "reason")
    exclude = ("data",)


@admin.register(BackupJob)
class BackupJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "operation",
        "status",
        "integrity",
        "owner",
        "zone",
        "carbon_aware",
        "planned_start",
        "started_at",
        "emissions_kg",
    )
    list_filter = ("operation", "status", "integrity", "carbon_aware", "zone", "executor")
    search_fields = ("id", "name", "vm_path", "owner__username")
    date_hierarchy = "requested_at"
    list_select_related = ("zone", "owner")
    exclude = ("secrets",)
    readonly_fields = [f.name for f in BackupJob._meta.fields if f.name != "secrets"]
    inlines = [JobDecisionInline, JobEventInline]
    actions = ["cancel_selected"]

    @admin.action(description="Cancel the selected jobs (running ones are stopped)")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[BackupJob]) -> None:
        outcome = cancel_jobs(list(queryset.values_list("pk", flat=True)), request.user)
        self.message_user(
            request, f"cancelled {len(outcome.cancelled)}, not cancellable {len(outcome.failed)}"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are submitted through the API, the dashboard or `manage.py backup`


@admin.register(BackupPolicy)
class BackupPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "schedule",
        "window_start",
        "window_hours",
        "zone",
        "carbon_aware",
        "enabled",
        "run_count",
        "owner",
    )
    list_filter = ("enabled", "carbon_aware", "zone")
    list_select_related = ("zone", "owner")
    search_fields = ("id", "name", "description", "owner__username")
    readonly_fields = ("run_count", "last_run_at", "next_run_at", "created_at", "updated_at")


@admin.register(Capacity)
class CapacityAdmin(admin.ModelAdmin):
    list_display = ("key", "kind", "max_concurrent")
    search_fields = ("key",)

    @admin.display(description="limits")
    def kind(self, row: Capacity) -> str:
        if not is_target_key(row.key):
            return "a zone's backups"
        return "backups written there or below" if row.key.startswith("/") else "jobs sent to that daemon"
