"""The bad-input classes of tests/api/test_fuzz_inputs.py, typed into the dashboard's forms: each
is a form error on the field (or a JSON 400 from the policy form's helper), nothing stored, never
a 500.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from scheduler.models import BackupJob, BackupPolicy

pytestmark = pytest.mark.django_db

CRON_121 = ",".join(str(minute) for minute in range(41)) + " 00 * * *"


@pytest.fixture(autouse=True)
def _settings(settings: Any, tmp_path: Path) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    (tmp_path / "web.img").write_bytes(b"disk")


@pytest.fixture
def vm(tmp_path: Path) -> str:
    return str(tmp_path / "web.img")


def _backup(vm: str, **changes: str) -> dict[str, str]:
    data = {
        "vm_path": vm,
        "zone": "DE",
        "expected_duration_hours": "1",
        "carbon_aware": "on",
        "max_delay_hours": "4",
        "executor": "file",
    }
    data.update(changes)
    return data


def _policy(vm: str, **changes: str) -> dict[str, str]:
    data = {
        "name": "Nightly",
        "schedule": "0 22 * * *",
        "window_hours": "8",
        "zone": "DE",
        "vm_path": vm,
        "expected_duration_hours": "2",
        "carbon_aware": "on",
        "enabled": "on",
    }
    data.update(changes)
    return data


def assert_form_error(response: Any, field: str) -> None:
    assert response.status_code == 200, response.status_code
    errors = response.context["form"].errors
    assert field in errors, dict(errors)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "n" * 256}, "name"),
        ({"vm_path": "/x/" + "a" * 1100}, "vm_path"),
        ({"data_size_gb": "1e400"}, "data_size_gb"),
        ({"data_size_gb": "1e308"}, "data_size_gb"),
        ({"data_size_gb": "9" * 400}, "data_size_gb"),
        ({"expected_duration_hours": "1e12"}, "expected_duration_hours"),
        ({"expected_duration_hours": "500"}, "expected_duration_hours"),
        ({"max_delay_hours": "1e400"}, "max_delay_hours"),
        ({"threshold": "1e308"}, "threshold"),
        ({"threshold": "-1e400"}, "threshold"),
    ],
)
def test_the_backup_form_refuses_each_class(operator: Client, vm: str, changes: dict, field: str) -> None:
    assert_form_error(operator.post("/backups/new", _backup(vm, **changes)), field)
    assert not BackupJob.objects.exists()


def test_the_backup_form_turns_an_undecodable_name_into_text_not_a_fault(operator: Client, vm: str) -> None:
    # A lone surrogate cannot travel in UTF-8; its bytes (ED A0 80) are what a broken client sends.
    body = f"vm_path={vm}&zone=DE&expected_duration_hours=1&max_delay_hours=4&executor=file&name=x%ED%A0%80y"
    response = operator.post("/backups/new", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (200, 302)
    for job in BackupJob.objects.all():
        job.name.encode("utf-8")  # whatever was stored is real text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "n" * 201}, "name"),
        ({"schedule": CRON_121}, "schedule"),
        ({"schedule": "0 0 31 2 *"}, "schedule"),
        ({"expected_duration_hours": "500"}, "expected_duration_hours"),
        ({"data_size_gb": "1e308"}, "data_size_gb"),
        ({"window_hours": "1e400"}, "window_hours"),
        ({"threshold": "1e400"}, "threshold"),
        ({"vm_path": "/x/" + "a" * 1100}, "vm_path"),
    ],
)
def test_the_policy_form_refuses_each_class(operator: Client, vm: str, changes: dict, field: str) -> None:
    assert_form_error(operator.post("/policies/new", _policy(vm, **changes)), field)
    assert not BackupPolicy.objects.exists()


def test_editing_a_policy_refuses_a_cron_that_never_fires(operator: Client, vm: str) -> None:
    operator.post("/policies/new", _policy(vm))
    policy = BackupPolicy.objects.get()
    assert_form_error(operator.post(f"/policies/{policy.pk}", _policy(vm, schedule="0 0 31 2 *")), "schedule")
    policy.refresh_from_db()
    assert policy.schedule == "0 22 * * *"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"schedule": "0 0 31 2 *"}, "schedule"),
        ({"schedule": CRON_121}, "schedule"),
        ({"schedule": "0 22 * * *", "window_hours": "1e400"}, "window_hours"),
    ],
)
def test_the_schedule_helper_answers_400_naming_the_field(viewer: Client, query: dict, field: str) -> None:
    response = viewer.get("/policies/describe", query)
    assert response.status_code == 400
    body = response.json()
    assert field in body["fields"] and body["error"].startswith(f"{field}:")
    assert isinstance(body["schedule_text"], str)  # the page still says in words what is wrong


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
@pytest.mark.parametrize("field", ["since", "until"])
def test_the_backup_filters_refuse_days_out_of_range(viewer: Client, day: str, field: str) -> None:
    assert_form_error(viewer.get("/backups", {field: day}), field)


@pytest.mark.parametrize(
    ("start", "end"),
    [("9999-12-30", "9999-12-31"), ("2026-01-01", "9999-12-31"), ("0001-01-01", "0001-01-02")],
)
def test_the_esg_report_form_refuses_days_out_of_range(viewer: Client, start: str, end: str) -> None:
    response = viewer.get("/reports", {"preset": "custom", "start": start, "end": end})
    assert response.status_code == 400  # this page answers its form errors with a 400
    errors = response.context["form"].errors
    assert set(errors) & {"start", "end"} and "out of range" in str(errors)


@pytest.mark.parametrize(
    "changes", [{"duration_hours": "1e400"}, {"duration_hours": "1e308"}, {"flexibility_hours": "-1e400"}]
)
def test_the_what_if_form_refuses_numbers_out_of_range(viewer: Client, changes: dict) -> None:
    query = {"zone": "DE", "duration_hours": "2", "flexibility_hours": "4", "days": "30", **changes}
    response = viewer.get("/what-if", query)
    assert response.status_code == 200
    assert set(changes) <= set(response.context["form"].errors)


def test_the_zone_page_ignores_an_absurd_day_count(viewer: Client) -> None:
    assert viewer.get("/zones/DE", {"days": "1e400"}).status_code == 200
