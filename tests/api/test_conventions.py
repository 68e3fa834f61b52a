"""The wire conventions of docs/API.md ("Conventions"), implemented once for every endpoint."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.test import Client

from hyperweb.api.timestamps import format_timestamp, parse_timestamp

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


def assert_error(response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"error", "timestamp"}
    assert isinstance(body["error"], str) and body["error"]
    assert TIMESTAMP.match(body["timestamp"])
    for fragment in fragments:
        assert fragment in body["error"]
    return body


def test_it_parses_z_offset_naive_and_nanosecond_timestamps_as_utc():
    assert parse_timestamp("2026-01-31T22:00:00Z") == datetime(2026, 1, 31, 22, tzinfo=UTC)
    assert parse_timestamp("2026-01-31T23:00:00+01:00") == datetime(2026, 1, 31, 22, tzinfo=UTC)
    assert parse_timestamp("2026-01-31T22:00:00") == datetime(2026, 1, 31, 22, tzinfo=UTC)
    assert parse_timestamp("2026-01-31T22:00:00.123456789Z") == datetime(
        2026, 1, 31, 22, 0, 0, 123456, tzinfo=UTC
    )
    for bad in ("tomorrow", "", "2026-13-01T00:00:00", 12):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def test_it_formats_timestamps_in_utc_with_z_and_at_most_six_digits():
    cet = timezone(timedelta(hours=1))
    assert format_timestamp(datetime(2026, 1, 31, 23, 0, tzinfo=cet)) == "2026-01-31T22:00:00Z"
    assert format_timestamp(datetime(2026, 1, 31, 22, 0, 0, 5, tzinfo=UTC)) == "2026-01-31T22:00:00.000005Z"
    assert format_timestamp(datetime(2026, 1, 31, 22)) == "2026-01-31T22:00:00Z"


@pytest.mark.django_db
def test_it_answers_unknown_paths_with_a_json_404():
    assert_error(Client().get("/no/such/path"), 404, "/no/such/path")
    assert_error(Client().post("/jobs/nope/at/all", data="{}", content_type="application/json"), 404)


@pytest.mark.django_db
def test_it_gives_browsers_an_html_404_page():
    response = Client().get("/no/such/page", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_it_escapes_the_path_in_the_fallback_html_404_when_the_template_fails(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("template missing")

    monkeypatch.setattr("hyperweb.api.errors.loader.render_to_string", broken)
    response = Client().get("/<script>alert(1)</script>", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert b"<script>" not in response.content and b"&lt;script&gt;" in response.content


@pytest.mark.django_db
def test_it_answers_a_trailing_slash_with_404_not_a_redirect(viewer_api):
    assert_error(viewer_api.get("/status/"), 404)


@pytest.mark.django_db
def test_it_answers_a_wrong_method_with_a_json_405(viewer_api):
    assert_error(viewer_api.delete("/status"), 405, "DELETE")
    assert_error(Client().put("/health"), 405)


@pytest.mark.django_db
def test_it_answers_malformed_json_with_a_400(viewer_api):
    response = viewer_api.post("/carbon/estimate", data='{"zone": "DE",', content_type="application/json")
    assert_error(response, 400, "malformed JSON")


@pytest.mark.django_db
def test_it_reads_a_json_body_sent_with_curls_default_form_content_type(viewer_api):
    response = viewer_api.post(
        "/carbon/estimate",
        data='{"zone": "DE", "data_size_gb": -1}',
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 400, "data_size_gb: must be greater than 0")


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["[]", '"DE"', "null", "42", '[{"zone": "DE"}]'])
def test_it_refuses_a_body_that_is_not_an_object(viewer_api, body):
    response = viewer_api.post("/carbon/status", data=body, content_type="application/json")
    assert_error(response, 400, "request body must be a JSON object")


@pytest.mark.django_db
def test_it_names_every_bad_field_and_lists_them(viewer_api):
    response = viewer_api.post(
        "/carbon/estimate", {"zone": "DE", "data_size_gb": "lots", "duration_hours": 0}, format="json"
    )
    body = assert_error(response, 400, "data_size_gb:", "duration_hours: must be at least 0.01")
    assert set(body["fields"]) == {"data_size_gb", "duration_hours"}


@pytest.mark.django_db
def test_it_refuses_nan_and_infinity(viewer_api):
    response = viewer_api.post(
        "/carbon/estimate", data='{"zone": "DE", "data_size_gb": NaN}', content_type="application/json"
    )
    assert_error(response, 400)
    response = viewer_api.post("/carbon/estimate", {"zone": "DE", "data_size_gb": "Infinity"}, format="json")
    assert_error(response, 400, "data_size_gb")


@pytest.mark.django_db
def test_it_refuses_a_huge_body_with_413_before_reading_it(viewer_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = '{"zone": "DE", "pad": "' + "x" * 5000 + '"}'
    assert_error(
        viewer_api.post("/carbon/status", data=body, content_type="application/json"), 413, "limit of 2048"
    )


@pytest.mark.django_db
@pytest.mark.urls("tests.api.fault_urls")
def test_it_answers_a_fault_in_an_api_view_with_a_json_500_without_details(viewer_api, caplog):
    body = assert_error(viewer_api.get("/broken/api"), 500, "internal server error")
    assert "secret" not in str(body) and "Traceback" not in str(body)
    assert "secret detail" in caplog.text  # logged for the operator, not returned


@pytest.mark.django_db
@pytest.mark.urls("tests.api.fault_urls")
def test_it_answers_a_fault_outside_drf_with_a_json_500():
    client = Client(raise_request_exception=False)
    body = assert_error(client.get("/broken/plain"), 500, "internal server error")
    assert "secret" not in str(body)


@pytest.mark.django_db
def test_it_writes_every_timestamp_with_a_z(viewer_api):
    body = viewer_api.get("/status").json()
    assert TIMESTAMP.match(body["timestamp"])


@pytest.mark.django_db
def test_it_refuses_nul_characters_anywhere_in_a_json_body(operator_api):
    # PostgreSQL cannot store U+0000 in text or JSONB: refused as bad input, on every database.
    body = '[{"vm_path": "web-01.qcow2", "metadata": {"note\\u0000": "x"}}]'
    response = operator_api.post("/jobs/submit", body, content_type="application/json")
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]
    from scheduler.models import BackupJob

    assert not BackupJob.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["/jobs/%00", "/schedules/%00", "/carbon/zones/%00", "/zones/%00", "/backups?zone=%00", "/x?%00=1"]
)
def test_it_refuses_nul_characters_in_the_url_with_a_json_400(admin_api, url):
    response = admin_api.get(url)
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]
