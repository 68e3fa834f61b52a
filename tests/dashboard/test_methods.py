"""Pages that only read answer GET (and HEAD) only: a POST gets 405 and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from carbon.models import CarbonReading, FetchAttempt
from scheduler.models import BackupJob, BackupPolicy
from tests.dashboard.conftest import make_job

READ_ONLY_PAGES = [
    "/",
    "/zones/DE",
    "/zones/DE/readings.csv",
    "/reports",
    "/savings",
    "/what-if",
    "/backups",
    "/backups/progress",
    "/policies",
]


def _counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (CarbonReading, FetchAttempt, BackupJob, BackupPolicy))


@pytest.mark.parametrize("url", READ_ONLY_PAGES)
def test_it_answers_a_viewers_post_to_a_read_only_page_with_405(viewer: Client, url: str) -> None:
    before = _counts()
    response = viewer.post(url, {"zone": "DE", "days": "7"})
    assert response.status_code == 405
    assert "GET" in response["Allow"]
    assert _counts() == before
    assert viewer.get(url).status_code == 200


def test_it_answers_a_post_to_a_backups_page_with_405(viewer: Client, operator: Client, now: Any) -> None:
    job = make_job(now=now)
    for client in (viewer, operator):
        assert client.post(f"/backups/{job.pk}").status_code == 405
    job.refresh_from_db()
    assert job.status == BackupJob.Status.SCHEDULED


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_it_answers_other_methods_on_a_form_page_with_405(
    viewer: Client, operator: Client, now: Any, method: str
) -> None:
    """Form pages take GET and POST only; PUT/PATCH/DELETE used to render the form with a 200
    (a viewer's PUT to a recurring backup's page too). Found by the permission matrix."""
    job = make_job(now=now, status=BackupJob.Status.COMPLETED)
    policy = BackupPolicy.objects.create(name="nightly", schedule="0 22 * * *", job_template={"vm_path": "x"})
    pages = [
        (operator, "/backups/new"),
        (operator, f"/backups/{job.pk}/restore"),
        (operator, "/policies/new"),
        (viewer, f"/policies/{policy.pk}"),
        (operator, f"/policies/{policy.pk}"),
        (viewer, f"/policies/{policy.pk}/retention"),
        (Client(), "/login"),
        (Client(), "/admin/login/"),
    ]
    for client, url in pages:
        response = getattr(client, method)(url)
        assert response.status_code == 405, (url, response.status_code)
        assert set(response["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}, url
