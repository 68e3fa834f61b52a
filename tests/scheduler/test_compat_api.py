"""HyperSDK's advanced-scheduling routes on hyperweb's own jobs (issue 10, item 4): queue, retry,
timewindow and validate answer JSON from real rows; dependencies and advanced/create a JSON 501."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from scheduler.models import BackupJob, BackupPolicy, JobEvent
from tests.api.test_conventions import assert_error
from tests.scheduler.factories import BackupJobFactory, BackupPolicyFactory

pytestmark = pytest.mark.django_db
S = BackupJob.Status


@pytest.fixture(autouse=True)
def _settings(settings) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [Path("/vms")]  # the templates below name VMs under /vms


def test_it_answers_the_queue_with_jobs_by_state_in_start_order(viewer_api, settings):
    now = timezone.now()
    later = BackupJobFactory(name="later", status=S.SCHEDULED, planned_start=now + timedelta(hours=3))
    sooner = BackupJobFactory(name="sooner", status=S.SCHEDULED, planned_start=now + timedelta(hours=1))
    ready = BackupJobFactory(name="ready", status=S.PENDING, planned_start=now - timedelta(minutes=1))
    BackupJobFactory(status=S.RUNNING)
    BackupJobFactory(status=S.COMPLETED)
    BackupJobFactory(status=S.FAILED)

    response = viewer_api.get("/schedules/queue")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["queue_size"] == 3 and body["running_jobs"] == 1
    assert body["max_slots"] == settings.Q_CLUSTER["workers"]
    assert body["jobs_by_state"] == {
        "pending": 1, "scheduled": 2, "running": 1, "completed": 1, "failed": 1, "cancelled": 0,
    }
    assert [j["job_id"] for j in body["queued_jobs"]] == [ready.id, sooner.id, later.id]
    first = body["queued_jobs"][0]
    assert first["job_name"] == "ready" and first["priority"] == 0 and first["attempts"] == 0
    assert first["added_at"].endswith("Z") and first["state"] == "pending"


def test_it_lists_retried_jobs_with_their_next_attempt(viewer_api):
    now = timezone.now()
    retrying = BackupJobFactory(
        status=S.PENDING, attempts=1, max_attempts=3, next_attempt_at=now + timedelta(minutes=2),
        error="connection reset",
    )
    JobEvent.objects.create(job=retrying, timestamp=now, level="warning", message="transient failure: reset")
    JobEvent.objects.create(job=retrying, timestamp=now, level="info", message="started")
    gave_up = BackupJobFactory(status=S.FAILED, attempts=3, max_attempts=3, error="gave up after 3 attempts")
    BackupJobFactory(status=S.COMPLETED, attempts=1)  # never retried

    body = viewer_api.get("/schedules/retry").json()
    assert body["total"] == 2 and {j["job_id"] for j in body["jobs"]} == {retrying.id, gave_up.id}

    one = viewer_api.get("/schedules/retry", {"job_id": retrying.id}).json()
    assert one["attempt"] == 1 and one["max_attempts"] == 3
    assert one["last_error"] == "connection reset"
    assert one["next_retry"].endswith("Z")
    assert [e["message"] for e in one["history"]] == ["transient failure: reset"]
    finished = viewer_api.get("/schedules/retry", {"job_id": gave_up.id}).json()
    assert "next_retry" not in finished and finished["attempt"] == 3


def test_it_shows_the_carbon_aware_windows_of_waiting_jobs(viewer_api):
    now = timezone.now()
    open_now = BackupJobFactory(
        status=S.SCHEDULED, carbon_aware=True, requested_at=now - timedelta(hours=1),
        earliest_start=now - timedelta(hours=1), latest_start=now + timedelta(hours=5),
        planned_start=now + timedelta(hours=2),
    )
    not_yet = BackupJobFactory(
        status=S.SCHEDULED, earliest_start=now + timedelta(hours=1), latest_start=now + timedelta(hours=4),
        planned_start=now + timedelta(hours=3),
    )
    BackupJobFactory(status=S.COMPLETED)

    body = viewer_api.get("/schedules/timewindow").json()
    assert body["total"] == 2 and [j["job_id"] for j in body["jobs"]] == [open_now.id, not_yet.id]

    inside = viewer_api.get("/schedules/timewindow", {"job_id": open_now.id}).json()
    assert inside["in_window"] is True and inside["carbon_aware"] is True
    assert "planned to start" in inside["message"] and "next_window_start" not in inside
    window = inside["windows"][0]
    assert window["active"] is True and window["timezone"] == "UTC" and window["days"] == []
    assert window["next_start"] == inside["planned_start"]

    ahead = viewer_api.get("/schedules/timewindow", {"job_id": not_yet.id}).json()
    assert ahead["in_window"] is False and ahead["next_window_start"] == ahead["windows"][0]["start_time"]


@pytest.mark.parametrize("url", ["/schedules/retry", "/schedules/timewindow"])
def test_it_answers_404_for_an_unknown_job(viewer_api, url):
    assert_error(viewer_api.get(url, {"job_id": "no-such-job"}), 404, "job no-such-job not found")


def test_it_validates_a_schedule_as_post_schedules_would_without_storing_it(viewer_api):
    good = {
        "name": "nightly", "schedule": "0 22 * * *", "job_template": {"vm_path": "/vms/a.img"},
        "advanced_config": {"priority": 5},
    }
    body = viewer_api.post("/schedules/validate", good, format="json").json()
    assert body["valid"] is True and body["errors"] == [] and body["next_run"].endswith("Z")
    assert "advanced_config" in body["warnings"][0]

    bad = viewer_api.post("/schedules/validate", {**good, "schedule": "every night"}, format="json")
    assert bad.status_code == 200
    assert bad.json()["valid"] is False and "cron expression" in bad.json()["errors"][0]
    missing = viewer_api.post("/schedules/validate", {"schedule": "0 1 * * *"}, format="json").json()
    assert missing == {"valid": False, "errors": ["name is required"], "warnings": []}
    assert BackupPolicy.objects.count() == 0
    assert_error(viewer_api.post("/schedules/validate", [1, 2], format="json"), 400, "JSON object")


def test_it_reserves_the_route_names_as_schedule_ids(operator_api, viewer_api):
    body = {"id": "queue", "name": "n", "schedule": "0 1 * * *", "job_template": {"vm_path": "/vms/a.img"}}
    assert_error(operator_api.post("/schedules", body, format="json"), 400, "reserved")
    assert viewer_api.post("/schedules/validate", body, format="json").json()["valid"] is False
    BackupPolicyFactory(id="nightly-1")
    assert viewer_api.get("/schedules/nightly-1").status_code == 200  # /schedules/{id} still routes


def test_it_answers_a_json_501_for_what_hyperweb_does_not_support(viewer_api, operator_api):
    assert_error(viewer_api.get("/schedules/dependencies", {"job_id": "x"}), 501, "job dependencies are not supported")
    advanced = {"name": "n", "schedule": "0 1 * * *", "job_template": {"vm_path": "/v"}, "advanced_config": {}}
    assert_error(
        operator_api.post("/schedules/advanced/create", advanced, format="json"), 501, "POST /schedules"
    )
    assert BackupPolicy.objects.count() == 0
    assert_error(viewer_api.post("/schedules/advanced/create", advanced, format="json"), 403)


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/schedules/queue"),
        ("get", "/schedules/retry"),
        ("get", "/schedules/timewindow"),
        ("post", "/schedules/validate"),
        ("get", "/schedules/dependencies"),
        ("post", "/schedules/advanced/create"),
    ],
)
def test_it_refuses_anonymous_callers(anon_api, method, url):
    assert_error(getattr(anon_api, method)(url, {}, format="json"), 401)


def test_it_takes_hypersdks_zone_ids_as_aliases_and_answers_the_canonical_one(viewer_api):
    for alias, canonical in (("JP-TK", "JP"), ("aus-nsw", "AU"), ("IN-NO", "IN")):
        body = viewer_api.post("/carbon/status", {"zone": alias}, format="json").json()
        assert body["zone"] == canonical
        assert viewer_api.get(f"/carbon/zones/{alias}").json()["id"] == canonical
    for missing in ("US-NW-PACW", "CN-BJ", "CN-SH"):
        assert_error(
            viewer_api.post("/carbon/status", {"zone": missing}, format="json"), 400, "not one of hyperweb's zones"
        )
