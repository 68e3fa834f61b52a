"""The dashboard's /login shares /api/login's failure counters and limit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import F
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import LoginFailure
from tests.dashboard.conftest import PASSWORD


def test_it_throttles_the_login_form_even_with_the_right_password(
    client: Client, viewer_user: Any, settings: Any
) -> None:
    settings.API_LOGIN_ATTEMPTS_PER_MINUTE = 3
    for _ in range(3):
        assert client.post("/login", {"username": "vera", "password": "nope"}).status_code == 200
    response = client.post("/login", {"username": "vera", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert f"Too many failed logins; try again in {response['Retry-After']} s".encode() in response.content
    assert client.get("/").status_code == 302  # not logged in
    LoginFailure.objects.update(window_start=F("window_start") - timedelta(seconds=61))  # the minute passed
    response = client.post("/login", {"username": "vera", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"


def test_it_counts_form_and_api_failures_together(client: Client, viewer_user: Any, settings: Any) -> None:
    settings.API_LOGIN_ATTEMPTS_PER_MINUTE = 2
    client.post("/login", {"username": "vera", "password": "nope"})
    APIClient().post("/api/login", {"username": "vera", "password": "nope"}, format="json")
    # The limit is per username as well as per address: another address is refused too.
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert other.post("/login", {"username": "VERA", "password": PASSWORD}).status_code == 429
    api = APIClient().post("/api/login", {"username": "vera", "password": PASSWORD}, format="json")
    assert api.status_code == 429


def test_it_throttles_the_admin_login_with_the_same_counters(
    client: Client, admin_user: Any, settings: Any
) -> None:
    settings.API_LOGIN_ATTEMPTS_PER_MINUTE = 3
    for _ in range(3):
        response = client.post("/admin/login/", {"username": "alice", "password": "nope"})
        assert response.status_code == 200
    response = client.post("/admin/login/?next=/admin/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert f"Too many failed logins; try again in {response['Retry-After']} s".encode() in response.content
    assert client.get("/admin/").status_code == 302  # not logged in
    # The admin's failures count for the other forms too (one throttle, shared counters).
    assert client.post("/login", {"username": "alice", "password": PASSWORD}).status_code == 429
    api = APIClient().post("/api/login", {"username": "alice", "password": PASSWORD}, format="json")
    assert api.status_code == 429
    LoginFailure.objects.update(window_start=F("window_start") - timedelta(seconds=61))  # the minute passed
    response = client.post("/admin/login/?next=/admin/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_it_counts_dashboard_failures_against_the_admin_login(
    client: Client, admin_user: Any, settings: Any
) -> None:
    settings.API_LOGIN_ATTEMPTS_PER_MINUTE = 2
    client.post("/login", {"username": "alice", "password": "nope"})
    APIClient().post("/api/login", {"username": "alice", "password": "nope"}, format="json")
    response = Client(REMOTE_ADDR="10.1.2.3").post(
        "/admin/login/", {"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 429


def test_the_admin_login_still_refuses_non_staff(client: Client, viewer_user: Any) -> None:
    response = client.post("/admin/login/", {"username": "vera", "password": PASSWORD})
    assert response.status_code == 200
    assert b"staff account" in response.content
