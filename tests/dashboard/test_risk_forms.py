"""The risk setting on the dashboard's forms: a backup's and a recurring backup's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.test import Client

from scheduler.models import BackupJob, BackupPolicy


def test_a_backup_submitted_from_the_form_keeps_its_risk_setting(
    operator: Client, demo_data: None, settings: Any, tmp_path: Any
) -> None:
    from scheduler.executors.demo import create_demo_vms

    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    vm = create_demo_vms(tmp_path)[0]
    page = operator.get("/backups/new").content.decode()
    assert 'name="risk"' in page and "default (balanced)" in page
    form = {
        "vm_path": str(vm),
        "zone": "DE",
        "expected_duration_hours": "1",
        "carbon_aware": "on",
        "max_delay_hours": "8",
        "executor": "file",
    }
    bad = operator.post("/backups/new", {**form, "risk": "reckless"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()
    assert not BackupJob.objects.exists()
    response = operator.post("/backups/new", {**form, "risk": "cautious"})
    job = BackupJob.objects.get()
    assert response.status_code == 302
    assert job.risk == "cautious" and job.definition["metadata"]["carbon_risk"] == "cautious"


def test_a_policy_form_sets_and_clears_the_risk_setting(operator: Client, settings: Any) -> None:
    settings.BACKUP_SOURCE_ROOTS = [Path("/vms")]  # the policy names a VM there
    data = {
        "name": "Nightly db",
        "schedule": "0 22 * * *",
        "window_start": "22:00",
        "window_hours": "8",
        "zone": "FR",
        "vm_path": "/vms/db-01.raw",
        "expected_duration_hours": "2",
        "carbon_aware": "on",
        "enabled": "on",
    }
    response = operator.post("/policies/new", {**data, "risk": "greedy"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    policy = BackupPolicy.objects.get()
    assert policy.risk == "greedy"
    operator.post(f"/policies/{policy.pk}", {**data, "risk": ""})
    policy.refresh_from_db()
    assert policy.risk == ""
