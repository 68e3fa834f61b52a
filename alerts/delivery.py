"""Sending one delivery: email through Django's email backend, webhooks as signed JSON POSTs.

Each try is claimed with a conditional update (only the worker that moves the row from `pending`
to `sending` sends it), recorded as a DeliveryAttempt, and on failure scheduled again after an
exponential backoff (ALERT_RETRY_BACKOFF_SECONDS, doubling, at most an hour) until
ALERT_MAX_ATTEMPTS tries have failed. Secrets (the webhook's key, the SMTP password) never appear
in a log line, an error or an attempt record; a webhook URL is shown by its scheme and host only,
since URLs of chat webhooks carry their own secret in the path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.utils import timezone

from alerts.models import Alert, Delivery, DeliveryAttempt
from hyperweb.lib.timefmt import format_utc

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hyperweb-Signature"
EVENT_HEADER = "X-Hyperweb-Event"
DELIVERY_HEADER = "X-Hyperweb-Delivery"
# A worker that died while sending leaves its claim; another may take the delivery after this.
CLAIM_TIMEOUT = timedelta(minutes=10)


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` + hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does (constant-time comparison); used by the tests' receiver too."""
    return hmac.compare_digest(sign(secret, body), header or "")


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failed ones: base, 2 x base, 4 x base, ... <= 1 h."""
    base = settings.ALERT_RETRY_BACKOFF_SECONDS
    return timedelta(seconds=min(3600, base * 2 ** max(0, attempts - 1)))


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{':' + str(parts.port) if parts.port else ''}/..."


def webhook_body(alert: Alert, delivery: Delivery) -> bytes:
    """The JSON body: the same bytes at every try of a delivery (receivers deduplicate by its id)."""
    document = {
        "event": alert.kind,
        "alert_id": alert.pk,
        "delivery_id": delivery.pk,
        "created_at": format_utc(alert.created_at),
        "subject": alert.subject,
        "text": alert.body,
        "data": alert.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _claim(delivery_id: int, now: datetime) -> bool:
    due = Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    return bool(
        Delivery.objects.filter(due, pk=delivery_id).update(status=Delivery.Status.SENDING, claimed_at=now)
    )


def deliver(delivery_id: int, *, now: datetime | None = None) -> str:
    """Try one delivery if it is due; return what happened (delivered, retrying, failed, not due)."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return "not due"
    delivery = Delivery.objects.select_related("alert", "webhook").get(pk=delivery_id)
    started = time.monotonic()
    try:
        if delivery.channel == Delivery.Channel.EMAIL:
            status_code = None
            _send_email(delivery)
        else:
            status_code = _post_webhook(delivery)
        error = ""
    except DeliveryError as exc:
        status_code, error = exc.status_code, str(exc)
    except Exception as exc:  # an SMTP or network error: the message names no secret
        status_code, error = None, f"{type(exc).__name__}: {_clean(exc, delivery)}"
    ok = not error
    DeliveryAttempt.objects.create(
        delivery=delivery,
        at=now,
        ok=ok,
        status_code=status_code,
        error=error[:2000],
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    attempts = delivery.attempts + 1
    mine = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.SENDING, claimed_at=now)
    if ok:
        mine.update(status=Delivery.Status.DELIVERED, attempts=attempts, delivered_at=now, last_error="")
        return "delivered"
    target = delivery.recipient if delivery.channel == Delivery.Channel.EMAIL else _hook_label(delivery)
    if attempts >= settings.ALERT_MAX_ATTEMPTS:
        mine.update(status=Delivery.Status.FAILED, attempts=attempts, last_error=error[:2000])
        log.error(
            "alert delivery %s to %s failed for good after %d attempts: %s",
            delivery_id,
            target,
            attempts,
            error,
        )
        return "failed"
    retry_at = now + backoff(attempts)
    mine.update(
        status=Delivery.Status.PENDING, attempts=attempts, next_attempt_at=retry_at, last_error=error[:2000]
    )
    log.warning(
        "alert delivery %s to %s failed (attempt %d), retry at %s: %s",
        delivery_id,
        target,
        attempts,
        retry_at,
        error,
    )
    return "retrying"


class DeliveryError(Exception):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def _hook_label(delivery: Delivery) -> str:
    hook = delivery.webhook
    return f"webhook {hook.name} ({redact_url(hook.url)})" if hook else "a deleted webhook"


def _clean(exc: Exception, delivery: Delivery) -> str:
    """The exception's text with the webhook URL and any secret taken out."""
    text = str(exc)
    hook = delivery.webhook
    if hook is not None:
        text = text.replace(hook.url, redact_url(hook.url))
        path = urlsplit(hook.url).path
        if len(path) > 1:
            text = text.replace(path, "/...")
        if hook.secret:
            text = text.replace(hook.secret, "***")
    password = settings.EMAIL_HOST_PASSWORD
    if password:
        text = text.replace(password, "***")
    return text


def _send_email(delivery: Delivery) -> None:
    alert = delivery.alert
    connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
    message = EmailMessage(
        subject=f"[hyperweb] {alert.subject}",
        body=alert.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
        headers={"X-Hyperweb-Event": alert.kind},
        connection=connection,
    )
    message.send(fail_silently=False)


def _post_webhook(delivery: Delivery) -> int:
    hook = delivery.webhook
    if hook is None:
        raise DeliveryError("the webhook was deleted")
    body = webhook_body(delivery.alert, delivery)
    headers: dict[str, Any] = {
        "Content-Type": "application/json",
        "User-Agent": f"hyperweb/{settings.VERSION}",
        SIGNATURE_HEADER: sign(hook.secret, body),
        EVENT_HEADER: delivery.alert.kind,
        DELIVERY_HEADER: str(delivery.pk),
    }
    response = requests.post(
        hook.url, data=body, headers=headers, timeout=settings.ALERT_WEBHOOK_TIMEOUT, allow_redirects=False
    )
    response.close()
    if not 200 <= response.status_code < 300:
        raise DeliveryError(
            f"HTTP {response.status_code} {response.reason or ''}".strip(), response.status_code
        )
    return response.status_code


def due_deliveries(now: datetime | None = None, *, limit: int = 500) -> list[int]:
    """Deliveries whose next try is due (retries, and first tries whose queue message was lost)."""
    now = now or timezone.now()
    due = Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    )
    return list(
        Delivery.objects.filter(due).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]
    )
