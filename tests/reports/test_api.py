"""GET /reports/esg.csv, /reports/esg-summary.csv, /reports/esg.pdf: who may, what comes back, bad input."""

from __future__ import annotations

import csv
import io

import pytest

URLS = ("/reports/esg.csv", "/reports/esg-summary.csv", "/reports/esg.pdf")
Q3 = "start=2026-07-01&end=2026-09-30"


@pytest.mark.parametrize("url", URLS)
def test_it_refuses_anonymous_callers_with_401(anon_api, url) -> None:
    response = anon_api.get(f"{url}?{Q3}")
    assert response.status_code == 401
    assert "error" in response.json()


@pytest.mark.parametrize("url", URLS)
def test_it_refuses_outsiders_with_403(outsider_api, url) -> None:
    assert outsider_api.get(f"{url}?{Q3}").status_code == 403


def test_it_streams_the_per_backup_csv_to_a_viewer(viewer_api, esg_fixture) -> None:
    response = viewer_api.get(f"/reports/esg.csv?{Q3}", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv; charset=utf-8")
    assert response["Content-Disposition"] == 'attachment; filename="esg-2026-Q3-all.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))
    assert sorted(r["name"] for r in rows) == ["vm-a", "vm-b", "vm-c"]


def test_it_scopes_the_csv_to_a_zone_or_policy(viewer_api, esg_fixture) -> None:
    response = viewer_api.get("/reports/esg.csv?period=2026-Q3&zone=fr")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["name"] for r in rows] == ["vm-c"]
    response = viewer_api.get(f"/reports/esg.csv?period=2026-Q3&policy={esg_fixture.policy_id}")
    assert response["Content-Disposition"].endswith(f'policy-{esg_fixture.policy_id}.csv"')


def test_it_serves_the_summary_and_the_pdf(viewer_api, esg_fixture) -> None:
    summary = viewer_api.get(f"/reports/esg-summary.csv?{Q3}")
    assert summary.status_code == 200
    text = b"".join(summary.streaming_content).decode()
    assert "totals,,backups,3,count" in text
    document = viewer_api.get(f"/reports/esg.pdf?{Q3}&zone=DE")
    assert document.status_code == 200
    assert document["Content-Type"] == "application/pdf"
    assert document.content.startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("start=2026-09-30&end=2026-07-01", "end", "must be after start"),
        ("start=2024-01-01&end=2026-12-31", "end", "at most 366 days"),
        ("start=2026-07-01", "end", "end is required"),
        ("period=2026-Q7", "period", "not a year"),
        (f"{Q3}&zone=XX", "zone", "unknown zone 'XX'"),
        (f"{Q3}&policy=nope", "policy", "unknown policy 'nope'"),
        (f"{Q3}&zone=DE&policy=nope", "policy", "not both"),
    ],
)
def test_it_answers_bad_input_with_a_400_naming_the_field(viewer_api, query, field, words) -> None:
    response = viewer_api.get(f"/reports/esg.csv?{query}", HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert words in body["error"] and field in body["fields"]


def test_it_gives_a_valid_empty_csv_for_an_empty_period(viewer_api, db) -> None:
    response = viewer_api.get("/reports/esg.csv?period=2026-01")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert response.status_code == 200 and len(lines) == 1 and lines[0].startswith("backup_id,")


def test_it_documents_the_endpoints_in_openapi(viewer_api, db) -> None:
    schema = viewer_api.get("/openapi.json").json()
    csv_get = schema["paths"]["/reports/esg.csv"]["get"]
    assert "text/csv" in csv_get["responses"]["200"]["content"]
    assert {p["name"] for p in csv_get["parameters"]} >= {"start", "end", "period", "zone", "policy"}
    assert "400" in csv_get["responses"] and "401" in csv_get["responses"]
    assert "application/pdf" in schema["paths"]["/reports/esg.pdf"]["get"]["responses"]["200"]["content"]
