"""Credential operations shared by the API authentication classes, the admin and `manage.py apikey`."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.utils import timezone

from accounts.models import APIKey, APIToken, digest

# last_used_at is for humans ("is this key still in use?"); writing it at most once a minute keeps
# an authenticated read to a single SELECT under load.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def user_for_api_key(plain: str, *, now: datetime | None = None) -> APIKey | None:
    """The active key matching `plain` (with its user loaded), or None."""
    now = now or timezone.now()
    key = APIKey.objects.active().select_related("user").filter(hashed_key=digest(plain)).first()
    if key is None:
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        APIKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def token_for_bearer(plain: str, *, now: datetime | None = None) -> APIToken | None:
    """The unexpired, unrevoked token matching `plain` (with its user loaded), or None."""
    now = now or timezone.now()
    token = (
        APIToken.objects.select_related("user")
        .filter(hashed_token=digest(plain), revoked=False, expires_at__gt=now, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


class LoginThrottled(Exception):
    """Too many failed logins from this address or for this username in the last minute."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


class LoginFailed(Exception):
    """Wrong username or password (deliberately not saying which)."""


@dataclass(frozen=True)
class Login:
    token: str
    username: str
    expires_at: datetime


_WINDOW = 60  # seconds: API_LOGIN_ATTEMPTS_PER_MINUTE counts failures in fixed one-minute windows


def _failure_keys(client_ip: str, username: str) -> list[str]:
    # Counting per address stops one client guessing many accounts; counting per username stops
    # many addresses guessing one account. Hashed: usernames may hold characters no cache accepts.
    def tag(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    return [f"login-fail:ip:{tag(client_ip)}", f"login-fail:user:{tag(username.lower())}"]


def _throttled(keys: list[str]) -> bool:
    limit = settings.API_LOGIN_ATTEMPTS_PER_MINUTE
    counts = cache.get_many(keys)
    return any(count >= limit for count in counts.values())


def _record_failure(keys: list[str]) -> None:
    for key in keys:
        if not cache.add(key, 1, timeout=_WINDOW):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=_WINDOW)


def client_ip(meta: Mapping[str, Any]) -> str:
    """The address login failures are counted against, from a request's META."""
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it.
    return meta.get("REMOTE_ADDR", "") or "unknown"


def check_password(username: str, password: str, *, client_ip: str) -> AbstractBaseUser:
    """The active user with that username and password, for every login form (API and dashboard).

    Raises LoginThrottled before even checking the password once the failure limit is reached (so a
    correct guess cannot be confirmed while throttled), and LoginFailed on a wrong password or an
    inactive account, counting the failure. The counters live in Django's cache: the default
    local-memory cache counts per process, so with N web processes the effective limit is up to N
    times the setting unless a shared cache (Redis) is configured.
    """
    keys = _failure_keys(client_ip, username)
    if _throttled(keys):
        raise LoginThrottled(_WINDOW)
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        _record_failure(keys)
        raise LoginFailed("invalid username or password")
    return user


def login(username: str, password: str, *, client_ip: str, now: datetime | None = None) -> Login:
    """Check the password (check_password: throttled, failures counted) and issue a bearer token."""
    user = check_password(username, password, client_ip=client_ip)
    token, plain = APIToken.issue(user, now=now)
    return Login(token=plain, username=user.get_username(), expires_at=token.expires_at)


def logout(token: APIToken) -> None:
    APIToken.objects.filter(pk=token.pk).update(revoked=True)


def revoke_key(key: APIKey, *, now: datetime | None = None) -> None:
    key.revoke(now=now)
