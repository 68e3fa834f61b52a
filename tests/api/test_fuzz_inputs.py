"""Bad input, class by class, on every API entry point that takes it: a 400 with a JSON error that
names the field (per item inside a /jobs/submit batch), nothing stored, never a 500.

Classes (issue 11, "25 inputs answer 500"): strings longer than their column; lone UTF-16
surrogates; timestamps that overflow when shifted to UTC or by a day; numbers that overflow
(1e400, 1e308, huge integers, 1e12 hours); far-future not_before; crons that never fire;
schedule durations beyond a job's cap; bracket bombs; chunked and empty bodies.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from scheduler.models import BackupJob, BackupPolicy
from tests.scheduler.factories import BackupPolicyFactory, zone
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    (tmp_path / "web.img").write_bytes(b"disk")


# A valid cron expression of 121 characters (the column holds 120): minutes 0..40 at 00 h.
CRON_121 = ",".join(str(minute) for minute in range(41)) + " 00 * * *"
SCHEDULE = {"name": "nightly", "schedule": "0 22 * * *", "job_template": {"vm_path": "web.img"}, "zone": "DE"}


def _job(vm_path: str = "web.img", **metadata) -> dict:
    job: dict = {"vm_path": vm_path}
    if metadata:
        job["metadata"] = metadata
    return job


def assert_refused(response, field: str, status: int = 400) -> dict:
    """A JSON error with `status`, naming `field` in its `fields` (or its message)."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] and body["timestamp"]
    named = set(body.get("fields", {}))
    assert field in named or body["error"].startswith(f"{field}:"), body
    return body


def assert_nothing_stored() -> None:
    assert not BackupJob.objects.exists()
    assert not BackupPolicy.objects.exists()


def raw_post(client, url: str, text: str):
    return client.generic("POST", url, text.encode("utf-8", "surrogatepass"), content_type="application/json")


# --- strings longer than their column ------------------------------------------------------------


def test_the_cron_helper_builds_a_valid_121_character_cron() -> None:
    from croniter import croniter

    assert len(CRON_121) == 121 and croniter.is_valid(CRON_121)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vm_path": "web.img", "name": "n" * 256}, "name"),
        ({"vm_path": "web.img/" + "a" * 1100}, "vm_path"),
        ({"vm_path": "web.img", "output_dir": "/o/" + "a" * 1100}, "output_dir"),
        ({"vm_path": "web.img", "id": "i" * 129}, "id"),
        ([{"vm_path": "web.img"}, {"vm_path": "web.img", "name": "n" * 256}], "[1].name"),
        ({"jobs": [{"vm_path": "web.img"}, {"vm_path": "v" * 1025}]}, "jobs[1].vm_path"),
    ],
)
def test_it_refuses_job_strings_longer_than_their_column(operator_api, body, field) -> None:
    assert_refused(operator_api.post("/jobs/submit", body, format="json"), field)
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SCHEDULE, "name": "n" * 201}, "name"),
        ({**SCHEDULE, "schedule": CRON_121}, "schedule"),
        ({**SCHEDULE, "job_template": {"vm_path": "web.img", "name": "n" * 256}}, "job_template.name"),
    ],
)
def test_it_refuses_schedule_strings_longer_than_their_column(operator_api, body, field) -> None:
    assert_refused(operator_api.post("/schedules", body, format="json"), field)
    assert_nothing_stored()


def test_it_refuses_a_too_long_string_when_a_schedule_is_updated(operator_api) -> None:
    policy = BackupPolicyFactory()
    response = operator_api.put(f"/schedules/{policy.pk}", {"name": "n" * 201}, format="json")
    assert_refused(response, "name")
    policy.refresh_from_db()
    assert len(policy.name) <= 200


# --- lone surrogates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "text", "field"),
    [
        ("/jobs/submit", '{"vm_path": "web.img", "name": "x\\ud800y"}', "name"),
        ("/jobs/submit", '[{"vm_path": "web.img"}, {"vm_path": "x\\udfffy"}]', "[1].vm_path"),
        ("/jobs/submit", '{"vm_path": "web.img", "metadata": {"note\\ud800": 1}}', "metadata"),
        (
            "/schedules",
            '{"name": "x\\ud800y", "schedule": "0 22 * * *", "job_template": {"vm_path": "a"}}',
            "name",
        ),
        ("/carbon/status", '{"zone": "D\\ud800E"}', "zone"),
        ("/api/login", '{"username": "x\\ud800", "password": "p"}', "username"),
        ("/jobs/cancel", '{"job_ids": ["x\\ud800"]}', "job_ids[0]"),
    ],
)
def test_it_refuses_lone_surrogates(operator_api, url, text, field) -> None:
    assert_refused(raw_post(operator_api, url, text), field)
    assert_nothing_stored()


