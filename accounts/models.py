"""API credentials: long-lived API keys (X-API-Key) and expiring login tokens (Authorization: Bearer).

Only a SHA-256 digest of each secret is stored. Both secrets are 256-bit random strings, so a
plain (unsalted, fast) hash is enough: there is no dictionary to attack, and a fast hash keeps
every authenticated request to one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from hyperweb.lib.timefmt import format_utc_short

KEY_PREFIX = "hwk_"  # makes a leaked key recognisable (secret scanners, logs)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class APIKeyQuerySet(models.QuerySet):
    def active(self) -> APIKeyQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class APIKey(models.Model):
    """A key an admin created for a user; the API acts with that user's role. Shown once."""

    name = models.CharField(max_length=100, help_text="what the key is for, e.g. 'backup cron on host7'")
    prefix = models.CharField(
        max_length=16, db_index=True, editable=False, help_text="first characters, to tell keys apart"
    )
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    created = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = APIKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}..., {self.user})"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def create_for(cls, user: models.Model, name: str) -> tuple[APIKey, str]:
        """Create a key; returns (row, the plain key). The plain key is not stored anywhere."""
        plain = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            user=user, name=name, prefix=plain[: len(KEY_PREFIX) + 8], hashed_key=digest(plain)
        )
        return key, plain

    def revoke(self, *, now: datetime | None = None) -> None:
        if self.revoked_at is None:
            self.revoked_at = now or timezone.now()
            self.save(update_fields=["revoked_at"])


class APIToken(models.Model):
    """A bearer token from POST /api/login; expires after API_TOKEN_HOURS, POST /api/logout revokes it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    hashed_token = models.CharField(max_length=64, unique=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API login token"
        indexes = [models.Index(fields=["expires_at"], name="apitoken_expires")]

    def __str__(self) -> str:
        return f"token for {self.user} until {format_utc_short(self.expires_at)}"

    @classmethod
    def issue(cls, user: models.Model, *, now: datetime | None = None) -> tuple[APIToken, str]:
        now = now or timezone.now()
        plain = secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user, hashed_token=digest(plain), expires_at=now + timedelta(hours=settings.API_TOKEN_HOURS)
        )
        return token, plain

    def is_valid(self, *, now: datetime | None = None) -> bool:
        return not self.revoked and self.expires_at > (now or timezone.now())


class UserPreference(models.Model):
    """A user's own display choices. Without a row (or with an empty timezone) pages use the
    browser's timezone; a timezone chosen here wins over the browser's on every page (text,
    tables, chart axes and hover labels, event logs, policy times). The API and CSV stay in UTC."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    timezone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA name, e.g. Europe/Berlin; empty: the browser's timezone",
    )

    def __str__(self) -> str:
        return f"preferences of {self.user}"


class LoginFailure(models.Model):
    """Failed logins counted against one address or one username (a hashed `key`) in a fixed window
    that starts at the first failure (accounts.services.check_password). In the database so that
    every web process, and every machine serving the same database, counts together; increments
    are single UPDATE statements, so concurrent failures are not lost."""

    key = models.CharField(max_length=64, primary_key=True)
    window_start = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.count} failed logins since {format_utc_short(self.window_start)}"
