"""Credential operations shared by the API authentication classes, the admin and `manage.py apikey`."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import APIKey, APIToken, LoginFailure, digest

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
    """Too many failed logins from this address or for this username in the last minute; `retry_after`
    is the seconds until the window that reached the limit ends."""

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


_WINDOW = timedelta(seconds=60)  # API_LOGIN_ATTEMPTS_PER_MINUTE counts failures in one-minute windows


def _failure_keys(client_ip: str, username: str) -> list[str]:
    # Counting per address stops one client guessing many accounts; counting per username stops
    # many addresses guessing one account. Hashed: a username may be long or hold any character.
    def tag(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    return [f"ip:{tag(client_ip)}", f"user:{tag(username.lower())}"]


def _retry_after(keys: list[str], now: datetime) -> int | None:
    """Seconds until every window of `keys` at the limit has ended, or None when none is."""
    ends = list(
        LoginFailure.objects.filter(
            key__in=keys, window_start__gt=now - _WINDOW, count__gte=settings.API_LOGIN_ATTEMPTS_PER_MINUTE
        ).values_list("window_start", flat=True)
    )
    if not ends:
        return None
    return max(1, math.ceil((max(ends) + _WINDOW - now).total_seconds()))


def _record_failure(keys: list[str], now: datetime) -> None:
    """Count a failure against each key: one more in its window, or a new window from `now`. Each
    statement stands alone (no transaction holding several row locks, so no lock cycles between
    concurrent logins); an increment is one UPDATE and a new window one INSERT that, when another
    login opened the window first, counts in that one instead, so concurrent failures all count."""
    cutoff = now - _WINDOW
    LoginFailure.objects.filter(window_start__lte=cutoff).delete()  # ended windows
    for key in keys:
        for _ in range(3):  # bounded: each round either counts or sees another login's row
            if LoginFailure.objects.filter(key=key, window_start__gt=cutoff).update(count=F("count") + 1):
                break
            LoginFailure.objects.filter(key=key, window_start__lte=cutoff).delete()
            try:
                with transaction.atomic():
                    LoginFailure.objects.create(key=key, window_start=now, count=1)
                break
            except IntegrityError:
                continue  # another login opened this key's window meanwhile: count in it


def client_ip(meta: Mapping[str, Any]) -> str:
    """The address login failures are counted against, from a request's META."""
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it.
    return meta.get("REMOTE_ADDR", "") or "unknown"


def check_password(username: str, password: str, *, client_ip: str) -> AbstractBaseUser:
    """The active user with that username and password, for every login form (API and dashboard).

    Raises LoginThrottled before even checking the password once the failure limit is reached (so a
    correct guess cannot be confirmed while throttled), and LoginFailed on a wrong password or an
    inactive account, counting the failure. The counters are LoginFailure rows: every web process
    counts together.
    """
    now = timezone.now()
    keys = _failure_keys(client_ip, username)
    retry_after = _retry_after(keys, now)
    if retry_after is not None:
        raise LoginThrottled(retry_after)
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        _record_failure(keys, timezone.now())  # after the password check's own time
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
