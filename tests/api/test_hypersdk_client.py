"""Drive a live server the way HyperSDK's Python client does: requests.Session, urljoin on a base
URL, X-API-Key, naive isoformat() timestamps out, fromisoformat(s.replace("Z", "+00:00")) in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from carbon.models import Zone
from tests.carbon.factories import CarbonReadingFactory


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class HyperSDKLikeClient:
    """The request and parsing habits of HyperSDK's client, reduced to what this test needs."""

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update({"Content-Type": "application/json"})
        if api_key:
            self.session.headers["X-API-Key"] = api_key

    def __enter__(self) -> HyperSDKLikeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        # Hang up: the live server's thread for this keep-alive connection then ends and closes
        # its database connection (left open, it kept a session on the test database to the end).
        self.session.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, urljoin(self.base_url, path), timeout=30, **kwargs)

    def call(self, method: str, path: str, **kwargs: Any) -> dict:
        response = self._request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def sdk(live_server, viewer_user, api_key_for) -> Iterator[HyperSDKLikeClient]:
    # A base URL with a path: urljoin drops it for root paths, as the real client's calls do.
    with HyperSDKLikeClient(live_server.url + "/api/v1/", api_key_for(viewer_user)) as client:
        yield client


pytestmark = pytest.mark.django_db(transaction=True)


def test_the_python_client_reads_health_status_and_capabilities(sdk):
    health = sdk.call("GET", "/health")
    assert health["status"] == "healthy" and parse(health["timestamp"]).tzinfo == UTC
    status = sdk.call("GET", "/status")
    assert status["total_jobs"] >= 0 and isinstance(status["uptime"], str)
    assert parse(status["timestamp"]) <= datetime.now(UTC) + timedelta(seconds=5)
    assert "default_method" in sdk.call("GET", "/capabilities")


def test_the_python_client_uses_the_carbon_endpoints(sdk):
    zones = sdk.call("GET", "/carbon/zones")
    assert zones["total"] == len(zones["zones"]) and {z["id"] for z in zones["zones"]} >= {"DE", "FR", "GB"}

    status = sdk.call("POST", "/carbon/status", json={"zone": "DE", "threshold": 200})
    assert isinstance(status["optimal_for_backup"], bool)
    for point in status["forecast_next_4h"]:
        parse(point["time"])

    estimate = sdk.call(
        "POST", "/carbon/estimate", json={"zone": "DE", "data_size_gb": 500, "duration_hours": 2}
    )
    assert estimate["best_emissions_kg_co2"] <= estimate["current_emissions_kg_co2"]
    assert parse(estimate["best_time"]) >= parse(estimate["timestamp"]) - timedelta(seconds=1)


def test_the_python_client_reports_with_naive_isoformat_times(sdk):
    zone = Zone.objects.get(code="FR")
    start = datetime(2026, 1, 1, 0, 0)  # naive, as the client's datetime.isoformat() sends
    for hour in range(3):
        at = start.replace(tzinfo=UTC) + timedelta(hours=hour)
        CarbonReadingFactory(
            zone=zone, start=at, end=at + timedelta(hours=1), value=60 + 10 * hour, source="csv"
        )
    report = sdk.call(
        "POST",
        "/carbon/report",
        json={
            "job_id": "job-42",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(hours=2)).isoformat(),
            "data_size_gb": 100.0,
            "zone": "FR",
        },
    )
    assert parse(report["start_time"]) == start.replace(tzinfo=UTC)
    assert report["duration_hours"] == pytest.approx(2.0)
    assert report["carbon_intensity_gco2_kwh"] == pytest.approx(65.0)

    series = sdk.call(
        "GET",
        "/carbon/zones/FR/intensity",
        params={"start": start.isoformat(), "end": (start + timedelta(hours=3)).isoformat()},
    )
    assert [parse(r["start"]).hour for r in series["readings"]] == [0, 1, 2]


def test_the_python_client_gets_json_errors_it_can_show(sdk, live_server):
    response = sdk._request("POST", "/carbon/estimate", json={"zone": "DE", "data_size_gb": 0})
    assert response.status_code == 400 and "data_size_gb" in response.json()["error"]
    response = sdk._request("GET", "/jobs/nope/nothing/here")
    assert response.status_code == 404 and response.json()["error"]
    with HyperSDKLikeClient(live_server.url) as anonymous:
        response = anonymous._request("GET", "/status")
    assert response.status_code == 401 and "error" in response.json()


def test_the_python_client_logs_in_with_a_bearer_token(live_server, django_user_model):
    from accounts.roles import set_role

    user = django_user_model.objects.create_user("dora", password="dora-s3cret-pass")
    set_role(user, "viewer")
    with HyperSDKLikeClient(live_server.url) as client:
        login = client.call("POST", "/api/login", json={"username": "dora", "password": "dora-s3cret-pass"})
        assert parse(login["expires_at"]) > datetime.now(UTC)
        client.session.headers["Authorization"] = f"Bearer {login['token']}"
        assert client.call("GET", "/status")["version"]
        client.call("POST", "/api/logout")
        assert client._request("GET", "/status").status_code == 401
