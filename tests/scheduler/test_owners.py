"""Jobs and schedules have an owner (issue 11): set from the API, the dashboard and a policy's
firing; what an operator may do to another user's job: cancel it (operators work as a team), the
cancel naming who did it; viewers may not."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from accounts.roles import set_role
from scheduler.models import BackupJob, BackupPolicy
from scheduler.services.policies import fire_due_policies

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roots(settings, tmp_path: Path) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    (tmp_path / "web.img").write_bytes(b"disk")


@pytest.fixture
def other_operator(django_user_model, api_key_for):
    user = django_user_model.objects.create_user("otto-operator")
    set_role(user, "operator")
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_key_for(user))
    return user, client


def test_a_job_submitted_by_api_belongs_to_its_submitter(operator_api, operator_user) -> None:
    response = operator_api.post("/jobs/submit", {"vm_path": "web.img"}, format="json")
    job = BackupJob.objects.get(pk=response.json()["job_ids"][0])
    assert job.owner == operator_user and job.created_by == operator_user


def test_a_job_submitted_on_the_dashboard_belongs_to_its_submitter(operator_user, tmp_path) -> None:
    browser = Client()
    browser.force_login(operator_user)
    form = {
        "vm_path": str(tmp_path / "web.img"),
        "zone": "DE",
        "expected_duration_hours": "1",
        "max_delay_hours": "4",
        "executor": "file",
    }
    assert browser.post("/backups/new", form).status_code == 302
    assert BackupJob.objects.get().owner == operator_user


def test_a_schedule_and_the_jobs_it_fires_belong_to_its_creator(operator_api, operator_user, other_operator) -> None:
    body = {"name": "nightly", "schedule": "0 22 * * *", "zone": "DE", "job_template": {"vm_path": "web.img"}}
    assert operator_api.post("/schedules", body, format="json").status_code in (200, 201)
    policy = BackupPolicy.objects.get()
    assert policy.owner == operator_user
    # Fired by the schedule (nobody signed in): still the owner's backup.
    BackupPolicy.objects.filter(pk=policy.pk).update(next_run_at=timezone.now())
    (fired,) = fire_due_policies()
    job = BackupJob.objects.get(pk=fired)
    assert job.owner == operator_user and job.created_by is None
    # Run now by another operator: the owner's backup, created by the other.
    other, client = other_operator
    assert client.post(f"/schedules/{policy.pk}/trigger", format="json").status_code in (200, 201, 202)
    job = BackupJob.objects.exclude(pk=fired).get()
    assert job.owner == operator_user and job.created_by == other


def test_any_operator_may_cancel_another_users_job_and_is_named(operator_api, operator_user, other_operator, viewer_api) -> None:
    job_id = operator_api.post("/jobs/submit", {"vm_path": "web.img"}, format="json").json()["job_ids"][0]
    assert viewer_api.post("/jobs/cancel", {"job_ids": [job_id]}, format="json").status_code == 403
    other, client = other_operator
    data = client.post("/jobs/cancel", {"job_ids": [job_id]}, format="json").json()
    assert data["cancelled"] == [job_id]
    job = BackupJob.objects.get(pk=job_id)
    assert job.status == "cancelled" and job.owner == operator_user
    assert job.error == "cancelled by otto-operator"
    assert job.events.filter(message__startswith="cancelled by otto-operator").exists()
