"""Alerts: what happened (Alert), who wants to hear of it (AlertPreference, Webhook), and every
try at telling them (Delivery, DeliveryAttempt).

An Alert is stored once per event (its `key` is unique: the same failed job, the same full disk in
the same repeat period never alerts twice); each recipient gets one Delivery, tried by the
django-q2 workers with backoff until it is delivered or its attempts run out.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Kind(models.TextChoices):
    BACKUP_FAILED = "backup_failed", "backup failed after its last attempt"
    DEADLINE_MISSED = "deadline_missed", "backup missed its deadline"
    BACKUP_DAMAGED = "backup_damaged", "verification failed (backup damaged)"
    TARGET_FULL = "target_full", "backup target nearly full"
    PROVIDER_STALE = "provider_stale", "carbon data stale"
    WEEKLY_DIGEST = "weekly_digest", "weekly digest"
    TEST = "test", "test alert (sent from the admin)"


# What users and webhooks subscribe to (a test alert goes only where an admin sends it).
ALL_KINDS: tuple[str, ...] = tuple(k for k in Kind.values if k != Kind.TEST)
CHOICES: list[tuple[str, str]] = [(k, label) for k, label in Kind.choices if k != Kind.TEST]


def all_kinds() -> list[str]:
    return list(ALL_KINDS)


class Alert(models.Model):
    """One event worth telling people about, stored once (`key` is unique)."""

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=300, unique=True, help_text="one alert per key (deduplication)")
    subject = models.CharField(max_length=255)
    body = models.TextField()
    payload = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey(
        "scheduler.BackupJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["kind", "-created_at"], name="alert_kind_time")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"


class AlertPreference(models.Model):
    """Which alerts a user receives by email (a user without a row receives every kind)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preference"
    )
    backup_failed = models.BooleanField(default=True, help_text=Kind.BACKUP_FAILED.label)
    deadline_missed = models.BooleanField(default=True, help_text=Kind.DEADLINE_MISSED.label)
    backup_damaged = models.BooleanField(default=True, help_text=Kind.BACKUP_DAMAGED.label)
    target_full = models.BooleanField(default=True, help_text=Kind.TARGET_FULL.label)
    provider_stale = models.BooleanField(default=True, help_text=Kind.PROVIDER_STALE.label)
    weekly_digest = models.BooleanField(default=True, help_text=Kind.WEEKLY_DIGEST.label)

    def __str__(self) -> str:
        return f"alert preferences of {self.user}"

    def wants(self, kind: str) -> bool:
        return bool(getattr(self, kind))


class Webhook(models.Model):
    """A URL that receives alerts as signed JSON POSTs (configured by an admin)."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=1000, help_text="http(s) URL that receives the JSON POST")
    # Needed in clear to sign each body (HMAC-SHA256); never shown back, logged or sent.
    secret = models.CharField(max_length=200, help_text="HMAC-SHA256 key; never shown again once saved")
    kinds = models.JSONField(default=all_kinds, help_text="alert kinds it receives")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def wants(self, kind: str) -> bool:
        return self.active and kind in (self.kinds or [])


class Delivery(models.Model):
    """One alert to one recipient (an email address or a webhook), retried with backoff."""

    class Channel(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for its (next) attempt
        SENDING = "sending"  # claimed by a worker
        DELIVERED = "delivered"
        FAILED = "failed"  # gave up after ALERT_MAX_ATTEMPTS

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    webhook = models.ForeignKey(
        Webhook, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipient = models.CharField(max_length=254, blank=True, help_text="email address (email channel)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        target = self.recipient if self.channel == self.Channel.EMAIL else str(self.webhook)
        return f"{self.alert.kind} -> {self.channel} {target} [{self.status}]"


class DeliveryAttempt(models.Model):
    """One try at a delivery: when, whether it worked, and why not (shown in the admin)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    ok = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True, help_text="webhook: HTTP status")
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else 'failed'}"
