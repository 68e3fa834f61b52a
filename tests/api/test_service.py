"""GET /health, /status, /capabilities (docs/API.md, "Endpoints")."""

from __future__ import annotations

import pytest
from django.test import Client

from hyperweb.api.timestamps import go_duration
from tests.api.test_conventions import TIMESTAMP, assert_error


@pytest.mark.django_db
def test_it_answers_health_without_auth_even_with_a_bad_key():
    for headers in ({}, {"HTTP_X_API_KEY": "wrong"}, {"HTTP_AUTHORIZATION": "Bearer expired"}):
        response = Client().get("/health", **headers)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "healthy" and TIMESTAMP.match(body["timestamp"])


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["admin_api", "operator_api", "viewer_api"])
def test_it_reports_status_with_every_key(request, persona, django_assert_max_num_queries):
    client = request.getfixturevalue(persona)
    with django_assert_max_num_queries(5):  # auth + role + one aggregate over the jobs
        response = client.get("/status")
    assert response.status_code == 200
    body = response.json()
    for key in ("total_jobs", "running_jobs", "completed_jobs", "failed_jobs", "cancelled_jobs"):
        assert isinstance(body[key], int) and not isinstance(body[key], bool)
    assert isinstance(body["version"], str) and isinstance(body["uptime"], str)
    assert TIMESTAMP.match(body["timestamp"])


@pytest.mark.django_db
def test_it_counts_jobs_by_state_in_one_query(viewer_api, django_assert_max_num_queries):
    from django.utils import timezone

    from scheduler.models import BackupJob

    now = timezone.now()
    for status in ["pending", "scheduled", "running", "completed", "completed", "failed", "cancelled"]:
        BackupJob.objects.create(
            vm_path="/vms/a.qcow2", status=status, requested_at=now, earliest_start=now, latest_start=now
        )
    viewer_api.get("/status")
    with django_assert_max_num_queries(3):
        body = viewer_api.get("/status").json()
    assert (body["total_jobs"], body["running_jobs"], body["completed_jobs"]) == (7, 1, 2)
    assert (body["failed_jobs"], body["cancelled_jobs"], body["pending_jobs"], body["scheduled_jobs"]) == (
        1,
        1,
        2,
        1,
    )


def test_it_formats_uptime_like_go_durations():
    assert go_duration(5.9) == "5s"
    assert go_duration(125) == "2m5s"
    assert go_duration(3 * 3600 + 61) == "3h1m1s"


@pytest.mark.django_db
def test_it_lists_capabilities(viewer_api):
    body = viewer_api.get("/capabilities").json()
    assert isinstance(body["capabilities"], dict) and body["capabilities"]
    for name, info in body["capabilities"].items():
        assert isinstance(info["available"], bool), name
    assert body["default_method"] in body["capabilities"]
    assert TIMESTAMP.match(body["timestamp"])


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/status", "/capabilities"])
def test_it_refuses_service_endpoints_to_anonymous_and_roleless_callers(anon_api, outsider_api, url):
    assert_error(anon_api.get(url), 401)
    assert_error(outsider_api.get(url), 403)


@pytest.mark.django_db
def test_it_routes_the_bench_endpoint_only_when_enabled(viewer_api, settings):
    assert viewer_api.get("/bench/constant").status_code == 404
