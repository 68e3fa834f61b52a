"""The preferences page (each signed-in user's own choices) and the webhook admin (write-only secret)."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import AlertPreference, Webhook
from tests.alerts.conftest import SECRET

pytestmark = pytest.mark.django_db

URL = "/alerts/preferences"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_sends_anonymous_visitors_to_the_login_page(client) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login")
    assert client.post(URL, {"backup_failed": "on"}).status_code == 302
    assert not AlertPreference.objects.exists()


def test_it_refuses_outsiders(outsider_user) -> None:
    assert signed_in(outsider_user).get(URL).status_code == 403


def test_it_shows_every_kind_on_by_default(viewer_user) -> None:
    response = signed_in(viewer_user).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for kind in (
        "backup_failed",
        "deadline_missed",
        "backup_damaged",
        "target_full",
        "provider_stale",
        "weekly_digest",
    ):
        assert f'name="{kind}"' in html
    assert html.count("checked") == 6


def test_a_viewer_saves_their_choices_and_address(viewer_user) -> None:
    client = signed_in(viewer_user)
    response = client.post(
        URL, {"email": "victor@example.test", "backup_failed": "on", "weekly_digest": "on"}
    )

    assert response.status_code == 302
    preference = AlertPreference.objects.get(user=viewer_user)
    assert preference.backup_failed and preference.weekly_digest
    assert not (preference.deadline_missed or preference.target_full or preference.provider_stale)
    viewer_user.refresh_from_db()
    assert viewer_user.email == "victor@example.test"
    assert "Alert preferences saved." in client.get(URL).content.decode()


def test_a_bad_address_is_a_form_error_and_nothing_is_stored(viewer_user) -> None:
    response = signed_in(viewer_user).post(URL, {"email": "not an address", "backup_failed": "on"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert not AlertPreference.objects.exists()


def test_the_form_needs_its_csrf_token(viewer_user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer_user)
    assert client.post(URL, {"email": "x@example.test"}).status_code == 403
    page = client.get(URL)
    token = page.cookies["csrftoken"].value
    assert client.post(URL, {"email": "x@example.test", "csrfmiddlewaretoken": token}).status_code == 302


def test_the_webhook_admin_never_shows_the_secret_back(admin_client) -> None:
    data = {
        "name": "chat",
        "url": "https://chat.example/hook",
        "secret": SECRET,
        "kinds": ["backup_failed"],
        "active": "on",
    }
    assert admin_client.post("/admin/alerts/webhook/add/", data).status_code == 302
    hook = Webhook.objects.get()
    assert hook.secret == SECRET and hook.kinds == ["backup_failed"]

    page = admin_client.get(f"/admin/alerts/webhook/{hook.pk}/change/").content.decode()
    assert SECRET not in page
    assert SECRET not in admin_client.get("/admin/alerts/webhook/").content.decode()

    # Saving without a secret keeps the stored one.
    kept = {**data, "secret": "", "name": "chat-renamed"}
    assert admin_client.post(f"/admin/alerts/webhook/{hook.pk}/change/", kept).status_code == 302
    hook.refresh_from_db()
    assert hook.name == "chat-renamed" and hook.secret == SECRET


def test_the_webhook_admin_refuses_a_short_secret_and_other_schemes(admin_client) -> None:
    data = {"name": "chat", "url": "ftp://chat.example/hook", "secret": "short", "kinds": ["backup_failed"]}
    page = admin_client.post("/admin/alerts/webhook/add/", data).content.decode()
    assert "the URL must start with http:// or https://" in page or "Enter a valid URL." in page
    assert "at least 16 characters" in page
    assert 'value="short"' not in page
    assert not Webhook.objects.exists()


def test_delivery_attempts_are_listed_in_the_admin(admin_client, webhook, receiver) -> None:
    from alerts.delivery import deliver
    from alerts.services import raise_alert

    alert = raise_alert("backup_failed", "backup_failed:x", "Backup failed: x", "body")
    delivery = alert.deliveries.get()
    deliver(delivery.pk)
    page = admin_client.get(f"/admin/alerts/delivery/{delivery.pk}/change/").content.decode()
    assert "delivered" in page and "200" in page
    assert admin_client.get("/admin/alerts/alert/").status_code == 200
    assert admin_client.get("/admin/alerts/delivery/").status_code == 200


def test_an_admin_sends_a_test_alert_to_a_webhook_only(
    admin_client, webhook, receiver, smtp_server, subscriber
) -> None:
    from alerts.delivery import deliver
    from alerts.models import Delivery

    Webhook.objects.filter(pk=webhook.pk).update(
        kinds=["weekly_digest"]
    )  # a test goes whatever it subscribes to
    response = admin_client.post(
        "/admin/alerts/webhook/", {"action": "send_test", "_selected_action": [webhook.pk]}, follow=True
    )

    assert "Test alert queued for 1 webhook(s)" in response.content.decode()
    delivery = Delivery.objects.get()  # no email: a test is for the webhook
    assert delivery.webhook_id == webhook.pk and delivery.alert.kind == "test"
    assert deliver(delivery.pk) == "delivered"
    got = receiver.wait()
    assert got.signature_ok and got.json()["event"] == "test"


def test_the_preferences_page_offers_no_test_switch(viewer_user) -> None:
    assert 'name="test"' not in signed_in(viewer_user).get(URL).content.decode()


def test_an_admin_sets_a_users_choices_in_the_admin(admin_client, viewer_user) -> None:
    assert admin_client.get("/admin/alerts/alertpreference/add/").status_code == 200
    data = {"user": viewer_user.pk, "backup_failed": "on"}
    assert admin_client.post("/admin/alerts/alertpreference/add/", data).status_code == 302
    preference = AlertPreference.objects.get(user=viewer_user)
    assert preference.backup_failed and not preference.weekly_digest
