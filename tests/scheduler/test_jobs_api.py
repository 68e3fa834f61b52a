"""/jobs/* over HTTP: the shapes HyperSDK's clients read, roles, errors, and the clients' habits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import pytest
import requests

from scheduler.models import BackupJob
from tests.scheduler.factories import BackupJobFactory, add_readings, zone

HOURS_NS = 3600 * 10**9


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    settings.BACKUP_TARGET_ROOT = tmp_path / "backups"


def carbon_definition(**extra) -> dict:
    return {
        "vm_path": "vm1.img",
        "name": "vm1",
        "metadata": {"carbon_aware": True, "carbon_zone": "DE", "carbon_max_delay": 4 * HOURS_NS},
        **extra,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [{"vm_path": "a.img"}, [{"vm_path": "a.img"}], {"jobs": [{"vm_path": "a.img"}]}],
    ids=["object", "array", "jobs"],
)
def test_it_accepts_the_three_submit_shapes(operator_api, body) -> None:
    response = operator_api.post("/jobs/submit", body, format="json")
    assert response.status_code == 200
    data = response.json()
    assert data["accepted"] == 1 and data["rejected"] == 0 and data["errors"] == []
    assert BackupJob.objects.filter(pk=data["job_ids"][0]).exists()
    assert data["timestamp"].endswith("Z")


@pytest.mark.django_db
def test_it_reports_definitions_it_cannot_run_with_a_200(operator_api) -> None:
    unknown_zone = {"vm_path": "a", "metadata": {"carbon_aware": True, "carbon_zone": "XX"}}
    response = operator_api.post("/jobs/submit", [{"vm_path": "a"}, unknown_zone], format="json")
    assert response.status_code == 200
    data = response.json()
    assert (data["accepted"], data["rejected"]) == (1, 1)
    assert "unknown carbon_zone 'XX'" in data["errors"][0]


@pytest.mark.django_db
def test_it_refuses_a_batch_with_a_malformed_definition_and_stores_none(operator_api) -> None:
    response = operator_api.post("/jobs/submit", [{"vm_path": "a"}, {"name": "x"}], format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"[1].vm_path": ["is required"]}
    assert not BackupJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("zone", "DE", "metadata.carbon_zone"),
        ("carbon_zone", "DE", "metadata.carbon_zone"),
        ("carbon_aware", True, "metadata.carbon_aware"),
        ("max_delay_hours", 4, "metadata.carbon_max_delay"),
        ("data_size_gb", 20, "metadata.data_size_gb"),
    ],
)
def test_it_refuses_a_scheduling_key_outside_metadata_and_says_where_it_goes(operator_api, key, value, where):
    """A carbon key beside vm_path would be kept and never read: the job would run at once, not in
    the clean window its caller asked for. Refused, naming the key and where it belongs."""
    body = [{"vm_path": "a.img"}, {"vm_path": "b.img", key: value}]
    response = operator_api.post("/jobs/submit", body, format="json")
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert list(fields) == [f"[1].{key}"]
    assert f"goes in {where}" in fields[f"[1].{key}"][0]
    assert f"[1].{key}" in response.json()["error"]
    assert not BackupJob.objects.exists()


@pytest.mark.django_db
def test_it_keeps_other_keys_it_does_not_know_as_given(operator_api):
    """HyperSDK's daemon ignores keys it does not know; so does hyperweb, keeping them in the
    definition it echoes (only hyperweb's own scheduling keys are refused outside metadata)."""
    response = operator_api.post("/jobs/submit", {"vm_path": "a.img", "ticket": "OPS-12"}, format="json")
    assert response.status_code == 200 and response.json()["accepted"] == 1
    job = operator_api.get(f"/jobs/{response.json()['job_ids'][0]}").json()
    assert job["definition"]["ticket"] == "OPS-12"


@pytest.mark.django_db
def test_it_refuses_a_body_that_is_no_submit_shape(operator_api) -> None:
    response = operator_api.post("/jobs/submit", "just text", format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"error", "timestamp"}


@pytest.mark.django_db
def test_it_lets_viewers_read_but_not_submit_or_cancel(viewer_api, anon_api) -> None:
    job = BackupJobFactory()
    assert viewer_api.post("/jobs/submit", {"vm_path": "a"}, format="json").status_code == 403
    assert viewer_api.post("/jobs/cancel", {"job_ids": [job.id]}, format="json").status_code == 403
    for url in (
        f"/jobs/{job.id}",
        "/jobs/query",
        f"/jobs/progress/{job.id}",
        f"/jobs/logs/{job.id}",
        f"/jobs/eta/{job.id}",
    ):
        assert viewer_api.get(url).status_code == 200, url
    assert viewer_api.post("/jobs/query", {}, format="json").status_code == 200
    for method, url in (("get", "/jobs/query"), ("post", "/jobs/submit"), ("get", f"/jobs/{job.id}")):
        response = getattr(anon_api, method)(url)
        assert response.status_code == 401 and "error" in response.json()


@pytest.mark.django_db
def test_it_answers_404_as_json_for_an_unknown_job(viewer_api) -> None:
    for url in ("/jobs/nope", "/jobs/progress/nope", "/jobs/logs/nope", "/jobs/eta/nope"):
        response = viewer_api.get(url)
        assert response.status_code == 404 and "nope" in response.json()["error"], url


@pytest.mark.django_db
def test_it_queries_newest_first_with_filters_and_a_bounded_number_of_queries(
    viewer_api, django_assert_max_num_queries
) -> None:
    now = datetime.now(UTC)
    jobs = [BackupJobFactory(requested_at=now - timedelta(minutes=i), zone=zone("DE")) for i in range(5)]
    BackupJobFactory(requested_at=now - timedelta(hours=1), status="scheduled")
    BackupJobFactory(requested_at=now - timedelta(hours=2), status="completed")
    with django_assert_max_num_queries(8):
        data = viewer_api.get("/jobs/query?all=true").json()
    assert data["total"] == 7 and [j["id"] for j in data["jobs"][:5]] == [j.id for j in jobs]
    pending = viewer_api.post("/jobs/query", {"status": ["pending"]}, format="json").json()
    assert pending["total"] == 6  # a scheduled job is pending on the wire
    some = viewer_api.post(
        "/jobs/query", {"job_ids": [jobs[1].id, jobs[3].id], "limit": 1}, format="json"
    ).json()
    assert some["total"] == 2 and [j["id"] for j in some["jobs"]] == [jobs[1].id]
    assert viewer_api.post("/jobs/query", {"limit": 0}, format="json").status_code == 400


@pytest.mark.django_db
def test_it_shows_progress_flattened_and_logs_and_eta(operator_api) -> None:
    job = BackupJobFactory(
        status="running",
        started_at=datetime.now(UTC) - timedelta(seconds=10),
        progress={
            "phase": "archiving",
            "bytes_transferred": 50,
            "total_bytes": 100,
            "percent_complete": 50.0,
        },
    )
    progress = operator_api.get(f"/jobs/progress/{job.id}").json()
    assert progress["phase"] == "archiving" and progress["progress"]["phase"] == "archiving"
    assert progress["percent_complete"] == 50.0 and progress["status"] == "running"
    assert isinstance(progress["estimated_remaining"], str)
    job.events.create(timestamp=datetime.now(UTC), level="info", message="started")
    logs = operator_api.get(f"/jobs/logs/{job.id}").json()
    assert logs["log_count"] == 1 and logs["logs"][0]["message"] == "started"
    eta = operator_api.get(f"/jobs/eta/{job.id}").json()
    assert eta["eta"]["estimated_remaining_seconds"] == pytest.approx(10, abs=2)
    assert eta["estimated_remaining"].endswith("s")


@pytest.mark.django_db
def test_it_cancels_and_reports_what_could_not_be(operator_api) -> None:
    waiting, done = BackupJobFactory(status="scheduled"), BackupJobFactory(status="completed")
    data = operator_api.post("/jobs/cancel", {"job_ids": [waiting.id, done.id]}, format="json").json()
    assert data["cancelled"] == [waiting.id] and data["failed"] == [done.id] and done.id in data["errors"]
    assert operator_api.post("/jobs/cancel", {"job_ids": "x"}, format="json").status_code == 400


class Client:
    """HyperSDK's Python client habits: requests.Session, urljoin, X-API-Key, naive isoformat."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update({"Content-Type": "application/json", "X-API-Key": api_key})

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = self.session.request(method, urljoin(self.base_url, path), timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()


@pytest.mark.django_db(transaction=True)
def test_the_hypersdk_client_submits_queries_follows_and_cancels_a_carbon_aware_job(
    live_server, operator_user, api_key_for
) -> None:
    client = Client(live_server.url + "/api/v1/", api_key_for(operator_user))
    zone("DE")  # transactional tests that ran before may have flushed the migrated zones
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    add_readings(zone("DE"), hour, [600])  # the current hour, measured
    forecast = [600, 100, 100, 600, 600, 600]
    add_readings(
        zone("DE"), hour + timedelta(hours=1), forecast, kind="forecast", issued_at=now - timedelta(minutes=1)
    )
    definition = carbon_definition(created_at=datetime.utcnow().isoformat(), format="qcow2")
    definition["metadata"]["carbon_max_delay"] = int(4 * 3600 * 1e9)
    definition["vcenter"] = {"server": "vc", "username": "u", "password": "s3cret"}
    submitted = client.call("POST", "/jobs/submit", json=definition)
    assert submitted["accepted"] == 1
    job_id = submitted["job_ids"][0]

    job = client.call("GET", f"/jobs/{job_id}")
    assert job["status"] == "pending" and job["state"] == "scheduled"
    assert "s3cret" not in str(job)
    metadata = job["definition"]["metadata"]
    planned = datetime.fromisoformat(metadata["carbon_planned_start"].replace("Z", "+00:00"))
    assert planned == hour + timedelta(hours=2)
    assert metadata["carbon_reason"] and metadata["carbon_intensity_at_submit"] == pytest.approx(600)

    listed = client.call("POST", "/jobs/query", json={"job_ids": [job_id]})
    assert listed["total"] == 1 and listed["jobs"][0]["definition"]["vm_path"] == "vm1.img"
    assert client.call("GET", "/jobs/query?all=true")["total"] >= 1
    progress = client.call("GET", f"/jobs/progress/{job_id}")
    assert progress["phase"] == "scheduled" and progress["status"] == "pending"

    cancelled = client.call("POST", "/jobs/cancel", json={"job_ids": [job_id]})
    assert cancelled["cancelled"] == [job_id]
    assert client.call("GET", f"/jobs/{job_id}")["status"] == "cancelled"


@pytest.mark.django_db
def test_it_says_a_vm_path_of_the_wrong_type_is_not_a_string_rather_than_missing(operator_api) -> None:
    for value, kind in [(42, "int"), (["a"], "list"), ({"p": "a"}, "dict")]:
        response = operator_api.post("/jobs/submit", {"vm_path": value}, format="json")
        assert response.status_code == 400
        assert response.json()["fields"] == {"vm_path": [f"must be a string, got {kind}"]}, value
    assert operator_api.post("/jobs/submit", {"vm_path": "  "}, format="json").json()["fields"] == {
        "vm_path": ["is required"]
    }
    assert not BackupJob.objects.exists()
