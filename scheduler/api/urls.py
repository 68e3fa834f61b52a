"""/jobs/* and /schedules at the host root, no trailing slashes (as the HyperSDK clients call them:
docs/API.md), with the service's /health, /status and /capabilities and POST /carbon/report (they
read the scheduler's jobs)."""

from django.conf import settings
from django.urls import URLPattern, path

from scheduler.api import compat, service_views, views

urlpatterns: list[URLPattern] = [
    path("health", service_views.HealthView.as_view(), name="api-health"),
    path("status", service_views.StatusView.as_view(), name="api-status"),
    path("capabilities", service_views.CapabilitiesView.as_view(), name="api-capabilities"),
    path("carbon/report", views.ReportView.as_view(), name="carbon-report"),
    path("jobs/submit", views.SubmitView.as_view(), name="jobs-submit"),
    path("jobs/query", views.QueryView.as_view(), name="jobs-query"),
    path("jobs/cancel", views.CancelView.as_view(), name="jobs-cancel"),
    path("jobs/progress/<str:job_id>", views.ProgressView.as_view(), name="jobs-progress"),
    path("jobs/logs/<str:job_id>", views.LogsView.as_view(), name="jobs-logs"),
    path("jobs/eta/<str:job_id>", views.EtaView.as_view(), name="jobs-eta"),
    path("jobs/<str:job_id>/restore", views.RestoreView.as_view(), name="jobs-restore"),
    path("jobs/<str:job_id>/verify", views.VerifyView.as_view(), name="jobs-verify"),
    path("jobs/<str:job_id>", views.JobDetailView.as_view(), name="jobs-detail"),
    path("schedules", views.ScheduleListView.as_view(), name="schedules"),
    # HyperSDK's advanced-scheduling calls, before /schedules/{id} (those ids are reserved).
    path("schedules/queue", compat.QueueView.as_view(), name="schedules-queue"),
    path("schedules/retry", compat.RetryView.as_view(), name="schedules-retry"),
    path("schedules/timewindow", compat.TimeWindowView.as_view(), name="schedules-timewindow"),
    path("schedules/validate", compat.ValidateView.as_view(), name="schedules-validate"),
    path("schedules/dependencies", compat.DependenciesView.as_view(), name="schedules-dependencies"),
    path("schedules/advanced/create", compat.AdvancedCreateView.as_view(), name="schedules-advanced-create"),
    path("schedules/<str:schedule_id>", views.ScheduleDetailView.as_view(), name="schedules-detail"),
    path("schedules/<str:schedule_id>/enable", views.ScheduleEnableView.as_view(), name="schedules-enable"),
    path(
        "schedules/<str:schedule_id>/disable", views.ScheduleDisableView.as_view(), name="schedules-disable"
    ),
    path(
        "schedules/<str:schedule_id>/trigger", views.ScheduleTriggerView.as_view(), name="schedules-trigger"
    ),
]

if settings.BENCH_ENDPOINT:
    urlpatterns.append(
        path("bench/constant", service_views.BenchConstantView.as_view(), name="bench-constant")
    )
