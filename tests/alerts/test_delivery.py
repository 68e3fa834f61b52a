"""Raising an alert and delivering it: real SMTP, a real HTTP receiver checking the signature,
retries with backoff, deduplication, preferences, and no secret in any record or log."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest

from alerts.delivery import SIGNATURE_HEADER, backoff, deliver, due_deliveries, sign, verify
from alerts.models import Alert, AlertPreference, Delivery, DeliveryAttempt, Kind, Webhook
from alerts.services import raise_alert
from tests.alerts.conftest import SECRET

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def alert(key: str = "backup_failed:job-1", kind: str = Kind.BACKUP_FAILED) -> Alert:
    found = raise_alert(
        kind, key, "Backup failed: web-01", "Backup failed: web-01\n", payload={"job_id": "job-1"}, now=NOW
    )
    assert found is not None
    return found


def test_it_emails_an_alert_through_a_real_smtp_server(smtp_server, subscriber) -> None:
    raised = alert()
    delivery = raised.deliveries.get(channel="email")
    assert delivery.recipient == "olga@example.test"

    assert deliver(delivery.pk, now=NOW) == "delivered"

    recipients, sender, message = smtp_server.wait()
    assert recipients == ["olga@example.test"] and sender == "alerts@hyperweb.test"
    assert message["Subject"] == "[hyperweb] Backup failed: web-01"
    assert message["X-Hyperweb-Event"] == "backup_failed"
    assert "Backup failed: web-01" in message.get_payload()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.delivered_at == NOW
    assert list(delivery.attempt_log.values_list("ok", flat=True)) == [True]


def test_it_posts_a_json_body_signed_with_hmac_sha256(webhook, receiver) -> None:
    raised = alert()
    delivery = raised.deliveries.get(channel="webhook")

    assert deliver(delivery.pk, now=NOW) == "delivered"

    got = receiver.wait()
    assert got.signature_ok
    assert got.headers[SIGNATURE_HEADER] == sign(SECRET, got.body)
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Hyperweb-Event"] == "backup_failed"
    assert got.headers["X-Hyperweb-Delivery"] == str(delivery.pk)
    body = got.json()
    assert body["event"] == "backup_failed" and body["delivery_id"] == delivery.pk
    assert body["data"] == {"job_id": "job-1"} and body["subject"] == "Backup failed: web-01"
    assert DeliveryAttempt.objects.get(delivery=delivery).status_code == 200


def test_a_receiver_with_another_secret_refuses_the_body(webhook, receiver) -> None:
    Webhook.objects.filter(pk=webhook.pk).update(secret="another-secret-0123456789")
    delivery = alert().deliveries.get(channel="webhook")

    assert deliver(delivery.pk, now=NOW) == "retrying"

    assert not receiver.wait().signature_ok
    attempt = DeliveryAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 401 and not attempt.ok


def test_it_retries_a_failing_webhook_with_doubling_backoff_until_delivered(
    settings, webhook, receiver
) -> None:
    settings.ALERT_RETRY_BACKOFF_SECONDS = 30
    receiver.statuses[:] = [500, 503]
    delivery = alert().deliveries.get(channel="webhook")

    assert deliver(delivery.pk, now=NOW) == "retrying"
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.next_attempt_at == NOW + timedelta(seconds=30)
    assert delivery.last_error == "HTTP 500 Internal Server Error"
    # Not due before its backoff: neither the periodic retry nor a stray task sends it.
    assert due_deliveries(NOW + timedelta(seconds=29)) == []
    assert deliver(delivery.pk, now=NOW + timedelta(seconds=29)) == "not due"

    second = NOW + timedelta(seconds=30)
    assert due_deliveries(second) == [delivery.pk]
    assert deliver(delivery.pk, now=second) == "retrying"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == second + timedelta(seconds=60)  # doubled

    third = second + timedelta(seconds=60)
    assert deliver(delivery.pk, now=third) == "delivered"
    attempts = list(delivery.attempt_log.values_list("status_code", "ok", "at"))
    assert attempts == [(500, False, NOW), (503, False, second), (200, True, third)]
    bodies = [receiver.wait().body for _ in range(3)]
    assert bodies[0] == bodies[1] == bodies[2]  # the same signed bytes at every try
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 3 and delivery.last_error == ""


def test_it_gives_up_after_the_last_attempt(settings, webhook, receiver) -> None:
    settings.ALERT_MAX_ATTEMPTS = 2
    receiver.statuses[:] = [500, 500, 500]
    delivery = alert().deliveries.get(channel="webhook")

    assert deliver(delivery.pk, now=NOW) == "retrying"
    assert deliver(delivery.pk, now=NOW + timedelta(hours=1)) == "failed"

    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 2
    assert due_deliveries(NOW + timedelta(days=1)) == []
    assert deliver(delivery.pk, now=NOW + timedelta(days=1)) == "not due"


def test_backoff_doubles_from_the_setting_and_stops_at_an_hour(settings) -> None:
    settings.ALERT_RETRY_BACKOFF_SECONDS = 30
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(20) == timedelta(hours=1)


def test_it_alerts_once_per_key(webhook, subscriber, smtp_server) -> None:
    first = alert()
    assert raise_alert(Kind.BACKUP_FAILED, first.key, "again", "again", now=NOW) is None
    assert Alert.objects.count() == 1
    assert Delivery.objects.count() == 2  # one email, one webhook


def test_it_sends_email_only_to_users_with_a_role_an_address_and_the_kind_switched_on(
    smtp_server, subscriber, django_user_model
) -> None:
    from accounts.roles import set_role

    django_user_model.objects.create_user(username="no-role", email="norole@example.test")
    quiet = django_user_model.objects.create_user(username="quiet", email="quiet@example.test")
    set_role(quiet, "viewer")
    AlertPreference.objects.create(user=quiet, backup_failed=False)
    noaddress = django_user_model.objects.create_user(username="noaddress")
    set_role(noaddress, "admin")

    raised = alert()

    assert list(raised.deliveries.values_list("recipient", flat=True)) == ["olga@example.test"]
    digest = alert("weekly_digest:2026-W09", Kind.WEEKLY_DIGEST)
    assert sorted(digest.deliveries.values_list("recipient", flat=True)) == [
        "olga@example.test",
        "quiet@example.test",
    ]


def test_it_sends_no_email_without_an_smtp_host(settings, subscriber) -> None:
    settings.EMAIL_HOST = ""
    assert not alert().deliveries.exists()


def test_a_webhook_receives_only_the_kinds_it_asked_for(webhook) -> None:
    Webhook.objects.filter(pk=webhook.pk).update(kinds=["weekly_digest"])
    assert not alert().deliveries.exists()
    Webhook.objects.filter(pk=webhook.pk).update(kinds=["backup_failed"], active=False)
    assert not alert("backup_failed:job-2").deliveries.exists()


def test_no_secret_or_url_path_is_recorded_or_logged_when_a_webhook_is_unreachable(
    db, settings, caplog
) -> None:
    settings.EMAIL_HOST_PASSWORD = "smtp-pa55word"
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    Webhook.objects.create(name="down", url=f"http://127.0.0.1:{port}/hooks/T0KEN-in-path", secret=SECRET)
    delivery = alert().deliveries.get()

    with caplog.at_level(logging.DEBUG):
        assert deliver(delivery.pk, now=NOW) == "retrying"

    delivery.refresh_from_db()
    recorded = delivery.last_error + DeliveryAttempt.objects.get(delivery=delivery).error
    assert "ConnectionError" in recorded
    for secret in ("T0KEN", SECRET, "smtp-pa55word"):
        assert secret not in recorded
        assert secret not in caplog.text
    assert f"127.0.0.1:{port}" in caplog.text  # the host is named, so the admin knows which


def test_verify_is_what_a_receiver_runs() -> None:
    body = b'{"event":"backup_failed"}'
    assert verify(SECRET, body, sign(SECRET, body))
    assert not verify(SECRET, body + b" ", sign(SECRET, body))
    assert not verify(SECRET, body, "")


# A test server on loopback: AUTH without TLS is what it is meant to accept.
PLAIN_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def smtp_with_login(settings):
    from tests.alerts.receivers import SMTPServer

    server = SMTPServer(login=("hyperweb", "smtp-pa55word")).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = "hyperweb"
    yield server
    server.stop()


@PLAIN_AUTH
def test_it_logs_in_to_the_smtp_server_with_the_configured_account(
    settings, smtp_with_login, subscriber
) -> None:
    settings.EMAIL_HOST_PASSWORD = "smtp-pa55word"
    delivery = alert().deliveries.get()

    assert deliver(delivery.pk, now=NOW) == "delivered"
    assert smtp_with_login.wait()[0] == ["olga@example.test"]


@PLAIN_AUTH
def test_a_refused_smtp_login_is_retried_and_never_records_the_password(
    settings, smtp_with_login, subscriber, caplog
) -> None:
    settings.EMAIL_HOST_PASSWORD = "wrong-pa55word"
    delivery = alert().deliveries.get()

    with caplog.at_level(logging.DEBUG):
        assert deliver(delivery.pk, now=NOW) == "retrying"

    delivery.refresh_from_db()
    assert delivery.last_error.startswith("SMTPAuthenticationError")
    assert smtp_with_login.empty()
    for text in (delivery.last_error, DeliveryAttempt.objects.get(delivery=delivery).error, caplog.text):
        assert "wrong-pa55word" not in text
