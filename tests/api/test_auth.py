"""Authentication: X-API-Key, Bearer tokens from /api/login, sessions with CSRF, throttled logins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import APIKey, APIToken, LoginFailure
from accounts.roles import set_role
from tests.api.test_conventions import TIMESTAMP, assert_error


@pytest.fixture
def carol(db, django_user_model):
    """A viewer with a password, for the login tests."""
    user = django_user_model.objects.create_user(username="carol", password="carol-s3cret-pass")
    set_role(user, "viewer")
    return user


def login(client, username: str = "carol", password: str = "carol-s3cret-pass", **extra):
    return client.post("/api/login", {"username": username, "password": password}, format="json", **extra)


@pytest.mark.django_db
def test_it_accepts_a_valid_api_key_and_records_its_use(viewer_user, api_key_for):
    plain = api_key_for(viewer_user)
    assert plain.startswith("hwk_")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=plain)
    assert client.get("/status").status_code == 200
    key = APIKey.objects.get(user=viewer_user)
    assert key.last_used_at is not None
    assert key.hashed_key != plain and plain not in key.hashed_key


@pytest.mark.django_db
def test_it_refuses_a_wrong_or_revoked_key_with_401(viewer_user, api_key_for):
    plain = api_key_for(viewer_user)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=plain + "x")
    assert_error(client.get("/status"), 401, "invalid or revoked API key")
    APIKey.objects.get(user=viewer_user).revoke()
    client.credentials(HTTP_X_API_KEY=plain)
    assert_error(client.get("/status"), 401)


@pytest.mark.django_db
def test_it_refuses_the_key_of_a_deactivated_user(viewer_user, api_key_for):
    plain = api_key_for(viewer_user)
    viewer_user.is_active = False
    viewer_user.save()
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=plain)
    assert_error(client.get("/status"), 401)


@pytest.mark.django_db
def test_it_logs_in_and_uses_the_bearer_token_until_logout(carol):
    client = APIClient()
    response = login(client)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= {"token", "username", "expires_at"} and body["username"] == "carol"
    assert TIMESTAMP.match(body["expires_at"])
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert client.get("/status").status_code == 200
    assert client.post("/api/logout").json()["status"] == "logged out"
    assert_error(client.get("/status"), 401, "POST /api/login")


@pytest.mark.django_db
def test_it_expires_tokens_after_api_token_hours(carol, settings):
    settings.API_TOKEN_HOURS = 2
    token = login(APIClient()).json()["token"]
    row = APIToken.objects.get(user=carol)
    assert abs(row.expires_at - row.created - timedelta(hours=2)) < timedelta(seconds=5)
    row.expires_at = timezone.now() - timedelta(seconds=1)
    row.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(client.get("/status"), 401, "expired")


@pytest.mark.django_db
def test_it_refuses_a_wrong_password_without_saying_which_part_was_wrong(carol):
    assert_error(login(APIClient(), password="nope"), 401, "invalid username or password")
    assert_error(login(APIClient(), username="nobody"), 401, "invalid username or password")
    assert not APIToken.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_login_with_missing_fields(carol):
    response = APIClient().post("/api/login", {"username": "carol"}, format="json")
    assert_error(response, 400, "password: This field is required")


@pytest.mark.django_db
def test_it_throttles_repeated_failed_logins_even_with_the_right_password(carol, settings):
    settings.API_LOGIN_ATTEMPTS_PER_MINUTE = 3
    client = APIClient()
    for _ in range(3):
        assert login(client, password="wrong").status_code == 401
    response = login(client)  # the right password, but too late
    assert_error(response, 429, "too many failed logins")
    assert int(response["Retry-After"]) > 0
    LoginFailure.objects.update(window_start=F("window_start") - timedelta(seconds=61))  # the minute passed
    assert login(client).status_code == 200


@pytest.mark.django_db
def test_it_throttles_per_username_across_addresses(carol, settings):
    settings.API_LOGIN_ATTEMPTS_PER_MINUTE = 2
    for address in ("10.0.0.1", "10.0.0.2"):
        login(APIClient(), password="wrong", REMOTE_ADDR=address)
    assert login(APIClient(), REMOTE_ADDR="10.0.0.3").status_code == 429


@pytest.mark.django_db
def test_it_refuses_logout_without_a_bearer_token(viewer_api, anon_api):
    assert_error(viewer_api.post("/api/logout"), 403, "bearer token")
    assert_error(anon_api.post("/api/logout"), 401)


@pytest.mark.django_db
def test_it_accepts_a_browser_session_and_enforces_csrf_on_unsafe_methods(carol):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(carol)
    assert browser.get("/status").status_code == 200
    response = browser.post("/carbon/zones", "{}", content_type="application/json")
    assert_error(response, 403, "CSRF")
    browser.get("/health")  # any page works to obtain the cookie; the dashboard sets it
    from django.middleware.csrf import _get_new_csrf_string

    token = _get_new_csrf_string()
    browser.cookies["csrftoken"] = token
    response = browser.post(
        "/carbon/estimate",
        {"zone": "DE", "data_size_gb": 1},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/jobs/submit", "/jobs/cancel", "/schedules"])
def test_it_refuses_writes_to_viewers_with_403_and_anonymous_with_401(viewer_api, anon_api, url):
    # The scheduler's views reuse accounts.api.permissions; this checks the wiring end to end.
    assert_error(viewer_api.post(url, {}, format="json"), 403, "operator")
    assert_error(anon_api.post(url, {}, format="json"), 401)
