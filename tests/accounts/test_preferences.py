"""The preferences page: each user's display timezone (empty: the browser's), on every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.decorators import api_view

from accounts.middleware import ViewerTimezoneMiddleware
from accounts.models import UserPreference
from accounts.roles import VIEWER, ensure_roles, set_role
from scheduler.models import BackupJob
from tests.dashboard.conftest import completed_job

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
        assert '<html lang="en" data-timezone="America/Los_Angeles" data-timezone-labels="-28800=PST -25200=PDT">' in html, page
        assert "the timezone you chose (<span data-viewer-zone>America/Los_Angeles</span>" in html, page
    assert '<option value="America/Los_Angeles" selected>' in client.get(URL).content.decode()
    client.post(URL, {"timezone": ""})
    assert UserPreference.objects.get(user=vera).timezone == ""
    assert "data-timezone" not in client.get("/").content.decode()


def test_a_change_on_one_device_shows_on_another_at_its_next_page(vera: object) -> None:
    # Two sessions of the same user (a laptop and a phone): the preference is read at every
    # request, not copied into a session at login.
    laptop, phone = signed_in(vera), signed_in(vera)
    assert "data-timezone" not in phone.get("/backups").content.decode()
    laptop.post(URL, {"timezone": "Asia/Tokyo"})
    assert 'data-timezone="Asia/Tokyo"' in phone.get("/backups").content.decode()
    laptop.post(URL, {"timezone": ""})
    assert "data-timezone" not in phone.get("/backups").content.decode()


def test_reading_the_preference_costs_no_query_of_its_own(vera: object) -> None:
    # The user is read with their preference in one join (accounts.backends): a page makes as
    # many queries with a chosen timezone as without.
    client = signed_in(vera)
    client.get("/backups")
    with CaptureQueriesContext(connection) as without:
        client.get("/backups")
    UserPreference.objects.create(user=vera, timezone="Europe/Berlin")
    with CaptureQueriesContext(connection) as chosen:
        assert 'data-timezone="Europe/Berlin"' in client.get("/backups").content.decode()
    assert len(chosen) == len(without), [q["sql"][:80] for q in chosen]


def test_a_session_signed_in_before_the_preference_backend_stays_signed_in(vera: object) -> None:
    # Sessions name the backend that signed them in; ModelBackend's still read the preference
    # (in a query of its own) instead of being signed out.
    UserPreference.objects.create(user=vera, timezone="Europe/Berlin")
    client = Client()
    client.force_login(vera, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/backups")
    assert response.status_code == 200
    assert 'data-timezone="Europe/Berlin"' in response.content.decode()


def test_a_wrong_password_is_checked_once(vera: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # ModelBackend stays listed for sessions signed in before accounts.backends; a failed login
    # must not hash the password a second time there.
    calls: list[str] = []
    check = AbstractBaseUser.check_password
    monkeypatch.setattr(
        AbstractBaseUser, "check_password", lambda self, raw: calls.append(raw) or check(self, raw)
    )
    response = Client().post("/login", {"username": "vera", "password": "wrong"})
    assert response.status_code == 200 and calls == ["wrong"]
    assert Client().post("/login", {"username": "vera", "password": PASSWORD}).status_code == 302


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


# --- server-rendered times (accounts.middleware): for a page read without JavaScript -----------


@pytest.fixture
def job() -> object:
    planned = datetime(2026, 7, 1, 8, 45, tzinfo=UTC)
    return BackupJob.objects.create(
        name="web-01",
        vm_path="/vms/web-01.qcow2",
        carbon_aware=True,
        requested_at=planned - timedelta(hours=2),
        earliest_start=planned - timedelta(hours=2),
        latest_start=planned + timedelta(hours=4),
        expected_duration=timedelta(hours=2),
        planned_start=planned,
        status=BackupJob.Status.SCHEDULED,
        decision={"reason": "Best 2 h window 08:45-10:45 UTC", "decided_at": "2026-07-01T06:45:00Z"},
    )


def test_pages_render_times_in_the_chosen_timezone_and_say_so(vera: object, job: object) -> None:
    UserPreference.objects.create(user=vera, timezone="America/Los_Angeles")
    html = signed_in(vera).get(f"/backups/{job.pk}").content.decode()  # type: ignore[attr-defined]
    # 08:45 UTC on 1 July is 01:45 PDT; the attribute scripts read stays UTC.
    assert '<time datetime="2026-07-01T08:45:00Z" data-style="datetime"' in html
    assert ">Wed 1 Jul 2026 01:45 PDT</time>" in html
    assert "08:45 UTC</time>" not in html


def test_without_a_choice_pages_render_utc_labelled_utc(vera: object, job: object) -> None:
    html = signed_in(vera).get(f"/backups/{job.pk}").content.decode()  # type: ignore[attr-defined]
    assert '<time datetime="2026-07-01T08:45:00Z" data-style="datetime"' in html
    assert ">Wed 1 Jul 2026 08:45 UTC</time>" in html
    assert "UTC without JavaScript" in html


def test_the_api_stays_in_utc_whatever_the_users_timezone(vera: object, job: object) -> None:
    UserPreference.objects.create(user=vera, timezone="Asia/Tokyo")
    body = signed_in(vera).get(f"/jobs/{job.pk}").json()  # type: ignore[attr-defined]
    assert body["planned_start"] == "2026-07-01T08:45:00Z", body


def test_the_timezone_is_active_only_during_a_page_view(vera: object) -> None:
    UserPreference.objects.create(user=vera, timezone="Europe/Berlin")
    seen: list[str] = []

    def page(request: object) -> HttpResponse:
        seen.append(timezone.get_current_timezone_name())
        return HttpResponse("ok")

    request = RequestFactory().get("/")
    request.user = type(vera).objects.select_related("preference").get(pk=vera.pk)  # type: ignore[attr-defined]

    def view_then_page(req: object) -> HttpResponse:
        middleware.process_view(req, page, (), {})  # type: ignore[arg-type]
        return page(req)

    middleware = ViewerTimezoneMiddleware(view_then_page)  # type: ignore[arg-type]
    middleware(request)
    assert seen == ["Europe/Berlin"] and request.viewer_timezone == "Europe/Berlin"  # type: ignore[attr-defined]
    assert timezone.get_current_timezone_name() == "UTC"


def test_an_api_view_and_an_unknown_stored_name_get_utc(vera: object) -> None:
    pref = UserPreference.objects.create(user=vera, timezone="Europe/Berlin")
    middleware = ViewerTimezoneMiddleware(lambda r: None)  # type: ignore[arg-type,return-value]
    request = RequestFactory().get("/jobs")
    request.user = type(vera).objects.select_related("preference").get(pk=vera.pk)  # type: ignore[attr-defined]
    middleware.process_view(request, api_view(["GET"])(lambda r: None), (), {})
    assert timezone.get_current_timezone_name() == "UTC"
    pref.timezone = "Mars/Olympus_Mons"  # e.g. a name a newer tz database knew
    pref.save()
    request.user = type(vera).objects.select_related("preference").get(pk=vera.pk)  # type: ignore[attr-defined]
    middleware.process_view(request, lambda r: None, (), {})
    assert timezone.get_current_timezone_name() == "UTC" and request.viewer_timezone == ""  # type: ignore[attr-defined]
    timezone.deactivate()


def test_savings_months_stay_utc_months_in_any_timezone(vera: object) -> None:
    # A backup finished at 02:00 UTC on 1 December is in December's row, as in the ESG report and
    # its CSV, though it was still 30 November in Los Angeles.

    UserPreference.objects.create(user=vera, timezone="America/Los_Angeles")
    completed_job(None, when=datetime(2026, 12, 1, 2, 0, tzinfo=UTC), emitted=1.0, counterfactual=1.2)
    html = signed_in(vera).get("/savings").content.decode()
    assert "<td>2026-12</td>" in html and "<td>2026-11</td>" not in html
