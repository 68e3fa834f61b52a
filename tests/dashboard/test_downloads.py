"""Downloads: the zone page's reading export reads back into the product (carbon import,
backtest --csv), and scripts fetch it with an API key or a Bearer token instead of a login page."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import APIKey, APIToken
from carbon.models import CarbonReading, Zone


def _csv(response: Any) -> str:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode()


def _readings(zone: Zone) -> list[tuple[Any, Any, float]]:
    rows = CarbonReading.objects.filter(zone=zone, kind=CarbonReading.Kind.ACTUAL).order_by("start")
    return list(rows.values_list("start", "end", "value"))


def test_it_exports_readings_that_carbon_import_reads_back(viewer: Client, demo_data: None, tmp_path: Path) -> None:
    de = Zone.objects.get(code="DE")
    before = _readings(de)
    text = _csv(viewer.get("/zones/DE/readings.csv?days=30"))
    lines = text.splitlines()
    assert lines[0] == "time,value,zone"
    assert lines[1].endswith(",DE") and lines[1][19] == "Z"  # UTC, seconds, Z
    assert all(len(line.split(",")[1].partition(".")[2]) <= 3 for line in lines[1:])  # no float noise
    path = tmp_path / "de.csv"
    path.write_text(text)

    CarbonReading.objects.filter(zone=de).delete()
    call_command("carbon", "import", str(path), stdout=StringIO(), stderr=StringIO())
    after = _readings(de)
    assert len(after) == len(before) == len(lines) - 1
    for (s0, e0, v0), (s1, e1, v1) in zip(before, after, strict=True):
        assert (s0, e0) == (s1, e1)
        assert v1 == pytest.approx(v0, abs=0.0005)


def test_it_exports_readings_that_backtest_replays(viewer: Client, demo_data: None, tmp_path: Path) -> None:
    path = tmp_path / "de.csv"
    text = _csv(viewer.get("/zones/DE/readings.csv?days=30"))
    path.write_text(text)
    first_day = text.splitlines()[1][:10]
    out = StringIO()
    call_command(
        "backtest", "--csv", str(path), "--start", first_day, "--duration", "1h", "--max-delay", "2h",
        "--json", stdout=out,
    )  # fmt: skip
    result = json.loads(out.getvalue())
    assert result["jobs"] > 0


def test_it_keeps_the_detailed_export_with_sources(viewer: Client, demo_data: None) -> None:
    lines = _csv(viewer.get("/zones/DE/readings.csv?days=1&format=detailed")).splitlines()
    assert lines[0] == "start,end,gco2_per_kwh,source,signal,renewable_percent"
    assert ",simulated,average," in lines[1]


def test_it_hands_the_file_to_an_api_key_or_a_bearer_token(viewer_user: Any, demo_data: None) -> None:
    _, key = APIKey.create_for(viewer_user, "export script")
    _, token = APIToken.issue(viewer_user)
    by_key = Client().get("/zones/DE/readings.csv?days=1", HTTP_X_API_KEY=key)
    by_token = Client().get("/zones/DE/readings.csv?days=1", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert _csv(by_key) == _csv(by_token)
    assert by_key["Content-Type"].startswith("text/csv")


def test_it_hands_the_file_to_an_api_key_sent_as_a_bearer_token(viewer_user: Any, demo_data: None) -> None:
    """HyperSDK's clients send a key as `Authorization: Bearer hwk_...`; the API takes it, so must
    the downloads (found by the permission matrix: it was a 401)."""
    _, key = APIKey.create_for(viewer_user, "export script")
    by_key = Client().get("/zones/DE/readings.csv?days=1", HTTP_X_API_KEY=key)
    as_bearer = Client().get("/zones/DE/readings.csv?days=1", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert _csv(as_bearer) == _csv(by_key)
    APIKey.objects.get(user=viewer_user).revoke()
    assert Client().get("/zones/DE/readings.csv?days=1", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_API_KEY": "hw_not-a-key"},
        {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
        {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
    ],
)
def test_it_answers_a_bad_credential_with_401_not_the_login_page(db: None, headers: dict[str, str]) -> None:
    response = Client().get("/zones/DE/readings.csv?days=1", **headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]


def test_it_refuses_a_key_without_the_viewer_role(outsider_user: Any) -> None:
    _, key = APIKey.create_for(outsider_user, "no role")
    response = Client().get("/zones/DE/readings.csv?days=1", HTTP_X_API_KEY=key)
    assert response.status_code == 403 and "viewer" in response.json()["error"]


def test_it_still_sends_a_browser_without_credentials_to_the_login_page(db: None) -> None:
    response = Client().get("/zones/DE/readings.csv?days=1")
    assert response.status_code == 302 and response["Location"].startswith("/login")
