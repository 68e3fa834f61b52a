"""A `file` job's source and target are checked against the roots at submission (containment
only), by the API, the command, the dashboard forms and policies alike."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.roles import OPERATOR, set_role
from scheduler.models import BackupJob, BackupPolicy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roots(settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_DEFAULT_EXECUTOR = "file"
    settings.BACKUP_SOURCE_ROOTS = [tmp_path / "vms"]
    settings.BACKUP_TARGET_ROOT = tmp_path / "backups"
    (tmp_path / "vms").mkdir()
    monkeypatch.setattr("scheduler.dispatch.enqueue_jobs", lambda ids, **kw: None)


def test_it_rejects_a_source_outside_the_roots_at_submit_over_the_api(
    operator_api: Any, tmp_path: Any
) -> None:
    response = operator_api.post("/jobs/submit", {"vm_path": "../../etc/passwd"}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert (data["accepted"], data["rejected"]) == (0, 1)
    assert "outside the backup source roots" in data["errors"][0]
    assert str(tmp_path / "vms") in data["errors"][0]  # names the allowed roots
    assert "root:" not in data["errors"][0]  # and nothing read from the file
    assert not BackupJob.objects.exists()


def test_it_rejects_an_output_dir_outside_the_target_root(operator_api: Any) -> None:
    body = {"vm_path": "web.img", "output_dir": "/tmp/elsewhere"}
    data = operator_api.post("/jobs/submit", body, format="json").json()
    assert data["rejected"] == 1 and "output_dir" in data["errors"][0]
    assert "outside the backup target root" in data["errors"][0]
    body = {"vm_path": "web.img", "output_path": "../escape"}
    assert "output_path" in operator_api.post("/jobs/submit", body, format="json").json()["errors"][0]
    assert not BackupJob.objects.exists()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        # Short enough as written, too long for the target column once inside the root (PostgreSQL
        # refused the row with a 500; schemathesis found it).
        ({"output_path": "0" * 1000}, "output_path is too long"),
        ({"output_dir": "a/" * 500}, "output_dir is too long"),
        ({"output_dir": "n" * 256}, "output_dir has a file or folder name longer than 255 bytes"),
    ],
)
def test_it_rejects_a_target_too_long_to_store_or_create(operator_api: Any, body: dict, words: str) -> None:
    response = operator_api.post("/jobs/submit", {"vm_path": "web.img", **body}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["rejected"] == 1 and words in data["errors"][0], data
    assert not BackupJob.objects.exists()


def test_it_accepts_a_source_inside_the_roots_that_does_not_exist_yet(operator_api: Any) -> None:
    body = {"vm_path": "not-there-yet.img", "output_dir": "nightly"}
    data = operator_api.post("/jobs/submit", body, format="json").json()
    assert (data["accepted"], data["rejected"]) == (1, 0)


def test_it_does_not_check_hypersdk_paths_which_are_remote(operator_api: Any, settings: Any) -> None:
    settings.HYPERSDK_URL = "http://127.0.0.1:9"
    body = {"vm_path": "/dc1/vm/web-01", "output_dir": "/exports", "metadata": {"executor": "hypersdk"}}
    data = operator_api.post("/jobs/submit", body, format="json").json()
    assert (data["accepted"], data["rejected"]) == (1, 0)


def test_it_exits_2_with_one_line_when_the_command_submits_a_path_outside_the_roots() -> None:
    with pytest.raises(CommandError, match="outside the backup source roots") as info:
        call_command("backup", "submit", "../../etc/passwd")
    assert info.value.returncode == 2 and "\n" not in str(info.value)
    assert not BackupJob.objects.exists()


def test_it_puts_the_path_error_on_the_dashboard_forms_field(django_user_model: Any) -> None:
    user = django_user_model.objects.create_user(username="oscar")
    set_role(user, OPERATOR)
    client = Client()
    client.force_login(user)
    response = client.post(
        "/backups/new",
        {
            "vm_path": "../../etc/passwd",
            "expected_duration_hours": "1",
            "max_delay_hours": "4",
            "executor": "file",
        },
    )
    assert response.status_code == 200 and "outside" in response.context["form"].errors["vm_path"][0]
    policy = {
        "name": "Nightly",
        "schedule": "0 22 * * *",
        "window_start": "22:00",
        "window_hours": "8",
        "zone": "FR",
        "vm_path": "../../etc/passwd",
        "expected_duration_hours": "2",
        "carbon_aware": "on",
        "enabled": "on",
    }
    response = client.post("/policies/new", policy)
    assert response.status_code == 200
    assert "outside the backup source roots" in response.context["form"].errors["vm_path"][0]
    assert not BackupJob.objects.exists() and not BackupPolicy.objects.exists()


def test_it_refuses_the_hypersdk_executor_when_no_daemon_is_configured(operator_api: Any, settings: Any) -> None:
    settings.HYPERSDK_URL = ""
    body = {"vm_path": "/dc1/vm/web-01", "output_dir": "/exports", "metadata": {"executor": "hypersdk"}}
    response = operator_api.post("/jobs/submit", body, format="json")
    assert response.status_code == 400, response.content
    assert "metadata.executor" in response.content.decode() and "HYPERSDK_URL" in response.content.decode()
    assert not BackupJob.objects.exists()
