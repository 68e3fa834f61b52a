"""Dashboard pages for backups and recurring backups (the API's /jobs/* and /schedules are apart)."""

from django.urls import path

from scheduler import views

urlpatterns = [
    path("backups", views.backup_list, name="backups"),
    path("backups/new", views.backup_new, name="backup-new"),
    path("backups/progress", views.backup_progress, name="backups-progress"),
    path("backups/<str:job_id>", views.backup_detail, name="backup"),
    path("backups/<str:job_id>/cancel", views.backup_cancel, name="backup-cancel"),
    path("backups/<str:job_id>/restore", views.backup_restore, name="backup-restore"),
    path("backups/<str:job_id>/verify", views.backup_verify, name="backup-verify"),
    path("policies", views.policy_list, name="policies"),
    path("policies/new", views.policy_new, name="policy-new"),
    path("policies/describe", views.policy_describe, name="policy-describe"),
    path("policies/<str:policy_id>", views.policy_detail, name="policy"),
    path("policies/<str:policy_id>/retention", views.policy_retention, name="policy-retention"),
    path("policies/<str:policy_id>/enable", views.policy_action, {"action": "enable"}, name="policy-enable"),
    path(
        "policies/<str:policy_id>/disable", views.policy_action, {"action": "disable"}, name="policy-disable"
    ),
    path("policies/<str:policy_id>/run", views.policy_action, {"action": "run"}, name="policy-run"),
    path("policies/<str:policy_id>/plan", views.policy_action, {"action": "plan"}, name="policy-plan"),
]
