from __future__ import annotations

import pytest

from tests.alerts.receivers import SMTPServer, WebhookReceiver

SECRET = "a-webhook-secret-0123456789"
SMTP_PASSWORD = "smtp-pa55word-never-shown"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server; Django's SMTP backend is pointed at it."""
    server = SMTPServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "alerts@hyperweb.test"
    yield server
    server.stop()


@pytest.fixture
def receiver():
    server = WebhookReceiver(SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def webhook(db, receiver):
    from alerts.models import Webhook

    return Webhook.objects.create(name="ops-chat", url=receiver.url, secret=SECRET)


@pytest.fixture
def subscriber(db, django_user_model):
    """An operator with an email address (receives every alert by default)."""
    from accounts.roles import set_role

    user = django_user_model.objects.create_user(username="olga-oncall", email="olga@example.test")
    set_role(user, "operator")
    return user
