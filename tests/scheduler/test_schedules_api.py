"""/schedules over HTTP, and the flexible window and firing of recurring backups."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from scheduler.models import BackupJob, BackupPolicy
from scheduler.services.policies import fire_due_policies, flexible_window
from tests.scheduler.factories import BackupPolicyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]


NIGHTLY = {
    "name": "nightly web",
    "schedule": "0 22 * * *",
    "job_template": {"vm_path": "web.img", "vcenter": {"server": "vc", "password": "s3cret"}},
    "zone": "DE",
    "window_start": "22:00",
    "window_hours": 8,
    "tags": ["web"],
}


def test_it_creates_lists_updates_and_deletes_schedules(operator_api, viewer_api) -> None:
    created = operator_api.post("/schedules", NIGHTLY, format="json")
    assert created.status_code == 201
    data = created.json()
    assert data["carbon_aware"] is True and data["zone"] == "DE" and data["run_count"] == 0
    assert "s3cret" not in str(data)
    listed = viewer_api.get("/schedules").json()
    assert isinstance(listed, list) and [s["id"] for s in listed] == [data["id"]]
    updated = operator_api.put(f"/schedules/{data['id']}", {"window_hours": 4}, format="json").json()
    assert updated["window_hours"] == 4 and updated["name"] == "nightly web"
    deleted = operator_api.delete(f"/schedules/{data['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert viewer_api.get(f"/schedules/{data['id']}").status_code == 404


def test_it_keeps_a_plain_hypersdk_schedule_without_a_zone_not_carbon_aware(operator_api) -> None:
    body = {
        "name": "plain",
        "schedule": "*/30 * * * *",
        "job_template": {"vm_path": "a.img"},
        "enabled": True,
    }
    data = operator_api.post("/schedules", body, format="json").json()
    assert data["carbon_aware"] is False and data["enabled"] is True and data["next_run"].endswith("Z")


def test_it_refuses_a_bad_cron_or_template(operator_api) -> None:
    bad = operator_api.post("/schedules", {**NIGHTLY, "schedule": "every night"}, format="json")
    assert bad.status_code == 400 and "cron" in bad.json()["error"]
    missing = operator_api.post("/schedules", {**NIGHTLY, "job_template": {"name": "x"}}, format="json")
    assert missing.status_code == 400 and "vm_path" in missing.json()["error"]


def test_it_refuses_a_carbon_key_in_the_template_outside_its_metadata(operator_api) -> None:
    template = {"vm_path": "web.img", "zone": "DE"}
    response = operator_api.post("/schedules", {**NIGHTLY, "job_template": template}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["job_template.zone"]
    assert "goes in metadata.carbon_zone" in response.json()["error"]
    assert not BackupPolicy.objects.exists()


def test_a_template_stored_before_that_check_still_runs(operator_api) -> None:
    policy = BackupPolicyFactory(
        job_template={"vm_path": "vm.img", "zone": "DE", "metadata": {}}, carbon_aware=False
    )
    triggered = operator_api.post(f"/schedules/{policy.id}/trigger")
    assert triggered.status_code == 200, triggered.json()
    assert BackupJob.objects.get(pk=triggered.json()["job_id"]).definition["zone"] == "DE"


def test_it_enables_disables_and_triggers(operator_api) -> None:
    policy_id = operator_api.post("/schedules", NIGHTLY, format="json").json()["id"]
    assert operator_api.post(f"/schedules/{policy_id}/disable").json()["enabled"] is False
    assert operator_api.post(f"/schedules/{policy_id}/enable").json()["enabled"] is True
    triggered = operator_api.post(f"/schedules/{policy_id}/trigger").json()
    job = BackupJob.objects.get(pk=triggered["job_id"])
    assert job.policy_id == policy_id and job.carbon_aware and job.zone.code == "DE"
    # The template's password is kept apart and handed to the job, never shown.
    assert job.secrets == {"vcenter.password": "s3cret"} and "s3cret" not in str(job.definition)
    assert BackupPolicy.objects.get(pk=policy_id).run_count == 1


def test_it_lets_viewers_read_schedules_only(viewer_api, anon_api) -> None:
    policy = BackupPolicyFactory()
    assert viewer_api.get(f"/schedules/{policy.id}").status_code == 200
    assert viewer_api.post("/schedules", NIGHTLY, format="json").status_code == 403
    assert viewer_api.post(f"/schedules/{policy.id}/trigger").status_code == 403
    assert viewer_api.delete(f"/schedules/{policy.id}").status_code == 403
    assert anon_api.get("/schedules").status_code == 401


def test_it_opens_the_flexible_window_at_the_window_start() -> None:
    policy = BackupPolicy(window_start=time(22, 0), window_hours=8)
    fired = datetime(2026, 3, 1, 22, 0, 0, 120, tzinfo=UTC)
    assert flexible_window(policy, fired) == (fired, datetime(2026, 3, 2, 6, 0, tzinfo=UTC))
    early = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)  # before tonight's window: wait for it
    assert flexible_window(policy, early) == (
        datetime(2026, 3, 1, 22, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 6, 0, tzinfo=UTC),
    )
    inside = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # still inside last night's window
    assert flexible_window(policy, inside) == (inside, datetime(2026, 3, 2, 6, 0, tzinfo=UTC))


def test_it_fires_a_due_policy_once_as_a_carbon_aware_job_in_its_window() -> None:
    now = datetime(2026, 3, 1, 22, 0, 5, tzinfo=UTC)
    policy = BackupPolicyFactory(
        zone_id=None, window_start=time(22), window_hours=8, next_run_at=now - timedelta(seconds=5)
    )
    from carbon.models import Zone

    policy.zone = Zone.objects.get(code="DE")
    policy.save()
    created = fire_due_policies(now)
    assert len(created) == 1 and fire_due_policies(now) == []
    job = BackupJob.objects.get(pk=created[0])
    assert job.carbon_aware and job.earliest_start == now
    assert job.latest_start == datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    policy.refresh_from_db()
    assert policy.run_count == 1 and policy.next_run_at == datetime(2026, 3, 2, 22, 0, tzinfo=UTC)


def test_it_refuses_a_window_too_long_to_schedule_and_an_absurd_job_delay(operator_api) -> None:
    policy = operator_api.post("/schedules", {**NIGHTLY, "window_hours": 1e308}, format="json")
    assert policy.status_code == 400 and "window_hours" in policy.json()["error"]
    job = {"vm_path": "a", "metadata": {"carbon_aware": True, "carbon_zone": "DE", "carbon_max_delay": 1e30}}
    submitted = operator_api.post("/jobs/submit", job, format="json")
    assert submitted.status_code == 400 and "metadata.carbon_max_delay" in submitted.json()["fields"]
    assert not BackupPolicy.objects.exists() and not BackupJob.objects.exists()


def test_it_refuses_a_schedule_whose_template_names_an_unknown_executor(operator_api) -> None:
    template = {**NIGHTLY["job_template"], "metadata": {"executor": "rsync"}}
    created = operator_api.post("/schedules", {**NIGHTLY, "job_template": template}, format="json")
    assert created.status_code == 400 and "unknown executor 'rsync'" in created.json()["error"]
    assert not BackupPolicy.objects.exists()


def test_it_refuses_a_schedule_id_that_could_not_be_addressed_by_its_url(operator_api) -> None:
    for bad in ("a/b", " ", "x" * 65):
        created = operator_api.post("/schedules", {**NIGHTLY, "id": bad}, format="json")
        assert created.status_code == 400 and "without '/'" in created.json()["error"]
    assert operator_api.post("/schedules", {**NIGHTLY, "id": "nightly-web"}, format="json").status_code == 201


def test_it_names_a_missing_schedule_in_its_404_on_every_route(operator_api) -> None:
    for method, path in [
        ("get", "/schedules/nope"),
        ("put", "/schedules/nope"),
        ("delete", "/schedules/nope"),
        ("post", "/schedules/nope/enable"),
        ("post", "/schedules/nope/trigger"),
    ]:
        response = getattr(operator_api, method)(path, {}, format="json")
        assert response.status_code == 404, path
        assert response.json()["error"] == "schedule nope not found; GET /schedules lists them", path