def test_it_still_accepts_a_proper_surrogate_pair(operator_api) -> None:
    response = raw_post(
        operator_api, "/jobs/submit", '{"vm_path": "web.img", "name": "backup \\ud83d\\ude00"}'
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1
    assert BackupJob.objects.get().name == "backup \U0001f600"


# --- timestamps that overflow when shifted ---------------------------------------------------------

EDGES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31T23:00:00Z", "0001-01-01"]


@pytest.mark.parametrize("moment", EDGES)
def test_it_refuses_overflowing_report_times(viewer_api, moment) -> None:
    body = {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T01:00:00Z", "data_size_gb": 1}
    assert_refused(
        viewer_api.post("/carbon/report", {**body, "start_time": moment}, format="json"), "start_time"
    )
    assert_refused(viewer_api.post("/carbon/report", {**body, "end_time": moment}, format="json"), "end_time")


@pytest.mark.parametrize("moment", EDGES)
@pytest.mark.parametrize("side", ["start", "end"])
@pytest.mark.parametrize("kind", ["actual", "forecast"])
def test_it_refuses_overflowing_intensity_queries(viewer_api, moment, side, kind) -> None:
    response = viewer_api.get("/carbon/zones/DE/intensity", {side: moment, "kind": kind})
    assert_refused(response, side)


@pytest.mark.parametrize("moment", EDGES)
def test_it_refuses_an_overflowing_not_before(operator_api, moment) -> None:
    response = operator_api.post("/jobs/submit", _job(not_before=moment), format="json")
    assert_refused(response, "metadata.not_before")
    assert_nothing_stored()


@pytest.mark.parametrize(
    "query",
    [
        {"start": "9999-12-30"},
        {"start": "9999-12-30", "end": "9999-12-31"},
        {"start": "2026-01-01", "end": "9999-12-31"},
        {"start": "0001-01-01T00:00:00+01:00", "end": "2026-01-01"},
        {"start": "2026-01-01", "end": "9999-12-31T23:59:59-01:00"},
    ],
)
@pytest.mark.parametrize("url", ["/reports/esg.csv", "/reports/esg-summary.csv", "/reports/esg.pdf"])
def test_it_refuses_overflowing_report_periods(viewer_api, url, query) -> None:
    response = viewer_api.get(url, query)
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert set(body["fields"]) & {"start", "end"}


# --- numbers that overflow ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "text", "field"),
    [
        (
            "/jobs/submit",
            '{"vm_path": "web.img", "metadata": {"data_size_gb": 1e400}}',
            "metadata.data_size_gb",
        ),
        ("/carbon/estimate", '{"zone": "DE", "data_size_gb": 1e400}', "data_size_gb"),
        ("/carbon/estimate", '{"zone": "DE", "data_size_gb": -1e400}', "data_size_gb"),
        ("/carbon/status", '{"zone": "DE", "threshold": 1e400}', "threshold"),
        ("/jobs/query", '{"limit": 1e400}', "limit"),
        ("/carbon/estimate", '{"zone": "DE", "data_size_gb": ' + "9" * 400 + "}", "data_size_gb"),
        (
            "/carbon/report",
            '{"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T01:00:00Z", "data_size_gb": 1e400}',
            "data_size_gb",
        ),
    ],
)
def test_it_refuses_numbers_beyond_a_float(operator_api, url, text, field) -> None:
    assert_refused(raw_post(operator_api, url, text), field)
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/jobs/submit", _job(data_size_gb=1e308), "metadata.data_size_gb"),
        ("/jobs/submit", _job(expected_duration_hours=1e12), "metadata.expected_duration_hours"),
        ("/jobs/submit", _job(carbon_max_intensity=1e308), "metadata.carbon_max_intensity"),
        ("/carbon/estimate", {"zone": "DE", "data_size_gb": 1e308}, "data_size_gb"),
        ("/carbon/estimate", {"zone": "DE", "data_size_gb": 1, "duration_hours": 1e12}, "duration_hours"),
        (
            "/carbon/report",
            {
                "start_time": "2026-01-01T00:00:00Z",
                "end_time": "2026-01-01T01:00:00Z",
                "data_size_gb": 1e308,
                "zone": "DE",
            },
            "data_size_gb",
        ),
        ("/schedules", {**SCHEDULE, "expected_duration_hours": 1e12}, "expected_duration_hours"),
        ("/schedules", {**SCHEDULE, "data_size_gb": 1e308}, "data_size_gb"),
        ("/schedules", {**SCHEDULE, "window_hours": 1e308}, "window_hours"),
        ("/schedules", {**SCHEDULE, "threshold": 1e308}, "threshold"),
    ],
)
def test_it_refuses_numbers_too_large_to_compute_with(operator_api, url, body, field) -> None:
    assert_refused(operator_api.post(url, body, format="json"), field)
    assert_nothing_stored()


# --- far-future jobs, crons that never fire, schedule durations ---------------------------------


def test_it_refuses_a_job_that_would_wait_until_year_9999(operator_api) -> None:
    response = operator_api.post("/jobs/submit", _job(not_before="9999-06-01T00:00:00Z"), format="json")
    assert_refused(response, "metadata.not_before")
    assert_nothing_stored()


