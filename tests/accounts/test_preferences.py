"""The preferences page: each user's display timezone (empty: the browser's), on every page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import UserPreference
from accounts.roles import VIEWER, ensure_roles, set_role

pytestmark = pytest.mark.django_db

URL = "/preferences"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def vera() -> object:
    ensure_roles()
    user = get_user_model().objects.create_user("vera", password=PASSWORD)
    set_role(user, VIEWER)
    return user


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_offers_the_browsers_timezone_by_default(vera: object) -> None:
    response = signed_in(vera).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="" selected>Your browser&#x27;s timezone (default)</option>' in html
    assert '<option value="America/Los_Angeles">' in html and '<option value="UTC">' in html
    assert "data-timezone" not in html  # no choice: localtime.js uses the browser's zone
    assert "your timezone (<span data-viewer-zone>" in html


def test_a_chosen_timezone_is_on_every_page_until_cleared(vera: object) -> None:
    client = signed_in(vera)
    response = client.post(URL, {"timezone": "America/Los_Angeles"})
    assert response.status_code == 302 and response["Location"] == URL
    assert UserPreference.objects.get(user=vera).timezone == "America/Los_Angeles"
    for page in (URL, "/", "/backups", "/policies", "/savings"):
        html = client.get(page).content.decode()
        assert '<html lang="en" data-timezone="America/Los_Angeles">' in html, page
        assert "the timezone you chose (<span data-viewer-zone>America/Los_Angeles</span>" in html, page
    assert '<option value="America/Los_Angeles" selected>' in client.get(URL).content.decode()

    client.post(URL, {"timezone": ""})
    assert UserPreference.objects.get(user=vera).timezone == ""
    assert "data-timezone" not in client.get("/").content.decode()


def test_it_follows_the_user_to_a_new_session(vera: object) -> None:
    UserPreference.objects.create(user=vera, timezone="Europe/Berlin")
    browser = Client()
    response = browser.post("/login", {"username": "vera", "password": PASSWORD})
    assert response.status_code == 302
    assert 'data-timezone="Europe/Berlin"' in browser.get("/backups").content.decode()


def test_it_refuses_a_name_that_is_not_a_timezone(vera: object) -> None:
    client = signed_in(vera)
    response = client.post(URL, {"timezone": "Mars/Olympus_Mons"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not UserPreference.objects.exists()