def test_it_rejects_a_not_before_more_than_a_year_ahead_and_answers_eta_for_one_within(operator_api) -> None:
    far = (timezone.now() + timedelta(days=400)).isoformat()
    refused = operator_api.post("/jobs/submit", _job(not_before=far), format="json").json()
    assert refused["accepted"] == 0 and "metadata.not_before" in refused["errors"][0]
    assert_nothing_stored()
    near = (timezone.now() + timedelta(days=300)).isoformat()
    accepted = operator_api.post("/jobs/submit", _job(not_before=near), format="json").json()
    eta = operator_api.get(f"/jobs/eta/{accepted['job_ids'][0]}")
    assert eta.status_code == 200 and eta.json()["eta"]["expected_completion"]


@pytest.mark.parametrize("cron", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4 *"])
def test_it_refuses_a_cron_that_never_fires(operator_api, cron) -> None:
    assert_refused(operator_api.post("/schedules", {**SCHEDULE, "schedule": cron}, format="json"), "schedule")
    assert_nothing_stored()
    policy = BackupPolicyFactory()
    assert_refused(operator_api.put(f"/schedules/{policy.pk}", {"schedule": cron}, format="json"), "schedule")


def test_it_caps_a_schedule_duration_as_it_caps_a_job(operator_api) -> None:
    assert_refused(
        operator_api.post("/schedules", {**SCHEDULE, "expected_duration_hours": 500}, format="json"),
        "expected_duration_hours",
    )
    assert_nothing_stored()
    assert (
        operator_api.post(
            "/schedules", {**SCHEDULE, "expected_duration_hours": 168}, format="json"
        ).status_code
        == 201
    )


def test_it_answers_409_when_a_schedule_stored_before_the_cap_is_triggered(operator_api) -> None:
    policy = BackupPolicyFactory(
        expected_duration=timedelta(hours=500), job_template={"vm_path": "web.img"}, zone=zone("DE")
    )
    response = operator_api.post(f"/schedules/{policy.pk}/trigger")
    assert response.status_code == 409  # the request is fine; the stored schedule is not
    assert "metadata.expected_duration_hours" in response.json()["error"]
    assert not BackupJob.objects.exists()


# --- bracket bombs, empty and chunked bodies -------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/login", "/jobs/submit", "/carbon/status", "/schedules"])
def test_it_refuses_a_bracket_bomb_without_logging_a_traceback(anon_api, operator_api, url, caplog) -> None:
    client = anon_api if url == "/api/login" else operator_api
    with caplog.at_level(logging.ERROR):
        response = raw_post(client, url, "[" * 5000)
    assert response.status_code == 400 and "nested" in response.json()["error"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert_nothing_stored()


def test_it_still_parses_reasonably_nested_json(operator_api) -> None:
    nested: dict = {}
    node = nested
    for _ in range(30):
        node["n"] = {}
        node = node["n"]
    response = operator_api.post("/jobs/submit", {"vm_path": "web.img", "options": nested}, format="json")
    assert response.status_code == 200 and response.json()["accepted"] == 1


def test_it_refuses_an_empty_body_where_one_is_required(operator_api) -> None:
    for method, url in (("POST", "/jobs/submit"), ("POST", "/schedules")):
        response = operator_api.generic(method, url, b"", content_type="application/json")
        assert response.status_code == 400 and "body is required" in response.json()["error"], url
    policy = BackupPolicyFactory()
    response = operator_api.generic("PUT", f"/schedules/{policy.pk}", b"", content_type="application/json")
    assert response.status_code == 400 and "body is required" in response.json()["error"]
    for body in ([], {"jobs": []}):
        assert operator_api.post("/jobs/submit", body, format="json").status_code == 400
    assert not BackupJob.objects.exists()


def test_it_refuses_a_chunked_body_a_server_cannot_delimit(anon_api) -> None:
    # Django's own servers (runserver, the test client) give no end to a chunked body.
    response = anon_api.generic(
        "POST", "/api/login", b"", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )
    assert response.status_code == 400 and "Content-Length" in response.json()["error"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_url(tmp_path):
    """The real web server (gunicorn de-chunks bodies and marks them terminated)."""
    port = _free_port()
    env = {**os.environ, "HYPERWEB_DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "fuzz-tests-only"}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "hyperweb.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            requests.get(url + "/health", timeout=5)
        except requests.RequestException:
            return False
        return True

    wait_until(serving, 30, "gunicorn did not start", interval=0.1)
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def _chunks(data: bytes, size: int = 65536):
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_is_read_or_refused_never_taken_as_empty(gunicorn_url) -> None:
    big = b'{"username": "' + b"x" * (10 * 1024 * 1024) + b'", "password": "p"}'
    response = requests.post(gunicorn_url + "/api/login", data=_chunks(big), timeout=60)
    assert response.status_code == 413 and "limit" in response.json()["error"]
    # A small chunked body is read in full: the parser sees the bracket bomb, not an empty body.
    response = requests.post(gunicorn_url + "/api/login", data=_chunks(b"[" * 5000, 1000), timeout=30)
    assert response.status_code == 400 and "nested" in response.json()["error"]
    response = requests.post(
        gunicorn_url + "/api/login", data=_chunks(json.dumps({"username": "u"}).encode(), 4)
    )
    assert response.status_code == 400 and response.json()["fields"] == {
        "password": ["This field is required."]
    }
